// Options of the in-process queue: each documented with its default, validated once, then frozen.
// Must never read the environment; the service's config layer passes values in.

import { type ExecutionStore, SqliteStore } from '@airlock/store';
import { fn, integer } from './option-checks.ts';

export interface MemoryJobQueueOptions {
  /** Executions running at once, across all tenants. */
  concurrency: number;
  /** Executions waiting to start (not running), across all tenants; a submit beyond it throws `queue_full`. */
  maxQueued: number;
  /**
   * Seconds a refused client is told to wait before retrying (`retryAfter` of `queue_full`).
   * @default 1
   */
  retryAfterSeconds?: number;
  /**
   * Executions one tenant may have waiting to start; a submit beyond it throws `queue_full`.
   * @default maxQueued (only the global bound applies)
   */
  maxPerTenantQueued?: number;
  /**
   * Where executions are kept from submission to the end of their retention (the queue itself holds only
   * live ones in memory). A store passed in is the caller's to close, after the queue.
   * @default an in-memory SQLite store bounded by `retentionMs` and `maxRetained`
   */
  store?: ExecutionStore;
  /**
   * Milliseconds a finished execution stays visible (get, wait, watch, idempotency) in the default store; then
   * it is forgotten. Required without `store`; not allowed with one (bound the store itself).
   */
  retentionMs?: number;
  /**
   * Bound on executions in the default store; over it the oldest finished ones are forgotten first, never
   * queued or running ones. Not allowed with `store`.
   * @default no bound
   */
  maxRetained?: number;
  /**
   * Bound on buffered output events per execution (and per watcher that falls behind), in bytes of data plus a
   * small per-event overhead. Beyond it the oldest output events are dropped; state and result events are kept.
   * @default 2 MiB
   */
  maxEventBytes?: number;
  /**
   * Milliseconds cancel() and close() wait for an aborted worker to return before finishing the execution as
   * canceled without it. The worker keeps its concurrency slot until it does return.
   * @default 10_000
   */
  cancelGraceMs?: number;
  /**
   * Clock for timestamps and retention.
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Called when a write to the store fails (the execution goes on; a failed terminal write loses its record,
   * yet its finished-listeners are told). Must not throw.
   * @default undefined (the failure is ignored)
   */
  onStoreError?: (error: unknown, during: 'create' | 'update' | 'finish' | 'remove') => void;
}

export interface ResolvedQueueOptions {
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly retryAfterSeconds: number;
  readonly maxPerTenantQueued: number;
  /** The caller's store, or the default one built for this queue. */
  readonly store: ExecutionStore;
  readonly maxEventBytes: number;
  readonly cancelGraceMs: number;
  readonly now: () => Date;
  readonly onStoreError: MemoryJobQueueOptions['onStoreError'];
}

export const DEFAULT_MAX_EVENT_BYTES = 2 * 1024 * 1024;

/**
 * Validates the options (errors quote the bad value and its type), then builds the default store if none
 * was given: only once every option is valid, so a refused queue leaves no store behind.
 */
export function resolveQueueOptions(options: MemoryJobQueueOptions): ResolvedQueueOptions {
  const maxQueued = integer('maxQueued', options.maxQueued, 0);
  const { store } = options;
  if (store !== undefined && (options.retentionMs !== undefined || options.maxRetained !== undefined)) {
    throw new TypeError('Expected no `retentionMs` or `maxRetained` with a `store`: bound the store itself');
  }
  const resolved = {
    concurrency: integer('concurrency', options.concurrency, 1),
    maxQueued,
    retryAfterSeconds: integer('retryAfterSeconds', options.retryAfterSeconds ?? 1, 1),
    maxPerTenantQueued: integer('maxPerTenantQueued', options.maxPerTenantQueued ?? maxQueued, 0),
    maxEventBytes: integer('maxEventBytes', options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES, 0),
    cancelGraceMs: integer('cancelGraceMs', options.cancelGraceMs ?? 10_000, 0),
    now: fn('now', options.now ?? (() => new Date())),
    onStoreError: options.onStoreError === undefined ? undefined : fn('onStoreError', options.onStoreError),
  };
  return Object.freeze({ ...resolved, store: store ?? defaultStore(options, resolved.now) });
}

/** An in-memory SQLite store bounded by `retentionMs` and `maxRetained`. */
function defaultStore(options: MemoryJobQueueOptions, now: () => Date): ExecutionStore {
  const retentionMs = integer('retentionMs', options.retentionMs, 0);
  const maxRetained =
    options.maxRetained === undefined ? undefined : integer('maxRetained', options.maxRetained, 1);
  return SqliteStore.inMemory({
    retentionMs,
    ...(maxRetained === undefined ? {} : { maxExecutions: maxRetained }),
    now,
  }).executions;
}
