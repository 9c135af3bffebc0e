// Deliveries to a real receiver on loopback (reached through an AIRLOCK_WEBHOOK_ALLOWANCES-style allowance),
// whose signatures are verified with the standardwebhooks library as a user's receiver would.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressCheck, EnvSecretsProvider, TableResolver } from '@airlock/egress-proxy';
import { createLogger } from '@airlock/logging';
import type { LifecycleEvent } from '@airlock/protocol';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallbackTarget } from './callback-target.ts';
import { MemoryDeliveryLog } from './delivery-log.ts';
import {
  type Answer,
  loopbackWebhookSettings,
  type Received,
  startTestReceiver,
  type TestReceiver,
} from './test-receiver.ts';
import { MAX_RESPONSE_BYTES, WebhookDispatcher, type WebhookSettings } from './webhook-dispatcher.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const secrets = new EnvSecretsProvider({ AIRLOCK_SECRET_WEBHOOK_T1: SECRET });

const servers: TestReceiver[] = [];
const dispatchers: WebhookDispatcher[] = [];

afterEach(async () => {
  for (const d of dispatchers.splice(0)) d.close();
  for (const s of servers.splice(0)) await s.close();
});

/** A receiver on a free loopback port; `answer` decides each response (n counts from 1). */
async function receiver(answer: Answer): Promise<{ port: number; received: Received[] }> {
  const started = await startTestReceiver(answer);
  servers.push(started);
  return started;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function dispatcher(
  port: number,
  overrides: Partial<WebhookSettings> = {},
  resolver = new TableResolver({}),
) {
  const settings = loopbackWebhookSettings(port, overrides);
  const log = new MemoryDeliveryLog();
  const d = new WebhookDispatcher({
    settings,
    addresses: new AddressCheck({ allowances: settings.allowances }),
    resolver,
    secrets,
    log,
    logger: createLogger({ level: 'silent' }),
  });
  dispatchers.push(d);
  return { d, log };
}

const EVENT: LifecycleEvent = {
  id: 'evt_test',
  type: 'execution.finished',
  tenant: 't1',
  at: '2026-12-02T12:00:00.000Z',
  subject: 'ex_test',
  data: { status: 'finished', outcome: 'success', exit_code: 0 },
};

const target = (port: number, host = '127.0.0.1', literal = true): CallbackTarget => ({
  scheme: 'http',
  host,
  literal,
  port,
  path: '/hook?k=1',
});

/** The test event for the callback receiver on loopback `port`. */
const callbackTo = (port: number) => ({
  tenant: 't1',
  event: EVENT,
  receiver: 'callback' as const,
  target: target(port),
  secretRef: 'webhook.t1',
});

function verify(r: Received): unknown {
  return new Webhook(SECRET).verify(r.body, r.headers);
}

describe('WebhookDispatcher', () => {
  it('delivers on the first try, signed so the standardwebhooks library verifies it', async () => {
    const { port, received } = await receiver((_q, res) => res.end('ok'));
    const { d, log } = dispatcher(port);
    expect(await d.dispatch(callbackTo(port))).toBe(true);
    await d.idle();
    expect(received).toHaveLength(1);
    const first = received[0] as Received;
    expect(verify(first)).toEqual({ type: 'execution.finished', timestamp: EVENT.at, data: EVENT });
    expect(first.headers['webhook-id']).toMatch(/^msg_/);
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers.host).toBe(`127.0.0.1:${port}`);
    const attempts = await log.attempts('t1', 'ex_test');
    expect(attempts).toMatchObject([
      { attempt: 1, status: 200, error: null, outcome: 'delivered', url: `http://127.0.0.1:${port}/hook` },
    ]);
    expect(attempts[0]?.webhook_id).toBe(first.headers['webhook-id']);
    // Another tenant sees none of it.
    expect(await log.attempts('t2', 'ex_test')).toEqual([]);
  });

  it('retries a 500 twice then succeeds: three attempts with one webhook-id, each verifiable', async () => {
    const { port, received } = await receiver((_q, res, n) => {
      res.statusCode = n <= 2 ? 500 : 200;
      res.end();
    });
    const { d, log } = dispatcher(port, { attempts: 5 });
    d.dispatch(callbackTo(port));
    await d.idle();
    expect(received).toHaveLength(3);
    const ids = new Set(received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    for (const r of received) expect(verify(r)).toMatchObject({ type: 'execution.finished' });
    expect((await log.attempts('t1', 'ex_test')).map((a) => [a.attempt, a.status, a.outcome])).toEqual([
      [1, 500, 'retrying'],
      [2, 500, 'retrying'],
      [3, 200, 'delivered'],
    ]);
  });

  it('gives up after the configured attempts when the receiver is down, and logs each', async () => {
    const port = await closedPort();
    const { d, log } = dispatcher(port, { attempts: 3 });
    d.dispatch(callbackTo(port));
    await d.idle();
    const attempts = await log.attempts('t1', 'ex_test');
    expect(attempts.map((a) => [a.attempt, a.status, a.error, a.outcome])).toEqual([
      [1, null, 'ECONNREFUSED', 'retrying'],
      [2, null, 'ECONNREFUSED', 'retrying'],
      [3, null, 'ECONNREFUSED', 'failed'],
    ]);
    expect(d.pending).toBe(0);
  });

  it('ends an attempt at its timeout when the receiver hangs', async () => {
    const { port, received } = await receiver(() => {}); // never answers
    const { d, log } = dispatcher(port, { attempts: 1, timeoutMs: 300 });
    d.dispatch(callbackTo(port));
    await d.idle();
    expect(received).toHaveLength(1);
    expect(await log.attempts('t1', 'ex_test')).toMatchObject([
      { attempt: 1, status: null, error: 'timed out after 300 ms', outcome: 'failed' },
    ]);
  });

  it('reads a huge 200 body only to its bound and counts the delivery as done', async () => {
    let written = 0;
    const { port } = await receiver((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      // Streams "forever" (1 GiB) unless the client hangs up.
      const pump = () => {
        while (written < 1024 ** 3 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => {});
      pump();
    });
    const { d, log } = dispatcher(port, { attempts: 1, timeoutMs: 10_000 });
    d.dispatch(callbackTo(port));
    await d.idle();
    expect(await log.attempts('t1', 'ex_test')).toMatchObject([
      { status: 200, error: null, outcome: 'delivered' },
    ]);
    // The receiver got far less than a gigabyte out before the connection was dropped.
    expect(written).toBeLessThan(64 * 1024 * 1024);
    expect(MAX_RESPONSE_BYTES).toBeLessThanOrEqual(64 * 1024);
  });

  it('does not follow a redirect (to loopback or anywhere)', async () => {
    const other = await receiver((_q, res) => res.end('should never be reached'));
    const { port, received } = await receiver((_q, res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${other.port}/hook` });
      res.end();
    });
    const { d, log } = dispatcher(port, { attempts: 2 });
    d.dispatch(callbackTo(port));
    await d.idle();
    expect(received).toHaveLength(2);
    expect(other.received).toHaveLength(0);
    expect((await log.attempts('t1', 'ex_test')).map((a) => [a.status, a.error])).toEqual([
      [307, 'redirect not followed'],
      [307, 'redirect not followed'],
    ]);
  });

  it('refuses a name resolving to 169.254.169.254 after one lookup, without dialling or retrying', async () => {
    const { port } = await receiver((_q, res) => res.end());
    const resolver = new TableResolver({ 'hooks.example.test': ['169.254.169.254'] });
    const { d, log } = dispatcher(port, { attempts: 5 }, resolver);
    const named: CallbackTarget = { ...target(443, 'hooks.example.test', false), scheme: 'https' };
    d.dispatch({ tenant: 't1', event: EVENT, receiver: 'callback', target: named, secretRef: 'webhook.t1' });
    await d.idle();
    expect(resolver.calls.get('hooks.example.test')).toBe(1);
    expect(await log.attempts('t1', 'ex_test')).toMatchObject([
      {
        attempt: 1,
        status: null,
        outcome: 'failed',
        error: expect.stringMatching(/^refused: .*169\.254\.169\.254.*linkLocal/),
      },
    ]);
  });

  it('refuses a name when any of its answers is refused, even if another is allowed', async () => {
    const { port, received } = await receiver((_q, res) => res.end());
    // 127.0.0.1:port is an allowance; 127.0.0.2 is not: deny wins, nothing is dialled.
    const resolver = new TableResolver({ 'rebind.example.test': ['127.0.0.1', '127.0.0.2'] });
    const { d, log } = dispatcher(port, { attempts: 1 }, resolver);
    d.dispatch({
      tenant: 't1',
      event: EVENT,
      receiver: 'callback',
      target: { ...target(port, 'rebind.example.test', false), scheme: 'http' },
      secretRef: 'webhook.t1',
    });
    await d.idle();
    expect(received).toHaveLength(0);
    expect((await log.attempts('t1', 'ex_test'))[0]?.error).toMatch(/^refused: .*127\.0\.0\.2/);
  });

  it('records a missing signing secret by name only, and sends nothing', async () => {
    const { port, received } = await receiver((_q, res) => res.end());
    const { d, log } = dispatcher(port, { attempts: 1 });
    d.dispatch({
      tenant: 't1',
      event: EVENT,
      receiver: 'callback',
      target: target(port),
      secretRef: 'webhook.nobody',
    });
    await d.idle();
    expect(received).toHaveLength(0);
    expect((await log.attempts('t1', 'ex_test'))[0]?.error).toBe(
      "signing secret 'webhook.nobody' is not available",
    );
  });

  it('drops a delivery beyond the pending bound', async () => {
    const { port } = await receiver(() => {});
    const { d } = dispatcher(port, { attempts: 1, timeoutMs: 200, maxPending: 1 });
    expect(await d.dispatch(callbackTo(port))).toBe(true);
    expect(await d.dispatch(callbackTo(port))).toBe(false);
    await d.idle();
  });
});
