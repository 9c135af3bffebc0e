// A NATS-mode gateway whose audit log sits on a real small tmpfs that fills up: the NATS `execute` endpoint
// and REST answer `503 audit_unavailable` (the services API's error headers carry 503 and the code), no job
// reaches the stream (the worker runs exactly what the gateway accepted), and the gateway recovers on its own.

import { verifyAuditLog } from '@airlock/audit';
import { describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { useAuditDisk } from './support/audit-disk.ts';
import { type AirlockProcess, until, useNatsCluster } from './support/nats-cluster.ts';
import { call } from './support/service.ts';
import { AUDIT_UNAVAILABLE } from './support/unavailable.ts';

// Registered before the cluster: the disk is mounted before it starts and unmounted after it is gone.
const { disk, auditPath } = useAuditDisk('gateway.jsonl');
let gateway: AirlockProcess;
let worker: AirlockProcess;

const cluster = useNatsCluster({}, async (started) => {
  [gateway, worker] = await Promise.all([
    started.gateway({ AIRLOCK_AUDIT_LOG: auditPath() }),
    started.worker(),
  ]);
});

const hello = { language: 'javascript', code: 'console.log("hi")' };

const gatewayRecords = () => readAuditRecords(auditPath());

describe('NATS gateway with an audit log on a disk that fills up', () => {
  it('answers 503 audit_unavailable over NATS and REST, publishes no job, and recovers', async () => {
    const nc = await cluster().connect();
    const before = await call(gateway.url, 'POST', '/v1/executions', hello);
    expect(before.status).toBe(201);

    await disk().fill();
    const refused: string[] = [];
    for (let i = 0; i < 30 && refused.length === 0; i++) {
      const reply = await nc.request('airlock.execute', JSON.stringify(hello), { timeout: 30_000 });
      const code = reply.headers?.get('Nats-Service-Error') ?? '';
      if (code === '') continue; // room left in the log's last page took it
      expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('503');
      expect(reply.json()).toEqual({ error: AUDIT_UNAVAILABLE });
      refused.push(code);
    }
    expect(refused).toEqual(['audit_unavailable']);
    const rest = await call(gateway.url, 'POST', '/v1/executions', hello);
    expect(rest.status).toBe(503);
    expect(rest.body.error.code).toBe('audit_unavailable');
    const readyz = await call(gateway.url, 'GET', '/readyz');
    expect(readyz.status).toBe(503);
    expect(readyz.body.reason).toMatch(
      /^audit log unwritable since \S+ \(ENOSPC: no space left on device, write\)/,
    );
    expect(gateway.output()).toContain('AUDIT LOG UNWRITABLE');

    await disk().free();
    await until(async () => (await call(gateway.url, 'GET', '/readyz')).status === 200);
    const after = await call(gateway.url, 'POST', '/v1/executions?wait=60', hello);
    expect(after.status).toBe(201);
    expect(after.body.result).toMatchObject({ outcome: 'success', stdout: 'hi\n' });

    // The worker ran exactly what the gateway accepted (and recorded), nothing that was refused.
    const accepted = (await gatewayRecords()).filter((r) => r.type === 'accepted').map((r) => r.execution_id);
    expect(accepted).toContain(before.body.id);
    expect(accepted).toContain(after.body.id);
    await until(
      async () => (await worker.audit()).filter((r) => r.type === 'finished').length >= accepted.length,
    );
    const started = (await worker.audit()).filter((r) => r.type === 'started').map((r) => r.execution_id);
    expect([...started].sort()).toEqual([...accepted].sort());
    expect(await verifyAuditLog(auditPath())).toMatchObject({ ok: true });
  }, 180_000);
});
