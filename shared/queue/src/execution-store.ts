// Where the in-process queue keeps executions: lookup by tenant and id, idempotency keys per tenant, and
// retention of finished executions (by age and by count, oldest finished first).
// Must never evict a queued or running execution, and never show one tenant's execution to another.

import type { Execution, ExecutionRequest } from '@airlock/protocol';
import { EventLog } from './event-log.ts';
import type { EventListener } from './execution-watch.ts';
import type { SubmitInput } from './job-queue.ts';

/** Everything the queue knows about one execution. */
export interface ExecutionRecord {
  /** The current state; replaced (never mutated in place) on every transition. */
  execution: Execution;
  /** Kept only until the execution finishes, so retained executions do not hold code and files. */
  request: ExecutionRequest | undefined;
  idempotencyKey: string | undefined;
  requestHash: string;
  events: EventLog;
  listeners: Set<EventListener>;
  /** Resolves once, when the execution reaches its terminal state. */
  finished: PromiseWithResolvers<void>;
  /** Present while running: aborts the worker's signal. */
  abort: AbortController | undefined;
  /** Set when a cancel or shutdown asked a running execution to stop; its outcome will be `canceled`. */
  cancelReason: string | undefined;
}

/** A fresh record for a submitted execution, in status `queued` whatever the input said. */
export function newExecutionRecord(input: SubmitInput, maxEventBytes: number): ExecutionRecord {
  const execution: Execution = {
    ...structuredClone(input.execution),
    status: 'queued',
    started_at: null,
    finished_at: null,
    result: null,
  };
  return {
    execution,
    request: input.request,
    idempotencyKey: input.idempotencyKey,
    requestHash: input.requestHash,
    events: new EventLog(maxEventBytes),
    listeners: new Set(),
    finished: Promise.withResolvers<void>(),
    abort: undefined,
    cancelReason: undefined,
  };
}

export class ExecutionStore {
  readonly #retentionMs: number;
  readonly #maxRetained: number;
  readonly #records = new Map<string, ExecutionRecord>();
  readonly #keys = new Map<string, Map<string, string>>();
  /** Finished execution ids with their finish time, oldest first. */
  readonly #finished = new Map<string, number>();

  constructor(retentionMs: number, maxRetained: number) {
    this.#retentionMs = retentionMs;
    this.#maxRetained = maxRetained;
  }

  get size(): number {
    return this.#records.size;
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  add(record: ExecutionRecord): void {
    const { id, tenant } = record.execution;
    this.#records.set(id, record);
    if (record.idempotencyKey !== undefined) {
      let keys = this.#keys.get(tenant);
      if (!keys) {
        keys = new Map();
        this.#keys.set(tenant, keys);
      }
      keys.set(record.idempotencyKey, id);
    }
    this.#evictOverCount();
  }

  /** The record if it exists and belongs to the tenant. */
  find(tenant: string, id: string): ExecutionRecord | undefined {
    const record = this.#records.get(id);
    return record?.execution.tenant === tenant ? record : undefined;
  }

  findByKey(tenant: string, key: string): ExecutionRecord | undefined {
    const id = this.#keys.get(tenant)?.get(key);
    return id === undefined ? undefined : this.find(tenant, id);
  }

  records(): IterableIterator<ExecutionRecord> {
    return this.#records.values();
  }

  /** Starts the retention clock of a finished execution and applies the count bound. */
  markFinished(id: string, atMs: number): void {
    this.#finished.set(id, atMs);
    this.#evictOverCount();
  }

  /** Forgets finished executions older than the retention period, and any over the count bound. */
  sweep(nowMs: number): void {
    for (const [id, finishedAt] of this.#finished) {
      if (nowMs - finishedAt < this.#retentionMs) break;
      this.#evict(id);
    }
    this.#evictOverCount();
  }

  /** When the oldest finished execution expires, or undefined when none is finished. */
  nextExpiryMs(): number | undefined {
    for (const finishedAt of this.#finished.values()) return finishedAt + this.#retentionMs;
    return undefined;
  }

  #evictOverCount(): void {
    for (const id of this.#finished.keys()) {
      if (this.#records.size <= this.#maxRetained) return;
      this.#evict(id);
    }
  }

  #evict(id: string): void {
    this.#finished.delete(id);
    const record = this.#records.get(id);
    if (!record) return;
    this.#records.delete(id);
    const tenant = record.execution.tenant;
    const keys = this.#keys.get(tenant);
    if (record.idempotencyKey !== undefined && keys?.get(record.idempotencyKey) === id) {
      keys.delete(record.idempotencyKey);
      if (keys.size === 0) this.#keys.delete(tenant);
    }
  }
}
