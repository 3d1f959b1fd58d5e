import { Ctx, Directive, FieldResolver, Resolver, Root } from "type-graphql";
import { assumedListSize } from "../../../lib/list-size";
import type { DatasetRow } from "../dataset";
import type { FacilityContext } from "./context";
import { ButlerDataset, ButlerFileRecord } from "./types";

@Resolver(() => ButlerDataset)
export class DatasetResolver {
  @Directive(assumedListSize(2))
  @FieldResolver(() => [ButlerFileRecord], { description: "The dataset's file records (one per component stored apart)." })
  files(@Root() dataset: DatasetRow, @Ctx() ctx: FacilityContext) {
    return ctx.loaders.filesOfDataset.load(dataset.id);
  }
}
