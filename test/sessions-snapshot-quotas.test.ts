// Snapshot quotas and retention, with intent tokens, on gVisor: a tenant's count quota (its policy, narrowed by
// a token) and bytes quota are 429 `snapshot_quota_exceeded` with the session untouched, a pause included (the
// session stays ready); a token or tenant policy that forbids snapshots is 403; another tenant is unaffected.
// With a short retention the sweeper deletes an expired snapshot as a DELETE would (audit record and
// `snapshot.deleted` event, reason `expired`), the snapshot is 404 at once, and a paused session's image is never
// swept. Real dockerd, real runsc (checkpoint/restore), real HTTP.

import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { containersLabelled, useSessionService } from './support/containers.ts';
import { call } from './support/service.ts';
import { bearer, tenantPolicy, tokenSettings } from './support/tokens.ts';

const dir = await mkdtemp(join(tmpdir(), 'airlock-snapshot-quotas-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const issuer: TestIssuer = await createTestIssuer({ kid: 'snapshot-quotas-key' });
const policy = (snapshots?: unknown) =>
  tenantPolicy({
    languages: ['python'],
    backends: ['gvisor'],
    limits: { memory_mb: 256, wall_time_ms: 60_000 },
    sessions: true,
    ...(snapshots === undefined ? {} : { snapshots }),
  });

async function settings(name: string, tenants: Record<string, unknown>): Promise<Record<string, string>> {
  const folder = join(dir, name);
  await mkdir(folder);
  return {
    ...(await tokenSettings(folder, issuer, tenants)),
    AIRLOCK_DATA_DIR: join(folder, 'data'),
    AIRLOCK_TOKEN_MAX_EXECUTIONS: '1000',
  };
}

const quotas = useSessionService({
  ...(await settings('quotas', {
    acme: policy({ max_count: 2 }),
    // Smaller than any image: the first snapshot finds room, but not for its size once written.
    initech: policy({ max_bytes: 1024 * 1024 }),
    globex: policy(),
    umbrella: policy(false),
  })),
  AIRLOCK_SNAPSHOT_RETENTION_SECONDS: '0',
});
const sweeping = useSessionService({
  ...(await settings('sweeping', { acme: policy(), globex: policy() })),
  AIRLOCK_SNAPSHOT_RETENTION_SECONDS: '2',
  AIRLOCK_SNAPSHOT_SWEEP_MS: '200',
});

type Service = typeof quotas;
const as = async (tenant: string, intent?: Record<string, unknown>) =>
  bearer(await issuer.mint({ tenant, ...(intent === undefined ? {} : { intent }) }));
const api = async (
  service: Service,
  method: string,
  path: string,
  {
    tenant = 'acme',
    intent,
    body,
  }: { tenant?: string; intent?: Record<string, unknown>; body?: unknown } = {},
) => call(service().url, method, path, body, await as(tenant, intent));

async function open(service: Service, tenant = 'acme'): Promise<string> {
  const body = { language: 'python', backend: 'gvisor' };
  const response = await api(service, 'POST', '/v1/sessions', { tenant, body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  const id: string = response.body.id;
  expect(await value(service, id, 'x = 41\nx', tenant)).toBe('41');
  return id;
}

async function value(service: Service, id: string, code: string, tenant = 'acme'): Promise<string> {
  const body = { code, limits: { wall_time_ms: 60_000 } };
  const response = await api(service, 'POST', `/v1/sessions/${id}/executions`, { tenant, body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body.result.outcome, JSON.stringify(response.body.result)).toBe('success');
  return response.body.result.value['text/plain'];
}

/** Closes each session as its tenant. */
async function close(service: Service, ...sessions: [id: string, tenant: string][]): Promise<void> {
  for (const [id, tenant] of sessions)
    expect((await api(service, 'DELETE', `/v1/sessions/${id}`, { tenant })).status).toBe(200);
}

/** A refusal with this status and code, the session still ready with its state and its container. */
async function refusedAndUntouched(
  service: Service,
  response: { status: number; body: any },
  [status, code]: [number, string],
  session: string,
  tenant = 'acme',
): Promise<void> {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body.error.code).toBe(code);
  expect((await api(service, 'GET', `/v1/sessions/${session}`, { tenant })).body.status).toBe('ready');
  expect(containersLabelled(`airlock.session=${session}`)).toHaveLength(1);
  expect(await value(service, session, 'x + 1', tenant)).toBe('42');
}

const QUOTA: [number, string] = [429, 'snapshot_quota_exceeded'];

/** The snapshot folders on disk of a service (committed or not). */
const folders = async (service: Service) =>
  readdir(join(dir, service === quotas ? 'quotas' : 'sweeping', 'data', 'snapshots')).catch(() => []);

describe('snapshot quotas', () => {
  it('counts snapshots and pause images against the policy quota, narrowed by the token; others unaffected', async () => {
    const id = await open(quotas);
    const one = { snapshots: { max_count: 1 } };
    const first = await api(quotas, 'POST', `/v1/sessions/${id}/snapshots`, { intent: one });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.expires_at).toBeNull();
    // The token allows 1 (the policy 2): the second is refused before any checkpoint.
    const narrowed = await api(quotas, 'POST', `/v1/sessions/${id}/snapshots`, { intent: one });
    await refusedAndUntouched(quotas, narrowed, QUOTA, id);
    expect(narrowed.body.error.message).toMatch(/quota is 1 snapshots; it holds 1/);
    // A token that says nothing of snapshots gets the policy's 2.
    const second = await api(quotas, 'POST', `/v1/sessions/${id}/snapshots`);
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    await refusedAndUntouched(quotas, await api(quotas, 'POST', `/v1/sessions/${id}/snapshots`), QUOTA, id);
    // A pause makes an image too: refused like a snapshot, and the session stays running.
    await refusedAndUntouched(quotas, await api(quotas, 'POST', `/v1/sessions/${id}/pause`), QUOTA, id);
    // Another tenant's room is its own.
    const other = await open(quotas, 'globex');
    const theirs = await api(quotas, 'POST', `/v1/sessions/${other}/snapshots`, { tenant: 'globex' });
    expect(theirs.status, JSON.stringify(theirs.body)).toBe(201);

    // Room made: the pause goes through, and its image counts (a snapshot of the paused session is refused).
    expect((await api(quotas, 'DELETE', `/v1/snapshots/${first.body.id}`)).status).toBe(200);
    const paused = await api(quotas, 'POST', `/v1/sessions/${id}/pause`);
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body.status).toBe('paused');
    const copy = await api(quotas, 'POST', `/v1/sessions/${id}/snapshots`);
    expect(copy.status, JSON.stringify(copy.body)).toBe(429);
    expect(copy.body.error.message).toMatch(/1 snapshots and 1 paused sessions' images/);
    expect(await value(quotas, id, 'x + 1')).toBe('42');
    const listed = (await api(quotas, 'GET', '/v1/snapshots')).body.snapshots.map((s: any) => s.id);
    expect(listed).toEqual([second.body.id]);
    await close(quotas, [id, 'acme'], [other, 'globex']);
  }, 600_000);

  it('refuses an image larger than the bytes quota once written, and keeps nothing of it', async () => {
    const id = await open(quotas, 'initech');
    const before = await folders(quotas);
    const refused = await api(quotas, 'POST', `/v1/sessions/${id}/snapshots`, { tenant: 'initech' });
    await refusedAndUntouched(quotas, refused, QUOTA, id, 'initech');
    expect(refused.body.error.message).toMatch(/quota is 1048576 bytes; .* and this snapshot is \d+ bytes/);
    const paused = await api(quotas, 'POST', `/v1/sessions/${id}/pause`, { tenant: 'initech' });
    await refusedAndUntouched(quotas, paused, QUOTA, id, 'initech');
    expect((await api(quotas, 'GET', '/v1/snapshots', { tenant: 'initech' })).body.snapshots).toEqual([]);
    expect(await folders(quotas)).toEqual(before);
    const feed = await api(quotas, 'GET', '/v1/events?limit=1000', { tenant: 'initech' });
    expect(feed.body.data.filter((e: any) => e.type.startsWith('snapshot.'))).toEqual([]);
    await close(quotas, [id, 'initech']);
  }, 600_000);

  it('answers 403 to a token or tenant policy that forbids snapshots', async () => {
    const id = await open(quotas);
    const none = { snapshots: false };
    for (const [method, path, body] of [
      ['POST', `/v1/sessions/${id}/snapshots`, undefined],
      ['POST', `/v1/sessions/${id}/pause`, undefined],
      ['GET', '/v1/snapshots', undefined],
      ['POST', '/v1/sessions', { language: 'python', from_snapshot: 'snp_AAAAAAAAAAAAAAAAAAAAAA' }],
    ] as const) {
      const refused = await api(quotas, method, path, { intent: none, body });
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(refused.body.error).toMatchObject({
        code: 'forbidden',
        field: 'snapshots',
        message: 'snapshots are not allowed by the intent token',
      });
    }
    await refusedAndUntouched(
      quotas,
      await api(quotas, 'POST', `/v1/sessions/${id}/snapshots`, { intent: none }),
      [403, 'forbidden'],
      id,
    );
    const theirs = await open(quotas, 'umbrella');
    const refused = await api(quotas, 'POST', `/v1/sessions/${theirs}/pause`, { tenant: 'umbrella' });
    await refusedAndUntouched(quotas, refused, [403, 'forbidden'], theirs, 'umbrella');
    expect(refused.body.error.message).toBe('snapshots are not allowed by the tenant policy');
    await close(quotas, [id, 'acme'], [theirs, 'umbrella']);
  }, 600_000);
});

describe('snapshot retention', () => {
  it('sweeps an expired snapshot as a DELETE would, and never a paused session’s image', async () => {
    const id = await open(sweeping);
    const paused = await api(sweeping, 'POST', `/v1/sessions/${id}/pause`);
    expect(paused.body.status, JSON.stringify(paused.body)).toBe('paused');
    // Of a paused session: a copy of its pause image, which expires while the pause image stays.
    const taken = await api(sweeping, 'POST', `/v1/sessions/${id}/snapshots`);
    expect(taken.status, JSON.stringify(taken.body)).toBe(201);
    const snapshot = taken.body;
    expect(Date.parse(snapshot.expires_at)).toBeGreaterThan(Date.parse(snapshot.created_at));

    const audit = sweeping().auditPath;
    const expiry = async () =>
      (await readAuditRecords(audit)).filter(
        (r) => r.type === 'snapshot' && r.detail.snapshot_id === snapshot.id && r.detail.op === 'delete',
      );
    for (let i = 0; i < 1200 && (await expiry()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    const [record, ...more] = await expiry();
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      tenant: 'acme',
      execution_id: id,
      subject: null,
      detail: { op: 'delete', reason: 'expired', size: snapshot.size_bytes, sha256: snapshot.sha256 },
    });
    expect(await folders(sweeping)).not.toContain(snapshot.id);
    for (const [method, path, body] of [
      ['GET', `/v1/snapshots/${snapshot.id}`, undefined],
      ['POST', '/v1/sessions', { language: 'python', from_snapshot: snapshot.id }],
    ] as const) {
      const gone = await api(sweeping, method, path, { body });
      expect(gone.status, `${method} ${path}`).toBe(404);
      expect(gone.body.error.code).toBe('not_found');
    }
    expect((await api(sweeping, 'GET', '/v1/snapshots')).body.snapshots).toEqual([]);
    const feed = await api(sweeping, 'GET', '/v1/events?limit=1000');
    const events = feed.body.data.filter((e: any) => e.subject === snapshot.id);
    expect(events.map((e: any) => [e.type, e.data.reason])).toEqual([
      ['snapshot.created', undefined],
      ['snapshot.deleted', 'expired'],
    ]);
    const elsewhere = await api(sweeping, 'GET', '/v1/events?limit=1000', { tenant: 'globex' });
    expect(elsewhere.body.data.filter((e: any) => e.subject === snapshot.id)).toEqual([]);

    // The sweeps that deleted the snapshot left the pause image: the session resumes as it was.
    expect(await value(sweeping, id, 'x + 1')).toBe('42');
    await close(sweeping, [id, 'acme']);
  }, 600_000);
});
