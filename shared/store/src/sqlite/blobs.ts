// Content-addressed storage of large values (outputs, files): each distinct content is stored once under its
// sha256 and counted by how many records refer to it; the last release deletes it.
// Must never return content under a hash it does not match, and never delete content still referred to.

import { createHash } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export class BlobTable {
  readonly #addRef: StatementSync;
  readonly #insert: StatementSync;
  readonly #read: StatementSync;
  readonly #dropRef: StatementSync;
  readonly #deleteUnused: StatementSync;

  constructor(db: DatabaseSync) {
    this.#addRef = db.prepare('UPDATE blobs SET refs = refs + 1 WHERE hash = ?');
    this.#insert = db.prepare('INSERT INTO blobs (hash, refs, size, data) VALUES (?, 1, ?, ?)');
    this.#read = db.prepare('SELECT data FROM blobs WHERE hash = ?');
    this.#dropRef = db.prepare('UPDATE blobs SET refs = refs - 1 WHERE hash = ?');
    this.#deleteUnused = db.prepare('DELETE FROM blobs WHERE hash = ? AND refs <= 0');
  }

  /** Stores the content (or adds a reference to the same content stored before); returns its hash. */
  put(content: Uint8Array): string {
    const hash = createHash('sha256').update(content).digest('hex');
    if (Number(this.#addRef.run(hash).changes) === 0) this.#insert.run(hash, content.byteLength, content);
    return hash;
  }

  get(hash: string): Uint8Array {
    const row = this.#read.get(hash) as { data: Uint8Array } | undefined;
    if (!row) throw new Error(`store: blob ${hash} is missing`);
    return row.data;
  }

  /** Drops one reference per hash listed (a hash listed twice drops two). */
  release(hashes: readonly string[]): void {
    for (const hash of hashes) {
      this.#dropRef.run(hash);
      this.#deleteUnused.run(hash);
    }
  }
}
