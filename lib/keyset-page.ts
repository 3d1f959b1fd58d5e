import type { EntityManager } from "typeorm";
import { Page, pageSize, toPage } from "./pagination";

/** WHERE conditions with numbered parameters ($1, $2, …), built up one filter at a time. */
export class SqlFilter {
  readonly conditions: string[] = [];
  readonly params: unknown[] = [];

  /** The placeholder of a new parameter. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** Adds a condition over new parameters: `add((a, b) => \`x BETWEEN ${a} AND ${b}\`, 1, 9)`. */
  add(sql: (...placeholders: string[]) => string, ...values: unknown[]): this {
    this.conditions.push(sql(...values.map((v) => this.param(v))));
    return this;
  }

  get where(): string {
    return this.conditions.length ? this.conditions.join(" AND ") : "true";
  }

  clone(): SqlFilter {
    const copy = new SqlFilter();
    copy.conditions.push(...this.conditions);
    copy.params.push(...this.params);
    return copy;
  }
}

export interface KeysetQuery<T> {
  /** `SELECT <columns>` */
  select: string;
  /** `FROM <tables>`; also used to count. */
  from: string;
  filter: SqlFilter;
  /** ORDER BY of the page; the cursor condition must follow the same order. */
  orderBy: string;
  /** Rows after a cursor: its decoded key and the condition over its placeholders. */
  after?: { key: unknown[]; sql: (...placeholders: string[]) => string } | null;
  first?: number | null;
  keyOf: (row: T) => unknown[];
}

/**
 * One page of a keyset-paginated query (limit + 1 rows tell whether more follow); the total
 * count runs, with the same filter but no cursor, only when a client selects totalCount.
 */
export async function keysetPage<T>(db: EntityManager, q: KeysetQuery<T>): Promise<Page<T>> {
  const limit = pageSize(q.first);
  const page = q.filter.clone();
  if (q.after) page.add(q.after.sql, ...q.after.key);
  const limitParam = page.param(limit + 1);
  const rows: T[] = await db.query(`${q.select} ${q.from} WHERE ${page.where} ORDER BY ${q.orderBy} LIMIT ${limitParam}`, page.params);
  return toPage(rows, limit, q.keyOf, async () => {
    const [{ n }] = await db.query(`SELECT count(*) AS n ${q.from} WHERE ${q.filter.where}`, q.filter.params);
    return n;
  });
}
