// The lifecycle event log on SQLite: one row per event, read by (tenant, seq); `seq` is AUTOINCREMENT, so a
// position handed out as a cursor is never reused after old events are forgotten. Bounded by age and by bytes,
// both enforced on each append (oldest first). Must never return another tenant's event, nor one past its age.

import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { LifecycleEvent } from '@airlock/protocol';
import type { LifecycleEventLog, LifecycleEventRead, LoggedLifecycleEvent } from '../lifecycle-events.ts';

export interface EventRetention {
  /** Milliseconds an event stays in the feed. */
  retentionMs: number;
  /** Bytes of events kept; over it the oldest go first. */
  retainedBytes: number;
}

export class SqliteEvents implements LifecycleEventLog {
  readonly #db: DatabaseSync;
  readonly #retention: EventRetention;
  readonly #now: () => Date;
  readonly #sql: Record<'insert' | 'expire' | 'oldest' | 'total', StatementSync>;
  readonly #reads = new Map<string, StatementSync>();
  #bytes: number;

  constructor(db: DatabaseSync, retention: EventRetention, now: () => Date) {
    this.#db = db;
    this.#retention = retention;
    this.#now = now;
    this.#sql = {
      insert: db.prepare(
        'INSERT INTO lifecycle_events (tenant, type, at_ms, event, bytes) VALUES (?, ?, ?, ?, ?)',
      ),
      expire: db.prepare('DELETE FROM lifecycle_events WHERE at_ms <= ? RETURNING bytes'),
      oldest: db.prepare(
        'DELETE FROM lifecycle_events WHERE seq = (SELECT MIN(seq) FROM lifecycle_events) RETURNING bytes',
      ),
      total: db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM lifecycle_events'),
    };
    this.#bytes = (this.#sql.total.get() as { n: number }).n;
  }

  async append(event: LifecycleEvent): Promise<number> {
    const json = JSON.stringify(event);
    const bytes = Buffer.byteLength(json);
    const result = this.#sql.insert.run(event.tenant, event.type, Date.parse(event.at), json, bytes);
    this.#bytes += bytes;
    this.#enforce();
    return Number(result.lastInsertRowid);
  }

  async read(tenant: string, query: LifecycleEventRead): Promise<LoggedLifecycleEvent[]> {
    const where = ['tenant = ?', 'seq > ?', 'at_ms > ?'];
    const params: SQLInputValue[] = [tenant, query.after ?? 0, this.#cutoffMs()];
    if (query.types && query.types.length > 0) {
      where.push(`type IN (${query.types.map(() => '?').join(', ')})`);
      params.push(...query.types);
    }
    const sql = `SELECT seq, event FROM lifecycle_events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`;
    params.push(query.limit);
    let statement = this.#reads.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#reads.set(sql, statement);
    }
    return (statement.all(...params) as Array<{ seq: number; event: string }>).map((row) => ({
      seq: row.seq,
      event: LifecycleEvent.parse(JSON.parse(row.event)),
    }));
  }

  /** Bytes of the events kept. */
  get bytes(): number {
    return this.#bytes;
  }

  #cutoffMs(): number {
    return this.#now().getTime() - this.#retention.retentionMs;
  }

  #enforce(): void {
    const forget = (rows: unknown[]) => {
      for (const row of rows as Array<{ bytes: number }>) this.#bytes -= row.bytes;
    };
    forget(this.#sql.expire.all(this.#cutoffMs()));
    while (this.#bytes > this.#retention.retainedBytes) {
      const rows = this.#sql.oldest.all();
      if (rows.length === 0) break;
      forget(rows);
    }
  }
}
