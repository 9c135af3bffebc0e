// Callbacks through the real routes (Fastify inject): submission refuses a callback URL Airlock will not dial
// (422 naming callback.url) or one the tenant policy / intent token does not allow (403); an accepted
// execution's events — the lifecycle feed's own (same ids as `GET /v1/events`), `execution.started` included —
// reach a loopback receiver, signed, and its delivery log is served to its tenant only.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog } from '@airlock/audit';
import { parseTenantPolicies } from '@airlock/auth';
import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import { EnvSecretsProvider, TableResolver } from '@airlock/egress-proxy';
import { createLogger } from '@airlock/logging';
import { emptyResult } from '@airlock/protocol';
import { MemoryJobQueue } from '@airlock/queue';
import { TokenAuthorizer } from '@airlock/sessions';
import { acmePolicy, bearer, testVerifier } from '@airlock/sessions/testing';
import { EventingExecutionStore, LifecycleEventFeed, SqliteStore } from '@airlock/store';
import type { FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway } from '../gateway-fixture.ts';
import {
  loopbackWebhookSettings,
  type Received,
  startTestReceiver,
  type TestReceiver,
} from '../webhooks/test-receiver.ts';
import { Webhooks } from '../webhooks/webhooks.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

let dir: string;
let audit: FileAuditLog;
let queue: MemoryJobQueue;
let store: SqliteStore;
let feed: LifecycleEventFeed;
let issuer: TestIssuer;
let app: FastifyInstance;
let webhooks: Webhooks;
let receiver: TestReceiver;
let port: number;
let received: Received[];

beforeEach(async () => {
  receiver = await startTestReceiver();
  ({ port, received } = receiver);
  dir = await mkdtemp(join(tmpdir(), 'airlock-deliveries-'));
  audit = await FileAuditLog.open(join(dir, 'audit.jsonl'));
  store = SqliteStore.inMemory({ retentionMs: 60_000 });
  feed = new LifecycleEventFeed(store.events, (error) => {
    throw error;
  });
  queue = new MemoryJobQueue({
    concurrency: 1,
    maxQueued: 10,
    store: new EventingExecutionStore(store.executions, feed),
  });
  // The worker: every job succeeds at once (the sandboxes are not what this test is about).
  queue.consume(async () => ({ ...emptyResult('success', ''), exit_code: 0, reason: null }));
  issuer = await createTestIssuer();
  const policies = parseTenantPolicies(
    {
      tenants: {
        acme: acmePolicy({ callback_secret_ref: 'acme-hooks' }),
        narrow: acmePolicy({ callback_hosts: ['hooks.example.test'] }),
        other: acmePolicy(),
        nosecret: acmePolicy(),
      },
    },
    'test',
  );
  const authorizer = new TokenAuthorizer({
    verifier: testVerifier(issuer),
    policies,
    defaultMaxExecutions: 5,
  });
  webhooks = new Webhooks({
    settings: loopbackWebhookSettings(port),
    secrets: new EnvSecretsProvider({
      AIRLOCK_SECRET_ACME_HOOKS: SECRET,
      AIRLOCK_SECRET_WEBHOOK_OTHER: SECRET,
      AIRLOCK_SECRET_WEBHOOK_NARROW: SECRET,
    }),
    resolver: new TableResolver({}),
    logger: createLogger({ level: 'silent' }),
    policies,
  });
  webhooks.follow(feed);
  const gateway = await startTestGateway({ queue, audit, authorizer, webhooks });
  app = gateway.app;
  queue.onFinished((execution) => gateway.submitter.finished(execution));
});

