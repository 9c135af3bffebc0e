// Hostile and malformed requests: each gets its exact coded 4xx, naming the field, before any sandbox runs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startService, type TestService } from './support/service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startService({
    AIRLOCK_BODY_LIMIT_BYTES: String(2 * 1024 * 1024),
    AIRLOCK_MAX_MEMORY_MB: '256',
  });
});
afterAll(async () => {
  await svc?.close();
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  call(svc.url, 'POST', '/v1/executions', body, headers);
const ok = { language: 'javascript', code: 'console.log(1)' };

describe('request validation', () => {
  it.each([
    ['malformed JSON', '{"language": "javascript", "code": ', 400, 'invalid_json', undefined],
    ['empty body', '', 400, 'invalid_json', undefined],
    ['a JSON array', '[]', 400, 'invalid_request', undefined],
    ['code of the wrong type', { language: 'javascript', code: 42 }, 400, 'invalid_request', 'code'],
    ['missing code', { language: 'javascript' }, 400, 'invalid_request', 'code'],
    ['unknown language', { language: 'cobol', code: 'x' }, 400, 'invalid_request', 'language'],
    ['unknown field', { ...ok, sudo: true }, 400, 'invalid_request', undefined],
    [
      'wall time below minimum',
      { ...ok, limits: { wall_time_ms: 1 } },
      400,
      'invalid_request',
      'limits.wall_time_ms',
    ],
    [
      'memory above ceiling',
      { ...ok, limits: { memory_mb: 512 } },
      400,
      'invalid_request',
      'limits.memory_mb',
    ],
    [
      'fractional limit',
      { ...ok, limits: { output_bytes: 1.5 } },
      400,
      'invalid_request',
      'limits.output_bytes',
    ],
    ['code with NUL bytes', { language: 'javascript', code: 'a\u0000b' }, 400, 'invalid_request', 'code'],
    ['lone surrogate in code', { language: 'javascript', code: '"\ud800"' }, 400, 'invalid_request', 'code'],
    [
      'invalid base64 file',
      { ...ok, files: [{ path: 'a.bin', content: '@@@', encoding: 'base64' }] },
      400,
      'invalid_request',
      'files[0].content',
    ],
    [
      'path traversal',
      { ...ok, files: [{ path: '../etc/passwd', content: 'x' }] },
      400,
      'invalid_request',
      'files[0].path',
    ],
    [
      'absolute path',
      { ...ok, files: [{ path: '/etc/passwd', content: 'x' }] },
      400,
      'invalid_request',
      'files[0].path',
    ],
    [
      'duplicate paths',
      {
        ...ok,
        files: [
          { path: 'a', content: '1' },
          { path: 'a', content: '2' },
        ],
      },
      400,
      'invalid_request',
      'files[1].path',
    ],
    ['reserved env name', { ...ok, env: { LD_PRELOAD: '/x.so' } }, 400, 'invalid_request', 'env.LD_PRELOAD'],
    ['env value with NUL', { ...ok, env: { A: 'x\u0000' } }, 400, 'invalid_request', 'env.A'],
    ['unsupported backend', { ...ok, backend: 'docker' }, 422, 'backend_unavailable', 'backend'],
    [
      'network egress through the proxy without an allow list',
      { ...ok, network: { egress: 'proxy' } },
      400,
      'invalid_request',
      'network.allow',
    ],
    [
      'network egress host with user-info',
      { ...ok, network: { egress: 'proxy', allow: [{ host: 'a@evil.test' }] } },
      400,
      'invalid_request',
      'network.allow[0].host',
    ],
    [
      'unknown network mode',
      { ...ok, network: { egress: 'direct' } },
      400,
      'invalid_request',
      'network.egress',
    ],
    [
      'network egress on a server without egress',
      { ...ok, network: { egress: 'proxy', allow: [{ host: 'api.test' }] } },
      422,
      'egress_unavailable',
      'network.egress',
    ],
  ])('%s → %i %s', async (_name, body, status, code, field) => {
    const response = await post(body);
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    if (field !== undefined) expect(response.body.error.field).toBe(field);
    expect(response.body.error.message).toEqual(expect.any(String));
  });

  it('accepts a base64 file that is not valid UTF-8 and hands the guest its exact bytes', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28]);
    const response = await call(svc.url, 'POST', '/v1/executions?wait=20', {
      language: 'javascript',
      code: 'console.log(Array.from(airlock.readFile("blob.bin")).join(","))',
      files: [{ path: 'blob.bin', content: bytes.toString('base64'), encoding: 'base64' }],
    });
    expect(response.status).toBe(201);
    expect(response.body.result.stdout).toBe('255,254,0,195,40\n');
  });

  it('refuses a body over the limit with 413', async () => {
    const response = await post({ language: 'javascript', code: `//${'x'.repeat(3 * 1024 * 1024)}` });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('payload_too_large');
  });

  it('refuses 10,000 files with 400 naming files', async () => {
    const files = Array.from({ length: 10_000 }, (_, i) => ({ path: `f${i}`, content: '' }));
    const response = await post({ ...ok, files });
    expect(response.status).toBe(400);
    expect(response.body.error.field).toBe('files');
  });

  it('refuses a non-JSON media type with 415', async () => {
    const response = await call(svc.url, 'POST', '/v1/executions', 'code', { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('unsupported_media_type');
  });

  it('refuses a bad wait and a bad idempotency key', async () => {
    const wait = await call(svc.url, 'POST', '/v1/executions?wait=9999', ok);
    expect(wait.status).toBe(400);
    expect(wait.body.error.field).toBe('query.wait');
    const key = await post(ok, { 'idempotency-key': 'x'.repeat(300) });
    expect(key.status).toBe(400);
    expect(key.body.error.field).toBe('headers.idempotency-key');
  });

  it('refuses a prototype-pollution body', async () => {
    const response = await post('{"language":"javascript","code":"1","__proto__":{"admin":true}}');
    expect(response.status).toBe(400);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('survives deeply nested JSON', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const response = await post(`{"language":"javascript","code":"1","metadata":${deep}}`);
    expect(response.status).toBe(400);
  });
});

describe('unknown executions', () => {
  it.each([
    ['GET', '/v1/executions/ex_AAAAAAAAAAAAAAAAAAAAAA'],
    ['DELETE', '/v1/executions/ex_AAAAAAAAAAAAAAAAAAAAAA'],
    ['GET', '/v1/executions/not-an-id'],
    ['GET', `/v1/executions/ex_${'x'.repeat(90)}`],
  ])('%s %s → 404 execution_not_found', async (method, path) => {
    const response = await call(svc.url, method, path);
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('execution_not_found');
  });

  it('answers an over-long id with 414 uri_too_long', async () => {
    const response = await call(svc.url, 'GET', `/v1/executions/${'x'.repeat(2000)}`);
    expect(response.status).toBe(414);
    expect(response.body.error.code).toBe('uri_too_long');
  });

  it('answers 409 to a cancel of a finished execution', async () => {
    const done = await call(svc.url, 'POST', '/v1/executions?wait=20', ok);
    const response = await call(svc.url, 'DELETE', `/v1/executions/${done.body.id}`);
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('execution_finished');
  });
});

describe('queue full', () => {
  it('answers 429 with Retry-After once the queue is full, and every accepted execution still finishes', async () => {
    await using small = await startService({
      AIRLOCK_CONCURRENCY: '1',
      AIRLOCK_ISOLATE_HOSTS: '1',
      AIRLOCK_MAX_QUEUED: '2',
    });
    const slow = { language: 'javascript', code: 'await new Promise((r) => setTimeout(r, 400))' };
    const responses = [];
    for (let i = 0; i < 6; i++) responses.push(await call(small.url, 'POST', '/v1/executions', slow));
    const accepted = responses.filter((r) => r.status === 201);
    const refused = responses.filter((r) => r.status === 429);
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect(r.body.error.code).toBe('queue_full');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    for (const r of accepted) {
      const done = await small.service.queue.wait('local', r.body.id, 20_000);
      expect(done.result?.outcome).toBe('success');
    }
  });
});
