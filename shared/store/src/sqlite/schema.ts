// The store's tables and indexes, created on first open and checked on every later one (PRAGMA user_version).
// Must never change a table in place: a new version adds a migration step here.
//
// executions        one row per execution; `execution` is its JSON with large strings moved to `blobs`;
//                   `events` the encoded replay of a finished one; `request` only while a retry may need it.
// execution_labels  metadata label=value pairs, for listing by label.
// blobs             content-addressed (sha256) large outputs and files, stored once, reference-counted.
// sessions          one row per session record.

import type { DatabaseSync } from 'node:sqlite';

export const SCHEMA_VERSION = 1;

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

/** Creates the schema in a new database; refuses one written by a newer version. */
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
    if (row.user_version === 0) {
      db.exec(TABLES);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
