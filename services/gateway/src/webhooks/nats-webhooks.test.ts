// NATS mode's webhooks against a real nats-server: a callback registered by one gateway is found by another
// after the first is gone; the same lifecycle event routed by two gateways (and twice by one) is delivered once;
// the delivery log reads the same on every gateway and never to another tenant; a callback is never used for
// another tenant's event.
import { randomBytes } from 'node:crypto';
import { parseTenantPolicies, type TenantPolicies } from '@airlock/auth';
import { EnvSecretsProvider, TableResolver } from '@airlock/egress-proxy';
import { createLogger } from '@airlock/logging';
import type { LifecycleEvent } from '@airlock/protocol';
import { acmePolicy } from '@airlock/sessions/testing';
import { type NatsServer, startNatsServer } from '@airlock/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WEBHOOK_STREAM } from './jetstream-dispatcher.ts';
import { type Received, startTestReceiver, type TestReceiver } from './test-receiver.ts';
import { openNatsWebhooks } from './webhook-setup.ts';
import type { Webhooks } from './webhooks.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

let nats: NatsServer;
let receiver: TestReceiver;
let port: number;
let received: Received[];
const connections: NatsConnection[] = [];
const gateways: Webhooks[] = [];

beforeEach(async () => {
  nats = await startNatsServer({ jetstream: true });
  receiver = await startTestReceiver();
  ({ port, received } = receiver);
});

afterEach(async () => {
  for (const webhooks of gateways.splice(0)) await webhooks.close().catch(() => {});
  for (const nc of connections.splice(0)) await nc.close().catch(() => {});
  await receiver.close();
  await nats[Symbol.asyncDispose]();
});

/** One gateway's webhooks on its own connection. */
async function gateway(policies?: TenantPolicies) {
  const nc = await connect({ servers: nats.url });
  connections.push(nc);
  const webhooks = await openNatsWebhooks({
    nc,
    retentionMs: 60_000,
    settings: {
      attempts: 3,
      timeoutMs: 2_000,
      backoffMs: 10,
      maxBackoffMs: 10,
      maxPending: 1_000,
      allowances: [{ address: '127.0.0.1', port }],
    },
    secrets: new EnvSecretsProvider({ AIRLOCK_SECRET_WEBHOOK_T1: SECRET, AIRLOCK_SECRET_WEBHOOK_T2: SECRET }),
    resolver: new TableResolver({}),
    logger: createLogger({ level: 'silent' }),
    ...(policies ? { policies } : {}),
  });
  gateways.push(webhooks);
  return { webhooks, nc };
}

function event(type: LifecycleEvent['type'], tenant = 't1'): LifecycleEvent {
  return {
    id: `evt_${randomBytes(16).toString('base64url')}`,
    type,
    tenant,
    at: new Date().toISOString(),
    subject: 'ex_durable',
    data: { status: 'finished', outcome: 'success' },
  };
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('webhooks on NATS', () => {
  it('keeps a callback past the gateway that registered it, and delivers an event routed twice once', async () => {
    const a = await gateway();
    await a.webhooks.register('t1', 'ex_durable', { url: `http://127.0.0.1:${port}/in` });
    await a.webhooks.close();
    await a.nc.close();

    const b = await gateway();
    const c = await gateway();
    const finished = event('execution.finished');
    // Two gateways see the same end, one of them twice.
    await Promise.all([b.webhooks.route(finished), c.webhooks.route(finished), b.webhooks.route(finished)]);
    await until(async () => (await b.webhooks.log.attempts('t1', 'ex_durable')).length === 1);
    await Promise.all([b.webhooks.idle(), c.webhooks.idle()]);
    expect(received).toHaveLength(1);
    const body = new Webhook(SECRET).verify(received[0]!.body, received[0]!.headers);
    expect(body).toEqual({ type: 'execution.finished', timestamp: finished.at, data: finished });
    expect(received[0]!.headers['webhook-id']).toBe(`msg_${finished.id.slice('evt_'.length)}`);
    // One delivery was ever stored in the webhook stream.
    const jsm = await jetstreamManager(b.nc);
    expect((await jsm.streams.info(WEBHOOK_STREAM)).state.last_seq).toBe(1);
    // The log reads the same on both gateways, and is empty for another tenant.
    const onB = await b.webhooks.log.attempts('t1', 'ex_durable');
    expect(onB).toMatchObject([{ event_id: finished.id, attempt: 1, status: 200, outcome: 'delivered' }]);
    expect(await c.webhooks.log.attempts('t1', 'ex_durable')).toEqual(onB);
    expect(await c.webhooks.log.attempts('t2', 'ex_durable')).toEqual([]);
  });

  it("never delivers another tenant's event to a callback, and honours the callback's event types", async () => {
    const b = await gateway();
    await b.webhooks.register('t1', 'ex_durable', {
      url: `http://127.0.0.1:${port}/in`,
      events: ['execution.started'],
    });
    await b.webhooks.route(event('execution.started', 't2'));
    await b.webhooks.route(event('execution.accepted'));
    const started = event('execution.started');
    await b.webhooks.route(started);
    await until(async () => (await b.webhooks.log.attempts('t1', 'ex_durable')).length === 1);
    await b.webhooks.idle();
    expect(received.map((r) => (JSON.parse(r.body) as { data: LifecycleEvent }).data.id)).toEqual([
      started.id,
    ]);
  });

  it("routes an event to the callback and the tenant's subscription: two deliveries, stored once each", async () => {
    const policies = parseTenantPolicies(
      {
        tenants: {
          t1: acmePolicy({
            webhooks: [
              {
                url: `http://127.0.0.1:${port}/tenant`,
                events: ['execution.finished'],
                secret_ref: 'webhook.t1',
              },
            ],
          }),
        },
      },
      'test',
    );
    const b = await gateway(policies);
    const c = await gateway(policies);
    await b.webhooks.register('t1', 'ex_durable', { url: `http://127.0.0.1:${port}/callback` });
    const finished = event('execution.finished');
    await Promise.all([b.webhooks.route(finished), c.webhooks.route(finished)]);
    await until(async () => (await b.webhooks.log.attempts('t1', 'ex_durable')).length === 2);
    await Promise.all([b.webhooks.idle(), c.webhooks.idle()]);
    expect(received).toHaveLength(2);
    for (const r of received)
      expect(new Webhook(SECRET).verify(r.body, r.headers)).toEqual({
        type: 'execution.finished',
        timestamp: finished.at,
        data: finished,
      });
    // One message, two receivers: the same webhook-id.
    expect(new Set(received.map((r) => r.headers['webhook-id']))).toEqual(
      new Set([`msg_${finished.id.slice('evt_'.length)}`]),
    );
    const jsm = await jetstreamManager(b.nc);
    expect((await jsm.streams.info(WEBHOOK_STREAM)).state.last_seq).toBe(2);
    expect(
      (await b.webhooks.log.attempts('t1', 'ex_durable')).map((a) => new URL(a.url).pathname).sort(),
    ).toEqual(['/callback', '/tenant']);
  });
});
