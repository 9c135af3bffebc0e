// The embedded service with its audit log on a real small tmpfs that fills up mid-run, and is later remounted
// read-only: every surface (REST, sessions and their cells, MCP over HTTP) answers `503 audit_unavailable`
// with Retry-After — never a 500 —, nothing is queued or run without its `accepted` record, /readyz says why
// it is not ready, the log keeps no torn line, and the service recovers on its own once the disk takes writes.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyAuditLog } from '@airlock/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { useAuditDisk } from './support/audit-disk.ts';
import { connectHttp } from './support/mcp.ts';
import { call, type JsonResponse, startService, type TestService } from './support/service.ts';
import { AUDIT_UNAVAILABLE, expectUnavailable } from './support/unavailable.ts';

const { disk, auditPath } = useAuditDisk('audit.jsonl');
let svc: TestService;
/** The execution store lives elsewhere: this file is about the audit log's disk (store-unwritable: both). */
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'airlock-store-'));
  svc = await startService({
    AIRLOCK_AUDIT_LOG: auditPath(),
    AIRLOCK_DATA_DIR: dataDir,
    AIRLOCK_LOG_LEVEL: 'info',
  });
}, 180_000);

afterAll(async () => {
  try {
    await svc?.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

const hello = { language: 'javascript', code: 'console.log("hi")' };

const records = () => readAuditRecords(auditPath());

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

const ready = async () => (await call(svc.url, 'GET', '/readyz')).status === 200;

/** Every execution that started has its `accepted` record earlier in the log. */
function acceptedBeforeStarted(log: Array<Record<string, any>>): void {
  const accepted = new Set<string>();
  for (const record of log) {
    if (record.type === 'accepted') accepted.add(record.execution_id);
    if (record.type === 'started') expect(accepted.has(record.execution_id)).toBe(true);
  }
}

const expectAuditUnavailable = (response: JsonResponse) => expectUnavailable(response, AUDIT_UNAVAILABLE);

describe('audit log on a disk that fills up', () => {
  it('refuses work with 503 audit_unavailable on every surface, queues nothing unaudited, and recovers', async () => {
    const session = await call(svc.url, 'POST', '/v1/sessions', { language: 'javascript' });
    expect(session.status).toBe(201);
    const before: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ok = await call(svc.url, 'POST', '/v1/executions?wait=20', hello);
      expect(ok.status).toBe(201);
      before.push(ok.body.id);
    }

    const slow = await call(svc.url, 'POST', '/v1/executions', {
      language: 'javascript',
      code: 'await new Promise((r) => setTimeout(r, 8000))',
    });
    expect(slow.status).toBe(201);
    before.push(slow.body.id);

    await disk().fill();
    const responses = await Promise.all(
      Array.from({ length: 40 }, () => call(svc.url, 'POST', '/v1/executions', hello)),
    );
    // Room left in the log's last page may take a few records; then the disk refuses.
    const accepted = responses.filter((r) => r.status === 201).map((r) => r.body.id as string);
    const refused = responses.filter((r) => r.status !== 201);
    expect(refused.length).toBeGreaterThan(0);
    for (const response of refused) expectAuditUnavailable(response);
    // Work already accepted can still be canceled: a cancel is never refused for want of an audit record.
    const canceled = await call(svc.url, 'DELETE', `/v1/executions/${slow.body.id}`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.result.outcome).toBe('canceled');
    await until(
      async () => (await svc.service.queue.stats()).running === 0 && svc.service.queue.stats().queued === 0,
    );
    // Still full: a later submission is refused the same way (never a 500).
    expectAuditUnavailable(await call(svc.url, 'POST', '/v1/executions', hello));

    const readyz = await call(svc.url, 'GET', '/readyz');
    expect(readyz.status).toBe(503);
    expect(readyz.body).toEqual({
      status: 'not_ready',
      reason: expect.stringMatching(
        /^audit log unwritable since \S+ \(ENOSPC: no space left on device, write\); refusing new work until it can be written$/,
      ),
    });
    const openapi = await call(svc.url, 'GET', '/openapi.json');
    const post = openapi.body.paths['/v1/executions'].post;
    expect(post.description).toContain('503 `audit_unavailable`');
    expect(JSON.stringify(post.responses['503'])).toContain('"audit_unavailable"');
    const metrics = await fetch(`${svc.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^airlock_audit_writable 0$/m);
    expect(metrics).toMatch(/^airlock_rejections_total\{code="audit_unavailable"\} \d+$/m);
    expect(svc.logs.join('')).toContain('AUDIT LOG UNWRITABLE: refusing all new work');

    // Sessions: opening one and running a cell of an open one are refused alike; the session stays usable.
    expectAuditUnavailable(await call(svc.url, 'POST', '/v1/sessions', { language: 'javascript' }));
    expectAuditUnavailable(
      await call(svc.url, 'POST', `/v1/sessions/${session.body.id}/executions`, { code: 'globalThis.x = 1' }),
    );
    expect(svc.service.sessions.openCount).toBe(1);
    // MCP over HTTP goes through REST: the tool result carries the code.
    {
      await using mcp = await connectHttp(svc.url);
      const result = await mcp.client.callTool({ name: 'run_code', arguments: hello });
      expect(result.isError).toBe(true);
      expect(result._meta).toMatchObject({ 'airlock/error': { code: 'audit_unavailable', status: 503 } });
    }

    // Nothing was queued or run without its accepted record, and the log has no torn line.
    expect(svc.service.queue.retained()).toBe(before.length + accepted.length);
    const log = await records();
    const acceptedIds = new Set(log.filter((r) => r.type === 'accepted').map((r) => r.execution_id));
    for (const id of [...before, ...accepted]) expect(acceptedIds.has(id)).toBe(true);
    acceptedBeforeStarted(log);
    expect(await verifyAuditLog(auditPath())).toMatchObject({ ok: true, records: log.length });

    await disk().free();
    await until(ready);
    expect(svc.logs.join('')).toContain('audit log writable again: accepting new work');
    const after = await call(svc.url, 'POST', '/v1/executions?wait=20', hello);
    expect(after.status).toBe(201);
    expect(after.body.result).toMatchObject({ outcome: 'success', stdout: 'hi\n' });
    const cell = await call(svc.url, 'POST', `/v1/sessions/${session.body.id}/executions`, { code: '6 * 7' });
    expect(cell.status).toBe(201);
    expect(cell.body.result.value).toEqual({ 'text/plain': '42' });
    expect(await call(svc.url, 'DELETE', `/v1/sessions/${session.body.id}`)).toMatchObject({ status: 200 });
    const metricsAfter = await fetch(`${svc.url}/metrics`).then((r) => r.text());
    expect(metricsAfter).toMatch(/^airlock_audit_writable 1$/m);

    const final = await records();
    expect(final.some((r) => r.type === 'accepted' && r.execution_id === after.body.id)).toBe(true);
    acceptedBeforeStarted(final);
    expect(await verifyAuditLog(auditPath())).toMatchObject({ ok: true, records: final.length });
  });

  it('refuses work while the file system is read-only and recovers once it is read-write again', async () => {
    await until(
      async () => svc.service.queue.stats().running === 0 && svc.service.queue.stats().queued === 0,
    );
    // The log holds no file open while idle; a write in flight (a finished record) makes the kernel say busy,
    // which readOnly() waits out.
    await disk().readOnly();
    expectAuditUnavailable(await call(svc.url, 'POST', '/v1/executions', hello));
    const readyz = await call(svc.url, 'GET', '/readyz');
    expect(readyz.status).toBe(503);
    expect(readyz.body.reason).toMatch(/\(EROFS: read-only file system, open\)/);
    const kept = svc.service.queue.retained();

    await disk().readWrite();
    await until(ready);
    expect(svc.service.queue.retained()).toBe(kept);
    const after = await call(svc.url, 'POST', '/v1/executions?wait=20', hello);
    expect(after.status).toBe(201);
    expect(await verifyAuditLog(auditPath())).toMatchObject({ ok: true });
  });
});
