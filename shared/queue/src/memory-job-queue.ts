// The in-process JobQueue (the embedded default): p-queue bounds how many run at once; a per-tenant round-robin
// feeds it only when a slot is free, so one tenant cannot starve another. Every accepted execution reaches
// exactly one terminal state. Executions are kept in an ExecutionStore from submission on; memory holds only
// the live ones (queued, running) with their watchers. Must never invoke the worker synchronously from
// submit(), never queue an execution before the caller's admit() has resolved, never let a worker's return
// value through unchecked, and never show one tenant's execution to another.

import {
  AirlockError,
  type Execution,
  type ExecutionEvent,
  type ExecutionRequest,
  type ExecutionResult,
  emptyResult,
  type OutputStream,
} from '@airlock/protocol';
import {
  type ExecutionStore,
  type KeyHolder,
  storeUnavailable,
  type UnfinishedExecution,
} from '@airlock/store';
import PQueue from 'p-queue';
import { emitLive, watchLive, watchReplay } from './execution-watch.ts';
import { FinishedListeners } from './finished-listeners.ts';
import type {
  FinishedListener,
  JobQueue,
  JobWorker,
  QueueStats,
  SubmitInput,
  SubmitOutcome,
} from './job-queue.ts';
import { type ExecutionRecord, newExecutionRecord } from './live-execution.ts';
import {
  type MemoryJobQueueOptions,
  type ResolvedQueueOptions,
  resolveQueueOptions,
} from './memory-options.ts';
import { checkedResult, finishedExecution, wallMsSinceStart, workerFailedResult } from './results.ts';
import { settledWithin } from './settled-within.ts';
import { Shutdown } from './shutdown.ts';
import { StoreWrites } from './store-writes.ts';
import { type SubmissionHold, SubmissionHolds } from './submission-holds.ts';
import { TenantFairQueue } from './tenant-fair-queue.ts';

export class MemoryJobQueue implements JobQueue {
  readonly #options: ResolvedQueueOptions;
  readonly #slots: PQueue;
  readonly #waiting = new TenantFairQueue();
  readonly #store: ExecutionStore;
  /** Store writes not yet settled, awaited by close(). */
  readonly #writes: StoreWrites;
  /** Queued and running executions: everything else is in the store only. */
  readonly #live = new Map<string, ExecutionRecord>();
  readonly #running = new Set<ExecutionRecord>();
  readonly #holds = new SubmissionHolds();
  readonly #finished = new FinishedListeners();
  #worker: JobWorker | undefined;
  #startGate: (execution: Execution) => boolean = () => true;
  #queued = 0;
  #inFlight = 0;
  #dispatchScheduled = false;
  readonly #shutdown = new Shutdown(() => this.#shutDown());

  constructor(options: MemoryJobQueueOptions) {
    this.#options = resolveQueueOptions(options);
    this.#slots = new PQueue({ concurrency: this.#options.concurrency });
    this.#writes = new StoreWrites(this.#options.onStoreError);
    this.#store = this.#options.store;
  }

