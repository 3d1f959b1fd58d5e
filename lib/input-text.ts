import type { ApolloServerPlugin } from "@apollo/server";
import { DocumentNode, GraphQLError, Kind, visit } from "graphql";
import { ErrorCode } from "./errors";

/**
 * Text Postgres cannot store: a NUL character (text and jsonb refuse it) or a lone UTF-16
 * surrogate (no UTF-8 form; jsonb refuses its escape). Refused at the edge, with where it is,
 * instead of failing inside a statement.
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function unstorableReason(text: string): string | null {
  const m = UNSTORABLE.exec(text);
  if (!m) return null;
  return m[0] === "\u0000" ? `a NUL character (\\u0000) at offset ${m.index}` : `a lone UTF-16 surrogate at offset ${m.index}`;
}

/** Whether a JSON value holds an unstorable string anywhere (keys included): the common answer, no, without building paths. */
function holdsUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (UNSTORABLE.test(v)) return true;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else if (v !== null && typeof v === "object") {
      for (const k in v) {
        if (UNSTORABLE.test(k)) return true;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return false;
}

/**
 * The path and reason of the first unstorable string in a JSON value (keys included), walked
 * without recursion. Paths are built only for a value that holds one: a bulk call of 100,000
 * items spent a second making the path of every string.
 */
export function findUnstorableText(value: unknown, root = "variables"): { path: string; reason: string } | null {
  if (!holdsUnstorableText(value)) return null;
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      const reason = unstorableReason(v);
      if (reason) return { path, reason };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        const reason = unstorableReason(k);
        if (reason) return { path: `${path} (a key)`, reason };
        stack.push([child, `${path}.${k.slice(0, 40)}`]);
      }
    }
  }
  return null;
}

function inDocument(document: DocumentNode): { path: string; reason: string } | null {
  let found: { path: string; reason: string } | null = null;
  visit(document, {
    [Kind.STRING]: (node) => {
      const reason = found ? null : unstorableReason(node.value);
      if (reason) found = { path: `the string at line ${node.loc?.startToken.line ?? "?"} of the query`, reason };
    },
  });
  return found;
}

/** Refuses a request whose variables or query literals hold unstorable text (INVALID_INPUT, in a 200 answer like other refusals). */
export function unstorableTextPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const bad = findUnstorableText(request.variables ?? {}) ?? inDocument(document);
          if (!bad) return;
          throw new GraphQLError(`${bad.path} holds ${bad.reason}, which cannot be stored: remove it or replace it`, {
            extensions: { code: ErrorCode.INVALID_INPUT, argument: bad.path, http: { status: 200 } },
          });
        },
      };
    },
  };
}
