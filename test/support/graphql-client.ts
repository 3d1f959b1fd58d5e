/** A minimal GraphQL-over-HTTP client: real requests against a running service. */
export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

export async function graphql<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GraphQLResponse<T>;
  return { ...body, status: res.status };
}

/** The data of a response that must have no errors. */
export async function ok<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const res = await graphql<T>(url, query, variables, token);
  if (res.errors?.length) throw new Error(`unexpected GraphQL errors: ${JSON.stringify(res.errors, null, 2)}`);
  return res.data as T;
}

/** The first error's code of a response that must fail. */
export async function errorOf(url: string, query: string, variables?: Record<string, unknown>, token?: string) {
  const res = await graphql(url, query, variables, token);
  if (!res.errors?.length) throw new Error(`expected an error, got ${JSON.stringify(res.data)}`);
  return { code: res.errors[0].extensions?.code as string, message: res.errors[0].message, extensions: res.errors[0].extensions ?? {}, data: res.data };
}

/**
 * As `graphql`, over node:http without a deadline for the answer's headers (fetch gives up after
 * 300 s): for the one request of a test that may take longer on a shared machine, such as a rule
 * over 100,000 files.
 */
export async function graphqlWithoutDeadline<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>> {
  const http = await import("node:http");
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        try {
          resolve({ ...(JSON.parse(text) as GraphQLResponse<T>), status: res.statusCode ?? 0 });
        } catch (err) {
          reject(new Error(`${url} answered HTTP ${res.statusCode} without JSON: ${text.slice(0, 200)} (${(err as Error).message})`));
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}
