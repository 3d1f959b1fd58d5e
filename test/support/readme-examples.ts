import { DocumentNode, FieldNode, FragmentDefinitionNode, Kind, OperationDefinitionNode, parse, print, SelectionSetNode } from "graphql";

/**
 * The GraphQL examples of README.md: every ```graphql block, split into its operations, each to
 * be sent on its own. The conventions a block may use:
 *
 * - `# variables: {"name": "…"}` on the line(s) before an operation gives its variables (JSON).
 * - A variable that no such line gives stands for a value from the block's earlier answers:
 *   `$id` is the first field `id` in them (in order), `$leases` every field `lease` (a list). So
 *   `mutation($id: String!, $lease: String!) { reportTransfer(id: $id, lease: $lease, …) }`
 *   after a `claimTransfers { id lease }` reports the first claimed transfer.
 */
export interface ReadmeOperation {
  /** The operation alone, with the block's fragments: a document to send. */
  query: string;
  kind: "query" | "mutation" | "subscription";
  /** Variables from a `# variables:` line. */
  variables: Record<string, unknown>;
  /** The variables the operation declares. */
  declared: string[];
  /** Response keys of the root fields, each with those of its own fields that select sub-fields (objects, lists). */
  selected: Array<{ root: string; objects: string[] }>;
}

export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  text: string;
  operations: ReadmeOperation[];
  hasMutation: boolean;
}

export function readmeGraphqlBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split("\n");
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```graphql\s*$/.test(lines[i])) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    const text = body.join("\n");
    const operations = operationsOf(text, start + 1);
    blocks.push({ line: start + 1, text, operations, hasMutation: operations.some((o) => o.kind === "mutation") });
  }
  return blocks;
}

function operationsOf(text: string, line: number): ReadmeOperation[] {
  let doc: DocumentNode;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`README.md line ${line}: the graphql block does not parse: ${(err as Error).message}`);
  }
  const fragments = doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  let previousEnd = 0;
  return ops.map((op) => {
    // The `# variables:` line sits in the text between the previous operation and this one.
    const before = text.slice(previousEnd, op.loc!.start);
    previousEnd = op.loc!.end;
    const marker = before.match(/^\s*#\s*variables:\s*(.+)$/m);
    let variables: Record<string, unknown> = {};
    if (marker) {
      try {
        variables = JSON.parse(marker[1]);
      } catch (err) {
        throw new Error(`README.md line ${line}: the "# variables:" line is not JSON: ${(err as Error).message}`);
      }
    }
    return {
      query: [op, ...fragments].map((d) => print(d)).join("\n\n"),
      kind: op.operation as ReadmeOperation["kind"],
      variables,
      declared: (op.variableDefinitions ?? []).map((v) => v.variable.name.value),
      selected: fieldsOf(op.selectionSet).map((f) => ({
        root: responseKey(f),
        objects: f.selectionSet ? fieldsOf(f.selectionSet).filter((c) => c.selectionSet).map(responseKey) : [],
      })),
    };
  });
}

const responseKey = (f: FieldNode) => f.alias?.value ?? f.name.value;
const fieldsOf = (set: SelectionSetNode) => set.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD);

/** Every value of a field named `key` in `value`, depth first, in order. */
function fieldValues(value: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) value.forEach((v) => fieldValues(v, key, out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === key && v !== null && typeof v !== "object") out.push(v);
      fieldValues(v, key, out);
    }
  }
  return out;
}

/**
 * The variables of an operation: its `# variables:` line, then, for each declared variable
 * still missing, the value found in the block's earlier answers (see above). Throws naming the
 * variable when neither gives it.
 */
export function variablesFor(op: ReadmeOperation, earlier: unknown[], where: string): Record<string, unknown> {
  const out = { ...op.variables };
  for (const name of op.declared) {
    if (name in out) continue;
    const single = earlier.flatMap((a) => fieldValues(a, name));
    if (single.length) {
      out[name] = single[0];
      continue;
    }
    const plural = name.endsWith("s") ? earlier.flatMap((a) => fieldValues(a, name.slice(0, -1))) : [];
    if (plural.length) {
      out[name] = plural;
      continue;
    }
    throw new Error(`${where}: no value for $${name}: give it with a "# variables: {...}" line before the operation, or ask for a field ${name} earlier in the block`);
  }
  return out;
}

/**
 * Whether an answer holds something: a value that is not null, false, 0, "" or an empty list,
 * somewhere below it.
 */
export function hasContent(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.some(hasContent);
  if (typeof value === "object") return Object.values(value as object).some(hasContent);
  return true;
}

/**
 * What an answer lacks: each root field that holds nothing (see hasContent), and, below a root
 * field that is one object, each of its object or list fields that holds nothing
 * (`facility.dataset`, `did.replicas`). Scalars below the root may be null or 0.
 */
export function emptyFields(op: ReadmeOperation, data: Record<string, unknown> | null | undefined): string[] {
  if (!data) return ["(data)"];
  const out: string[] = [];
  for (const { root, objects } of op.selected) {
    const value = data[root];
    if (!hasContent(value)) {
      out.push(root);
      continue;
    }
    if (Array.isArray(value)) continue;
    for (const key of objects) if (!hasContent((value as Record<string, unknown>)[key])) out.push(`${root}.${key}`);
  }
  return out;
}
