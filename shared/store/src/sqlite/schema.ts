// The store's tables and indexes, created on first open and checked on every later one (PRAGMA user_version).
// Must never change a table in place: a new version adds a migration step here.
//
// executions        one row per execution; `execution` is its JSON with large strings moved to `blobs`;
//                   `events` the encoded replay of a finished one; `request` only while a retry may need it.
// execution_labels  metadata label=value pairs, for listing by label.
// blobs             content-addressed (sha256) large outputs and files, stored once, reference-counted.
// sessions          one row per session record.
// lifecycle_events  the tenant-scoped feed of lifecycle events (version 2); `seq` is never reused.
// store_meta        named values of the store itself, e.g. the key that seals listing cursors (version 2).

import type { DatabaseSync } from 'node:sqlite';

export const SCHEMA_VERSION = 2;

const TABLES = `
CREATE TABLE executions (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  outcome TEXT,
  language TEXT NOT NULL,
  backend TEXT NOT NULL,
  session_id TEXT,
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  idempotency_key TEXT,
  request_hash TEXT NOT NULL,
  runs INTEGER NOT NULL DEFAULT 0,
  request TEXT,
  execution TEXT NOT NULL,
  events TEXT,
  blobs TEXT NOT NULL DEFAULT '[]',
  bytes INTEGER NOT NULL
);
CREATE UNIQUE INDEX executions_by_key ON executions (tenant, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_by_tenant ON executions (tenant, created_ms DESC, id DESC);
CREATE INDEX executions_by_finish ON executions (finished_ms) WHERE finished_ms IS NOT NULL;
CREATE INDEX executions_unfinished ON executions (status) WHERE status <> 'finished';

CREATE TABLE execution_labels (
  execution_seq INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  label TEXT NOT NULL,
  value TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (execution_seq, label)
) WITHOUT ROWID;
CREATE INDEX execution_labels_by_value ON execution_labels (tenant, label, value, created_ms DESC);

CREATE TABLE blobs (
  hash TEXT PRIMARY KEY,
  refs INTEGER NOT NULL,
  size INTEGER NOT NULL,
  data BLOB NOT NULL
);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  closed_ms INTEGER,
  session TEXT NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE INDEX sessions_by_close ON sessions (closed_ms) WHERE closed_ms IS NOT NULL;
CREATE INDEX sessions_open ON sessions (status) WHERE status <> 'closed';
`;

/** Version 2: the lifecycle event feed, the store's own values, and listing sessions by tenant. */
const VERSION_2 = `
CREATE TABLE lifecycle_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  type TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  event TEXT NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE INDEX lifecycle_events_by_tenant ON lifecycle_events (tenant, seq);
CREATE INDEX lifecycle_events_by_time ON lifecycle_events (at_ms);
CREATE TABLE store_meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_tenant ON sessions (tenant, created_ms DESC, id DESC);
`;

/** Creates the schema in a new database, brings an older one up to date; refuses one written by a newer version. */
export function migrate(db: DatabaseSync): void {
  // IMMEDIATE takes the write lock now, so a second process fails here and not at its first write.
  db.exec('BEGIN IMMEDIATE');
  try {
    const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
    if (row.user_version > SCHEMA_VERSION) {
      throw new Error(
        `the store's schema is version ${row.user_version}, newer than this service's ${SCHEMA_VERSION}`,
      );
    }
    if (row.user_version === 0) db.exec(TABLES);
    if (row.user_version < 2) db.exec(VERSION_2);
    if (row.user_version < SCHEMA_VERSION) db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
