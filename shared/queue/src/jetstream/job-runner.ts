// Runs the jobs one queue instance took from JetStream. For each delivery it reads the execution record (on the
// first look at a job it would claim, the record a valid claim ticket in the message vouches for takes the
// place of that read: claim-tickets.ts; the claim's compare-and-set at the ticket's revision fails if the
// record changed since, and the next look reads it) and decides: queued → claim it (compare-and-set to
// running), run the worker, finish it, ack; finished → ack; running → a redelivery of the same message goes to
// lost-run.ts (runner alive, never started, or lost); any other message for it is a duplicate and is dropped; a
// queued job routed by a template not ready here (job-routes.ts) is released unrun. Keeps the running jobs'
// acks alive with heartbeats.
// Must never run an execution whose record it did not move from queued to running itself, and never let a
// worker's return value through unchecked.

import type { Execution, ExecutionResult, OutputStream } from '@airlock/protocol';
import { emptyResult } from '@airlock/protocol';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JobContext, JobWorker } from '../job-queue.ts';
import { checkedResult, workerFailedResult } from '../results.ts';
import { settledWithin } from '../settled-within.ts';
import type { ClaimTickets } from './claim-tickets.ts';
import type { EventPublisher } from './event-publisher.ts';
import type { ExecutionFinisher } from './execution-finisher.ts';
import type { ExecutionRecords, Revisioned, StoredExecution } from './execution-records.ts';
import { ack, type JobDelivery, release, terminate, working } from './job-delivery.ts';
import { type JobMessage, jobDigest, parseJobMessage } from './job-message.ts';
import type { JobRoutes } from './job-routes.ts';
import { type RunnerAnswer, settleRunningDelivery } from './lost-run.ts';
import type { QueueNames } from './names.ts';

export interface RunnerDeps {
  nc: NatsConnection;
  records: ExecutionRecords;
  events: EventPublisher;
  finisher: ExecutionFinisher;
  names: QueueNames;
  /** Opens the claim tickets job messages carry (claim-tickets.ts). */
  tickets: ClaimTickets;
  /** This queue instance, recorded as the runner of what it claims. */
  instanceId: string;
  worker: JobWorker;
  /** Whose jobs this runner may run: a job routed by a template not ready here is released unrun. */
  routes: JobRoutes;
  /** The consumers' ack wait: how long a message released for later stays away. */
  ackWaitMs: number;
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
  /** Another runner took it over after this one was presumed lost: never ack or heartbeat it again. */
  superseded: boolean;
}

const TAKEN_OVER = 'taken over by another worker after this one was presumed lost';
const RETRY_MIN_MS = 250;
/** Reads after a claim whose answer was lost (a reconnect takes a moment), before giving it up. */
const CLAIM_READS = 10;

const RETRY_MAX_MS = 2_000;

