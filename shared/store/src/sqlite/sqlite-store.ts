// The embedded store: one SQLite database holding executions (with their replays and blobs) and sessions,
// bounded by age, by bytes and optionally by a count of executions. Open it once per process (a second opener
// of the same file is refused); close it after everything that writes to it.
// Must never read the environment (options come from the service's config), nor throw from its sweep timer.

import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import type { ExecutionStore, StoreStats, SweepReport } from '../execution-store.ts';
import type { SessionStore } from '../session-store.ts';
import { type StoreHealth, WriteHealth } from '../write-health.ts';
import { BlobTable } from './blobs.ts';
import { IN_MEMORY, openDatabase } from './database.ts';
import { Retention } from './retention.ts';
import { type EventRetention, SqliteEvents } from './sqlite-events.ts';
import { SqliteExecutions } from './sqlite-executions.ts';
import { SqliteSessions } from './sqlite-sessions.ts';

export interface SqliteStoreOptions {
  /** The database file (its folder is created 0700), or `:memory:` for a store that lives in this process. */
  path: string;
  /** Milliseconds a finished execution or closed session stays readable; then it is forgotten. */
  retentionMs: number;
  /**
   * Bound on stored bytes (records, replays, kept requests, and each record's blobs counted as if not shared).
   * Over it, the oldest finished executions and closed sessions are forgotten first.
   * @default Infinity
   */
  retainedBytes?: number;
  /**
   * Bound on stored executions, unfinished ones included; over it the oldest finished ones are forgotten.
   * @default Infinity
   */
  maxExecutions?: number;
  /**
   * Bounds of the lifecycle event log (age and bytes), apart from the executions'.
   * @default { retentionMs: 7 days, retainedBytes: 64 MiB }
   */
  events?: EventRetention;
  /**
   * Clock for retention.
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Called when the store turns unwritable (a write failed: full or read-only disk) and writable again.
   * @default undefined
   */
  onHealthChange?: (health: StoreHealth) => void;
}

export class SqliteStore {
  readonly executions: ExecutionStore;
  readonly sessions: SessionStore;
  /** The lifecycle event log. */
  readonly events: SqliteEvents;
  /** The database file, or `:memory:`. */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #retention: Retention;
  readonly #health: WriteHealth;

  private constructor(
    path: string,
    db: DatabaseSync,
    retention: Retention,
    blobs: BlobTable,
    health: WriteHealth,
    events: SqliteEvents,
  ) {
    this.path = path;
    this.#db = db;
    this.#retention = retention;
    this.#health = health;
    this.executions = new SqliteExecutions(db, blobs, retention, health);
    this.sessions = new SqliteSessions(db, retention, health);
    this.events = events;
  }

  /**
   * A random 32-byte key kept in the store (made on first use): what the service seals its cursors with, so
   * a cursor stays valid across restarts on the same data directory and is never valid elsewhere.
   */
  cursorKey(): Buffer {
    const read = this.#db.prepare("SELECT value FROM store_meta WHERE name = 'cursor_key'");
    const found = read.get() as { value: Uint8Array } | undefined;
    if (found) return Buffer.from(found.value);
    this.#db
      .prepare("INSERT OR IGNORE INTO store_meta (name, value) VALUES ('cursor_key', ?)")
      .run(randomBytes(32));
    return Buffer.from((read.get() as { value: Uint8Array }).value);
  }

  /** Whether the last write succeeded (since when and why not, when it did not). */
  get health(): StoreHealth {
    return this.#health.current;
  }

  /** Opens the store; throws StoreInUseError when another process holds it. Sweeps once before answering. */
  static open(options: SqliteStoreOptions): SqliteStore {
    const bounds = {
      retentionMs: bound('retentionMs', options.retentionMs),
      retainedBytes: bound('retainedBytes', options.retainedBytes ?? Number.POSITIVE_INFINITY),
      maxExecutions: bound('maxExecutions', options.maxExecutions ?? Number.POSITIVE_INFINITY),
    };
    const now = options.now ?? (() => new Date());
    const db = openDatabase(options.path);
    try {
      const blobs = new BlobTable(db);
      const retention = new Retention(db, blobs, bounds, now);
      const health = new WriteHealth(options.onHealthChange);
      const events = new SqliteEvents(
        db,
        options.events ?? { retentionMs: 7 * 86_400_000, retainedBytes: 64 * 1024 * 1024 },
        now,
      );
      const store = new SqliteStore(options.path, db, retention, blobs, health, events);
      retention.sweep();
      retention.schedule();
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  static inMemory(options: Omit<SqliteStoreOptions, 'path'>): SqliteStore {
    return SqliteStore.open({ ...options, path: IN_MEMORY });
  }

  stats(): StoreStats {
    return { ...this.#retention.counters };
  }

  sweep(): SweepReport {
    return this.#retention.sweep();
  }

  /** Bytes the database occupies on disk, write-ahead log included (0 in memory). */
  fileBytes(): number {
    if (this.path === IN_MEMORY) return 0;
    const size = (path: string) => statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    return size(this.path) + size(`${this.path}-wal`);
  }

  close(): void {
    this.#retention.close();
    if (this.#db.isOpen) this.#db.close();
  }
}

function bound(name: string, value: number): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(
      `Expected \`${name}\` to be an integer from 0 up, got \`${String(value)}\` (${typeof value})`,
    );
  }
  return value;
}
