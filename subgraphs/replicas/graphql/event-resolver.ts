import { Arg, Ctx, Directive, Int, Query, Resolver } from "type-graphql";
import { PAGE_LIST_SIZE } from "../../../lib/list-size";
import { toConnection } from "../../../lib/connection";
import { listEvents } from "../event";
import type { ReplicasContext } from "./context";
import { CatalogEvent, EventConnection } from "./types";

@Resolver(() => CatalogEvent)
export class EventResolver {
  @Directive(PAGE_LIST_SIZE)
  @Query(() => EventConnection, {
    description: "Catalog events after a cursor, oldest first: follow with pageInfo.endCursor. Filter by types and the facility concerned.",
  })
  async events(
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("types", () => [String], { nullable: true }) types: string[] | null,
    @Arg("facility", () => String, { nullable: true }) facility: string | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    const page = await listEvents(ctx.db, { after, types, facility, first });
    return toConnection({ ...page, nodes: page.nodes.map((e) => ({ ...e, id: String(e.id) })) });
  }
}
