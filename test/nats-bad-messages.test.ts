// Bad messages on every NATS subject a scaled-out Airlock listens to. The `airlock.execute` endpoint answers
// each with a coded error from the one table (not JSON, wrong schema, too large, no token, bad token); the
// worker-facing subjects (jobs, wake-ups, cancel notices, runner probes, events) get no answer but must
// never crash a worker or a gateway, never run anything, and leave them serving.

import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import { type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AirlockProcess, NatsCluster } from './support/nats-cluster.ts';
import { TEACHING_CASES, TEST_BODY_LIMIT_BYTES } from './support/teaching-errors.ts';
import { tokenSettings } from './support/tokens.ts';

let cluster: NatsCluster;
let issuer: TestIssuer;
let gateway: AirlockProcess;
let worker: AirlockProcess;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await NatsCluster.start();
  issuer = await createTestIssuer();
  const tokens = await tokenSettings(cluster.dir, issuer, {
    acme: {
      languages: ['javascript'],
      backends: ['isolate'],
      max_concurrent: 4,
      max_queued: 20,
      submissions_per_minute: 600,
    },
  });
  [gateway, worker] = await Promise.all([
    cluster.gateway({ ...tokens, AIRLOCK_BODY_LIMIT_BYTES: String(TEST_BODY_LIMIT_BYTES) }),
    cluster.worker(),
  ]);
  nc = await cluster.connect();
}, 180_000);

afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
}, 60_000);

async function execute(body: string | Uint8Array, token?: string) {
  const h = natsHeaders();
  if (token !== undefined) h.set('Authorization', `Bearer ${token}`);
  const reply = await nc.request('airlock.execute', body, { timeout: 60_000, headers: h });
  return {
    status: reply.headers?.get('Nats-Service-Error-Code') ?? '',
    code: reply.headers?.get('Nats-Service-Error') ?? '',
    body: reply.json<any>(),
  };
}

const GOOD = JSON.stringify({ language: 'javascript', code: 'console.log("still serving")' });

describe('bad messages on the NATS subjects', () => {
  it('answers bad execute requests with coded errors from the one table', async () => {
    const token = await issuer.mint();
    const cases = [
      { name: 'not JSON', body: '{"language":', token, status: '400', code: 'invalid_json' },
      {
        name: 'not UTF-8',
        body: new Uint8Array([0xff, 0xfe, 0x7b]),
        token,
        status: '400',
        code: 'invalid_json',
      },
      {
        name: 'a repeated key',
        body: '{"language":"javascript","code":"console.log(1)","metadata":{"a":"x","\\u0061":"y"}}',
        token,
        status: '400',
        code: 'invalid_json',
        field: 'metadata.a',
      },
      {
        name: 'wrong schema',
        body: JSON.stringify({ language: 'cobol', code: 'x' }),
        token,
        status: '400',
        code: 'invalid_request',
        field: 'language',
      },
      {
        name: 'unknown field',
        body: JSON.stringify({ language: 'javascript', code: '1', extra: true }),
        token,
        status: '400',
        code: 'invalid_request',
      },
      {
        name: 'huge',
        body: JSON.stringify({ language: 'javascript', code: `// ${'x'.repeat(200_000)}` }),
        token,
        status: '413',
        code: 'payload_too_large',
      },
      { name: 'missing token', body: GOOD, token: undefined, status: '401', code: 'unauthorized' },
      {
        name: 'forged token',
        body: GOOD,
        token: `${token.slice(0, -4)}AAAA`,
        status: '401',
        code: 'unauthorized',
      },
      {
        name: 'forbidden language',
        body: JSON.stringify({ language: 'python', code: 'print(1)' }),
        token: await issuer.mint(),
        status: '403',
        code: 'forbidden',
        field: 'language',
      },
    ];
    for (const c of cases) {
      const answer = await execute(c.body, c.token);
      expect(`${c.name}: ${answer.status} ${answer.code}`).toBe(`${c.name}: ${c.status} ${c.code}`);
      expect(answer.body.error.code).toBe(c.code);
      expect(typeof answer.body.error.message).toBe('string');
      if (c.field) expect(answer.body.error.field).toBe(c.field);
    }
    const bad = natsHeaders();
    bad.set('Authorization', `Bearer ${await issuer.mint()}`);
    bad.set('Idempotency-Key', 'has spaces in it');
    const keyReply = await nc.request('airlock.execute', GOOD, { timeout: 60_000, headers: bad });
    expect(keyReply.json<any>().error.code).toBe('invalid_request');
    // Every refusal is audited by the gateway, with its code.
    const rejected = (await gateway.audit()).filter((r) => r.type === 'rejected').map((r) => r.detail.code);
    expect(rejected).toEqual(expect.arrayContaining(['unauthorized', 'forbidden']));
  });

  it.each(TEACHING_CASES.map((c) => [c.name, c] as const))('teaches as REST does: %s', async (_name, c) => {
    const answer = await execute(c.body, await issuer.mint());
    expect(`${answer.status} ${answer.code}`).toBe(`${c.status} ${c.error.code}`);
    expect(answer.body).toEqual({ error: c.error });
  });

  it('survives garbage on the job, wake-up, cancel, probe and event subjects, and keeps serving', async () => {
    const garbage = [
      'not json',
      '{"id":"ex_forged","tenant":"acme","request":{"language":"javascript","code":"console.log(1)"}}',
      '{"id":1}',
      JSON.stringify({
        id: 'ex_x',
        tenant: 'acme',
        request: { language: 'javascript', code: 'x'.repeat(900_000) },
      }),
      '',
    ];
    const subjects = [
      'airlock.jobs.acme',
      'airlock.jobs.local',
      'airlock.work.acme',
      'airlock.work.x.y',
      'airlock.cancel.ex_doesnotexist',
      'airlock.cancel.*',
      'airlock.events.ex_x.state',
      'airlock.events.ex_x.output',
      'airlock.runner.q_unknown',
    ];
    for (const subject of subjects) {
      for (const payload of garbage) {
        try {
          nc.publish(subject, payload);
        } catch {
          // a wildcard subject is refused by the client itself
        }
      }
    }
    // Raw requests on the probe subjects of every worker get an answer or nothing, never a crash.
    await nc.request('airlock.runner.q_unknown', 'x', { timeout: 500 }).catch(() => undefined);
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(worker.child.exitCode).toBeNull();
    expect(gateway.child.exitCode).toBeNull();
    const answer = await execute(GOOD, await issuer.mint());
    expect(answer.status).toBe('');
    expect(answer.body.result).toMatchObject({ outcome: 'success', stdout: 'still serving\n' });
    // Nothing forged ran: the worker started exactly the one real job.
    const started = (await worker.audit()).filter((r) => r.type === 'started').map((r) => r.execution_id);
    expect(started).toEqual([answer.body.id]);
  });
});
