// Listing a tenant's sessions, newest first, with filters and the same opaque cursor as executions (created
// time and id of the last session of the page). Served by the (tenant, created_ms, id) index; a tenant holds
// few sessions (open ones are bounded, closed ones expire), so labels are matched in the record's JSON.
// Must never list another tenant's sessions or closed ones past their retention, and never build SQL from
// input (every value is a bound parameter; only the shape of the query varies).

import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { Session } from '@airlock/protocol';
import type { SessionListQuery, SessionPage } from '../session-store.ts';
import { checkLimit, readPage, StatementCache } from './listing.ts';

export class SessionListing {
  readonly #statements: StatementCache;
  readonly #cutoffMs: () => number;

  constructor(db: DatabaseSync, cutoffMs: () => number) {
    this.#statements = new StatementCache(db);
    this.#cutoffMs = cutoffMs;
  }

  page(tenant: string, query: SessionListQuery): SessionPage {
    checkLimit(query.limit);
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
    const from = { table: 'sessions', alias: 's', column: 'session' } as const;
    const { kept, nextCursor } = readPage(this.#statements, from, query, where, params);
    return { sessions: kept.map((row) => Session.parse(JSON.parse(row.session))), nextCursor };
  }
}
