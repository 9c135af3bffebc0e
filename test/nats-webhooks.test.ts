// Callbacks scaled out on NATS, as an operator runs it: real nats-server, gateway and worker processes, and a
// loopback receiver that verifies every delivery with the standardwebhooks library. Gateway A accepts a run
// with a callback and is stopped before the run starts; a worker then runs it, and gateway B delivers its
// `execution.started` and `execution.finished` — each once, carrying the lifecycle feed's own event (same id,
// type and payload as `GET /v1/events`). The delivery log reads the same on every gateway, a new one included.
// A gateway SIGKILLed while a delivery waits for its retry loses nothing: a gateway started after it makes the
// next attempt with the same webhook-id, and the delivery log holds every attempt.

import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeliveryAttempt, Execution, LifecycleEvent } from '@airlock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AirlockProcess, NatsCluster, until } from './support/nats-cluster.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

interface Received {
  webhookId: string;
  type: string;
  event: LifecycleEvent;
}

let cluster: NatsCluster;
let receiver: WebhookReceiver;
let port: number;
const received: Received[] = [];
const refused: string[] = [];
/** Requests to /flaky are answered 500 while this holds. */
let failing = true;
const gateways: AirlockProcess[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver(
    SECRET,
    ({ path, webhookId, type, data }) => {
      received.push({ webhookId, type, event: data as LifecycleEvent });
      return path === '/flaky' && failing ? 500 : 204;
    },
    (message) => refused.push(message),
  );
  port = receiver.port;
  cluster = await NatsCluster.start({
    env: { AIRLOCK_WEBHOOK_ALLOWANCES: `127.0.0.1:${port}` },
  });
  await writeFile(join(cluster.dir, 'webhook.local'), `${SECRET}\n`, { mode: 0o600 });
}, 240_000);

afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
  await receiver?.close();
});

async function gateway(env: Record<string, string> = {}): Promise<AirlockProcess> {
  const started = await cluster.gateway({ AIRLOCK_SECRETS_DIR: cluster.dir, ...env });
  gateways.push(started);
  return started;
}

