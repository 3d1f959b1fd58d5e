import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { requireScope } from "../../../lib/auth";
import { announceLargeFile } from "../lfa";
import { requireLfaAnnouncer } from "../permission";
import type { ReplicasContext } from "./context";
import { LargeFileObjectAvailableInput } from "./inputs";
import { LargeFileAnnouncement } from "./types";

@Resolver()
export class LfaResolver {
  @Mutation(() => LargeFileAnnouncement, {
    description:
      "Registers a Large File Annex file from its largeFileObjectAvailable event: a DID of scope lfa named by its object key, with the event as metadata, and its replica on the LFA RSE the url points into (LFA_URL_UNKNOWN otherwise). The same event again changes nothing; one with other values for the same object is LFA_CONFLICT (scope lfa:<FACILITY> of that RSE's facility, or catalog:admin).",
  })
  async announceLargeFile(@Arg("event", () => LargeFileObjectAvailableInput) event: LargeFileObjectAvailableInput, @Ctx() ctx: ReplicasContext): Promise<LargeFileAnnouncement> {
    const who = requireScope(ctx.caller);
    return announceLargeFile(ctx.db, who.subject, event, (facility) => requireLfaAnnouncer(who, facility));
  }
}
