// The ExecutionStore on SQLite: one row per execution, its labels for listing, its large strings in the blob
// table, its replay encoded against its own output. Every call does its work before it returns (node:sqlite
// is synchronous), so writes apply in call order. Must never return another tenant's execution or one past its
// retention, and never let a second finish change a finished execution.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Execution, ExecutionEvent, ExecutionRequest } from '@airlock/protocol';
import type {
  CreateOutcome,
  ExecutionPage,
  ExecutionStore,
  KeyHolder,
  ListQuery,
  NewExecution,
  StoreStats,
  SweepReport,
  UnfinishedExecution,
} from '../execution-store.ts';
import type { WriteHealth } from '../write-health.ts';
import type { BlobTable } from './blobs.ts';
import { transaction } from './database.ts';
import { decodeEvents, encodeEvents } from './event-codec.ts';
import { Listing } from './listing.ts';
import type { Retention } from './retention.ts';
import { packExecution, unpackExecution } from './stored-execution.ts';

interface Row {
  seq: number;
  tenant: string;
  status: string;
  finished_ms: number | null;
  execution: string;
  events: string | null;
  blobs: string;
  bytes: number;
  request: string | null;
  request_hash: string;
  idempotency_key: string | null;
  runs: number;
}

const ROW = `seq, tenant, status, finished_ms, execution, events, blobs, bytes, request, request_hash,
  idempotency_key, runs`;

/** What a write needs to know of the row it changes (not its JSON). */
interface WriteTarget {
  seq: number;
  tenant: string;
  status: string;
  blobs: string;
  bytes: number;
  runs: number;
  request_bytes: number;
}

export class SqliteExecutions implements ExecutionStore {
  readonly #db: DatabaseSync;
  readonly #blobs: BlobTable;
  readonly #retention: Retention;
  readonly #listing: Listing;
  readonly #sql: Record<string, StatementSync>;
  readonly #health: WriteHealth;

