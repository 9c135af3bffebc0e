// Listing a tenant's sessions, newest first, with filters and the same opaque cursor as executions (created
// time and id of the last session of the page). Served by the (tenant, created_ms, id) index; a tenant holds
// few sessions (open ones are bounded, closed ones expire), so labels are matched in the record's JSON.
// Must never list another tenant's sessions or closed ones past their retention, and never build SQL from
// input (every value is a bound parameter; only the shape of the query varies).

import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { Session } from '@airlock/protocol';
import type { SessionListQuery, SessionPage } from '../session-store.ts';
import { pageConditions, pageOf } from './listing.ts';

export class SessionListing {
  readonly #db: DatabaseSync;
  readonly #cutoffMs: () => number;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync, cutoffMs: () => number) {
    this.#db = db;
    this.#cutoffMs = cutoffMs;
  }

  page(tenant: string, query: SessionListQuery): SessionPage {
    if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
      throw new TypeError(`Expected \`limit\` to be an integer from 1 up, got \`${String(query.limit)}\``);
    }
    const where = ['s.tenant = ?', '(s.closed_ms IS NULL OR s.closed_ms > ?)'];
    const params: SQLInputValue[] = [tenant, this.#cutoffMs()];
    if (query.status !== undefined) {
      where.push('s.status = ?');
      params.push(query.status);
    }
    for (const [field, value] of [
      ['language', query.language],
      ['backend', query.backend],
      ['template', query.template],
    ] as const) {
      if (value === undefined) continue;
      where.push(`json_extract(s.session, '$.${field}') = ?`);
      params.push(value);
    }
    for (const [label, value] of Object.entries(query.labels ?? {})) {
      where.push("json_extract(s.session, '$.metadata.' || json_quote(?)) = ?");
      params.push(label, value);
    }
    pageConditions('s', query, where, params);
    const sql =
      `SELECT s.id, s.created_ms, s.session FROM sessions s WHERE ${where.join(' AND ')} ` +
      'ORDER BY s.created_ms DESC, s.id DESC LIMIT ?';
    params.push(query.limit + 1);
    const rows = this.#statement(sql).all(...params) as Array<{
      id: string;
      created_ms: number;
      session: string;
    }>;
    const { kept, nextCursor } = pageOf(rows, query.limit);
    return { sessions: kept.map((row) => Session.parse(JSON.parse(row.session))), nextCursor };
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