/** Submits a run with a callback to the gateway at `url`; answers the accepted execution. */
async function submit(
  url: string,
  callback: { url: string; events?: string[] },
  query = '',
): Promise<Execution> {
  const response = await fetch(`${url}/v1/executions${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ language: 'javascript', code: '1', callback }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as Execution;
}

async function deliveries(url: string, id: string): Promise<DeliveryAttempt[]> {
  const response = await fetch(`${url}/v1/executions/${id}/deliveries`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: DeliveryAttempt[] }).data;
}

describe('callbacks on NATS', () => {
  it("survive the gateway that accepted them: another delivers the feed's events, each once", async () => {
    const a = await gateway();
    const b = await gateway();
    const response = await fetch(`${a.url}/v1/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        language: 'javascript',
        code: 'console.log(6 * 7)',
        callback: { url: `http://127.0.0.1:${port}/hooks` },
      }),
    });
    expect(response.status).toBe(201);
    const execution = (await response.json()) as Execution;
    expect(execution.status).toBe('queued'); // no worker yet
    const mine = () => received.filter((r) => r.event.subject === execution.id);
    await until(() => mine().length === 1, 100);

    // A stops before the run starts; only B is left to hear the rest.
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await cluster.worker();

    await until(async () => (await deliveries(b.url, execution.id)).length === 3, 250);
    expect(refused).toEqual([]);
    // Attempts run concurrently: compared in no particular order.
    expect(
      mine()
        .map((r) => r.type)
        .sort(),
    ).toEqual(['execution.accepted', 'execution.started', 'execution.finished'].sort());
    expect(new Set(mine().map((r) => r.webhookId)).size).toBe(3);

    // Each delivery is the feed's own event.
    const feed = (await (await fetch(`${b.url}/v1/events?limit=1000`)).json()) as {
      data: Array<LifecycleEvent & { cursor: string }>;
    };
    // A page's entry is the event and its position in the feed.
    const events = feed.data
      .filter((entry) => entry.subject === execution.id)
      .map(({ cursor: _position, ...event }) => event);
    expect(events).toHaveLength(3);
    expect(mine().map((r) => r.event)).toEqual(expect.arrayContaining(events));
    expect(
      mine()
        .map((r) => r.webhookId)
        .sort(),
    ).toEqual(events.map((e) => `msg_${e.id.slice('evt_'.length)}`).sort());
    expect(events.find((e) => e.type === 'execution.finished')?.data).toMatchObject({
      outcome: 'success',
      exit_code: 0,
    });

    // The delivery log is the same on every gateway, one started after the attempts included.
    const c = await gateway();
    const onB = await deliveries(b.url, execution.id);
    expect(onB.map((d) => [d.event_type, d.attempt, d.status, d.outcome]).sort()).toEqual([
      ['execution.accepted', 1, 204, 'delivered'],
      ['execution.finished', 1, 204, 'delivered'],
      ['execution.started', 1, 204, 'delivered'],
    ]);
    expect(onB.map((d) => d.event_id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(await deliveries(c.url, execution.id)).toEqual(onB);
    // Still exactly one delivery per event.
    expect(mine()).toHaveLength(3);
  }, 240_000);

  it('delivers only the event types a callback asks for (execution.started)', async () => {
    const b = await gateway();
    const execution = await submit(
      b.url,
      { url: `http://127.0.0.1:${port}/hooks`, events: ['execution.started'] },
      '?wait=60',
    );
    await until(async () => (await deliveries(b.url, execution.id)).length === 1, 250);
    expect(received.filter((r) => r.event.subject === execution.id).map((r) => r.type)).toEqual([
      'execution.started',
    ]);
  }, 240_000);

  it('loses no delivery when the gateway holding it is SIGKILLed between attempts', async () => {
    // Only the gateways of this test take deliveries.
    for (const running of gateways.splice(0)) {
      if (running.child.exitCode !== null || running.child.signalCode !== null) continue;
      running.child.kill('SIGTERM');
      await running.exited;
    }
    // Full jitter under a 4 s ceiling: the retry is most likely still waiting when the kill lands.
    const env = { AIRLOCK_WEBHOOK_BACKOFF_MS: '4000', AIRLOCK_WEBHOOK_MAX_BACKOFF_MS: '4000' };
    const a = await gateway(env);
    const execution = await submit(a.url, {
      url: `http://127.0.0.1:${port}/flaky`,
      events: ['execution.accepted'],
    });
    const mine = () => received.filter((r) => r.event.subject === execution.id);
    // The first attempt failed (a short jitter may have let another fail too) and a retry is stored, waiting.
    await until(async () => (await deliveries(a.url, execution.id)).length >= 1, 50);
    const nc = await cluster.connect();
    // The webhook work queue's message count, from the JetStream API.
    const stored = async () =>
      ((await nc.request('$JS.API.STREAM.INFO.AIRLOCK_WEBHOOKS')).json() as { state: { messages: number } })
        .state.messages;
    await until(async () => (await stored()) === 1, 20);

    a.child.kill('SIGKILL');
    expect(await a.exited).toBeNull();
    const beforeKill = mine().length;
    expect(beforeKill).toBeGreaterThanOrEqual(1);
    failing = false;

    const c = await gateway(env);
    await until(
      async () => (await deliveries(c.url, execution.id)).some((d) => d.outcome === 'delivered'),
      100,
    );
    const log = (await deliveries(c.url, execution.id)).sort((x, y) => x.attempt - y.attempt);
    // Every attempt the receiver saw is logged, numbered on from the killed gateway's, one webhook-id throughout.
    expect(log.map((d) => d.attempt)).toEqual(Array.from({ length: mine().length }, (_, i) => i + 1));
    expect(log.map((d) => [d.status, d.outcome])).toEqual([
      ...Array.from({ length: log.length - 1 }, () => [500, 'retrying']),
      [204, 'delivered'],
    ]);
    expect(mine().length).toBe(beforeKill + 1);
    expect(new Set(mine().map((r) => r.webhookId))).toEqual(new Set([log[0]!.webhook_id]));
    expect(new Set(log.map((d) => d.webhook_id)).size).toBe(1);
    expect(mine().every((r) => r.type === 'execution.accepted')).toBe(true);
    expect(refused).toEqual([]);
    // Delivered and acknowledged: nothing left in the work queue.
    await until(async () => (await stored()) === 0, 50);
  }, 240_000);
});
