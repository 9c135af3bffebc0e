// Runs the jobs one queue instance took from JetStream. For each delivery it reads the execution record and
// decides: queued → claim it (compare-and-set to running), run the worker, finish it, ack; finished → ack;
// running → a redelivery of the same message means the runner stopped heartbeating, so it ends as
// `internal_error` / `worker lost` (code execution is not idempotent: never run twice); any other message
// for it is a duplicate and is dropped. Keeps the running jobs' acks alive with heartbeats.
// Must never run an execution whose record it did not move from queued to running itself, and never let a
// worker's return value through unchecked.

import type { Execution, ExecutionResult, OutputStream } from '@airlock/protocol';
import { emptyResult } from '@airlock/protocol';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JobContext, JobWorker } from '../job-queue.ts';
import { checkedResult, workerFailedResult } from '../results.ts';
import { settledWithin } from '../settled-within.ts';
import type { EventPublisher } from './event-publisher.ts';
import type { ExecutionFinisher } from './execution-finisher.ts';
import type { ExecutionRecords, StoredExecution } from './execution-records.ts';
import { ack, type JobDelivery, release, terminate, working } from './job-delivery.ts';
import { type JobMessage, jobDigest, parseJobMessage } from './job-message.ts';

export interface RunnerDeps {
  nc: NatsConnection;
  records: ExecutionRecords;
  events: EventPublisher;
  finisher: ExecutionFinisher;
  /** This queue instance, recorded as the runner of what it claims. */
  instanceId: string;
  worker: JobWorker;
  now: () => Date;
  onError: (error: unknown, during: string) => void;
}

