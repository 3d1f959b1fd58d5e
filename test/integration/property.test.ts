import fc from "fast-check";
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  GraphQLArgument,
  GraphQLField,
  GraphQLInputType,
  GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from "graphql";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { startTestFacility, TestFacility } from "../support/facility";
import { graphql } from "../support/graphql-client";
import { seedBackbone } from "../support/replication";

/**
 * A property over every operation of both subgraphs: whatever strings (NUL, lone surrogates, long
 * runs), numbers (extremes, fractions) and JSON its arguments get, the service answers within a
 * few seconds, with HTTP below 500 and no INTERNAL_SERVER_ERROR. Arguments are generated from the
 * introspected schema; each operation gets a bounded number of runs and the whole property a
 * bounded time, so the suite stays well under a minute.
 */
const RUNS_PER_FIELD = 12;
const BUDGET_MS = 20000;
const SLOW_MS = 5000;
const codes = new Map<string, number>();
afterAll(() => process.env.FUZZ_DEBUG && console.log([...codes].map(([k, n]) => `${k} ${n}`).join("\n")));

let cat: TestCatalog;
let fac: TestFacility;
let catToken: string;
let facToken: string;

beforeAll(async () => {
  [cat, fac] = await Promise.all([startTestCatalog("property"), startTestFacility("property_fac", "FrDF")]);
  await seedBackbone(cat);
  catToken = await cat.token("fuzz", ["catalog:admin", "agent:FrDF", "agent:USDF"]);
  facToken = fac.tokens.agent;
}, 60000);
afterAll(() => Promise.all([cat?.close(), fac?.close()]));

/** Text as careless clients and attackers send it. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("", "\u0000", "a\u0000b", "\ud800", "x\udfff", "*", "%_\\", "'", "' OR 1=1 --", "..", "../../etc/passwd", "raw", "FrDF", "USDF_DISK"),
  fc.constantFrom("detector = 1", "visit IN (1..10:2)", "NOT (band = 'r')", "detector / 0 = 1", "x".repeat(70000), "(".repeat(5000)),
  fc.constantFrom("00000000-0000-0000-0000-000000000000", "WyJ4Il0", Buffer.from(JSON.stringify([{ a: 1 }, 2])).toString("base64url")),
);
const number = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 10000, 10001));
const float = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0.5, 1e308, -1e308));
const json = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
  fc.constantFrom({ band: { eq: "r" } }, { band: { in: [] } }, { day_obs: { gte: "x", lt: 1 } }, { "\u0000": 1 }, { k: { gt: null } }),
);

function valueOf(type: GraphQLInputType, depth: number): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return valueOf(type.ofType, depth);
  if (isListType(type)) return fc.array(valueOf(type.ofType, depth + 1), { maxLength: depth > 1 ? 2 : 4 });
  if (isEnumType(type)) return fc.constantFrom(...type.getValues().map((v) => v.name));
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    if (depth > 3) return fc.constant({});
    const shape: Record<string, fc.Arbitrary<unknown>> = {};
    for (const f of fields) shape[f.name] = valueOf(f.type, depth + 1);
    const required = fields.filter((f) => isNonNullType(f.type)).map((f) => f.name);
    return fc.record(shape, { requiredKeys: required });
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case "Int":
        return number;
      case "Float":
        return float;
      case "Boolean":
        return fc.boolean();
      case "JSON":
      case "JSONObject":
        return json;
      default:
        return text;
    }
  }
  return fc.constant(null);
}

/** `name(args) { leaves }` for one root field, with its arguments as variables. */
function operationOf(kind: "query" | "mutation", field: GraphQLField<unknown, unknown>): string {
  const typeText = (a: GraphQLArgument) => a.type.toString();
  const vars = field.args.map((a) => `$${a.name}: ${typeText(a)}`).join(", ");
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(", ");
  const ret = getNamedType(field.type);
  let selection = "";
  if (isObjectType(ret)) {
    const leaves = Object.values(ret.getFields())
      .filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)))
      .map((f) => f.name);
    selection = ` { __typename ${leaves.join(" ")} }`;
  }
  return `${kind}${vars ? `(${vars})` : ""} { ${field.name}${args ? `(${args})` : ""}${selection} }`;
}

async function introspect(url: string): Promise<GraphQLSchema> {
  const res = await graphql(url, getIntrospectionQuery());
  return buildClientSchema(res.data);
}

async function fuzz(url: string, token: string, deadline: number): Promise<number> {
  const schema = await introspect(url);
  let requests = 0;
  for (const [kind, root] of [["query", schema.getQueryType()], ["mutation", schema.getMutationType()]] as const) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      if (field.name.startsWith("_")) continue;
      const query = operationOf(kind, field);
      const args = fc.record(Object.fromEntries(field.args.map((a) => [a.name, valueOf(a.type, 0)])), {
        requiredKeys: field.args.filter((a) => isNonNullType(a.type)).map((a) => a.name),
      });
      await fc.assert(
        fc.asyncProperty(args, async (variables) => {
          requests++;
          const started = Date.now();
          const res = await graphql(url, query, variables, token);
          if (process.env.FUZZ_DEBUG) for (const e of res.errors ?? [{ extensions: { code: "OK" } }]) codes.set(`${field.name}:${e.extensions?.code}`, (codes.get(`${field.name}:${e.extensions?.code}`) ?? 0) + 1);
          const ms = Date.now() - started;
          const internal = (res.errors ?? []).filter((e) => e.extensions?.code === "INTERNAL_SERVER_ERROR" || e.extensions?.code === undefined);
          if (res.status >= 500 || internal.length || ms > SLOW_MS) {
            throw new Error(`${field.name}: HTTP ${res.status}, ${ms} ms, ${JSON.stringify(internal).slice(0, 300)}`);
          }
        }),
        { numRuns: RUNS_PER_FIELD, interruptAfterTimeLimit: Math.max(1, deadline - Date.now()), markInterruptAsFailure: false },
      );
      if (Date.now() > deadline) return requests;
    }
  }
  return requests;
}

it("answers every operation of the catalog and of a facility, whatever its arguments, without an internal error, a 5xx or a slow answer", async () => {
  const deadline = Date.now() + BUDGET_MS;
  const [a, b] = await Promise.all([fuzz(cat.url, catToken, deadline), fuzz(fac.url, facToken, deadline)]);
  expect(a + b).toBeGreaterThan(100);
}, 90000);
