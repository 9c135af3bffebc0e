// What the store may forget, and when: finished executions and closed sessions past the retention age, and
// the oldest of them while the stored bytes are over their bound (or the executions over their count bound).
// Keeps the counters (rows, bytes) so checking a bound costs no query, sweeps on its own timer at the next
// expiry, and gives freed pages back to the file system. Must never forget an unfinished execution or an open
// session, and never leave a blob without a referrer or a label without its execution.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { StoreStats, SweepReport } from '../execution-store.ts';
import type { BlobTable } from './blobs.ts';
import { transaction } from './database.ts';

export interface RetentionBounds {
  retentionMs: number;
  retainedBytes: number;
  maxExecutions: number;
}

/** A finished execution or closed session that may be forgotten. */
interface Forgettable {
  kind: 'execution' | 'session';
  key: number | string;
  at: number;
  bytes: number;
  blobs: string;
}

const BATCH = 256;
/** Sweeps are at least this far apart; reads hide expired records on their own, so only disk use waits. */
const MIN_SWEEP_INTERVAL_MS = 1000;
const MAX_TIMER_MS = 2_147_483_647;
/** Free pages beyond this are given back to the file system after a sweep. */
const FREE_PAGES_KEPT = 256;

export class Retention {
  readonly counters: StoreStats;
  readonly #db: DatabaseSync;
  readonly #blobs: BlobTable;
  readonly #bounds: RetentionBounds;
  readonly #now: () => Date;
  readonly #sql: Record<string, StatementSync>;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(db: DatabaseSync, blobs: BlobTable, bounds: RetentionBounds, now: () => Date) {
    this.#db = db;
    this.#blobs = blobs;
    this.#bounds = bounds;
    this.#now = now;
    const select = (fields: string, table: string, column: string, where = '') =>
      db.prepare(
        `SELECT ${fields}, ${column} AS at, bytes FROM ${table} WHERE ${column} IS NOT NULL ${where} ` +
          `ORDER BY ${column} LIMIT ?`,
      );
    this.#sql = {
      expiredExecutions: select('seq AS key, blobs', 'executions', 'finished_ms', 'AND finished_ms <= ?'),
      expiredSessions: select("id AS key, '[]' AS blobs", 'sessions', 'closed_ms', 'AND closed_ms <= ?'),
      oldestExecutions: select('seq AS key, blobs', 'executions', 'finished_ms'),
      oldestSessions: select("id AS key, '[]' AS blobs", 'sessions', 'closed_ms'),
      deleteExecution: db.prepare('DELETE FROM executions WHERE seq = ?'),
      deleteLabels: db.prepare('DELETE FROM execution_labels WHERE execution_seq = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id = ?'),
      nextExecution: db.prepare(
        'SELECT MIN(finished_ms) AS at FROM executions WHERE finished_ms IS NOT NULL',
      ),
      nextSession: db.prepare('SELECT MIN(closed_ms) AS at FROM sessions WHERE closed_ms IS NOT NULL'),
    };
    const count = (sql: string) => Number((db.prepare(sql).get() as { n: number | null }).n ?? 0);
    this.counters = {
      executions: count('SELECT COUNT(*) AS n FROM executions'),
      sessions: count('SELECT COUNT(*) AS n FROM sessions'),
      bytes: count('SELECT SUM(bytes) AS n FROM executions') + count('SELECT SUM(bytes) AS n FROM sessions'),
    };
  }

  /** The finish time before which a record is expired now. */
  cutoffMs(): number {
    return this.#now().getTime() - this.#bounds.retentionMs;
  }

  isExpired(finishedMs: number | null): boolean {
    return finishedMs !== null && finishedMs <= this.cutoffMs();
  }

  /** Deletes one execution row with its labels and its references to blobs (inside the caller's transaction). */
  dropExecution(seq: number, bytes: number, blobs: string): void {
    this.#sql.deleteExecution!.run(seq);
    this.#sql.deleteLabels!.run(seq);
    this.#blobs.release(JSON.parse(blobs) as string[]);
    this.counters.executions -= 1;
    this.counters.bytes -= bytes;
  }

  /** Applies the count and byte bounds (cheap when within them); call after a write. */
  enforce(): SweepReport {
    const report = { executions: 0, sessions: 0 };
    const { maxExecutions, retainedBytes } = this.#bounds;
    while (this.counters.executions > maxExecutions) {
      const over = this.counters.executions - maxExecutions;
      const rows = this.#rows('oldestExecutions', 'execution', Math.min(over, BATCH));
      if (rows.length === 0) break;
      this.#drop(rows, report);
    }
    while (this.counters.bytes > retainedBytes) {
      const rows = [
        ...this.#rows('oldestExecutions', 'execution', BATCH),
        ...this.#rows('oldestSessions', 'session', BATCH),
      ].sort((a, b) => a.at - b.at);
      if (rows.length === 0) break;
      let excess = this.counters.bytes - retainedBytes;
      const chosen: Forgettable[] = [];
      for (const row of rows) {
        if (excess <= 0) break;
        chosen.push(row);
        excess -= row.bytes;
      }
      this.#drop(chosen, report);
    }
    if (report.executions + report.sessions > 0) this.#giveBackPages();
    return report;
  }

  /** Forgets everything expired, then applies the bounds. */
  sweep(): SweepReport {
    const report = { executions: 0, sessions: 0 };
    const cutoff = this.cutoffMs();
    for (const [name, kind] of [
      ['expiredExecutions', 'execution'],
      ['expiredSessions', 'session'],
    ] as const) {
      for (;;) {
        const rows = this.#rows(name, kind, cutoff, BATCH);
        this.#drop(rows, report);
        if (rows.length < BATCH) break;
      }
    }
    const expired = report.executions + report.sessions;
    const bounded = this.enforce();
    if (expired > 0) this.#giveBackPages();
    return {
      executions: report.executions + bounded.executions,
      sessions: report.sessions + bounded.sessions,
    };
  }

  /** Sets the timer for the next expiry, unless one is set. */
  schedule(): void {
    if (this.#timer || this.#closed) return;
    const times = [this.#sql.nextExecution!.get(), this.#sql.nextSession!.get()]
      .map((row) => (row as { at: number | null }).at)
      .filter((at): at is number => at !== null);
    if (times.length === 0) return;
    const due = Math.min(...times) + this.#bounds.retentionMs;
    const delay = Math.min(Math.max(due - this.#now().getTime(), MIN_SWEEP_INTERVAL_MS), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.sweep();
      this.schedule();
    }, delay);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #rows(name: string, kind: Forgettable['kind'], ...params: number[]): Forgettable[] {
    return (this.#sql[name]!.all(...params) as unknown as Forgettable[]).map((row) => ({ ...row, kind }));
  }

  #drop(rows: readonly Forgettable[], report: SweepReport): void {
    if (rows.length === 0) return;
    transaction(this.#db, () => {
      for (const row of rows) {
        if (row.kind === 'execution') {
          this.dropExecution(row.key as number, row.bytes, row.blobs);
          report.executions += 1;
        } else {
          this.#sql.deleteSession!.run(row.key);
          this.counters.sessions -= 1;
          this.counters.bytes -= row.bytes;
          report.sessions += 1;
        }
      }
    });
  }

  #giveBackPages(): void {
    const { freelist_count } = this.#db.prepare('PRAGMA freelist_count').get() as { freelist_count: number };
    if (freelist_count > FREE_PAGES_KEPT) this.#db.exec('PRAGMA incremental_vacuum');
  }
}
