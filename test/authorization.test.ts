// SECURITY.md classes 21 and 22 through the real REST API with real signed intent tokens: every refusal has its
// exact status, is audited with its reason, and reaches no sandbox; tenants cannot see each other's executions.

import { createHmac } from 'node:crypto';
import { createTestIssuer, TEST_AUDIENCE, TEST_ISSUER, type TestIssuer } from '@airlock/auth/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { call } from './support/service.ts';
import { useTokenService } from './support/token-service.ts';
import { bearer, tenantPolicy as policy } from './support/tokens.ts';

const { service, issuer } = useTokenService(
  {
    acme: policy(),
    globex: policy(),
    slowpoke: policy({ submissions_per_minute: 2 }),
    tiny: policy({ max_concurrent: 1, max_queued: 0 }),
  },
  { kid: 'broker-key-1', env: { AIRLOCK_TOKEN_MAX_LIFETIME_SECONDS: '600' } },
);
/** Another issuer with the same key id: its tokens are signed by a key the service does not know. */
let stranger: TestIssuer;
beforeAll(async () => {
  stranger = await createTestIssuer({ kid: 'broker-key-1' });
});

const hello = { language: 'javascript', code: 'console.log("hi")' };
const now = () => Math.floor(Date.now() / 1000);
const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** Valid claims of a token that only a forged header and signature carry. */
const claims = (jti: string) => ({
  iss: TEST_ISSUER,
  aud: TEST_AUDIENCE,
  sub: 'a',
  tenant: 'acme',
  jti,
  iat: now(),
  exp: now() + 60,
});

const auditRecords = () => readAuditRecords(service().auditPath);

/** Submits `body` with a fresh token of `tenant` (`query` such as `?wait=20`). */
const submitAs = async (tenant: string, body: unknown, query = '') =>
  call(service().url, 'POST', `/v1/executions${query}`, body, bearer(await issuer().mint({ tenant })));

async function refusedWith(headers: Record<string, string>, body: unknown, status: number, reason: RegExp) {
  const before = (await auditRecords()).length;
  const response = await call(service().url, 'POST', '/v1/executions', body, headers);
  expect(response.status).toBe(status);
  expect(response.body.error.message).toMatch(reason);
  // Records of earlier executions finishing may interleave; this request must add one rejection and no execution.
  const added = (await auditRecords())
    .slice(before)
    .filter((r) => r.type === 'rejected' || r.type === 'accepted');
  expect(added.map((r) => r.type)).toEqual(['rejected']);
  expect(added[0].reason).toMatch(reason);
  expect(added[0].execution_id).toBeNull();
  return { response, record: added[0] };
}

