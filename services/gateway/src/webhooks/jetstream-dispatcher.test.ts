// NATS mode against a real nats-server with JetStream: a delivery is signed and delivered; a delivery whose
// first attempt failed survives the gateway that made it (closed between attempts) and is delivered by the
// next one with the same webhook-id; and survives a restart of nats-server itself.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressCheck, EnvSecretsProvider, TableResolver } from '@airlock/egress-proxy';
import { createLogger } from '@airlock/logging';
import type { LifecycleEvent } from '@airlock/protocol';
import { type NatsServer, startNatsServer } from '@airlock/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryDeliveryLog } from './delivery-log.ts';
import { JetStreamWebhookDispatcher, WEBHOOK_STREAM } from './jetstream-dispatcher.ts';
import { loopbackWebhookSettings } from './test-receiver.ts';
import type { WebhookSettings } from './webhook-dispatcher.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const EVENT: LifecycleEvent = {
  id: 'evt_nats',
  type: 'execution.finished',
  tenant: 't1',
  at: '2026-12-02T12:00:00.000Z',
  subject: 'ex_nats',
  data: { outcome: 'success' },
};

let nats: NatsServer;
let receiver: Server;
let port: number;
let answer: (n: number) => number;
let received: Array<{ headers: Record<string, string>; body: string; status: number }>;
const connections: NatsConnection[] = [];
const dispatchers: JetStreamWebhookDispatcher[] = [];

beforeEach(async () => {
  nats = await startNatsServer({ jetstream: true });
  received = [];
  answer = () => 200;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answer(received.length + 1);
      received.push({
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString(),
        status,
      });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
});

afterEach(async () => {
  for (const d of dispatchers.splice(0)) await d.close().catch(() => {});
  for (const nc of connections.splice(0)) await nc.close().catch(() => {});
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await nats[Symbol.asyncDispose]();
});

/** One gateway's dispatcher on its own connection. */
async function gateway(settings: Partial<WebhookSettings> = {}) {
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  connections.push(nc);
  const all = loopbackWebhookSettings(port, {
    attempts: 5,
    backoffMs: 200,
    maxBackoffMs: 200,
    maxPending: 1_000,
    ...settings,
  });
  const log = new MemoryDeliveryLog();
  const dispatcher = await JetStreamWebhookDispatcher.open({
    nc,
    settings: all,
    addresses: new AddressCheck({ allowances: all.allowances }),
    resolver: new TableResolver({}),
    secrets: new EnvSecretsProvider({ AIRLOCK_SECRET_WEBHOOK_T1: SECRET }),
    log,
    logger: createLogger({ level: 'silent' }),
    random: () => 1,
  });
  dispatchers.push(dispatcher);
  return { dispatcher, log, nc };
}

