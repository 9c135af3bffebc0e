// The in-process JobQueue (the embedded default): p-queue bounds how many run at once; a per-tenant round-robin
// feeds it only when a slot is free, so one tenant cannot starve another. Every accepted execution reaches
// exactly one terminal state. Must never invoke the worker synchronously from submit(), never queue an
// execution before the caller's admit() has resolved, never let a worker's return value through unchecked,
// and never show one tenant's execution to another.

import {
  AirlockError,
  type Execution,
  type ExecutionEvent,
  type ExecutionResult,
  emptyResult,
  type OutputStream,
} from '@airlock/protocol';
import PQueue from 'p-queue';
import { type ExecutionRecord, ExecutionStore, newExecutionRecord } from './execution-store.ts';
import { watchEvents } from './execution-watch.ts';
import type { JobQueue, JobWorker, QueueStats, SubmitInput, SubmitOutcome } from './job-queue.ts';
import { type MemoryJobQueueOptions, type ResolvedQueueOptions, resolveQueueOptions } from './options.ts';
import { checkedResult, finishedExecution, workerFailedResult } from './results.ts';
import { MAX_TIMER_MS, settledWithin } from './settled-within.ts';
import { TenantFairQueue } from './tenant-fair-queue.ts';

export class MemoryJobQueue implements JobQueue {
  readonly #options: ResolvedQueueOptions;
  readonly #slots: PQueue;
  readonly #waiting = new TenantFairQueue();
  readonly #store: ExecutionStore;
  readonly #running = new Set<ExecutionRecord>();
  #worker: JobWorker | undefined;
  /** Executions whose admit() is running, per tenant, and the settling of each one's Idempotency-Key. */
  readonly #admitting = new Map<string, number>();
  readonly #admittingKeys = new Map<string, Promise<unknown>>();
  #queued = 0;
  #inFlight = 0;
  #watchers = 0;
  #dispatchScheduled = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(options: MemoryJobQueueOptions) {
    this.#options = resolveQueueOptions(options);
    this.#slots = new PQueue({ concurrency: this.#options.concurrency });
    this.#store = new ExecutionStore(this.#options.retentionMs, this.#options.maxRetained);
  }

  async submit(input: SubmitInput): Promise<SubmitOutcome> {
    if (this.#closing) throw new AirlockError('shutting_down');
    const tenant = input.execution.tenant;
    this.#sweep();
    const key = input.idempotencyKey === undefined ? undefined : `${tenant}\0${input.idempotencyKey}`;
    // A submit with this key is being admitted: its outcome decides whether this one is a replay.
    for (;;) {
      const pending = key === undefined ? undefined : this.#admittingKeys.get(key);
      if (pending === undefined) break;
      await pending;
    }
    if (input.idempotencyKey !== undefined) {
      const existing = this.#store.findByKey(tenant, input.idempotencyKey);
      if (existing) {
        if (existing.requestHash !== input.requestHash) throw new AirlockError('idempotency_conflict');
        return { execution: structuredClone(existing.execution), created: false };
      }
    }
    if (this.#closing) throw new AirlockError('shutting_down');
    const { maxQueued, maxPerTenantQueued, retryAfterSeconds: retryAfter } = this.#options;
    const admitting = this.#admitting.get(tenant) ?? 0;
    let admittingAll = 0;
    for (const count of this.#admitting.values()) admittingAll += count;
    if (this.#queued + admittingAll >= maxQueued) {
      throw new AirlockError('queue_full', `The queue holds ${maxQueued} waiting executions.`, {
        retryAfter,
      });
    }
    if (this.#waiting.count(tenant) + admitting >= maxPerTenantQueued) {
      const message = `This tenant has ${maxPerTenantQueued} waiting executions.`;
      throw new AirlockError('queue_full', message, { retryAfter });
    }
    if (this.#store.has(input.execution.id)) {
      throw new AirlockError('internal_error', 'An execution with this id was already submitted.');
    }
    if (!input.admit) return this.#enqueue(input);
    const settled = Promise.withResolvers<void>();
    this.#hold(tenant, key, settled.promise);
    try {
      await input.admit(structuredClone(input.execution));
      if (this.#closing) throw new AirlockError('shutting_down');
      return this.#enqueue(input);
    } finally {
      this.#unhold(tenant, key);
      settled.resolve();
    }
  }

  #enqueue(input: SubmitInput): SubmitOutcome {
    const record = newExecutionRecord(input, this.#options.maxEventBytes);
    this.#store.add(record);
    this.#waiting.push(record.execution.tenant, record.execution.id);
    this.#queued++;
    this.#emit(record, { type: 'state', status: 'queued' });
    this.#scheduleDispatch();
    return { execution: structuredClone(record.execution), created: true };
  }

  /** Holds an execution's place (and its key) in the queue while the caller's admit() runs. */
  #hold(tenant: string, key: string | undefined, settled: Promise<void>): void {
    this.#admitting.set(tenant, (this.#admitting.get(tenant) ?? 0) + 1);
    if (key !== undefined) this.#admittingKeys.set(key, settled);
  }

  #unhold(tenant: string, key: string | undefined): void {
    const left = (this.#admitting.get(tenant) ?? 1) - 1;
    if (left === 0) this.#admitting.delete(tenant);
    else this.#admitting.set(tenant, left);
    if (key !== undefined) this.#admittingKeys.delete(key);
  }

  async get(tenant: string, id: string): Promise<Execution | undefined> {
    this.#sweep();
    const record = this.#store.find(tenant, id);
    return record ? structuredClone(record.execution) : undefined;
  }

  async cancel(tenant: string, id: string): Promise<Execution> {
    const record = this.#find(tenant, id);
    const status = record.execution.status;
    if (status === 'finished') throw new AirlockError('execution_finished');
    if (status === 'queued') {
      this.#waiting.remove(tenant, id);
      this.#finish(record, emptyResult('canceled', 'canceled before start', 0));
    } else {
      await this.#stopRunning([record], 'canceled while running');
    }
    return structuredClone(record.execution);
  }

  async wait(tenant: string, id: string, timeoutMs: number): Promise<Execution> {
    const record = this.#find(tenant, id);
    if (record.execution.status !== 'finished' && timeoutMs > 0) {
      await settledWithin(record.finished.promise, timeoutMs);
    }
    return structuredClone(record.execution);
  }

  async watch(tenant: string, id: string, signal: AbortSignal): Promise<AsyncIterable<ExecutionEvent>> {
    const record = this.#find(tenant, id);
    return watchEvents({
      backlog: record.events.copy(),
      signal,
      subscribe: (listener) => {
        record.listeners.add(listener);
        this.#watchers++;
        return () => {
          if (record.listeners.delete(listener)) this.#watchers--;
        };
      },
    });
  }

  consume(worker: JobWorker): void {
    if (this.#worker) throw new Error('MemoryJobQueue: a worker is already attached; it allows one');
    this.#worker = worker;
    this.#scheduleDispatch();
  }

  stats(): QueueStats {
    return { queued: this.#queued, running: this.#running.size };
  }

  /** Live watchers across all executions (for metrics, and to show none leak). */
  watcherCount(): number {
    return this.#watchers;
  }

  /** Executions stored: queued, running, and finished ones not yet forgotten (for metrics). */
  retained(): number {
    return this.#store.size;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closing = true;
      this.#closed = this.#shutDown();
    }
    return this.#closed;
  }

  async #shutDown(): Promise<void> {
    const reason = 'service shutting down';
    for (const { tenant, id } of this.#waiting.drain()) {
      const record = this.#store.find(tenant, id);
      if (record) this.#finish(record, emptyResult('canceled', reason, 0));
    }
    // Executions already handed to p-queue but not yet started are still `queued`.
    for (const record of [...this.#store.records()]) {
      if (record.execution.status === 'queued') this.#finish(record, emptyResult('canceled', reason, 0));
    }
    await this.#stopRunning([...this.#running], reason);
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  /** Aborts running executions, waits (bounded) for their workers, and finishes any that did not return. */
  async #stopRunning(records: ExecutionRecord[], reason: string): Promise<void> {
    for (const record of records) {
      record.cancelReason ??= reason;
      record.abort?.abort();
    }
    const grace = this.#options.cancelGraceMs;
    await settledWithin(Promise.all(records.map((r) => r.finished.promise)), grace);
    for (const record of records) {
      const why = `${record.cancelReason ?? reason}; the worker did not stop within ${grace} ms`;
      this.#finish(record, emptyResult('canceled', why, this.#wallMs(record)));
    }
  }

  #find(tenant: string, id: string): ExecutionRecord {
    this.#sweep();
    const record = this.#store.find(tenant, id);
    if (!record) throw new AirlockError('execution_not_found');
    return record;
  }

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    // Always a later macrotask: the caller of submit() records 'accepted' before any worker starts.
    setImmediate(() => {
      this.#dispatchScheduled = false;
      this.#dispatch();
    });
  }

  #dispatch(): void {
    const worker = this.#worker;
    if (!worker || this.#closing) return;
    while (this.#inFlight < this.#options.concurrency) {
      const next = this.#waiting.next();
      if (!next) return;
      const record = this.#store.find(next.tenant, next.id);
      if (!record) continue;
      this.#inFlight++;
      this.#slots
        .add(() => this.#run(record, worker))
        .catch(() => {})
        .finally(() => {
          this.#inFlight--;
          this.#scheduleDispatch();
        });
    }
  }

  async #run(record: ExecutionRecord, worker: JobWorker): Promise<void> {
    if (record.execution.status !== 'queued') return; // canceled after it was handed to p-queue
    const abort = new AbortController();
    record.abort = abort;
    record.execution = {
      ...record.execution,
      status: 'running',
      started_at: this.#options.now().toISOString(),
    };
    this.#queued--;
    this.#running.add(record);
    this.#emit(record, { type: 'state', status: 'running' });
    const job = { execution: structuredClone(record.execution), request: record.request! };
    const context = {
      signal: abort.signal,
      output: (stream: OutputStream, data: string) => {
        if (record.execution.status !== 'running' || typeof data !== 'string') return;
        if (stream !== 'stdout' && stream !== 'stderr') return;
        this.#emit(record, { type: 'output', stream, data });
      },
    };
    let result: ExecutionResult;
    try {
      result = checkedResult(await worker(job, context), this.#wallMs(record));
    } catch (error) {
      result = record.cancelReason
        ? emptyResult('canceled', record.cancelReason, this.#wallMs(record))
        : workerFailedResult(error, this.#wallMs(record));
    }
    if (record.cancelReason) result = { ...result, outcome: 'canceled', reason: record.cancelReason };
    this.#finish(record, result);
  }

  /** The one terminal transition; false (and no effect) if the execution already finished. */
  #finish(record: ExecutionRecord, result: ExecutionResult): boolean {
    const status = record.execution.status;
    if (status === 'finished') return false;
    if (status === 'queued') this.#queued--;
    this.#running.delete(record);
    const now = this.#options.now();
    record.execution = finishedExecution(record.execution, result, now);
    record.request = undefined;
    record.abort = undefined;
    this.#emit(record, { type: 'result', execution: structuredClone(record.execution) });
    // Each watcher detaches itself on the result event; this is a second guard against a leak.
    this.#watchers -= record.listeners.size;
    record.listeners.clear();
    record.finished.resolve();
    this.#store.markFinished(record.execution.id, now.getTime());
    this.#scheduleSweep();
    try {
      this.#options.onFinished?.(structuredClone(record.execution));
    } catch {
      // Documented: the hook must not throw; the execution is already finished either way.
    }
    return true;
  }

  #emit(record: ExecutionRecord, event: ExecutionEvent): void {
    record.events.append(event);
    for (const listener of [...record.listeners]) listener(event);
  }

  #wallMs(record: ExecutionRecord): number {
    const started = record.execution.started_at;
    return started === null ? 0 : this.#options.now().getTime() - Date.parse(started);
  }

  #sweep(): void {
    this.#store.sweep(this.#options.now().getTime());
  }

  #scheduleSweep(): void {
    if (this.#sweepTimer || this.#closing) return;
    const expiry = this.#store.nextExpiryMs();
    if (expiry === undefined) return;
    const delay = Math.min(Math.max(expiry - this.#options.now().getTime(), 10), MAX_TIMER_MS);
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#sweep();
      this.#scheduleSweep();
    }, delay);
    this.#sweepTimer.unref();
  }
}
