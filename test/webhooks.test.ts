// Webhooks through the whole embedded service and the typed client: an execution's and a session's lifecycle
// events — the feed's own, with the ids `GET /v1/events` lists — reach a receiver on loopback (allowed by
// AIRLOCK_WEBHOOK_ALLOWANCES), signed with the tenant's whsec_ secret from AIRLOCK_SECRETS_DIR and verified with
// the standardwebhooks library; the delivery log is read with the client; the secret never appears in the
// service's logs.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AirlockClient } from '@airlock/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './support/service.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
let secrets: string;
let receiver: WebhookReceiver;
let svc: TestService;
let client: AirlockClient;
let port: number;
const received: Array<{ type: string; subject: string; id: string; eventId: string }> = [];

beforeAll(async () => {
  secrets = await mkdtemp(join(tmpdir(), 'airlock-secrets-'));
  await writeFile(join(secrets, 'webhook.local'), `${SECRET}\n`, { mode: 0o600 });
  receiver = await startWebhookReceiver(SECRET, ({ webhookId, type, data }) => {
    received.push({ type, subject: data.subject, eventId: data.id, id: webhookId });
  });
  port = receiver.port;
  svc = await startService({
    AIRLOCK_SECRETS_DIR: secrets,
    AIRLOCK_WEBHOOK_ALLOWANCES: `127.0.0.1:${port}`,
    AIRLOCK_LOG_LEVEL: 'debug',
  });
  client = new AirlockClient({ baseUrl: svc.url });
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await receiver?.close();
  await rm(secrets, { recursive: true, force: true });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('webhooks in the embedded service', () => {
  it("delivers an execution's accepted, started and finished events, and the client reads the delivery log", async () => {
    const execution = await client.run({
      language: 'javascript',
      code: 'console.log(42)',
      callback: { url: `http://127.0.0.1:${port}/hooks` },
    });
    await until(() => received.filter((r) => r.subject === execution.id).length === 3);
    const mine = received.filter((r) => r.subject === execution.id);
    // Attempts run concurrently: compared in no particular order.
    expect(mine.map((r) => r.type).sort()).toEqual(
      ['execution.accepted', 'execution.started', 'execution.finished'].sort(),
    );
    // The feed's events: the same ids.
    const feed = (await (await fetch(`${svc.url}/v1/events?limit=1000`)).json()) as {
      data: Array<{ id: string; subject: string }>;
    };
    expect(mine.map((r) => r.eventId).sort()).toEqual(
      feed.data
        .filter((e) => e.subject === execution.id)
        .map((e) => e.id)
        .sort(),
    );
    let attempts = await client.deliveries(execution.id);
    while (attempts.length < 3) attempts = await client.deliveries(execution.id);
    expect(attempts.map((a) => [a.event_type, a.attempt, a.status, a.outcome]).sort()).toEqual([
      ['execution.accepted', 1, 204, 'delivered'],
      ['execution.finished', 1, 204, 'delivered'],
      ['execution.started', 1, 204, 'delivered'],
    ]);
    expect(svc.logs.join('')).not.toContain(SECRET);
    expect(svc.logs.join('')).not.toContain(SECRET.slice(6));
  });

  it('delivers only the session events its callback asks for (session.closed)', async () => {
    const session = await client.createSession({
      language: 'javascript',
      callback: { url: `http://127.0.0.1:${port}/hooks`, events: ['session.closed'] },
    });
    await client.closeSession(session.id);
    await until(() => received.some((r) => r.subject === session.id));
    expect(received.filter((r) => r.subject === session.id).map((r) => r.type)).toEqual(['session.closed']);
  });

  it('refuses a callback URL that names the metadata address, naming callback.url', async () => {
    await expect(
      client.submit({ language: 'javascript', code: '1', callback: { url: 'https://169.254.169.254/' } }),
    ).rejects.toMatchObject({ status: 422, code: 'callback_refused', field: 'callback.url' });
  });
});
