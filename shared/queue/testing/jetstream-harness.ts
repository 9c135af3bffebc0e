// What the JetStream queue's tests share: one real nats-server per test file (JetStream on a temp dir),
// connections and queues that are closed afterwards, and fresh stream/bucket/subject names per test so tests
// on one server never see each other's jobs. For tests only; never imported by the queue itself.

import { type NatsServer, startNatsServer } from '@airlock/testing';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { connectNats } from '../src/jetstream/connection.ts';
import { JetStreamJobQueue } from '../src/jetstream/jetstream-job-queue.ts';
import type { JetStreamJobQueueOptions, QueueNameOptions } from '../src/jetstream/jetstream-options.ts';

let counter = 0;

/** Names no other test on this server uses. */
export function freshNames(): QueueNameOptions {
  counter++;
  const tag = `${process.pid}_${counter}`;
  return {
    jobStream: `JOBS_${tag}`,
    eventStream: `EVENTS_${tag}`,
    bucket: `executions_${tag}`,
    subjectPrefix: `t${tag}.airlock`,
  };
}

export type QueueOverrides = Partial<Omit<JetStreamJobQueueOptions, 'connection'>>;

export class QueueHarness {
  readonly server: NatsServer;
  readonly #connections: NatsConnection[] = [];
  readonly #queues: JetStreamJobQueue[] = [];
  readonly errors: Array<{ error: unknown; during: string }> = [];

  private constructor(server: NatsServer) {
    this.server = server;
  }

  static async start(): Promise<QueueHarness> {
    return new QueueHarness(await startNatsServer({ jetstream: true }));
  }

  /** A client that keeps reconnecting, as a gateway or worker would. */
  async connect(): Promise<NatsConnection> {
    // Generous connect timeout (the default): the machine runs other test files at the same time.
    const nc = await connectNats({
      servers: [this.server.url],
      name: 'airlock-queue-test',
      reconnectTimeWaitMs: 100,
    });
    this.#connections.push(nc);
    return nc;
  }

  /** A queue on its own connection (unless one is given), with test-friendly timings. */
  async open(names: QueueNameOptions, overrides: QueueOverrides = {}, connection?: NatsConnection) {
    const queue = await JetStreamJobQueue.open({
      connection: connection ?? (await this.connect()),
      names,
      ackWaitMs: 15_000,
      pollIntervalMs: 200,
      statsIntervalMs: 0,
      cancelGraceMs: 5_000,
      onError: (error, during) => this.errors.push({ error, during }),
      ...overrides,
    });
    this.#queues.push(queue);
    return queue;
  }

  /** What the queues reported through onError since the last call, as `during: message` lines. */
  takeErrors(): string[] {
    return this.errors.splice(0).map(({ error, during }) => `${during}: ${String(error)}`);
  }

  async closeQueues(): Promise<void> {
    await Promise.all(this.#queues.splice(0).map((queue) => queue.close()));
  }

  async dispose(): Promise<void> {
    await this.closeQueues();
    await Promise.all(this.#connections.splice(0).map((nc) => nc.close().catch(() => {})));
    await this.server[Symbol.asyncDispose]();
  }
}

/**
 * One harness for the test file: started before its tests, its queues closed after each test, disposed after
 * the file. With `errors: 'none'` a test that leaves a reported error behind fails; with `'checked'` each
 * test checks its own, and none leaks into the next.
 */
export function useQueueHarness(errors: 'none' | 'checked'): () => QueueHarness {
  let harness: QueueHarness | undefined;
  beforeAll(async () => {
    harness = await QueueHarness.start();
  });
  afterEach(async () => {
    await harness?.closeQueues();
    const reported = harness?.takeErrors();
    if (errors === 'none') expect(reported).toEqual([]);
  });
  afterAll(async () => {
    await harness?.dispose();
  });
  return () => {
    if (!harness) throw new Error('the queue harness has not started');
    return harness;
  };
}
