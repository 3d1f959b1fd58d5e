import { Arg, Ctx, Query, Resolver } from "type-graphql";
import { requireAnyAgent } from "../../../lib/auth";
import { DbbError, ErrorCode } from "../../../lib/errors";
import { MAX_READ_URLS } from "../read-url";
import type { FacilityContext } from "./context";
import { checkFacilityArgument } from "./registry-resolver";
import { ReadUrl } from "./types";

@Resolver()
export class ReadUrlResolver {
  @Query(() => [ReadUrl], {
    nullable: true,
    description:
      `Short-lived read URLs of files at this facility for the transfer requests an agent of another facility holds with a source here (up to ${MAX_READ_URLS}, in the order asked). ` +
      "The catalog is asked, with the caller's token, which of them the caller holds; any other request gets error FORBIDDEN. S3 RSEs answer with presigned GETs, POSIX RSEs with signed URLs of this service's GET /objects/… (range requests supported). Scope agent:<FACILITY>.",
  })
  readUrls(
    @Arg("requests", () => [String]) requests: string[],
    @Arg("facility", () => String, { nullable: true, description: "The source facility; required through the gateway, which routes on it." }) facility: string | null,
    @Arg("sidecars", () => Boolean, {
      nullable: true,
      description: "Also sign the paths of each file's astro_metadata_translator sidecars beside it (NAME.json, NAME.yaml, the folder's _index.json), for ingest on arrival.",
    })
    sidecars: boolean | null,
    @Ctx() ctx: FacilityContext,
  ) {
    checkFacilityArgument(ctx, facility);
    requireAnyAgent(ctx.caller);
    if (!ctx.readDoor) throw new DbbError(ErrorCode.OPERATION_NOT_SUPPORTED, `facility ${ctx.facility} serves no read URLs (started without storage)`);
    return ctx.readDoor.sign(ctx.authorization, requests, { sidecars: sidecars ?? false });
  }
}
