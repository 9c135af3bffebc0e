// Opens the store's SQLite database (node:sqlite, no native addon): the folder 0700, the files 0600, write-ahead
// log, `synchronous=NORMAL`, a bounded page cache, and an exclusive lock held for the life of the connection, so
// a second service on the same data directory is refused instead of corrupting it. Creates or checks the schema.
// Must never open a database whose schema is newer than this code, and never leave the file readable by others.

import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { migrate } from './schema.ts';

/** SQLite's page cache per connection (KiB): the store's memory does not grow with what it holds. */
const CACHE_KIB = 8 * 1024;
/** The write-ahead log is cut back to this size after a checkpoint. */
const WAL_LIMIT_BYTES = 64 * 1024 * 1024;

export const IN_MEMORY = ':memory:';

export class StoreInUseError extends Error {
  constructor(path: string, cause: unknown) {
    super(`the store ${path} is in use by another process (SQLite: database is locked)`, { cause });
    this.name = 'StoreInUseError';
  }
}

/** Opens (creating if needed) the database at `path`, or an in-memory one for IN_MEMORY. */
export function openDatabase(path: string): DatabaseSync {
  if (path !== IN_MEMORY) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // SQLite gives its -wal file the main file's mode: making the main file 0600 first covers both.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
  const db = new DatabaseSync(path, { timeout: 0 });
  try {
    // Exclusive before WAL: the WAL index then lives in this process's memory (no -shm file) and no other
    // connection can open the database at all.
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    // Only takes effect on a new, empty database: freed pages can then be given back to the file system.
    db.exec('PRAGMA auto_vacuum = INCREMENTAL');
    db.exec('PRAGMA journal_mode = WAL');
    // With WAL, NORMAL syncs at checkpoints, not at each commit: a killed process loses nothing committed
    // (the WAL is in the OS's cache); a power cut may lose the last commits, which the audit log covers.
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
    db.exec(`PRAGMA journal_size_limit = ${WAL_LIMIT_BYTES}`);
    db.exec('PRAGMA temp_store = MEMORY');
    migrate(db);
  } catch (error) {
    db.close();
    if (isLocked(error)) throw new StoreInUseError(path, error);
    throw error;
  }
  return db;
}

function isLocked(error: unknown): boolean {
  return (error as { errcode?: unknown }).errcode === 5; // SQLITE_BUSY
}

/** Runs `work` in one transaction: all of it is committed, or none of it. */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN');
  try {
    const value = work();
    db.exec('COMMIT');
    return value;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
