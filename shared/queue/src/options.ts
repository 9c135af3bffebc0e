// Options of the in-process queue: each documented with its default, validated once, then frozen.
// Must never read the environment; the service's config layer passes values in.

import type { Execution } from '@airlock/protocol';
import type { ExecutionStore } from '@airlock/store';

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
   * Called once per execution, with a copy, when it reaches its terminal state (for audit and metrics).
   * Must not throw; an exception from it is ignored so the queue stays consistent.
   * @default undefined
   */
  onFinished?: (execution: Execution) => void;
  /**
   * Called when a write to the store fails (the execution goes on; a failed terminal write loses its record,
   * not its `onFinished`). Must not throw.
   * @default undefined (the failure is ignored)
   */
  onStoreError?: (error: unknown, during: 'create' | 'update' | 'finish' | 'remove') => void;
}

export interface ResolvedQueueOptions {
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly retryAfterSeconds: number;
  readonly maxPerTenantQueued: number;
  readonly store: ExecutionStore | undefined;
  readonly retentionMs: number | undefined;
  readonly maxRetained: number | undefined;
  readonly maxEventBytes: number;
  readonly cancelGraceMs: number;
  readonly now: () => Date;
  readonly onFinished: ((execution: Execution) => void) | undefined;
  readonly onStoreError: MemoryJobQueueOptions['onStoreError'];
}

export const DEFAULT_MAX_EVENT_BYTES = 2 * 1024 * 1024;

/** Validates the options; errors quote the bad value and its type. */
export function resolveQueueOptions(options: MemoryJobQueueOptions): ResolvedQueueOptions {
  const maxQueued = integer('maxQueued', options.maxQueued, 0);
  const { store } = options;
  if (store !== undefined && (options.retentionMs !== undefined || options.maxRetained !== undefined)) {
    throw new TypeError('Expected no `retentionMs` or `maxRetained` with a `store`: bound the store itself');
  }
  return Object.freeze({
    concurrency: integer('concurrency', options.concurrency, 1),
    maxQueued,
    retryAfterSeconds: integer('retryAfterSeconds', options.retryAfterSeconds ?? 1, 1),
    maxPerTenantQueued: integer('maxPerTenantQueued', options.maxPerTenantQueued ?? maxQueued, 0),
    store,
    retentionMs: store ? undefined : integer('retentionMs', options.retentionMs, 0),
    maxRetained:
      store || options.maxRetained === undefined ? undefined : integer('maxRetained', options.maxRetained, 1),
    maxEventBytes: integer('maxEventBytes', options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES, 0),
    cancelGraceMs: integer('cancelGraceMs', options.cancelGraceMs ?? 10_000, 0),
    now: fn('now', options.now ?? (() => new Date())),
    onFinished: options.onFinished === undefined ? undefined : fn('onFinished', options.onFinished),
    onStoreError: options.onStoreError === undefined ? undefined : fn('onStoreError', options.onStoreError),
  });
}

function integer(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(
      `Expected \`${name}\` to be an integer from ${min} up, got \`${String(value)}\` (${typeof value})`,
    );
  }
  return value;
}

function fn<T>(name: string, value: T): T {
  if (typeof value !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a function, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}
