// The queues the JobQueue contract suite (src/contract/) runs against, each behind one fixture: the in-process
// queue over a SQLite ExecutionStore in a temp dir, and the JetStream queue on a real nats-server (one per test
// file, fresh names per queue). Where the contract lets the two differ, the fixture says how (close() leaves
// queued executions to other instances, or cancels them). For tests only; never imported by the queue.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '@airlock/store';
import { Kvm } from '@nats-io/kv';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { EVENT_OVERHEAD_BYTES } from '../src/event-log.ts';
import type { JetStreamJobQueue } from '../src/jetstream/jetstream-job-queue.ts';
import type { QueueNameOptions } from '../src/jetstream/jetstream-options.ts';
import type { JobQueue, QueueStats } from '../src/job-queue.ts';
import { MemoryJobQueue } from '../src/memory-job-queue.ts';
import { freshNames, QueueHarness } from './jetstream-harness.ts';

/** The options the contract sets; each queue maps them onto its own. */
export interface ContractOptions {
  concurrency?: number;
  maxQueued?: number;
  retryAfterSeconds?: number;
  cancelGraceMs?: number;
  /** Output events kept per execution for late watchers, when each carries `bytes` bytes of data. */
  keptOutput?: { events: number; bytes: number };
}

/** A queue as the suite uses it: the contract, plus the count of live watchers (to show none leak). */
export type QueueUnderTest = JobQueue & { watcherCount(): number };

export interface QueueFixture {
  readonly name: string;
  /** True when close() and drain() leave queued executions to other instances; false when they cancel them. */
  readonly leavesQueuedOnClose: boolean;
  /** How many watchers of one execution the suite opens at once. */
  readonly manyWatchers: number;
  start(): Promise<void>;
  /** After each test: closes what it opened; fails the test if a queue reported an error. */
  reset(): Promise<void>;
  stop(): Promise<void>;
  open(options?: ContractOptions): Promise<QueueUnderTest>;
  /** Another instance over the same executions, as a second gateway; the in-process queue is its own. */
  peer(queue: QueueUnderTest, options?: ContractOptions): Promise<QueueUnderTest>;
  /** stats(), with the waiting count read now. */
  stats(queue: QueueUnderTest): Promise<QueueStats>;
  /** Records the queue keeps in its storage (executions, and keys where they are kept apart). */
  stored(queue: QueueUnderTest): Promise<number>;
}

/** Fresh fixtures for one test file: `describe.each(contractQueues())('$name', (queues) => …)`. */
export function contractQueues(): QueueFixture[] {
  return [new MemoryQueues(), new JetStreamQueues()];
}

/** Registers the fixture's start, reset and stop around the tests of the describe block it is called in. */
export function useQueueFixture(fixture: QueueFixture): void {
  beforeAll(() => fixture.start());
  afterEach(() => fixture.reset());
  afterAll(() => fixture.stop());
}

class MemoryQueues implements QueueFixture {
  readonly name = 'MemoryJobQueue';
  readonly leavesQueuedOnClose = false;
  readonly manyWatchers = 1000;
  #queues: MemoryJobQueue[] = [];
  #stores: SqliteStore[] = [];
  #dirs: string[] = [];

  async start(): Promise<void> {}

  async reset(): Promise<void> {
    await Promise.all(this.#queues.splice(0).map((queue) => queue.close()));
    for (const store of this.#stores.splice(0)) store.close();
    await Promise.all(this.#dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }

  async stop(): Promise<void> {
    await this.reset();
  }

  async open(options: ContractOptions = {}): Promise<MemoryJobQueue> {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-queue-contract-'));
    this.#dirs.push(dir);
    const store = SqliteStore.open({ path: join(dir, 'airlock.db'), retentionMs: 60_000 });
    this.#stores.push(store);
    const { keptOutput, ...common } = options;
    const queue = new MemoryJobQueue({
      concurrency: 2,
      maxQueued: 100,
      ...common,
      store: store.executions,
      ...(keptOutput ? { maxEventBytes: keptOutput.events * (keptOutput.bytes + EVENT_OVERHEAD_BYTES) } : {}),
    });
    this.#queues.push(queue);
    return queue;
  }

  async peer(queue: QueueUnderTest): Promise<QueueUnderTest> {
    return queue;
  }

  async stats(queue: QueueUnderTest): Promise<QueueStats> {
    return queue.stats();
  }

  async stored(queue: QueueUnderTest): Promise<number> {
    if (!(queue instanceof MemoryJobQueue)) throw new TypeError('not a queue of this fixture');
    return queue.retained();
  }
}

class JetStreamQueues implements QueueFixture {
  readonly name = 'JetStreamJobQueue';
  readonly leavesQueuedOnClose = true;
  readonly manyWatchers = 50;
  #harness: QueueHarness | undefined;
  readonly #names = new Map<QueueUnderTest, QueueNameOptions>();

  async start(): Promise<void> {
    this.#harness = await QueueHarness.start();
  }

  async reset(): Promise<void> {
    const harness = this.#started();
    await harness.closeQueues();
    this.#names.clear();
    const reported = harness.takeErrors();
    if (reported.length > 0) throw new Error(`the queue reported errors:\n${reported.join('\n')}`);
  }

  async stop(): Promise<void> {
    await this.#harness?.dispose();
  }

  open(options: ContractOptions = {}): Promise<JetStreamJobQueue> {
    return this.#open(freshNames(), options);
  }

  peer(queue: QueueUnderTest, options: ContractOptions = {}): Promise<JetStreamJobQueue> {
    const names = this.#names.get(queue);
    if (!names) throw new TypeError('not a queue of this fixture');
    return this.#open(names, options);
  }

  async stats(queue: QueueUnderTest): Promise<QueueStats> {
    return this.#queue(queue).refreshStats();
  }

  async stored(queue: QueueUnderTest): Promise<number> {
    const names = this.#names.get(queue);
    if (!names) throw new TypeError('not a queue of this fixture');
    const kv = await new Kvm(await this.#started().connect()).open(names.bucket);
    // Hour markers (`ih.…`) say a tenant had entries in an hour; they belong to no one execution and stay
    // until the bucket's retention drops them, so they are not stored execution data.
    let count = 0;
    for await (const key of await kv.keys()) if (!key.startsWith('ih.')) count++;
    return count;
  }

  async #open(names: QueueNameOptions, options: ContractOptions): Promise<JetStreamJobQueue> {
    const { keptOutput, ...common } = options;
    const queue = await this.#started().open(names, {
      ...common,
      // Chunks of up to 8 KiB (the default outputChunkBytes) are one event each.
      ...(keptOutput ? { maxOutputEvents: keptOutput.events } : {}),
    });
    this.#names.set(queue, names);
    return queue;
  }

  #queue(queue: QueueUnderTest): JetStreamJobQueue {
    if (!this.#names.has(queue)) throw new TypeError('not a queue of this fixture');
    return queue as JetStreamJobQueue;
  }

  #started(): QueueHarness {
    if (!this.#harness) throw new Error('the JetStream fixture has not started');
    return this.#harness;
  }
}