  async submit(input: SubmitInput): Promise<SubmitOutcome> {
    if (this.#shutdown.closing) throw new AirlockError('shutting_down');
    const tenant = input.execution.tenant;
    const key = input.idempotencyKey === undefined ? undefined : `${tenant}\0${input.idempotencyKey}`;
    // A submission with this key is being admitted: its outcome decides whether this one is a replay.
    await this.#holds.keyFree(key);
    if (input.idempotencyKey !== undefined) {
      const holder = await this.#store.findByKey(tenant, input.idempotencyKey);
      if (holder) return this.#replay(holder, input.requestHash);
    }
    if (this.#shutdown.closing) throw new AirlockError('shutting_down');
    this.#holds.checkRoom(
      tenant,
      { total: this.#queued, ofTenant: this.#waiting.count(tenant) },
      this.#options,
    );
    if (this.#live.has(input.execution.id)) {
      throw new AirlockError('internal_error', 'An execution with this id was already submitted.');
    }
    const hold = this.#holds.hold(tenant, key);
    try {
      return await this.#admitAndQueue(input, hold);
    } finally {
      hold.release();
    }
  }

  /** Stores the execution on its reserved place, lets the caller admit it, then queues it. */
  async #admitAndQueue(input: SubmitInput, hold: SubmissionHold): Promise<SubmitOutcome> {
    const record = newExecutionRecord(input, this.#options.maxEventBytes);
    const { id, tenant } = record.execution;
    let claim: Awaited<ReturnType<ExecutionStore['create']>>;
    try {
      claim = await this.#store.create({
        execution: record.execution,
        requestHash: input.requestHash,
        ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
        // Kept only for a request that may be run again after a restart.
        ...(input.request.retry_on_worker_loss === true ? { request: input.request } : {}),
      });
    } catch (error) {
      this.#options.onStoreError?.(error, 'create');
      throw storeUnavailable();
    }
    // Another submission with the same key was stored first: this one is its replay.
    if (!claim.created) return this.#replay(claim.holder, input.requestHash);
    hold.admitting(id);
    try {
      await input.admit?.(structuredClone(record.execution));
      if (this.#shutdown.closing) throw new AirlockError('shutting_down');
    } catch (error) {
      // Refused: forgotten as if it had never been submitted (the key is free again).
      await this.#store
        .remove(tenant, id)
        .catch((err: unknown) => this.#options.onStoreError?.(err, 'remove'));
      throw error;
    }
    this.#enqueue(record);
    return { execution: structuredClone(record.execution), created: true };
  }

  /**
   * Queues again an execution taken back from the store after a restart (its request was kept because it
   * asked for `retry_on_worker_loss`). Not counted against the bounds: it was accepted before.
   */
  async restore(stored: UnfinishedExecution & { request: ExecutionRequest }): Promise<void> {
    if (this.#shutdown.closing) throw new AirlockError('shutting_down');
    const { execution, request, requestHash, idempotencyKey } = stored;
    const record = newExecutionRecord(
      { execution, request, requestHash, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) },
      this.#options.maxEventBytes,
    );
    record.runs = stored.runs;
    await this.#store.update(record.execution);
    // Closed meanwhile: it stays unfinished in the store, for the next start.
    if (this.#shutdown.closing) return;
    this.#enqueue(record);
  }

  /** Makes an accepted execution live and waiting for a slot. */
  #enqueue(record: ExecutionRecord): void {
    const { id, tenant } = record.execution;
    this.#live.set(id, record);
    this.#queued++;
    this.#waiting.push(tenant, id);
    emitLive(record, { type: 'state', status: 'queued' });
    this.#scheduleDispatch();
  }

  async get(tenant: string, id: string): Promise<Execution | undefined> {
    const record = this.#liveRecord(tenant, id);
    if (record) return structuredClone(record.execution);
    return this.#stored(tenant, id);
  }

  async cancel(tenant: string, id: string): Promise<Execution> {
    const record = this.#liveRecord(tenant, id);
    if (!record) {
      const stored = await this.#stored(tenant, id);
      if (stored?.status === 'finished') throw new AirlockError('execution_finished');
      // Unknown, or unfinished but not run by this queue (a session cell ends with its session).
      throw new AirlockError('execution_not_found');
    }
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
    const record = this.#liveRecord(tenant, id);
    if (!record) {
      const stored = await this.#stored(tenant, id);
      if (!stored) throw new AirlockError('execution_not_found');
      return stored;
    }
    if (record.execution.status !== 'finished' && timeoutMs > 0) {
      await settledWithin(record.finished.promise, timeoutMs);
    }
    return structuredClone(record.execution);
  }

  async watch(tenant: string, id: string, signal: AbortSignal): Promise<AsyncIterable<ExecutionEvent>> {
    const record = this.#liveRecord(tenant, id);
    if (!record) {
      // A finished execution's replay from the store: what it kept of the events, then the result.
      const events = this.#holds.isAdmitting(id) ? undefined : await this.#store.events(tenant, id);
      if (!events) throw new AirlockError('execution_not_found');
      return watchReplay(events, signal);
    }
    return watchLive(record, signal);
  }

  /**
   * Asked before a waiting execution starts: false keeps it queued, in its place, until dispatch asks again
   * (after any execution ends). Never a refusal. Used for a tenant's `max_concurrent`.
   */
  gateStarts(gate: (execution: Execution) => boolean): void {
    this.#startGate = gate;
  }

  consume(worker: JobWorker): void {
    if (this.#worker) throw new Error('MemoryJobQueue: a worker is already attached; it allows one');
    this.#worker = worker;
    this.#scheduleDispatch();
  }

  stats(): QueueStats {
    return { queued: this.#queued, running: this.#running.size };
  }

  onFinished(listener: FinishedListener): () => void {
    return this.#finished.add(listener);
  }

  /** Live watchers across all executions (for metrics, and to show none leak). */
  watcherCount(): number {
    let watchers = 0;
    for (const record of this.#live.values()) watchers += record.listeners.size;
    return watchers;
  }

  /** Executions stored: queued, running, and finished ones not yet forgotten (for metrics). */
  retained(): number {
    return this.#store.stats().executions;
  }

  /** Executions held in memory: queued and running ones. */
  liveCount(): number {
    return this.#live.size;
  }

  close(): Promise<void> {
    return this.#shutdown.close();
  }

  /** Starts no queued job and refuses submits; lets running ones finish for up to timeoutMs; then close(). */
  async drain(timeoutMs: number): Promise<void> {
    this.#shutdown.begin();
    const running = [...this.#running].map((record) => record.finished.promise);
    await settledWithin(Promise.all(running), timeoutMs);
    await this.close();
  }

  async #shutDown(): Promise<void> {
    const reason = 'service shutting down';
    for (const { tenant, id } of this.#waiting.drain()) {
      const record = this.#liveRecord(tenant, id);
      if (record) this.#finish(record, emptyResult('canceled', reason, 0));
    }
    // Executions already handed to p-queue but not yet started are still `queued`.
    for (const record of [...this.#live.values()]) {
      if (record.execution.status === 'queued') this.#finish(record, emptyResult('canceled', reason, 0));
    }
    await this.#stopRunning([...this.#running], reason);
    // Every terminal write is settled before close() resolves.
    await this.#writes.settled();
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

  /** The stored execution, unless it is still being admitted (then it does not exist yet). */
  async #stored(tenant: string, id: string): Promise<Execution | undefined> {
    return this.#holds.isAdmitting(id) ? undefined : this.#store.get(tenant, id);
  }

  #liveRecord(tenant: string, id: string): ExecutionRecord | undefined {
    const record = this.#live.get(id);
    return record?.execution.tenant === tenant ? record : undefined;
  }

  #replay(holder: KeyHolder, requestHash: string): SubmitOutcome {
    if (holder.requestHash !== requestHash) throw new AirlockError('idempotency_conflict');
    const live = this.#live.get(holder.execution.id);
    return { execution: structuredClone(live?.execution ?? holder.execution), created: false };
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
    if (!worker || this.#shutdown.closing) return;
    while (this.#inFlight < this.#options.concurrency) {
      const next = this.#waiting.next((entry) => {
        const waiting = this.#liveRecord(entry.tenant, entry.id);
        return waiting === undefined || this.#startGate(waiting.execution);
      });
      if (!next) return;
      const record = this.#liveRecord(next.tenant, next.id);
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
    // Canceled after it was handed to p-queue, or the queue drains: close() ends it.
    if (record.execution.status !== 'queued' || this.#shutdown.closing) return;
    const abort = new AbortController();
    record.abort = abort;
    record.execution = {
      ...record.execution,
      status: 'running',
      started_at: this.#options.now().toISOString(),
    };
    record.runs += 1;
    this.#queued--;
    this.#running.add(record);
    this.#writes.follow('update', this.#store.update(record.execution, { runs: record.runs }));
    emitLive(record, { type: 'state', status: 'running' });
    const job = { execution: structuredClone(record.execution), request: record.request! };
    const context = {
      signal: abort.signal,
      output: (stream: OutputStream, data: string) => {
        if (record.execution.status !== 'running' || typeof data !== 'string') return;
        if (stream !== 'stdout' && stream !== 'stderr') return;
        emitLive(record, { type: 'output', stream, data });
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
    record.execution = finishedExecution(record.execution, result, this.#options.now());
    record.request = undefined;
    record.abort = undefined;
    const done = record.execution;
    const replay = record.events.toArray();
    emitLive(record, { type: 'result', execution: structuredClone(done) });
    // Each watcher detaches itself on the result event; this is a second guard against a leak.
    record.listeners.clear();
    record.finished.resolve();
    // From its terminal write on, the execution lives in the store only.
    this.#writes.follow('finish', this.#store.finish(done, replay));
    if (this.#live.get(done.id) === record) this.#live.delete(done.id);
    this.#finished.notify(done);
    return true;
  }

  #wallMs(record: ExecutionRecord): number {
    return wallMsSinceStart(record.execution, this.#options.now());
  }
}