const delivery = () => ({
  tenant: 't1',
  event: EVENT,
  receiver: 'callback',
  target: { scheme: 'http' as const, host: '127.0.0.1', literal: true, port, path: '/in' },
  secretRef: 'webhook.t1',
});

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('JetStreamWebhookDispatcher', () => {
  it('delivers through the stream, signed, and leaves nothing in it', async () => {
    const { dispatcher, log, nc } = await gateway();
    dispatcher.dispatch(delivery());
    await until(async () => received.length === 1);
    await until(async () => (await log.attempts('t1', 'ex_nats')).length === 1);
    expect(new Webhook(SECRET).verify(received[0]!.body, received[0]!.headers)).toMatchObject({
      type: 'execution.finished',
      data: EVENT,
    });
    expect(await log.attempts('t1', 'ex_nats')).toMatchObject([
      { attempt: 1, status: 200, outcome: 'delivered' },
    ]);
    // Acknowledged: the work-queue stream forgets it.
    const jsm = await jetstreamManager(nc);
    let left = -1;
    while (left !== 0) left = (await jsm.streams.info(WEBHOOK_STREAM)).state.messages;
    expect(left).toBe(0);
  });

  it('keeps a delivery across a gateway restart between attempts: the next gateway delivers it, same webhook-id', async () => {
    answer = (n) => (n === 1 ? 500 : 200);
    const first = await gateway({ backoffMs: 1_000, maxBackoffMs: 1_000 });
    first.dispatcher.dispatch(delivery());
    await until(async () => (await first.log.attempts('t1', 'ex_nats')).length === 1);
    expect(await first.log.attempts('t1', 'ex_nats')).toMatchObject([
      { attempt: 1, status: 500, outcome: 'retrying' },
    ]);
    // The first gateway goes away before its retry is due.
    await first.dispatcher.close();
    await first.nc.close();
    expect(received).toHaveLength(1);
    const second = await gateway();
    await until(async () => received.length === 2);
    await until(async () => (await second.log.attempts('t1', 'ex_nats')).length === 1);
    const [one, two] = received;
    expect(two!.headers['webhook-id']).toBe(one!.headers['webhook-id']);
    expect(two!.body).toBe(one!.body);
    expect(new Webhook(SECRET).verify(two!.body, two!.headers)).toMatchObject({ type: 'execution.finished' });
    expect(await second.log.attempts('t1', 'ex_nats')).toMatchObject([
      { attempt: 2, status: 200, outcome: 'delivered' },
    ]);
    // As below: a retry the closing gateway had already pulled comes back after the consumer's ack wait.
  }, 120_000);

  it('keeps a waiting delivery across a restart of nats-server', async () => {
    answer = (n) => (n === 1 ? 503 : 200);
    const { dispatcher, log } = await gateway({ backoffMs: 1_500, maxBackoffMs: 1_500 });
    dispatcher.dispatch(delivery());
    await until(async () => (await log.attempts('t1', 'ex_nats')).length === 1);
    await nats.restart();
    await until(async () => received.length === 2);
    expect(received[1]!.headers['webhook-id']).toBe(received[0]!.headers['webhook-id']);
    await until(async () => (await log.attempts('t1', 'ex_nats')).length === 2);
    expect((await log.attempts('t1', 'ex_nats')).map((a) => [a.attempt, a.status, a.outcome])).toEqual([
      [1, 503, 'retrying'],
      [2, 200, 'delivered'],
    ]);
  }, 120_000);

  it('counts attempts across gateways: the next gateway goes on from the last attempt made', async () => {
    let firstClosed = false;
    answer = () => (firstClosed ? 200 : 500);
    const first = await gateway({ attempts: 20, backoffMs: 10, maxBackoffMs: 10 });
    first.dispatcher.dispatch(delivery());
    await until(async () => (await first.log.attempts('t1', 'ex_nats')).length >= 3);
    await first.dispatcher.close();
    await first.nc.close();
    firstClosed = true;
    const made = (await first.log.attempts('t1', 'ex_nats')).length;
    const second = await gateway({ attempts: 20 });
    await until(async () => (await second.log.attempts('t1', 'ex_nats')).length === 1);
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(await second.log.attempts('t1', 'ex_nats')).toMatchObject([
      { attempt: made + 1, status: 200, outcome: 'delivered' },
    ]);
    // A delivery the closing gateway had pulled but not begun comes back only after the consumer's ack wait
    // (the attempt timeout + 30 s): at least once, later.
  }, 120_000);

  it('gives up after the configured attempts and terminates the message', async () => {
    answer = () => 500;
    const { dispatcher, log } = await gateway({ attempts: 3, backoffMs: 10, maxBackoffMs: 10 });
    dispatcher.dispatch(delivery());
    await until(async () => (await log.attempts('t1', 'ex_nats')).length === 3);
    expect((await log.attempts('t1', 'ex_nats')).map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'failed'],
    ]);
    await dispatcher.idle();
    expect(received).toHaveLength(3);
  });
});