  constructor(db: DatabaseSync, blobs: BlobTable, retention: Retention, health: WriteHealth) {
    this.#health = health;
    this.#db = db;
    this.#blobs = blobs;
    this.#retention = retention;
    this.#listing = new Listing(
      db,
      (json) => unpackExecution(json, blobs),
      () => retention.cutoffMs(),
    );
    this.#sql = {
      insert: db.prepare(
        `INSERT INTO executions (id, tenant, status, language, backend, session_id, created_ms,
           idempotency_key, request_hash, request, execution, bytes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
      ),
      insertLabel: db.prepare(
        'INSERT INTO execution_labels (execution_seq, tenant, label, value, created_ms) VALUES (?, ?, ?, ?, ?)',
      ),
      byId: db.prepare(`SELECT ${ROW} FROM executions WHERE id = ?`),
      target: db.prepare(
        `SELECT seq, tenant, status, blobs, bytes, runs, COALESCE(length(CAST(request AS BLOB)), 0) AS request_bytes
         FROM executions WHERE id = ?`,
      ),
      byKey: db.prepare(`SELECT ${ROW} FROM executions WHERE tenant = ? AND idempotency_key = ?`),
      update: db.prepare(
        'UPDATE executions SET status = ?, execution = ?, runs = ?, bytes = ? WHERE seq = ?',
      ),
      finish: db.prepare(
        `UPDATE executions SET status = 'finished', outcome = ?, finished_ms = ?, execution = ?, events = ?,
           blobs = ?, request = NULL, bytes = ? WHERE seq = ?`,
      ),
      unfinished: db.prepare(`SELECT ${ROW} FROM executions WHERE status <> 'finished' ORDER BY seq`),
    };
  }

  async create(entry: NewExecution): Promise<CreateOutcome> {
    return this.#health.run(() => this.#create(entry));
  }

  #create(entry: NewExecution): CreateOutcome {
    const { execution, idempotencyKey } = entry;
    const holder =
      idempotencyKey === undefined ? undefined : this.#keyHolder(execution.tenant, idempotencyKey);
    if (holder) return { created: false, holder };
    const packed = packExecution({ ...execution, result: null }, this.#blobs);
    const request = entry.request === undefined ? null : JSON.stringify(entry.request);
    const bytes = packed.bytes + (request === null ? 0 : Buffer.byteLength(request));
    const createdMs = Date.parse(execution.created_at);
    const labels = Object.entries(execution.metadata);
    // One statement commits on its own; labels make it several, written together.
    const write = (work: () => void) => (labels.length === 0 ? work() : transaction(this.#db, work));
    write(() => {
      const { seq } = this.#sql.insert!.get(
        execution.id,
        execution.tenant,
        execution.status,
        execution.language,
        execution.backend,
        execution.session_id ?? null,
        createdMs,
        idempotencyKey ?? null,
        entry.requestHash,
        request,
        packed.json,
        bytes,
      ) as { seq: number };
      for (const [label, value] of labels) {
        this.#sql.insertLabel!.run(seq, execution.tenant, label, value, createdMs);
      }
    });
    this.#retention.counters.executions += 1;
    this.#retention.counters.bytes += bytes;
    this.#retention.enforce();
    return { created: true };
  }

  async update(execution: Execution, changes: { runs?: number } = {}): Promise<void> {
    this.#health.run(() => this.#update(execution, changes));
  }

  #update(execution: Execution, changes: { runs?: number }): void {
    const row = this.#target(execution.id);
    if (!row || row.status === 'finished') return;
    const packed = packExecution({ ...execution, result: null }, this.#blobs);
    const bytes = packed.bytes + row.request_bytes;
    this.#sql.update!.run(execution.status, packed.json, changes.runs ?? row.runs, bytes, row.seq);
    this.#retention.counters.bytes += bytes - row.bytes;
  }

  async finish(execution: Execution, events: readonly ExecutionEvent[]): Promise<void> {
    this.#health.run(() => this.#finish(execution, events));
  }

  #finish(execution: Execution, events: readonly ExecutionEvent[]): void {
    const row = this.#target(execution.id);
    if (!row || row.status === 'finished') return;
    const finishedMs = Date.parse(execution.finished_at ?? '') || Date.now();
    const bytes = transaction(this.#db, () => {
      const packed = packExecution(execution, this.#blobs);
      const replay = encodeEvents(events, execution.result);
      const size = packed.bytes + Buffer.byteLength(replay);
      this.#sql.finish!.run(
        execution.result?.outcome ?? 'internal_error',
        finishedMs,
        packed.json,
        replay,
        JSON.stringify(packed.blobs),
        size,
        row.seq,
      );
      this.#blobs.release(JSON.parse(row.blobs) as string[]);
      return size;
    });
    this.#retention.counters.bytes += bytes - row.bytes;
    this.#retention.enforce();
    this.#retention.schedule();
  }

  async remove(tenant: string, id: string): Promise<void> {
    this.#health.run(() => this.#remove(tenant, id));
  }

  #remove(tenant: string, id: string): void {
    const row = this.#target(id);
    if (!row || row.tenant !== tenant) return;
    transaction(this.#db, () => this.#retention.dropExecution(row.seq, row.bytes, row.blobs));
  }

  async get(tenant: string, id: string): Promise<Execution | undefined> {
    const row = this.#visible(tenant, id);
    return row && unpackExecution(row.execution, this.#blobs);
  }

  async findByKey(tenant: string, key: string): Promise<KeyHolder | undefined> {
    return this.#keyHolder(tenant, key);
  }

  async events(tenant: string, id: string): Promise<ExecutionEvent[] | undefined> {
    const row = this.#visible(tenant, id);
    if (row?.status !== 'finished' || row.events === null) return undefined;
    return decodeEvents(row.events, unpackExecution(row.execution, this.#blobs));
  }

  async list(tenant: string, query: ListQuery): Promise<ExecutionPage> {
    return this.#listing.page(tenant, query);
  }

  async unfinished(): Promise<UnfinishedExecution[]> {
    return (this.#sql.unfinished!.all() as unknown as Row[]).map((row) => ({
      execution: unpackExecution(row.execution, this.#blobs),
      requestHash: row.request_hash,
      idempotencyKey: row.idempotency_key ?? undefined,
      request: row.request === null ? undefined : (JSON.parse(row.request) as ExecutionRequest),
      runs: row.runs,
    }));
  }

  async sweep(): Promise<SweepReport> {
    return this.#retention.sweep();
  }

  stats(): StoreStats {
    return { ...this.#retention.counters };
  }

  #row(id: string): Row | undefined {
    return this.#sql.byId!.get(id) as Row | undefined;
  }

  #target(id: string): WriteTarget | undefined {
    return this.#sql.target!.get(id) as WriteTarget | undefined;
  }

  #visible(tenant: string, id: string): Row | undefined {
    const row = this.#row(id);
    if (!row || row.tenant !== tenant || this.#retention.isExpired(row.finished_ms)) return undefined;
    return row;
  }

  /** The live holder of a key; an expired holder is forgotten on the spot, freeing the key. */
  #keyHolder(tenant: string, key: string): KeyHolder | undefined {
    const row = this.#sql.byKey!.get(tenant, key) as Row | undefined;
    if (!row) return undefined;
    if (this.#retention.isExpired(row.finished_ms)) {
      transaction(this.#db, () => this.#retention.dropExecution(row.seq, row.bytes, row.blobs));
      return undefined;
    }
    return { execution: unpackExecution(row.execution, this.#blobs), requestHash: row.request_hash };
  }
}
