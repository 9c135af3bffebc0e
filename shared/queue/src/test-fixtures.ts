// Builders shared by this package's tests: executions, submit inputs, results, and a worker whose jobs the
// test releases one by one. For tests only; never imported by the queue itself.

import {
  type Execution,
  type ExecutionEvent,
  ExecutionRequest,
  type ExecutionResult,
  newExecutionId,
} from '@airlock/protocol';
import type { Job, JobContext, JobWorker, QueueStats, SubmitInput } from './job-queue.ts';
import type { MemoryJobQueueOptions } from './options.ts';
import { requestHash } from './request-hash.ts';

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
