// Listing a tenant's executions, newest first, with filters and an opaque cursor (created time and id of the
// last execution of the page). Served by the (tenant, created_ms, id) index; labels by the label table.
// Must never list another tenant's executions or ones past their retention, and never build SQL from input
// (every value is a bound parameter; only the shape of the query varies).

import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { Execution } from '@airlock/protocol';
import type { ExecutionPage, ListQuery } from '../execution-store.ts';

interface Cursor {
  createdMs: number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdMs, cursor.id])).toString('base64url');
}

/** The cursor, or a TypeError naming the problem. */
export function decodeCursor(text: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string'
  ) {
    throw new TypeError(`Expected a cursor from an earlier page, got \`${text.slice(0, 64)}\``);
  }
  return { createdMs: parsed[0] as number, id: parsed[1] };
}

export function timeMs(name: string, iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new TypeError(`Expected \`${name}\` to be an ISO time, got \`${iso}\``);
  return ms;
}

/** The time window and the cursor of a page, as conditions on `alias`'s created_ms and id (newest first). */
export function pageConditions(
  alias: string,
  query: {
    createdAfter?: string | undefined;
    createdBefore?: string | undefined;
    cursor?: string | undefined;
  },
  where: string[],
  params: SQLInputValue[],
): void {
  if (query.createdAfter !== undefined) {
    where.push(`${alias}.created_ms > ?`);
    params.push(timeMs('createdAfter', query.createdAfter));
  }
  if (query.createdBefore !== undefined) {
    where.push(`${alias}.created_ms < ?`);
    params.push(timeMs('createdBefore', query.createdBefore));
  }
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor);
    where.push(`(${alias}.created_ms, ${alias}.id) < (?, ?)`);
    params.push(cursor.createdMs, cursor.id);
  }
}

/** One page of rows read with `LIMIT limit + 1`: the rows kept and the cursor after the last, if more exist. */
export function pageOf<Row extends { id: string; created_ms: number }>(
  rows: Row[],
  limit: number,
): { kept: Row[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept.at(-1);
  return {
    kept,
    nextCursor: more && last ? encodeCursor({ createdMs: last.created_ms, id: last.id }) : null,
  };
}

/** Prepared statements by query shape (a bounded set: one per combination of filters and label count). */
export class StatementCache {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  get(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** A TypeError unless `limit` is a whole number from 1 up. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TypeError(`Expected \`limit\` to be an integer from 1 up, got \`${String(limit)}\``);
  }
}

/**
 * Reads one page of `table` (as `alias`, newest first): the rows matching `where` (with `params`) and the
 * query's time window and cursor, each with its id, created_ms and the JSON `column`.
 */
export function readPage<Column extends string>(
  statements: StatementCache,
  from: { table: string; alias: string; column: Column },
  query: Parameters<typeof pageConditions>[1] & { limit: number },
  where: string[],
  params: SQLInputValue[],
): { kept: Array<{ id: string; created_ms: number } & Record<Column, string>>; nextCursor: string | null } {
  const { table, alias: a, column } = from;
  pageConditions(a, query, where, params);
  const sql =
    `SELECT ${a}.id, ${a}.created_ms, ${a}.${column} FROM ${table} ${a} WHERE ${where.join(' AND ')} ` +
    `ORDER BY ${a}.created_ms DESC, ${a}.id DESC LIMIT ?`;
  params.push(query.limit + 1);
  const rows = statements.get(sql).all(...params) as Array<
    { id: string; created_ms: number } & Record<Column, string>
  >;
  return pageOf(rows, query.limit);
}

export class Listing {
  readonly #statements: StatementCache;
  readonly #unpack: (json: string) => Execution;
  readonly #cutoffMs: () => number;

  constructor(db: DatabaseSync, unpack: (json: string) => Execution, cutoffMs: () => number) {
    this.#statements = new StatementCache(db);
    this.#unpack = unpack;
    this.#cutoffMs = cutoffMs;
  }

  page(tenant: string, query: ListQuery): ExecutionPage {
    checkLimit(query.limit);
    const where = ['e.tenant = ?', '(e.finished_ms IS NULL OR e.finished_ms > ?)'];
    const params: SQLInputValue[] = [tenant, this.#cutoffMs()];
    const equal = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`e.${column} = ?`);
      params.push(value);
    };
    equal('status', query.status);
    equal('outcome', query.outcome);
    equal('language', query.language);
    equal('backend', query.backend);
    if (query.template !== undefined) {
      where.push("json_extract(e.execution, '$.e.template') = ?");
      params.push(query.template);
    }
    for (const [label, value] of Object.entries(query.labels ?? {})) {
      where.push(
        'EXISTS (SELECT 1 FROM execution_labels l WHERE l.execution_seq = e.seq AND l.label = ? AND l.value = ?)',
      );
      params.push(label, value);
    }
    const from = { table: 'executions', alias: 'e', column: 'execution' } as const;
    const { kept, nextCursor } = readPage(this.#statements, from, query, where, params);
    return { executions: kept.map((row) => this.#unpack(row.execution)), nextCursor };
  }
}
