// The embedded service with its execution store on a real small tmpfs that fills up: alone (the audit log
// elsewhere) every submission it cannot record is answered `503 store_unavailable` with Retry-After and
// /readyz says why; with the audit log on the same disk (the default layout: the store beside the log) every
// refusal is a 503 of one of the two — never a 500 —, nothing runs unaudited, and the service recovers on its
// own once the disk takes writes again.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyAuditLog } from '@airlock/audit';
import { mountTmpfs, type TmpfsMount } from '@airlock/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { call, type JsonResponse, startService, type TestService } from './support/service.ts';
import { expectUnavailable, STORE_UNAVAILABLE } from './support/unavailable.ts';

const hello = { language: 'javascript', code: 'console.log("hi")' };
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}, 120_000);

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function disk(): Promise<TmpfsMount> {
  const mount = await mountTmpfs(2 * 1024 * 1024);
  cleanups.push(() => mount.unmount());
  return mount;
}

async function service(env: Record<string, string>): Promise<TestService> {
  const svc = await startService({ AIRLOCK_LOG_LEVEL: 'info', ...env });
  cleanups.push(() => svc.close());
  return svc;
}

/** A hello with the most metadata a request may carry (16 labels of 256 characters): it fills a disk fast. */
const submitLarge = (svc: TestService) =>
  call(svc.url, 'POST', '/v1/executions', {
    ...hello,
    metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`label${i}`, 'x'.repeat(256)])),
  });

/**
 * Fills `mount`, then submits large hellos ten at a time (at most 500) until one is refused: the database's log
 * file keeps the room it once had, so submissions fit in it until it has to grow. Every response, in order;
 * at least one is a refusal.
 */
async function submitOntoFullDisk(svc: TestService, mount: TmpfsMount): Promise<JsonResponse[]> {
  await mount.fill();
  const responses: JsonResponse[] = [];
  for (let i = 0; i < 50 && !responses.some((r) => r.status !== 201); i++) {
    responses.push(...(await Promise.all(Array.from({ length: 10 }, () => submitLarge(svc)))));
  }
  expect(responses.filter((r) => r.status !== 201).length).toBeGreaterThan(0);
  return responses;
}

/** Submits a waited hello every half second until one is accepted; that answer. */
async function submitUntilAccepted(svc: TestService): Promise<JsonResponse> {
  let after = await call(svc.url, 'POST', '/v1/executions?wait=20', hello);
  await until(async () => {
    if (after.status === 201) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
    after = await call(svc.url, 'POST', '/v1/executions?wait=20', hello);
    return false;
  });
  return after;
}

const ready = (svc: TestService) => async () => (await call(svc.url, 'GET', '/readyz')).status === 200;

describe('execution store on a disk that fills up', () => {
  it('alone: refuses work with 503 store_unavailable, says so in /readyz, and recovers', async () => {
    const mount = await disk();
    const elsewhere = await mkdtemp(join(tmpdir(), 'airlock-audit-'));
    cleanups.push(() => rm(elsewhere, { recursive: true, force: true }));
    const auditPath = join(elsewhere, 'audit.jsonl');
    const svc = await service({ AIRLOCK_AUDIT_LOG: auditPath, AIRLOCK_DATA_DIR: mount.path });
    expect((await call(svc.url, 'POST', '/v1/executions?wait=20', hello)).status).toBe(201);

    const responses = await submitOntoFullDisk(svc, mount);
    for (const response of responses.filter((r) => r.status !== 201))
      expectUnavailable(response, STORE_UNAVAILABLE);
    const readyz = await call(svc.url, 'GET', '/readyz');
    expect(readyz.status).toBe(503);
    expect(readyz.body.reason).toMatch(
      /^execution store unwritable since \S+ \(.*full.*\); refusing new work/,
    );
    expect(await fetch(`${svc.url}/metrics`).then((r) => r.text())).toMatch(/^airlock_store_writable 0$/m);
    expect(svc.logs.join('')).toContain('EXECUTION STORE UNWRITABLE: refusing all new work');
    // Nothing refused was accepted in the audit log.
    const acceptedIds = new Set(
      (await readAuditRecords(auditPath)).filter((r) => r.type === 'accepted').map((r) => r.execution_id),
    );
    const accepted = responses.filter((r) => r.status === 201).map((r) => r.body.id as string);
    expect(acceptedIds.size).toBe(accepted.length + 1);

    await mount.free();
    // The store turns writable again with its next write that succeeds: the next submission.
    const after = await submitUntilAccepted(svc);
    expect(after.body.result).toMatchObject({ outcome: 'success', stdout: 'hi\n' });
    await until(ready(svc));
    expect(svc.logs.join('')).toContain('execution store writable again: accepting new work');
    expect(await verifyAuditLog(auditPath)).toMatchObject({ ok: true });
  }, 120_000);

  it('with the audit log beside it: every refusal is a 503, never a 500, and nothing runs unaudited', async () => {
    const mount = await disk();
    const auditPath = join(mount.path, 'audit.jsonl');
    const svc = await service({ AIRLOCK_AUDIT_LOG: auditPath });
    expect((await call(svc.url, 'POST', '/v1/executions?wait=20', hello)).status).toBe(201);

    const responses = await submitOntoFullDisk(svc, mount);
    for (const response of responses.filter((r) => r.status !== 201)) {
      expect(response.status).toBe(503);
      expect(['audit_unavailable', 'store_unavailable']).toContain(response.body.error.code);
    }
    const accepted = responses.filter((r) => r.status === 201).map((r) => r.body.id as string);
    const log = await readAuditRecords(auditPath);
    const acceptedIds = new Set(log.filter((r) => r.type === 'accepted').map((r) => r.execution_id));
    for (const id of accepted) expect(acceptedIds.has(id)).toBe(true);
    for (const record of log.filter((r) => r.type === 'started')) {
      expect(acceptedIds.has(record.execution_id)).toBe(true);
    }
    expect(await verifyAuditLog(auditPath)).toMatchObject({ ok: true });

    await mount.free();
    const after = await submitUntilAccepted(svc);
    expect(after.body.result).toMatchObject({ outcome: 'success' });
    await until(ready(svc));
    expect(await verifyAuditLog(auditPath)).toMatchObject({ ok: true });
  }, 120_000);
});