export class JobRunner {
  readonly #deps: RunnerDeps;
  readonly #running = new Map<string, RunningJob>();
  /** Claims whose write may have landed but whose answer was lost: this runner will never run them. */
  readonly #unstarted = new Set<string>();
  #stopped = false;

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
  }

  /** The queue instance this runner claims executions for. */
  get instanceId(): string {
    return this.#deps.instanceId;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  /** The answer to another worker's probe: whether this runner runs the execution now. */
  probe(id: string): RunnerAnswer {
    const job = this.#running.get(id);
    if (job !== undefined && !job.superseded) return 'running';
    return this.#unstarted.has(id) ? 'not started' : 'not running';
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
    for (const job of this.#running.values()) if (!job.superseded) working(this.#deps.nc, job.delivery);
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
      this.#ack(job);
    } else if (!this.#isOurs(record, job)) {
      // Requeued or claimed by another runner after a lost-worker retry: its message is theirs now.
      job.superseded = true;
      job.cancelReason ??= TAKEN_OVER;
    } else if (record.cancelReason !== undefined) {
      job.cancelReason ??= record.cancelReason;
    } else {
      return;
    }
    job.abort.abort();
  }

  /** Resolves once no job runs here (with the pulls stopped, this is the end of a drain). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) {
      await Promise.all([...this.#running.values()].map((job) => job.done.promise));
    }
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
      if (outcome && settled(outcome.execution)) this.#ack(job);
      this.#running.delete(job.id);
    }
  }

  async #claimAndRun(message: JobMessage, delivery: JobDelivery): Promise<void> {
    const { nc, records, instanceId, now } = this.#deps;
    // A record vouched for by the message's ticket stands in for the first read (latency: one round trip
    // fewer) only when this runner would claim a queued job: it meets every check below, and the claim's
    // compare-and-set at its revision fails if the record has changed since, so the next look reads it. A job
    // this runner would release (stopping, or a template not ready here) is read first: the ticket says
    // queued, but the record may say running, a lost run that only this runner can settle.
    const claiming = !this.#stopped && this.#deps.routes.runs(delivery.consumer);
    let vouched = claiming ? this.#deps.tickets.open(message.id, delivery.headers) : undefined;
    for (;;) {
      const found = vouched ?? (await records.read(message.id));
      vouched = undefined;
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
        ack(nc, delivery);
        return;
      }
      if (status === 'running') {
        if (record.jobSeq !== delivery.streamSeq) {
          ack(nc, delivery); // a duplicate message of a job another message runs
          return;
        }
        if ((await settleRunningDelivery(this.#deps, message, delivery, found, this.#stopped)) === 'again')
          continue;
        return;
      }
      if (this.#stopped || !this.#deps.routes.runs(delivery.consumer)) {
        release(nc, delivery); // shutting down, or its template is not ready here: another worker takes it
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
        superseded: false,
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
      let won: Revisioned<StoredExecution> | undefined;
      try {
        won = await this.#claim(claimed, found.revision);
      } finally {
        if (won === undefined) {
          this.#running.delete(job.id);
          job.done.resolve();
        }
      }
      if (won !== undefined) return this.#run(job, message, won);
      // Someone else changed it (a cancel, another worker): look again.
    }
  }

  /** Runs a job this runner claimed; `claimed` is the record as the claim wrote it, with its revision. */
  async #run(job: RunningJob, message: JobMessage, claimed: Revisioned<StoredExecution>): Promise<void> {
    const { events, worker, finisher } = this.#deps;
    const execution = claimed.value.execution;
    try {
      // Not awaited (latency): sent before any output event and the result on this connection, to the same
      // stream, so it is stored before them all the same; the record, not the event, says it runs.
      events.state(job.id, 'running');
      events.lifecycle('execution.started', execution);
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
      // The first attempt compare-and-sets against the claim's revision without reading the record first; a
      // cancel (or anything else) written since makes it fail on the revision, and the finisher reads then.
      let known: Revisioned<StoredExecution> | undefined = claimed;
      const finished = await this.#retry(() => {
        const first = known;
        known = undefined;
        return finisher.finish(
          job.id,
          (record) => {
            if (!this.#isOurs(record, job)) return undefined;
            const reason = record.cancelReason ?? job.cancelReason;
            if (reason === undefined) return result;
            return threw
              ? emptyResult('canceled', reason, this.#wallMs(job))
              : { ...result, outcome: 'canceled', reason };
          },
          first,
        );
      });
      // Not settled: requeued or claimed elsewhere after a lost-worker retry; the message is theirs now.
      if (finished && settled(finished.execution)) this.#ack(job);
    } finally {
      this.#running.delete(job.id);
      job.done.resolve();
    }
  }

  /**
   * Moves the record to running for this runner: the record as claimed with its revision, or undefined if
   * someone else changed it first. When the write's answer is lost it reads the record until it knows whether the claim landed; if
   * it cannot tell, it never runs the job and says so to probes.
   */
  async #claim(claimed: StoredExecution, revision: number): Promise<Revisioned<StoredExecution> | undefined> {
    const { records, instanceId } = this.#deps;
    const id = claimed.execution.id;
    try {
      const written = await records.update(claimed, revision);
      return written === undefined ? undefined : { value: claimed, revision: written };
    } catch (error) {
      for (let read = 0; read < CLAIM_READS; read++) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_MIN_MS));
        const found = await records.read(id).catch(() => null);
        if (found === null) continue; // unreadable yet
        const record = found?.value;
        const landed =
          record?.execution.status === 'running' &&
          record.runner === instanceId &&
          record.jobSeq === claimed.jobSeq;
        return landed ? found : undefined;
      }
      this.#unstarted.add(id);
      throw error;
    }
  }

  #ack(job: RunningJob): void {
    if (job.acked || job.superseded) return;
    job.acked = true;
    ack(this.#deps.nc, job.delivery);
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

/** The execution has ended (or its record is gone): its job message may leave the queue. */
function settled(execution: Execution | undefined): boolean {
  return execution === undefined || execution.status === 'finished';
}