interface RunningJob {
  id: string;
  /** The latest delivery of its message (a late heartbeat can bring a redelivery to this same runner). */
  delivery: JobDelivery;
  abort: AbortController;
  /** Set when a cancel or shutdown asked it to stop; the outcome will be `canceled`. */
  cancelReason: string | undefined;
  startedAt: number;
  /** Resolves once the job is finished and acked (or given up on). */
  done: PromiseWithResolvers<void>;
  /** Set once its message is acked: the execution finished, here or elsewhere. */
  acked: boolean;
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 2_000;

export class JobRunner {
  readonly #deps: RunnerDeps;
  readonly #running = new Map<string, RunningJob>();
  #stopped = false;

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  /** Jobs from this consumer that this runner holds (their acks are pending on it). */
  heldFrom(consumer: string): number {
    let held = 0;
    for (const job of this.#running.values()) if (job.delivery.consumer === consumer) held++;
    return held;
  }

  /** Handles one delivered job message to the end (ack), whatever it holds. Never rejects. */
  async handle(delivery: JobDelivery): Promise<void> {
    const { nc, onError } = this.#deps;
    const parsed = parseJobMessage(delivery.data);
    if (!parsed.ok) {
      // Never the message accepted for any execution (that one was encoded by submit), so it ends nothing.
      onError(new Error(parsed.reason), 'reading a job message');
      terminate(nc, delivery);
      return;
    }
    const own = this.#running.get(parsed.job.id);
    if (own?.delivery.streamSeq === delivery.streamSeq) {
      own.delivery = delivery; // our own job, redelivered after a late heartbeat: keep it alive
      return;
    }
    try {
      await this.#claimAndRun(parsed.job, delivery);
    } catch (error) {
      // Left unacked: the redelivery will find the record as this attempt left it.
      onError(error, 'handling a job');
    }
  }

  /** Sends a heartbeat for every running job. */
  heartbeat(): void {
    for (const job of this.#running.values()) working(this.#deps.nc, job.delivery);
  }

  /** A cancel notice for an execution: if it runs here, its record says whether and why to stop. */
  async noticeCancel(id: string): Promise<void> {
    const job = this.#running.get(id);
    if (!job) return;
    const found = await this.#deps.records.read(id);
    const record = found?.value;
    if (!record) return;
    if (record.execution.status === 'finished') {
      // Finished elsewhere (a forced cancel, a worker-lost verdict): the job leaves the queue now, even if
      // the worker never returns.
      job.cancelReason ??= record.execution.result?.reason ?? 'finished elsewhere';
      void this.#ack(job);
    } else if (record.cancelReason !== undefined) {
      job.cancelReason ??= record.cancelReason;
    } else {
      return;
    }
    job.abort.abort();
  }

  /** Aborts every running job with the reason and waits for them up to graceMs; finishes the stragglers. */
  async stopAll(reason: string, graceMs: number): Promise<void> {
    this.#stopped = true;
    const jobs = [...this.#running.values()];
    for (const job of jobs) {
      job.cancelReason ??= reason;
      job.abort.abort();
    }
    await settledWithin(Promise.all(jobs.map((job) => job.done.promise)), graceMs);
    for (const job of this.#running.values()) {
      const why = `${job.cancelReason ?? reason}; the worker did not stop within ${graceMs} ms`;
      const outcome = await this.#deps.finisher
        .finish(job.id, (record) =>
          this.#isOurs(record, job) ? emptyResult('canceled', why, this.#wallMs(job)) : undefined,
        )
        .catch((error: unknown) => this.#deps.onError(error, 'finishing a job at shutdown'));
      if (outcome) await this.#ack(job);
      this.#running.delete(job.id);
    }
  }

  async #claimAndRun(message: JobMessage, delivery: JobDelivery): Promise<void> {
    const { nc, records, finisher, instanceId, now } = this.#deps;
    for (;;) {
      const found = await records.read(message.id);
      const record = found?.value;
      if (!found || !record || record.execution.tenant !== message.tenant) {
        terminate(nc, delivery); // forgotten, rolled back, or not what the message claims
        return;
      }
      if (record.jobDigest !== undefined && record.jobDigest !== jobDigest(delivery.data)) {
        this.#deps.onError(new Error('job message does not match its execution'), 'reading a job message');
        terminate(nc, delivery); // not the message that was accepted: never run it
        return;
      }
      const status = record.execution.status;
      if (status === 'finished') {
        await ack(nc, delivery);
        return;
      }
      if (status === 'running') {
        if (record.jobSeq === delivery.streamSeq) {
          await finisher.finish(message.id, (current) =>
            current.execution.status === 'running' && current.jobSeq === delivery.streamSeq
              ? emptyResult('internal_error', 'worker lost', wallMsSince(current.execution, now()))
              : undefined,
          );
          finisher.notifyRunner(message.id); // in case the old runner is alive but cut off
        }
        await ack(nc, delivery);
        return;
      }
      if (this.#stopped) {
        release(nc, delivery); // shutting down: let another worker take it at once
        return;
      }
      const job: RunningJob = {
        id: message.id,
        delivery,
        abort: new AbortController(),
        cancelReason: undefined,
        startedAt: now().getTime(),
        done: Promise.withResolvers<void>(),
        acked: false,
      };
      // Registered before the claim, so a cancel notice right after it finds the job.
      this.#running.set(job.id, job);
      const claimed: StoredExecution = {
        ...record,
        execution: {
          ...record.execution,
          status: 'running',
          started_at: new Date(job.startedAt).toISOString(),
        },
        runner: instanceId,
        jobSeq: delivery.streamSeq,
      };
      let won = false;
      try {
        won = await records.replace(claimed, found.revision);
      } finally {
        if (!won) {
          this.#running.delete(job.id);
          job.done.resolve();
        }
      }
      if (won) return this.#run(job, message, claimed.execution);
      // Someone else changed it (a cancel, another worker): look again.
    }
  }

  async #run(job: RunningJob, message: JobMessage, execution: Execution): Promise<void> {
    const { events, worker, finisher } = this.#deps;
    try {
      await events.state(job.id, 'running');
      let emitting = true;
      const context: JobContext = {
        signal: job.abort.signal,
        output: (stream: OutputStream, data: string) => {
          if (!emitting || typeof data !== 'string' || (stream !== 'stdout' && stream !== 'stderr')) return;
          events.output(job.id, stream, data);
        },
      };
      let result: ExecutionResult;
      let threw = false;
      try {
        result = checkedResult(
          await worker({ execution: structuredClone(execution), request: message.request }, context),
          this.#wallMs(job),
        );
      } catch (error) {
        threw = true;
        result = workerFailedResult(error, this.#wallMs(job));
      }
      emitting = false;
      const finished = await this.#retry(() =>
        finisher.finish(job.id, (record) => {
          if (!this.#isOurs(record, job)) return undefined;
          const reason = record.cancelReason ?? job.cancelReason;
          if (reason === undefined) return result;
          return threw
            ? emptyResult('canceled', reason, this.#wallMs(job))
            : { ...result, outcome: 'canceled', reason };
        }),
      );
      if (finished) await this.#ack(job);
    } finally {
      this.#running.delete(job.id);
      job.done.resolve();
    }
  }

  async #ack(job: RunningJob): Promise<void> {
    if (job.acked) return;
    job.acked = true;
    await ack(this.#deps.nc, job.delivery);
  }

  #isOurs(record: StoredExecution, job: RunningJob): boolean {
    return (
      record.execution.status === 'running' &&
      record.runner === this.#deps.instanceId &&
      record.jobSeq === job.delivery.streamSeq
    );
  }

  #wallMs(job: RunningJob): number {
    return Math.max(0, this.#deps.now().getTime() - job.startedAt);
  }

  /** Retries through lost connections until it succeeds or the runner stops; undefined if it gave up. */
  async #retry<T>(attempt: () => Promise<T>): Promise<T | undefined> {
    for (let delay = RETRY_MIN_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        return await attempt();
      } catch (error) {
        this.#deps.onError(error, 'finishing a job');
        if (this.#stopped) return undefined;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

function wallMsSince(execution: Execution, now: Date): number {
  return execution.started_at === null ? 0 : Math.max(0, now.getTime() - Date.parse(execution.started_at));
}