describe('class 21: token abuse is refused before any sandbox, and audited', () => {
  it('accepts a valid token and records subject, tenant, issuer, jti, act and capability', async () => {
    const act = { sub: 'user-7', act: { sub: 'planner' } };
    const token = await issuer().mint({ jti: 'ok-1', act });
    const response = await call(service().url, 'POST', '/v1/executions?wait=20', hello, bearer(token));
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ tenant: 'acme', result: { stdout: 'hi\n' } });
    const accepted = (await auditRecords()).find(
      (r) => r.type === 'accepted' && r.execution_id === response.body.id,
    );
    expect(accepted).toMatchObject({
      tenant: 'acme',
      subject: 'agent-1',
      detail: {
        issuer: TEST_ISSUER,
        jti: 'ok-1',
        act,
        capability: { language: 'javascript', backends: ['isolate'] },
      },
    });
    expect(JSON.stringify(await auditRecords())).not.toContain(token);
  });

  it.each([
    ['missing token', async () => ({}), /^missing token/],
    ['not a bearer token', async () => ({ authorization: 'Basic dXNlcjpwYXNz' }), /^malformed token/],
    ['garbage token', async () => bearer('not.a.jwt'), /^malformed token|^bad signature/],
    ['bad signature (another key, same kid)', async () => bearer(await stranger.mint()), /^bad signature/],
    ['wrong audience', async () => bearer(await issuer().mint({ aud: 'someone-else' })), /^wrong audience/],
    ['wrong issuer', async () => bearer(await issuer().mint({ iss: 'https://evil.test' })), /^wrong issuer/],
    ['expired', async () => bearer(await issuer().mint({ iat: now() - 400, exp: now() - 100 })), /^expired/],
    ['not yet valid', async () => bearer(await issuer().mint({ nbf: now() + 300 })), /^not yet valid/],
    [
      'lifetime over the maximum',
      async () => bearer(await issuer().mint({ exp: now() + 3600 })),
      /^lifetime over the maximum/,
    ],
    [
      'unknown kid',
      async () => bearer(await issuer().mint({}, { header: { kid: 'rotated-away' } })),
      /^unknown kid/,
    ],
    [
      'alg none',
      async () => bearer(`${base64Json({ alg: 'none', kid: 'broker-key-1' })}.${base64Json(claims('n'))}.`),
      /^alg not allowed/,
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const input = `${base64Json({ alg: 'HS256', kid: 'broker-key-1' })}.${base64Json(claims('h'))}`;
        const sig = createHmac('sha256', JSON.stringify(issuer().jwks.keys[0]))
          .update(input)
          .digest('base64url');
        return bearer(`${input}.${sig}`);
      },
      /^alg not allowed/,
    ],
  ])('%s → 401', async (_name, headers, reason) => {
    const { response, record } = await refusedWith(await headers(), hello, 401, reason);
    expect(response.body.error.code).toBe('unauthorized');
    expect(record.detail.code).toBe('unauthorized');
  });

  it.each([
    [
      'a language outside the intent',
      { intent: { languages: ['typescript'] } },
      hello,
      /language 'javascript'/,
    ],
    ['a backend outside the tenant policy', {}, { ...hello, backend: 'docker' }, /backend 'docker'/],
    [
      'a limit above the intent ceiling',
      { intent: { limits: { memory_mb: 64 } } },
      { ...hello, limits: { memory_mb: 100 } },
      /limits.memory_mb: 100 is above the intent token ceiling of 64/,
    ],
    [
      'a limit above the tenant ceiling',
      {},
      { ...hello, limits: { memory_mb: 200 } },
      /limits.memory_mb: 200 is above the tenant policy ceiling of 128/,
    ],
  ])('widened intent: %s → 403 naming the constraint', async (_name, claims, body, reason) => {
    const token = await issuer().mint(claims);
    const { response } = await refusedWith(bearer(token), body, 403, reason);
    expect(response.body.error.code).toBe('forbidden');
  });

  it('a token outside any tenant policy → 403', async () => {
    await refusedWith(
      bearer(await issuer().mint({ tenant: 'initech' })),
      hello,
      403,
      /tenant 'initech' has no policy/,
    );
  });

  it('a replayed jti → 403 once its executions are spent; a refused request does not spend it', async () => {
    const token = await issuer().mint({ jti: 'single-use', intent: { languages: ['javascript'] } });
    await refusedWith(bearer(token), { ...hello, language: 'typescript' }, 403, /language 'typescript'/);
    const first = await call(service().url, 'POST', '/v1/executions?wait=20', hello, bearer(token));
    expect(first.status).toBe(201);
    await refusedWith(bearer(token), hello, 403, /token replayed/);
  });

  it('a token may start as many executions as its intent says', async () => {
    const token = await issuer().mint({ jti: 'three-uses', intent: { max_executions: 3 } });
    for (let i = 0; i < 3; i++)
      expect((await call(service().url, 'POST', '/v1/executions', hello, bearer(token))).status).toBe(201);
    await refusedWith(bearer(token), hello, 403, /token replayed/);
  });

  it('rate exhaustion → 429 rate_limited with Retry-After', async () => {
    for (let i = 0; i < 2; i++) expect((await submitAs('slowpoke', hello)).status).toBe(201);
    const { response } = await refusedWith(
      bearer(await issuer().mint({ tenant: 'slowpoke' })),
      hello,
      429,
      /rate exhausted/,
    );
    expect(response.body.error.code).toBe('rate_limited');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('quota exhaustion → 429 quota_exceeded; the slot frees when the execution finishes', async () => {
    const slow = { language: 'javascript', code: 'await new Promise((r) => setTimeout(r, 1500))' };
    const first = await submitAs('tiny', slow);
    expect(first.status).toBe(201);
    const { response } = await refusedWith(
      bearer(await issuer().mint({ tenant: 'tiny' })),
      hello,
      429,
      /tenant quota reached/,
    );
    expect(response.body.error.code).toBe('quota_exceeded');
    await service().service.queue.wait('tiny', first.body.id, 20_000);
    expect((await submitAs('tiny', hello, '?wait=20')).status).toBe(201);
  });
});

describe('class 22: cross-tenant access', () => {
  it('another tenant gets 404 on read, events and cancel; the owner still can', async () => {
    const mine = await submitAs('acme', {
      language: 'javascript',
      code: 'await new Promise((r) => setTimeout(r, 1000))',
    });
    expect(mine.status).toBe(201);
    const theirs = bearer(await issuer().mint({ tenant: 'globex' }));
    for (const [method, path] of [
      ['GET', `/v1/executions/${mine.body.id}`],
      ['GET', `/v1/executions/${mine.body.id}/events`],
      ['DELETE', `/v1/executions/${mine.body.id}`],
    ] as const) {
      const response = await call(service().url, method, path, undefined, theirs);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('execution_not_found');
    }
    const owner = await call(
      service().url,
      'GET',
      `/v1/executions/${mine.body.id}`,
      undefined,
      bearer(await issuer().mint({ tenant: 'acme' })),
    );
    expect(owner.status).toBe(200);
    expect(owner.body.tenant).toBe('acme');
  });

  it('reads without a token → 401', async () => {
    const response = await call(service().url, 'GET', '/v1/executions/ex_AAAAAAAAAAAAAAAAAAAAAA');
    expect(response.status).toBe(401);
  });
});
