import { Ctx, Directive, Query, Resolver } from "type-graphql";
import { assumedListSize } from "../../../lib/list-size";
import { listWorkers } from "../catalog-worker";
import type { ReplicasContext } from "./context";
import { CatalogWorker } from "./types";

@Resolver(() => CatalogWorker)
export class CatalogWorkerResolver {
  // A handful of catalog processes; stopped and silent ones are forgotten after a day.
  @Directive(assumedListSize(10))
  @Query(() => [CatalogWorker], { description: "The catalog processes on this catalog's database, newest first: host, pid, version, last heartbeat." })
  catalogWorkers(@Ctx() ctx: ReplicasContext) {
    return listWorkers(ctx.db, ctx.settings.judgeIntervalSeconds);
  }
}
