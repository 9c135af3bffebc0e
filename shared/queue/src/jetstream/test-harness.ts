// What the JetStream queue's tests share: one real nats-server per test file (JetStream on a temp dir),
// connections and queues that are closed afterwards, and fresh stream/bucket/subject names per test so tests
// on one server never see each other's jobs. For tests only; never imported by the queue itself.

import type { Execution } from '@airlock/protocol';
import { type NatsServer, startNatsServer } from '@airlock/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamJobQueue } from './jetstream-job-queue.ts';
import type { JetStreamJobQueueOptions, QueueNameOptions } from './jetstream-options.ts';

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
    const nc = await connect({
      servers: this.server.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      // Generous: the machine runs other test files at the same time.
      timeout: 20_000,
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

/** Polls until the check passes (no wall-clock threshold: the test's own timeout bounds it). */
export async function until(check: () => Promise<boolean> | boolean, everyMs = 20): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, everyMs));
}

export async function statusOf(queue: JetStreamJobQueue, execution: Execution): Promise<string | undefined> {
  return (await queue.get(execution.tenant, execution.id))?.status;
}
