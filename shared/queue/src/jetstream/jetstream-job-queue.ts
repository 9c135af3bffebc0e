// The JetStream JobQueue (the scale-out engine): any number of instances — gateways that only submit and
// answer, workers that also consume — share a work-queue stream of jobs, a KV bucket of execution records
// and a stream of events, so any instance can answer get, wait, watch and cancel for any execution.
// Same semantics as the in-process queue: bounded, fair across tenants, idempotent on a client key, and every
// accepted execution reaches exactly one terminal state (a KV compare-and-set). Must never show one tenant's
// execution to another, never run a job twice, and never close the connection it was given.

import { randomBytes } from 'node:crypto';
import { AirlockError, type Execution, type ExecutionEvent, emptyResult } from '@airlock/protocol';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { FinishedListeners } from '../finished-listeners.ts';
import type * as Queue from '../job-queue.ts';
import { settledWithin } from '../settled-within.ts';
import { Shutdown } from '../shutdown.ts';
import { ClaimTickets } from './claim-tickets.ts';
import { EventPublisher } from './event-publisher.ts';
import { watchExecutionEvents } from './event-watch.ts';
import { ExecutionFinisher } from './execution-finisher.ts';
import {
  ExecutionListing,
  type KvExecutionPage,
  type KvListQuery,
  sharedCursorKey,
} from './execution-listing.ts';
import { ExecutionRecords } from './execution-records.ts';
import { waitForFinish } from './execution-waiter.ts';
import {
  type JetStreamJobQueueOptions,
  type ResolvedJetStreamOptions,
  resolveJetStreamOptions,
} from './jetstream-options.ts';
import { JobConsumer } from './job-consumer.ts';
import { JobRoutes } from './job-routes.ts';
import { JobRunner } from './job-runner.ts';
import { submitJob } from './job-submission.ts';
import { JetStreamLifecycleLog } from './lifecycle-log.ts';
import { QueueNames } from './names.ts';
import { ResultFeed } from './result-feed.ts';
import { ensureTopology, TenantConsumers } from './topology.ts';

interface QueueParts {
  options: ResolvedJetStreamOptions;
  finished: FinishedListeners;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: QueueNames;
  records: ExecutionRecords;
  listing: ExecutionListing;
  events: EventPublisher;
  finisher: ExecutionFinisher;
  consumers: TenantConsumers;
  results: ResultFeed;
  tickets: ClaimTickets;
}

const CANCEL_REASON = 'canceled while running';
/** Executions submitted here remembered for a waiter that follows (REST ?wait): far more than are in flight. */
const SUBMITTED_KEPT = 1_024;
/** How long a shutdown waits for the listing hour markers still due (listing-markers.ts). */
const MARKER_SETTLE_MS = 1_000;
const SHUTDOWN_REASON = 'service shutting down';

export class JetStreamJobQueue implements Queue.JobQueue {
  /** This instance, as recorded in the executions it runs. */
  readonly instanceId = `q_${randomBytes(8).toString('hex')}`;
  readonly #parts: QueueParts;
  readonly #options: ResolvedJetStreamOptions;
  #runner: JobRunner | undefined;
  #consumer: JobConsumer | undefined;
  #queued = 0;
  #watchers = 0;
  /**
   * Executions submitted here while the result feed was hearing, with its mark then: a wait() for one of
   * them that finds the feed still at that mark skips its first read of the record (the result cannot have
   * gone by unheard). Oldest first; bounded.
   */
  readonly #submittedHere = new Map<string, { tenant: string; hearing: number }>();
  #statsTimer: NodeJS.Timeout | undefined;
  readonly #shutdown = new Shutdown(() => this.#shutDown());

  /** Creates (or joins) the streams, the bucket and the consumers' home; then the queue is ready. */
  static async open(options: JetStreamJobQueueOptions): Promise<JetStreamJobQueue> {
    const resolved = resolveJetStreamOptions(options);
    const nc = resolved.connection;
    const names = new QueueNames(resolved.names);
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const kv = await ensureTopology(nc, jsm, names, resolved);
    const records = new ExecutionRecords(kv, resolved.onError);
    const events = new EventPublisher(nc, names, resolved.outputChunkBytes, resolved.onError);
    const finished = new FinishedListeners();
    const finisher = new ExecutionFinisher({
      nc,
      records,
      events,
      names,
      now: resolved.now,
      finished,
      onError: resolved.onError,
    });
    const consumers = new TenantConsumers(jsm, names, resolved.ackWaitMs);
    const tickets = await ClaimTickets.open(nc, names.bucket, resolved.onError);
    const queue = new JetStreamJobQueue({
      options: resolved,
      finished,
      js,
      jsm,
      names,
      records,
      listing: new ExecutionListing(kv, records),
      events,
      finisher,
      consumers,
      results: new ResultFeed(nc, names, resolved.onError),
      tickets,
    });
    await queue.refreshStats();
    return queue;
  }

