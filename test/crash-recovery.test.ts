// kill -9 of the embedded service with isolate and container jobs running, jobs queued, a session open and one
// of its cells running; then a restart on the same data directory and audit log. Every accepted id must answer
// with a terminal state ("service restarted", or run again when it asked for retry_on_worker_loss), the session
// must be closed, the audit log must verify with one `finished` record per accepted id, and nothing of the dead
// process may be left: no container, no isolate host process. Real processes, real dockerd, real files.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containersOwnedBy } from '@airlock/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { call } from './support/service.ts';
import {
  childPids,
  processAlive,
  type ServiceChild,
  startServiceChild,
  stopAll,
} from './support/service-child.ts';

const VERIFY_CLI = join(import.meta.dirname, '..', 'shared', 'audit', 'src', 'verify-cli.ts');
const LONG = { wall_time_ms: 60_000, cpu_time_ms: 60_000 };
const SLEEP_JS = 'await new Promise((resolve) => setTimeout(resolve, 60_000));';
const SLEEP_PY = 'import time\nprint("started", flush=True)\ntime.sleep(60)';

const dirs: string[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function submit(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await call(url, 'POST', '/v1/executions', body, headers);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id as string;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const auditRecords = (path: string) => readAuditRecords(path);

describe('kill -9 of the embedded service', () => {
  it('ends every accepted execution and session after a restart, audited, with nothing of the dead process left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-crash-'));
    dirs.push(dir);
    const auditPath = join(dir, 'audit.jsonl');
    const env = {
      AIRLOCK_PORT: '0',
      AIRLOCK_AUDIT_LOG: auditPath,
      AIRLOCK_DATA_DIR: join(dir, 'data'),
      AIRLOCK_BACKENDS: 'isolate,docker',
      AIRLOCK_POOL_SIZE: '1',
      AIRLOCK_CONCURRENCY: '4',
    };
    const first: ServiceChild = startServiceChild(env);
    const url = await first.listening();

    const before = await call(url, 'POST', '/v1/executions?wait=30', {
      language: 'javascript',
      code: 'console.log("done before")',
    });
    expect(before.body.result).toMatchObject({ outcome: 'success', stdout: 'done before\n' });
    const long = [
      await submit(url, { language: 'javascript', code: SLEEP_JS, limits: LONG }),
      await submit(url, { language: 'javascript', code: SLEEP_JS, limits: LONG }),
      await submit(url, { language: 'python', backend: 'docker', code: SLEEP_PY, limits: LONG }),
      await submit(url, { language: 'python', backend: 'docker', code: SLEEP_PY, limits: LONG }),
    ];
    for (const id of long) {
      await until(`${id} running`, async () =>
        (await call(url, 'GET', `/v1/executions/${id}`)).body.status === 'running' ? true : undefined,
      );
    }
    // The four slots are taken: these stay queued.
    const keyed = { language: 'javascript', code: 'console.log("never")' };
    const queued = [
      await submit(url, keyed, { 'idempotency-key': 'crash-key' }),
      await submit(url, { language: 'javascript', code: 'console.log("never")' }),
      await submit(url, { language: 'python', backend: 'docker', code: 'print("never")' }),
    ];
    const retried = await submit(url, {
      language: 'javascript',
      code: 'console.log("ran again")',
      retry_on_worker_loss: true,
    });
    const session = await call(url, 'POST', '/v1/sessions', { language: 'javascript' });
    expect(session.status).toBe(201);
    const sessionId: string = session.body.id;
    // A cell that is running when the process dies: its caller never gets an answer, only the audit log knows it.
    const pendingCell = call(url, 'POST', `/v1/sessions/${sessionId}/executions`, {
      code: SLEEP_JS,
      limits: { wall_time_ms: 60_000 },
    }).catch((error: unknown) => error);
    const cellId = await until('the cell to start', async () => {
      const started = (await auditRecords(auditPath)).find(
        (r) => r.type === 'started' && r.detail?.session_id === sessionId,
      );
      return started?.execution_id as string | undefined;
    });
    expect((await call(url, 'GET', `/v1/executions/${queued[0]}`)).body.status).toBe('queued');
    expect((await call(url, 'GET', `/v1/executions/${retried}`)).body.status).toBe('queued');

    const isolateHosts = childPids(first.pid);
    expect(isolateHosts.length).toBeGreaterThan(0);
    expect(containersOwnedBy(first.pid).length).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    expect(await pendingCell).toBeInstanceOf(Error);
    // The isolate hosts end with their parent (their IPC channel closes).
    await until('the isolate hosts of the dead process to exit', () =>
      isolateHosts.some(processAlive) ? undefined : true,
    );

    const second = startServiceChild(env);
    const url2 = await second.listening();
    // Removed before the restarted service listened.
    expect(containersOwnedBy(first.pid)).toEqual([]);
    expect(second.output()).toContain('recovered from an unclean stop');

    const restarted = { outcome: 'internal_error', reason: 'service restarted', exit_code: null };
    for (const id of [...long, ...queued]) {
      const read = await call(url2, 'GET', `/v1/executions/${id}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id, status: 'finished', result: restarted });
    }
    expect((await call(url2, 'GET', `/v1/executions/${before.body.id}`)).body).toEqual(before.body);
    const cell = await call(url2, 'GET', `/v1/executions/${cellId}`);
    expect(cell.body).toMatchObject({ status: 'finished', session_id: sessionId, result: restarted });
    const closed = await call(url2, 'GET', `/v1/sessions/${sessionId}`);
    expect(closed.body).toMatchObject({ status: 'closed', closed_reason: 'service_restarted' });
    const again = await until('the retried execution to finish', async () => {
      const read = await call(url2, 'GET', `/v1/executions/${retried}`);
      return read.body.status === 'finished' ? read.body : undefined;
    });
    expect(again.result).toMatchObject({ outcome: 'success', stdout: 'ran again\n' });
    const replay = await call(url2, 'POST', '/v1/executions', keyed, { 'idempotency-key': 'crash-key' });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ id: queued[0], status: 'finished', result: restarted });
    const events = await fetch(`${url2}/v1/executions/${queued[1]}/events`);
    expect((await events.text()).match(/^event: \w+$/gm)).toEqual(['event: state', 'event: result']);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(containersOwnedBy(second.pid)).toEqual([]);
    const verify = spawnSync(process.execPath, [VERIFY_CLI, auditPath], { encoding: 'utf8' });
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/^OK: \d+ records, chain intact/);
    const records = await auditRecords(auditPath);
    const accepted = records.filter((r) => r.type === 'accepted').map((r) => r.execution_id);
    expect(new Set(accepted)).toEqual(
      new Set([before.body.id, ...long, ...queued, retried, sessionId, cellId]),
    );
    for (const id of accepted) {
      expect(records.filter((r) => r.type === 'finished' && r.execution_id === id)).toHaveLength(1);
    }
  }, 300_000);
});
