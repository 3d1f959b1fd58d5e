/**
 * Identical subgraph reads in flight share one request, as Hive Gateway deduplicates them: when
 * many people ask the same thing at once (a dashboard's status query, the same file's replicas),
 * the gateway sends the subgraph one request and gives each caller its own copy of the answer.
 * Only reads are shared (a mutation is always sent), and only between requests with the same URL,
 * body and Authorization header: the answer may depend on the caller. A request that starts after
 * the shared one has answered sends its own. The first caller's X-Request-Id goes with it.
 */
interface SharedAnswer {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  text: string;
}

const inFlight = new Map<string, Promise<SharedAnswer>>();

function headerOf(headers: RequestInit["headers"], name: string): string {
  if (!headers) return "";
  if (headers instanceof Headers) return headers.get(name) ?? "";
  if (Array.isArray(headers)) return headers.find(([k]) => k.toLowerCase() === name)?.[1] ?? "";
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return String(v);
  return "";
}

/**
 * `send()` for this read, or the answer of the identical read already in flight. Each caller
 * gets a Response of its own (a body is read once). `init.body` must be a string to be shared;
 * other bodies are sent as they are.
 */
export async function sharedRead(url: string, init: RequestInit, send: () => Promise<Response>): Promise<Response> {
  if (typeof init.body !== "string") return send();
  const key = `${url}\n${headerOf(init.headers, "authorization")}\n${init.body}`;
  let answer = inFlight.get(key);
  if (!answer) {
    answer = send().then(async (res) => ({ status: res.status, statusText: res.statusText, headers: [...res.headers], text: await res.text() }));
    inFlight.set(key, answer);
    const forget = () => {
      if (inFlight.get(key) === answer) inFlight.delete(key);
    };
    answer.then(forget, forget);
  }
  const a = await answer;
  // Without the original's encoding and length headers: the text is already decoded.
  const headers = a.headers.filter(([k]) => k !== "content-encoding" && k !== "content-length");
  return textResponse(a.status === 204 || a.status === 304 ? "" : a.text, { status: a.status, statusText: a.statusText, headers }, url);
}

/**
 * A Response whose body is text already decoded (a caller's copy of a shared answer, or what
 * subgraph-fetch.ts read): text() and json() hand it over. Built as `new Response(text)`, the text
 * was encoded into a body and decoded again by each reader (for a status query's 5 MB from the
 * catalog, about a tenth of the gateway's CPU profile). Each json() parses its own copy, so
 * callers never share objects; a body is read once, as Response's own. The body stream is not
 * used (null). `url` is the URL asked, as fetch's answer has it.
 */
export function textResponse(text: string, init: ResponseInit, url = ""): Response {
  const response = new Response(null, init);
  let consumed = false;
  const take = (): string => {
    if (consumed) throw new TypeError("Body is unusable: Body has already been read");
    consumed = true;
    return text;
  };
  Object.defineProperties(response, {
    url: { value: url },
    bodyUsed: { get: () => consumed },
    text: { value: async () => take() },
    json: { value: async () => JSON.parse(take()) },
    arrayBuffer: {
      value: async () => {
        const bytes = Buffer.from(take(), "utf8");
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      },
    },
  });
  return response;
}

/** How many distinct reads are in flight now (for tests). */
export function readsInFlight(): number {
  return inFlight.size;
}