  private constructor(parts: QueueParts) {
    this.#parts = parts;
    this.#options = parts.options;
    if (this.#options.statsIntervalMs > 0) {
      this.#statsTimer = setInterval(() => {
        this.refreshStats().catch((error: unknown) => this.#options.onError(error, 'refreshing stats'));
      }, this.#options.statsIntervalMs);
      this.#statsTimer.unref();
    }
  }

  async submit(input: Queue.SubmitInput): Promise<Queue.SubmitOutcome> {
    if (this.#shutdown.closing) throw new AirlockError('shutting_down');
    const { js, names, records, events, consumers, tickets } = this.#parts;
    const { connection: nc, retryAfterSeconds, onError } = this.#options;
    const hearing = this.#parts.results.hearing();
    const outcome = await submitJob(
      { nc, js, names, records, events, consumers, tickets, retryAfterSeconds, onError },
      input,
    );
    if (outcome.created && hearing !== undefined) {
      this.#submittedHere.set(outcome.execution.id, { tenant: outcome.execution.tenant, hearing });
      if (this.#submittedHere.size > SUBMITTED_KEPT) {
        this.#submittedHere.delete(this.#submittedHere.keys().next().value!);
      }
    }
    return outcome;
  }

  /** One page of the tenant's executions, newest first, from the bucket every gateway shares. */
  list(tenant: string, query: KvListQuery): Promise<KvExecutionPage> {
    return this.#parts.listing.page(tenant, query);
  }

  /** The lifecycle event log every gateway on this NATS shares. */
  lifecycleLog(): JetStreamLifecycleLog {
    return new JetStreamLifecycleLog(this.#parts.js, this.#parts.jsm, this.#parts.names);
  }

  /** The key all gateways on this NATS seal their cursors with (made once, kept without expiry). */
  cursorKey(): Promise<Buffer> {
    return sharedCursorKey(this.#options.connection, this.#parts.names.bucket);
  }

  async get(tenant: string, id: string): Promise<Execution | undefined> {
    return (await this.#parts.records.find(tenant, id))?.value.execution;
  }

  async cancel(tenant: string, id: string): Promise<Execution> {
    const { records, finisher } = this.#parts;
    for (;;) {
      const found = await records.find(tenant, id);
      if (!found) throw new AirlockError('execution_not_found');
      const record = found.value;
      const status = record.execution.status;
      if (status === 'finished') throw new AirlockError('execution_finished');
      if (status === 'queued') {
        const outcome = await finisher.finish(id, (current) =>
          current.execution.status === 'queued'
            ? emptyResult('canceled', 'canceled before start', 0)
            : undefined,
        );
        if (outcome.finishedHere && outcome.execution) return outcome.execution;
        continue; // it started meanwhile, or someone else finished it
      }
      if (record.cancelReason === undefined) {
        const marked = await records.replace({ ...record, cancelReason: CANCEL_REASON }, found.revision);
        if (!marked) continue;
      }
      finisher.notifyRunner(id);
      return this.#awaitStop(id, record.cancelReason ?? CANCEL_REASON);
    }
  }

  async wait(tenant: string, id: string, timeoutMs: number): Promise<Execution> {
    const submitted = this.#submittedHere.get(id);
    this.#submittedHere.delete(id);
    const heardAll =
      submitted?.tenant === tenant && submitted.hearing === this.#parts.results.hearing() && timeoutMs > 0;
    const execution = await this.#waitForFinish(id, timeoutMs, tenant, heardAll);
    if (!execution) throw new AirlockError('execution_not_found');
    return execution;
  }

  async watch(tenant: string, id: string, signal: AbortSignal): Promise<AsyncIterable<ExecutionEvent>> {
    const { js, names, records } = this.#parts;
    if (!(await records.find(tenant, id))) throw new AirlockError('execution_not_found');
    this.#watchers++;
    let ended = false;
    try {
      return await watchExecutionEvents({
        js,
        stream: names.eventStream,
        subject: names.events(id),
        id,
        signal,
        pollMs: this.#options.pollIntervalMs,
        maxBacklog: this.#options.maxOutputEvents + 3,
        readFinished: async () => {
          const execution = (await records.read(id))?.value.execution;
          return execution?.status === 'finished' ? execution : undefined;
        },
        onError: this.#options.onError,
        onEnd: () => {
          if (!ended) this.#watchers--;
          ended = true;
        },
      });
    } catch (error) {
      if (!ended) this.#watchers--;
      ended = true;
      throw error;
    }
  }

  consume(worker: Queue.JobWorker): void {
    if (this.#runner) throw new Error('JetStreamJobQueue: a worker is already attached; it allows one');
    if (this.#shutdown.closing) throw new Error('JetStreamJobQueue: closed');
    const { jsm, names, records, events, finisher, tickets } = this.#parts;
    const {
      connection: nc,
      now,
      onError,
      concurrency,
      heartbeatMs,
      pollIntervalMs,
      ackWaitMs,
      runsTemplate,
    } = this.#options;
    const instanceId = this.instanceId;
    const routes = new JobRoutes(runsTemplate);
    this.#runner = new JobRunner({
      nc,
      records,
      events,
      finisher,
      names,
      tickets,
      instanceId,
      worker,
      routes,
      ackWaitMs,
      now,
      onError,
    });
    const runner = this.#runner;
    this.#consumer = new JobConsumer({
      nc,
      jsm,
      names,
      runner,
      routes,
      concurrency,
      heartbeatMs,
      pollIntervalMs,
      redeliveryCheckMs: Math.max(pollIntervalMs, Math.floor(ackWaitMs / 4)),
      onError,
    });
    this.#consumer.start();
  }

  /** Hears the executions whose terminal transition this instance makes (not those other instances make). */
  onFinished(listener: Queue.FinishedListener): () => void {
    return this.#parts.finished.add(listener);
  }

  /**
   * Hears the result of every execution cluster-wide, as announced (a notice: one missed during a reconnect
   * is not repeated, so a caller that must know reads the record too). Returns the unsubscribe.
   */
  subscribeResults(handler: (execution: Execution) => void): () => void {
    // The same feed as wait(): this handler hears each result before a waiter in this process is woken.
    return this.#parts.results.listen(handler);
  }

  /** Executions waiting cluster-wide (as of the last refresh) and running in this instance. */
  stats(): Queue.QueueStats {
    return { queued: this.#queued, running: this.#runner?.runningCount ?? 0 };
  }

  /** Reads the cluster-wide figure now: jobs in the stream that no worker holds. */
  async refreshStats(): Promise<Queue.QueueStats> {
    const { jsm, names } = this.#parts;
    const info = await jsm.streams.info(names.jobStream);
    let held = 0;
    for await (const consumer of jsm.consumers.list(names.jobStream)) held += consumer.num_ack_pending;
    this.#queued = Math.max(0, info.state.messages - held);
    return this.stats();
  }

  /** Live watchers started by this instance (for metrics, and to show none leak). */
  watcherCount(): number {
    return this.#watchers;
  }

  /**
   * Stops taking jobs, aborts the ones this instance runs (finishing them as canceled) and waits for them.
   * Queued jobs stay queued for the other workers; the connection stays open for its owner to close.
   */
  close(): Promise<void> {
    return this.#shutdown.close();
  }

  /**
   * Graceful stop of a worker: takes no new jobs, lets the running ones finish for up to timeoutMs (their
   * heartbeats go on), then closes, which cancels what still runs; queued jobs stay for other workers.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.#shutdown.begin();
    if (this.#consumer && this.#runner) {
      await this.#consumer.stopPulling();
      await settledWithin(this.#runner.idle(), timeoutMs);
    }
    await this.close();
  }

  async #shutDown(): Promise<void> {
    clearInterval(this.#statsTimer);
    if (this.#consumer && this.#runner) {
      await this.#consumer.stopPulling();
      await this.#runner.stopAll(SHUTDOWN_REASON, this.#options.cancelGraceMs);
      this.#consumer.stop();
    }
    this.#parts.results.close();
    await this.#parts.events.close();
    // Bounded: with the connection down, the rewrites would wait out their timeouts.
    await settledWithin(this.#parts.records.settleMarkers(), MARKER_SETTLE_MS);
  }

  /** After a cancel of a running execution: its runner's answer, or a forced finish after the grace period. */
  async #awaitStop(id: string, reason: string): Promise<Execution> {
    const grace = this.#options.cancelGraceMs;
    const stopped = await this.#waitForFinish(id, grace);
    if (stopped?.status === 'finished') return stopped;
    const why = `${reason}; the worker did not stop within ${grace} ms`;
    const now = this.#options.now();
    const outcome = await this.#parts.finisher.finish(id, (record) => {
      if (record.execution.status !== 'running') return undefined;
      const started = record.execution.started_at;
      return emptyResult('canceled', why, started === null ? 0 : now.getTime() - Date.parse(started));
    });
    this.#parts.finisher.notifyRunner(id);
    if (!outcome.execution) throw new AirlockError('execution_not_found');
    return outcome.execution;
  }

  #waitForFinish(
    id: string,
    timeoutMs: number,
    tenant?: string,
    heardAll = false,
  ): Promise<Execution | undefined> {
    const { results: feed, records } = this.#parts;
    const { pollIntervalMs, onError } = this.#options;
    return waitForFinish({ feed, records, pollIntervalMs, onError }, id, timeoutMs, tenant, heardAll);
  }
}
