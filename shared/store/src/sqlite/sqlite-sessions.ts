// The SessionStore on SQLite: one row per session, rewritten on each change; a closed session's retention
// clock starts at its closed_at. Must never return another tenant's session or a closed one past retention.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { Session } from '@airlock/protocol';
import type { SessionListQuery, SessionPage, SessionStore } from '../session-store.ts';
import type { WriteHealth } from '../write-health.ts';
import type { Retention } from './retention.ts';
import { SessionListing } from './session-listing.ts';

export class SqliteSessions implements SessionStore {
  readonly #retention: Retention;
  readonly #sql: Record<string, StatementSync>;
  readonly #health: WriteHealth;
  readonly #listing: SessionListing;

  constructor(db: DatabaseSync, retention: Retention, health: WriteHealth) {
    this.#health = health;
    this.#listing = new SessionListing(db, () => retention.cutoffMs());
    this.#retention = retention;
    this.#sql = {
      byId: db.prepare('SELECT tenant, closed_ms, session, bytes FROM sessions WHERE id = ?'),
      upsert: db.prepare(
        `INSERT INTO sessions (id, tenant, status, created_ms, closed_ms, session, bytes)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, closed_ms = excluded.closed_ms,
           session = excluded.session, bytes = excluded.bytes`,
      ),
      open: db.prepare("SELECT session FROM sessions WHERE status <> 'closed' ORDER BY created_ms"),
    };
  }

  async putSession(session: Session): Promise<void> {
    this.#health.run(() => this.#put(session));
  }

  #put(session: Session): void {
    const json = JSON.stringify(session);
    const bytes = Buffer.byteLength(json);
    const before = this.#sql.byId!.get(session.id) as { bytes: number } | undefined;
    const closedMs = session.closed_at === null ? null : Date.parse(session.closed_at) || Date.now();
    this.#sql.upsert!.run(
      session.id,
      session.tenant,
      session.status,
      Date.parse(session.created_at) || Date.now(),
      closedMs,
      json,
      bytes,
    );
    if (!before) this.#retention.counters.sessions += 1;
    this.#retention.counters.bytes += bytes - (before?.bytes ?? 0);
    this.#retention.enforce();
    if (closedMs !== null) this.#retention.schedule();
  }

  async getSession(tenant: string, id: string): Promise<Session | undefined> {
    const row = this.#sql.byId!.get(id) as
      | { tenant: string; closed_ms: number | null; session: string }
      | undefined;
    if (!row || row.tenant !== tenant || this.#retention.isExpired(row.closed_ms)) return undefined;
    return Session.parse(JSON.parse(row.session));
  }

  async openSessions(): Promise<Session[]> {
    return (this.#sql.open!.all() as Array<{ session: string }>).map((row) =>
      Session.parse(JSON.parse(row.session)),
    );
  }

  async listSessions(tenant: string, query: SessionListQuery): Promise<SessionPage> {
    return this.#listing.page(tenant, query);
  }
}