afterEach(async () => {
  await app.close();
  await webhooks.close();
  await queue.close();
  store.close();
  await audit.close();
  await receiver.close();
  await rm(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function submit(tenant: string, callback: unknown, wait = 5) {
  const token = await issuer.mint({ tenant });
  return app.inject({
    method: 'POST',
    url: `/v1/executions?wait=${wait}`,
    headers: bearer(token),
    payload: { language: 'javascript', code: 'console.log(1)', callback },
  });
}

describe('callbacks on /v1/executions', () => {
  it.each([
    'https://user:pw@hooks.example.test/in',
    'https://169.254.169.254/latest/meta-data',
    'https://2130706433/in',
    'https://0x7f.1/in',
    'https://[::ffff:127.0.0.1]/in',
    'https://100.64.0.1/in',
    'http://hooks.example.test/in',
    'https://localhost/in',
  ])('refuses %s with 422 callback_refused naming callback.url; nothing is queued', async (url) => {
    const res = await submit('acme', { url });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'callback_refused', field: 'callback.url' });
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
  });

  it('refuses a malformed callback object with 400 naming the field', async () => {
    const res = await submit('acme', {
      url: 'https://hooks.example.test/in',
      events: ['execution.exploded'],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toMatch(/^callback\.events/);
  });

  it("refuses a host outside the tenant policy's callback_hosts (403) and one outside the intent's", async () => {
    const byTenant = await submit('narrow', { url: 'https://elsewhere.example.test/in' });
    expect(byTenant.statusCode).toBe(403);
    expect(byTenant.json().error).toMatchObject({ field: 'callback.url' });
    expect(byTenant.json().error.message).toMatch(/not allowed by the tenant policy/);
    const token = await issuer.mint({ tenant: 'acme', intent: { callback_hosts: ['*.example.test'] } });
    const byIntent = await app.inject({
      method: 'POST',
      url: '/v1/executions',
      headers: bearer(token),
      payload: { language: 'javascript', code: '1', callback: { url: 'https://hooks.example.org/in' } },
    });
    expect(byIntent.statusCode).toBe(403);
    expect(byIntent.json().error.message).toMatch(/not allowed by the intent token/);
  });

  it("delivers the feed's accepted, started and finished events, signed with the tenant secret, and logs them for the tenant only", async () => {
    const res = await submit('acme', { url: `http://127.0.0.1:${port}/in?token=abc` });
    expect(res.statusCode).toBe(201);
    const id = res.json().id as string;
    await until(() => received.length === 3);
    await webhooks.idle();
    const bodies = received.map((r) => new Webhook(SECRET).verify(r.body, r.headers)) as Array<{
      type: string;
      data: { id: string; subject: string; tenant: string; data: Record<string, unknown> };
    }>;
    // Attempts run concurrently: compared in no particular order.
    expect(bodies.map((b) => b.type).sort()).toEqual(
      ['execution.accepted', 'execution.started', 'execution.finished'].sort(),
    );
    const finished = bodies.find((b) => b.type === 'execution.finished');
    expect(finished?.data).toMatchObject({
      subject: id,
      tenant: 'acme',
      data: { outcome: 'success', exit_code: 0 },
    });
    // The very events of the feed (`GET /v1/events`): same ids, types and payloads.
    const feedEvents = (await store.events.read('acme', { limit: 100 }))
      .map((logged) => logged.event)
      .filter((event) => event.subject === id);
    expect(feedEvents).toHaveLength(3);
    expect(bodies.map((b) => b.data)).toEqual(expect.arrayContaining(feedEvents));
    // One webhook-id per event, derived from the event id.
    expect(received.map((r) => r.headers['webhook-id']).sort()).toEqual(
      feedEvents.map((event) => `msg_${event.id.slice('evt_'.length)}`).sort(),
    );
    const log = await app.inject({
      url: `/v1/executions/${id}/deliveries`,
      headers: bearer(await issuer.mint()),
    });
    expect(log.statusCode).toBe(200);
    expect(log.json().data).toHaveLength(3);
    for (const attempt of log.json().data)
      expect(attempt).toMatchObject({
        attempt: 1,
        status: 200,
        error: null,
        outcome: 'delivered',
        url: `http://127.0.0.1:${port}/in`,
      });
    expect(
      log
        .json()
        .data.map((a: { event_id: string }) => a.event_id)
        .sort(),
    ).toEqual(feedEvents.map((event) => event.id).sort());
    const foreign = await app.inject({
      url: `/v1/executions/${id}/deliveries`,
      headers: bearer(await issuer.mint({ tenant: 'other' })),
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe('execution_not_found');
  });

  it('delivers only the event types the callback asks for (execution.started)', async () => {
    const res = await submit('acme', { url: `http://127.0.0.1:${port}/in`, events: ['execution.started'] });
    expect(res.statusCode).toBe(201);
    const id = res.json().id as string;
    // The finished event is the last one the feed publishes: once it is in the feed, all were routed.
    await until(async () =>
      (await store.events.read('acme', { limit: 100 })).some(
        (logged) => logged.event.subject === id && logged.event.type === 'execution.finished',
      ),
    );
    await until(() => received.length === 1);
    await webhooks.idle();
    expect(received.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(['execution.started']);
  });

  it('refuses a callback when the tenant has no signing secret, naming the secret but never a value', async () => {
    const res = await submit('nosecret', { url: `http://127.0.0.1:${port}/in` });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'callback_refused', field: 'callback.url' });
    expect(res.json().error.message).toMatch(/'webhook\.nosecret'/);
  });
});
