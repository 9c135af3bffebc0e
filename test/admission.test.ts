// What a submission spends, through the real REST API with real signed intent tokens: a use of the token, one
// of the tenant's rate and an in-flight slot are spent only when the execution is accepted. A refused request
// (429 rate or quota, 422 backend, 409 conflict) leaves the token as it was, so the client can retry with it;
// an Idempotency-Key replay answers the same execution without spending again; concurrent requests with one
// single-use token are never both accepted.

import { describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { expectRefused } from './support/refusals.ts';
import { call } from './support/service.ts';
import { useTokenService } from './support/token-service.ts';
import { bearer, tenantPolicy } from './support/tokens.ts';

const policy = (overrides: Record<string, unknown> = {}) =>
  tenantPolicy({
    languages: ['javascript', 'typescript', 'python'],
    backends: ['isolate', 'docker'],
    max_concurrent: 4,
    max_queued: 4,
    ...overrides,
  });

// Isolate only: a python request asks for a backend this server does not run (422).
const { service, issuer } = useTokenService(
  {
    acme: policy(),
    paced: policy({ submissions_per_minute: 12 }),
    narrow: policy({ max_concurrent: 1, max_queued: 0 }),
  },
  { kid: 'broker-key-1', env: { AIRLOCK_TOKEN_MAX_LIFETIME_SECONDS: '600' } },
);

const hello = { language: 'javascript', code: 'console.log("hi")' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Submits `request` with `token` (and more headers), as queued. */
const submit = (request: Record<string, unknown>, token: string, headers: Record<string, string> = {}) =>
  call(service().url, 'POST', '/v1/executions', request, bearer(token, headers));
/** Submits `request` with `token` and waits for it to finish. */
const submitAndWait = (request: Record<string, unknown>, token: string) =>
  call(service().url, 'POST', '/v1/executions?wait=20', request, bearer(token));

const auditRecords = () => readAuditRecords(service().auditPath);

async function expectSpent(token: string): Promise<void> {
  const again = await submit(hello, token);
  expect(again.status).toBe(403);
  expect(again.body.error.message).toMatch(/^token replayed: jti '.+' has no executions left$/);
}

describe('a refused request does not spend the intent token', () => {
  it('429 rate_limited, then the same single-use token after Retry-After → 201, and it is spent', async () => {
    for (let i = 0; i < 12; i++) {
      const other = await submit(hello, await issuer().mint({ tenant: 'paced' }));
      expect(other.status).toBe(201);
    }
    const token = await issuer().mint({ tenant: 'paced', jti: 'paced-single-use' });
    const refused = await submit(hello, token);
    expectRefused(refused, 429, { code: 'rate_limited' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(5);
    await sleep(retryAfter * 1000);
    const retried = await submitAndWait(hello, token);
    expect(retried.status).toBe(201);
    expect(retried.body.result).toMatchObject({ outcome: 'success', stdout: 'hi\n' });
    await expectSpent(token);
  }, 60_000);

  it('429 quota_exceeded, then the same single-use token once the slot is free → 201', async () => {
    const slow = { language: 'javascript', code: 'await new Promise((r) => setTimeout(r, 1500))' };
    const holder = await submit(slow, await issuer().mint({ tenant: 'narrow' }));
    expect(holder.status).toBe(201);
    const token = await issuer().mint({ tenant: 'narrow', jti: 'narrow-single-use' });
    const refused = await submit(hello, token);
    expectRefused(refused, 429, { code: 'quota_exceeded' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await service().service.queue.wait('narrow', holder.body.id, 20_000);
    const retried = await submitAndWait(hello, token);
    expect(retried.status).toBe(201);
    await expectSpent(token);
  });

  it('422 backend_unavailable, then the same single-use token still works once', async () => {
    const token = await issuer().mint({ jti: 'after-422' });
    const refused = await submit({ ...hello, backend: 'docker' }, token);
    expectRefused(refused, 422, { code: 'backend_unavailable' });
    const ok = await submitAndWait(hello, token);
    expect(ok.status).toBe(201);
    await expectSpent(token);
  });

  it('409 idempotency_conflict does not spend the token either', async () => {
    const first = await submit(hello, await issuer().mint(), { 'idempotency-key': 'conflict-1' });
    expect(first.status).toBe(201);
    const token = await issuer().mint({ jti: 'after-409' });
    const conflict = await submit({ ...hello, code: 'console.log("other")' }, token, {
      'idempotency-key': 'conflict-1',
    });
    expectRefused(conflict, 409, { code: 'idempotency_conflict' });
    expect((await submit(hello, token)).status).toBe(201);
    await expectSpent(token);
  });
});

describe('replays and races', () => {
  it('an Idempotency-Key replay of an accepted execution answers the same execution without spending again', async () => {
    const token = await issuer().mint({ jti: 'replay-single-use' });
    const headers = bearer(token, { 'idempotency-key': 'replay-1' });
    const first = await call(service().url, 'POST', '/v1/executions?wait=20', hello, headers);
    expect(first.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const replay = await call(service().url, 'POST', '/v1/executions', hello, headers);
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body.id).toBe(first.body.id);
    }
    // The one use went to the first request: a new execution with the token is refused.
    await expectSpent(token);
    const accepted = (await auditRecords()).filter(
      (r) => r.type === 'accepted' && r.detail?.jti === 'replay-single-use',
    );
    expect(accepted.map((r) => r.execution_id)).toEqual([first.body.id]);
  });

  it('concurrent requests with one single-use token: exactly one is accepted, the others are refused', async () => {
    const token = await issuer().mint({ jti: 'raced-single-use' });
    const responses = await Promise.all(Array.from({ length: 12 }, () => submit(hello, token)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array.from({ length: 11 }, () => 403)]);
    for (const refused of responses.filter((r) => r.status === 403)) {
      expect(refused.body.error.message).toMatch(/^token replayed: jti 'raced-single-use' /);
    }
    const accepted = (await auditRecords()).filter(
      (r) => r.type === 'accepted' && r.detail?.jti === 'raced-single-use',
    );
    expect(accepted).toHaveLength(1);
    await expectSpent(token);
  });

  it('concurrent requests with a two-use token: exactly two are accepted', async () => {
    const token = await issuer().mint({ jti: 'raced-two-uses', intent: { max_executions: 2 } });
    const responses = await Promise.all(Array.from({ length: 10 }, () => submit(hello, token)));
    expect(responses.filter((r) => r.status === 201)).toHaveLength(2);
    expect(responses.filter((r) => r.status === 403)).toHaveLength(8);
    await expectSpent(token);
  });
});
