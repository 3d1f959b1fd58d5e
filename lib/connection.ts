import { ClassType, Directive, Field, Int, ObjectType } from "type-graphql";
import type { Page } from "./pagination";

/** Shared by every subgraph (each has connections): shareable in the supergraph. */
@Directive("@shareable")
@ObjectType({ description: "Where a page ends and whether more follow." })
export class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field(() => String, { nullable: true, description: "Pass as `after` to get the next page." })
  endCursor: string | null;
}

export interface ConnectionValue<T> {
  edges: Array<{ cursor: string; node: T }>;
  nodes: T[];
  pageInfo: PageInfo;
  readonly totalCount: Promise<number>;
}

/** Defines `<Name>Connection` and `<Name>Edge` types (Relay cursor connections) for a node type. */
export function Connection<T extends object>(Node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field()
    cursor: string;

    @Field(() => Node)
    node: T;
  }

  @ObjectType(`${name}Connection`, { description: `A page of ${name} with cursors; totalCount counts all matches.` })
  class ConnectionType {
    @Field(() => [Edge])
    edges: Edge[];

    @Field(() => [Node], { description: "The nodes of the edges, for clients that need no cursors." })
    nodes: T[];

    @Field(() => PageInfo)
    pageInfo: PageInfo;

    @Field(() => Int, { description: "All matches, not only this page (computed only when selected)." })
    totalCount: number;
  }
  return ConnectionType;
}

/** The value of a connection field; totalCount runs its count query only when selected. */
export function toConnection<T>(page: Page<T>): ConnectionValue<T> {
  const edges = page.nodes.map((node, i) => ({ cursor: page.cursors[i], node }));
  return {
    edges,
    nodes: page.nodes,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors[page.cursors.length - 1] ?? null },
    get totalCount() {
      return page.totalCount();
    },
  };
}
