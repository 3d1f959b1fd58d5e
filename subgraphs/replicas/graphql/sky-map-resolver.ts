import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, Directive, Field, Float, Int, ObjectType, Query, Resolver } from "type-graphql";
import { assumedListSize } from "../../../lib/list-size";
import { skyMap, SKY_MAP_MAX_CELLS, SKY_MAP_MAX_NSIDE } from "../sky-map";
import type { ReplicasContext } from "./context";

@ObjectType({ description: "A HEALPix pixel (NESTED) holding files: how many, and how many each facility holds." })
export class SkyCell {
  @Field(() => Int, { description: "NESTED pixel number at the map's nside." })
  pixel: number;

  @Field(() => Float, { description: "RA of the pixel's centre, degrees." })
  ra: number;

  @Field(() => Float, { description: "Dec of the pixel's centre, degrees." })
  dec: number;

  @Field(() => [[Float]], { description: "The pixel's outline: [RA, Dec] in degrees, two points a side, counter-clockwise (healpy's boundaries, step 2)." })
  boundary: Array<[number, number]>;

  @Field(() => Float, { description: "Files the filter selects in this pixel." })
  files: number;

  @Field(() => [Float], { description: "Of those, the files each facility holds AVAILABLE, in the order of SkyMap.facilities." })
  held: number[];
}

@ObjectType({ description: "HEALPix counts of files by position, and by the facilities that hold them." })
export class SkyMap {
  @Field(() => Int)
  nside: number;

  @Field(() => [String], { description: "Every facility, by code: the columns of SkyCell.held." })
  facilities: string[];

  @Field(() => Float, { description: "Files the filter selects." })
  files: number;

  @Field(() => Float, { description: "Of those, files without a position (no numeric ra/dec metadata): on no cell." })
  withoutPosition: number;

  @Directive(assumedListSize(SKY_MAP_MAX_CELLS))
  @Field(() => [SkyCell], { description: "Pixels holding at least one file, by pixel number." })
  cells: SkyCell[];
}

@Resolver()
export class SkyMapResolver {
  @Query(() => SkyMap, {
    description: `Where on the sky the files are (metadata ra/dec), and which facilities hold them: counts per HEALPix pixel (NESTED, nside a power of two up to ${SKY_MAP_MAX_NSIDE}; 16 ≈ 3.7° pixels, an LSSTCam field) of the files in \`scopes\` matching \`metadata\` (the dids(metadata:) filter).`,
  })
  skyMap(
    @Arg("nside", () => Int, { defaultValue: 16 }) nside: number,
    @Arg("scopes", () => [String], { nullable: true }) scopes: string[] | null,
    @Arg("metadata", () => GraphQLJSONObject, { nullable: true }) metadata: Record<string, unknown> | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    return skyMap(ctx.db, { nside, scopes, metadata });
  }
}
