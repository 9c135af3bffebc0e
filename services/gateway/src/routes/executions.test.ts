// /v1/executions in process, through Fastify's inject (no port): the real submitter, queue, audit log and
// token authorizer behind the real routes and schemas.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog } from '@airlock/audit';
import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import { MemoryJobQueue } from '@airlock/queue';
import { bearer, tokenAuthorizer } from '@airlock/sessions/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUBMISSION_TEST_LIMITS, startTestGateway } from '../gateway-fixture.ts';

const HELLO = { language: 'javascript', code: 'console.log(1)' };

let dir: string;
let audit: FileAuditLog;
let queue: MemoryJobQueue;
let issuer: TestIssuer;
let app: FastifyInstance;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-routes-'));
  audit = await FileAuditLog.open(join(dir, 'audit.jsonl'));
  // Nothing consumes it: what is accepted stays queued.
  queue = new MemoryJobQueue({ concurrency: 1, maxQueued: 10, retentionMs: 60_000, maxRetained: 100 });
  issuer = await createTestIssuer();
  const authorizer = tokenAuthorizer(issuer, { max_concurrent: 10, max_queued: 10 });
  ({ app } = await startTestGateway({ queue, audit, authorizer }));
});

afterEach(async () => {
  await app.close();
  await queue.close();
  await audit.close();
  await rm(dir, { recursive: true, force: true });
});

/** Asserts that `response` is `status` with exactly the error body `error`. */
function expectError(response: { statusCode: number; json(): unknown }, status: number, error: object): void {
  expect(response.statusCode).toBe(status);
  expect(response.json()).toEqual({ error });
}

async function post(body: unknown, headers: Record<string, string> = {}) {
  const token = await issuer.mint({ intent: { max_executions: 5 } });
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return app.inject({
    method: 'POST',
    url: '/v1/executions',
    headers: { ...bearer(token), 'content-type': 'application/json', ...headers },
    payload,
  });
}

describe('POST /v1/executions', () => {
  it('201 with the queued execution and its Location; GET reads it, DELETE cancels it once', async () => {
    const token = await issuer.mint({ intent: { max_executions: 5 } });
    const created = await app.inject({
      method: 'POST',
      url: '/v1/executions',
      headers: bearer(token),
      payload: HELLO,
    });
    expect(created.statusCode).toBe(201);
    const execution = created.json();
    expect(execution).toMatchObject({
      tenant: 'acme',
      status: 'queued',
      backend: 'isolate',
      limits: SUBMISSION_TEST_LIMITS.defaults,
    });
    expect(created.headers.location).toBe(`/v1/executions/${execution.id}`);

    const read = await app.inject({
      method: 'GET',
      url: `/v1/executions/${execution.id}`,
      headers: bearer(token),
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(execution);

    const canceled = await app.inject({
      method: 'DELETE',
      url: `/v1/executions/${execution.id}`,
      headers: bearer(token),
    });
    expect(canceled.statusCode).toBe(200);
    expect(canceled.json()).toMatchObject({ status: 'finished', result: { outcome: 'canceled' } });
    const again = await app.inject({
      method: 'DELETE',
      url: `/v1/executions/${execution.id}`,
      headers: bearer(token),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('execution_finished');
  });

  it('an Idempotency-Key replay answers 200 with the first execution', async () => {
    const first = await post(HELLO, { 'idempotency-key': 'k-1' });
    const replay = await post(HELLO, { 'idempotency-key': 'k-1' });
    expect([first.statusCode, replay.statusCode]).toEqual([201, 200]);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().id).toBe(first.json().id);
    const conflict = await post({ ...HELLO, code: 'console.log(2)' }, { 'idempotency-key': 'k-1' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe('idempotency_conflict');
  });

  it('401 without a token, 403 beyond the policy', async () => {
    const anonymous = await app.inject({ method: 'POST', url: '/v1/executions', payload: HELLO });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toEqual({
      error: { code: 'unauthorized', message: 'missing token: no intent token was presented' },
    });
    const python = await post({ language: 'python', code: 'print(1)' });
    expectError(python, 403, {
      code: 'forbidden',
      message: "language 'python' is not allowed by the tenant policy",
      field: 'language',
    });
  });
});

describe('the request schema at the REST boundary', () => {
  it.each([
    [{ code: '1' }, 'language'],
    [{ ...HELLO, language: 'cobol' }, 'language'],
    [{ ...HELLO, extra: 1 }, 'extra'],
    [{ ...HELLO, code: 'a\u0000b' }, 'code'],
    [{ ...HELLO, files: [{ path: '../etc/passwd', content: 'x' }] }, 'files[0].path'],
    [{ ...HELLO, env: { LD_PRELOAD: '/x.so' } }, 'env.LD_PRELOAD'],
    [{ ...HELLO, limits: { memory_mb: 1 } }, 'limits.memory_mb'],
    [
      { ...HELLO, network: { egress: 'proxy', allow: [{ host: 'http://a.test/' }] } },
      'network.allow[0].host',
    ],
  ])('%j is 400 invalid_request naming %s', async (body, field) => {
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    const { error } = response.json();
    expect(error.code).toBe('invalid_request');
    expect(error.field ?? '').toBe(field);
  });

  it('a limit above the server ceiling is 400 naming the limit, never clamped', async () => {
    const response = await post({ ...HELLO, limits: { memory_mb: 512 } });
    expectError(response, 400, {
      code: 'invalid_request',
      message: 'limits.memory_mb: 512 is above the server ceiling of 256',
      field: 'limits.memory_mb',
    });
  });

  it('a body that repeats a key is refused, not merged', async () => {
    const response = await post('{"language":"javascript","code":"1","code":"2"}');
    expectError(response, 400, {
      code: 'invalid_json',
      message: 'duplicate key "code" at code: a JSON object must not repeat a key',
      field: 'code',
    });
  });
});
