// Builders shared by the queue's tests: executions, submit inputs, results, workers (one whose jobs the test
// releases one by one, one that ignores cancels), polling, and the checks of rejected promises.
// For tests only; never imported by the queue itself.

import {
  AirlockError,
  type Execution,
  type ExecutionEvent,
  ExecutionRequest,
  type ExecutionResult,
  newExecutionId,
} from '@airlock/protocol';
import { rejectionOf } from '@airlock/testing';
import type { Job, JobContext, JobQueue, JobWorker, QueueStats, SubmitInput } from '../src/job-queue.ts';
import type { MemoryJobQueueOptions } from '../src/memory-options.ts';
import { requestHash } from '../src/request-hash.ts';

export const REQUEST: ExecutionRequest = ExecutionRequest.parse({ language: 'javascript', code: '1 + 1' });

export function newExecution(tenant: string): Execution {
  return {
    id: newExecutionId(),
    tenant,
    status: 'queued',
    language: 'javascript',
    backend: 'isolate',
    limits: { wall_time_ms: 1000, cpu_time_ms: 1000, memory_mb: 64, output_bytes: 1024 },
    metadata: {},
    created_at: new Date().toISOString(),
    started_at: null,
    finished_at: null,
    result: null,
    template: null,
  };
}

export function submitInput(tenant: string, extra: { key?: string; hash?: string } = {}): SubmitInput {
  const input: SubmitInput = {
    execution: newExecution(tenant),
    request: REQUEST,
    requestHash: extra.hash ?? requestHash(REQUEST),
  };
  if (extra.key !== undefined) input.idempotencyKey = extra.key;
  return input;
}

/** The input with the caller's admit() hook. */
export function withAdmit(input: SubmitInput, admit: NonNullable<SubmitInput['admit']>): SubmitInput {
  return { ...input, admit };
}

/**
 * An admit() the test settles by hand (pass, or refuse with an error), recording the executions it was called
 * with as `id status`; `entered` resolves on its first call.
 */
export function heldAdmit() {
  const calls: string[] = [];
  const gate = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  const admit = async (execution: Execution) => {
    calls.push(`${execution.id} ${execution.status}`);
    entered.resolve();
    await gate.promise;
  };
  return { admit, calls, entered: entered.promise, pass: () => gate.resolve(), refuse: gate.reject };
}

export function successResult(stdout = ''): ExecutionResult {
  return {
    outcome: 'success',
    exit_code: 0,
    signal: null,
    stdout,
    stderr: '',
    truncated: { stdout: false, stderr: false },
    usage: { cpu_ms: 1, wall_ms: 1, memory_peak_bytes: null },
    reason: null,
  };
}

export function queueOptions(overrides: Partial<MemoryJobQueueOptions> = {}): MemoryJobQueueOptions {
  return { concurrency: 2, maxQueued: 100, retentionMs: 60_000, maxRetained: 1000, ...overrides };
}

export async function collect(events: AsyncIterable<ExecutionEvent>): Promise<ExecutionEvent[]> {
  const all: ExecutionEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

/** Polls until the check passes (no wall-clock threshold: the test's own timeout bounds it). */
export async function until(check: () => Promise<boolean> | boolean, everyMs = 20): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, everyMs));
}

export async function statusOf(queue: JobQueue, execution: Execution): Promise<string | undefined> {
  return (await queue.get(execution.tenant, execution.id))?.status;
}

/** The AirlockError the promise rejects with (the test fails if it resolves or rejects with anything else). */
export const rejection = (promise: Promise<unknown>): Promise<AirlockError> =>
  rejectionOf(promise, AirlockError);

/** The code of the AirlockError the promise rejects with, or a line saying what happened instead. */
export async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return error instanceof AirlockError ? error.code : `not an AirlockError: ${String(error)}`;
}

/** Resolves with a success result after the signal aborts, as a worker that ignores cancels would. */
export const abortThenClaimSuccess: JobWorker = (_job, context) =>
  new Promise((resolve) => {
    context.output('stdout', 'partial');
    context.signal.addEventListener('abort', () => resolve(successResult('partial')), { once: true });
  });

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface HeldJob {
  job: Job;
  context: JobContext;
  release: (result: unknown) => void;
  fail: (error: unknown) => void;
}

/**
 * A worker that holds every job until the test releases it, recording the order jobs started in.
 * `started(id)` resolves once the job with that id is running.
 */
export class HeldWorker {
  readonly startOrder: string[] = [];
  readonly #held = new Map<string, HeldJob>();
  readonly #waiters = new Map<string, PromiseWithResolvers<HeldJob>>();

  readonly run: JobWorker = (job, context) => {
    const { promise, resolve, reject } = Promise.withResolvers<ExecutionResult>();
    const held: HeldJob = { job, context, release: (r) => resolve(r as ExecutionResult), fail: reject };
    this.startOrder.push(job.execution.id);
    this.#held.set(job.execution.id, held);
    this.#waiter(job.execution.id).resolve(held);
    return promise;
  };

  started(id: string): Promise<HeldJob> {
    return this.#waiter(id).promise;
  }

  get runningIds(): string[] {
    return [...this.#held.keys()];
  }

  async release(id: string, result: unknown = successResult()): Promise<void> {
    const held = await this.started(id);
    this.#held.delete(id);
    held.release(result);
  }

  /** Releases whatever runs, again and again, until the queue has nothing queued or running. */
  async releaseUntilIdle(stats: () => QueueStats): Promise<void> {
    for (;;) {
      const { queued, running } = stats();
      if (queued === 0 && running === 0) return;
      for (const id of this.runningIds) await this.release(id);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #waiter(id: string): PromiseWithResolvers<HeldJob> {
    let waiter = this.#waiters.get(id);
    if (!waiter) {
      waiter = Promise.withResolvers<HeldJob>();
      this.#waiters.set(id, waiter);
    }
    return waiter;
  }
}
