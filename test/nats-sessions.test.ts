// Sessions scaled out on NATS, with intent tokens: a real nats-server, a gateway and worker processes. A gateway
// forwards every session call to the worker hosting the session (its record in the `airlock-sessions` bucket);
// another tenant gets 404 through the gateway as in embedded mode. Python on gVisor: a session paused on one worker
// resumes on another after the first was killed with SIGKILL (its variables and /work files intact); a session
// whose worker is killed without a snapshot ends `worker_lost`; one opened with `resume_on_worker_loss` resumes
// from its latest snapshot (its state as of that snapshot); an image corrupted in the Object Store is refused
// (`snapshot_corrupt`) and never restored; a worker stopped with SIGTERM pauses its sessions and another resumes them.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { afterAll, describe, expect, it } from 'vitest';
import { type AirlockProcess, type NatsCluster, until, useNatsCluster } from './support/nats-cluster.ts';
import { call } from './support/service.ts';
import { cellResult, cellValue, openSession } from './support/session-calls.ts';
import { bearer, tenantPolicy, tokenSettings } from './support/tokens.ts';

const TTL_MS = 3_000;
const dir = await mkdtemp(join(tmpdir(), 'airlock-nats-sessions-'));
const issuer: TestIssuer = await createTestIssuer({ kid: 'nats-sessions-key' });
const policy = tenantPolicy({
  languages: ['python', 'javascript'],
  backends: ['gvisor', 'isolate'],
  limits: { memory_mb: 256, wall_time_ms: 60_000 },
  max_concurrent: 8,
  sessions: true,
});
const tokens = await tokenSettings(dir, issuer, { acme: policy, globex: policy });
afterAll(() => rm(dir, { recursive: true, force: true }));

let gateway: AirlockProcess;
const workers: AirlockProcess[] = [];
let workersStarted = 0;
/** A worker process with a data folder of its own (its local images, its sessions' ready snapshots). */
const newWorker = (nats: NatsCluster) =>
  nats.worker({ AIRLOCK_DATA_DIR: join(dir, `worker-${++workersStarted}`) });
const cluster = useNatsCluster(
  {
    env: {
      ...tokens,
      AIRLOCK_BACKENDS: 'isolate,gvisor',
      AIRLOCK_POOL_SIZE: '0',
      AIRLOCK_WORKER_TTL_MS: String(TTL_MS),
      AIRLOCK_TOKEN_MAX_EXECUTIONS: '1000',
      AIRLOCK_MAX_WAIT_SECONDS: '300',
    },
  },
  async (nats) => {
    const [first, second, third] = await Promise.all([nats.gateway(), newWorker(nats), newWorker(nats)]);
    gateway = first;
    workers.push(second, third);
  },
);

const api = async (method: string, path: string, body?: unknown, tenant = 'acme') =>
  call(gateway.url, method, path, body, bearer(await issuer.mint({ tenant })));

const open = (request: Record<string, unknown>) => openSession(api, request);
const cell = (id: string, code: string) => cellResult(api, id, code);
const value = (id: string, code: string) => cellValue(api, id, code);

/** The worker process hosting session `id`, as its record in the sessions bucket says. */
async function hostOf(id: string): Promise<AirlockProcess> {
  const nc = await cluster().connect();
  const kv = await new Kvm(nc).open('airlock-sessions');
  const worker = (await kv.get(id))?.json<{ worker: string }>().worker ?? '';
  const heartbeats = await new Kvm(nc).open('airlock-workers');
  const pid = (await heartbeats.get(worker))?.json<{ pid: number }>().pid;
  const host = workers.find((w) => w.child.pid === pid);
  if (!host) throw new Error(`no live worker hosts ${id} (record: ${worker})`);
  return host;
}

/** Kills a worker with SIGKILL (it cannot say goodbye); the fleet has one worker fewer. */
async function kill(worker: AirlockProcess): Promise<void> {
  process.kill(worker.child.pid!, 'SIGKILL');
  expect(await worker.exited).toBe(null);
  workers.splice(workers.indexOf(worker), 1);
}

/** Starts a worker in place of a killed one (its start-up sweep removes the killed one's containers). */
async function replace(): Promise<void> {
  workers.push(await newWorker(cluster()));
}

describe('sessions through a NATS gateway', () => {
  it('serves a session on a worker: cells, read, update, listing; another tenant sees 404', async () => {
    const id = await open({ language: 'javascript' });
    await cell(id, 'var n = 41');
    expect(await value(id, 'n + 1')).toBe('42');
    const read = await api('GET', `/v1/sessions/${id}`);
    expect(read.body).toMatchObject({ id, tenant: 'acme', status: 'ready', cells: 2, backend: 'isolate' });
    const patched = await api('PATCH', `/v1/sessions/${id}`, { idle_timeout_seconds: 120 });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const listed = await api('GET', '/v1/sessions?limit=10');
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.data.map((s: any) => s.id)).toContain(id);

    // Another tenant: as if it did not exist, for every call; and not in its listing.
    for (const [method, path, body] of [
      ['GET', `/v1/sessions/${id}`, undefined],
      ['POST', `/v1/sessions/${id}/executions`, { code: 'n' }],
      ['DELETE', `/v1/sessions/${id}`, undefined],
      ['POST', `/v1/sessions/${id}/pause`, undefined],
    ] as const) {
      const refused = await api(method, path, body, 'globex');
      expect(refused.status, `${method} ${path}`).toBe(404);
      expect(refused.body.error).toEqual({ code: 'not_found', message: `no session "${id}"` });
    }
    expect((await api('GET', '/v1/sessions?limit=10', undefined, 'globex')).body.data).toEqual([]);
    // The same validation as the embedded mode's, at the gateway.
    const bad = await api('POST', '/v1/sessions', { language: 'python', resume_on_worker_loss: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('resume_on_worker_loss');

    // A call travels in one NATS message: a file beyond the server's max_payload is refused, coded.
    const big = await fetch(`${gateway.url}/v1/sessions/${id}/files/big.bin`, {
      method: 'PUT',
      headers: {
        ...bearer(await issuer.mint({ tenant: 'acme' })),
        'content-type': 'application/octet-stream',
      },
      body: Buffer.alloc(2 * 1024 * 1024, 1),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as any).error).toMatchObject({
      code: 'payload_too_large',
      message: expect.stringContaining("larger than the NATS server's max_payload of 1048576 bytes"),
    });

    const closed = await api('DELETE', `/v1/sessions/${id}`);
    expect(closed.body).toMatchObject({ status: 'closed', closed_reason: 'deleted' });
    const after = await api('POST', `/v1/sessions/${id}/executions`, { code: 'n' });
    expect(after.status).toBe(409);
    expect(after.body.error.code).toBe('session_closed');
  }, 120_000);

  it('ends a session whose worker is killed without a snapshot: worker_lost', async () => {
    const id = await open({ language: 'javascript' });
    await cell(id, 'var n = 1');
    await kill(await hostOf(id));
    const read = await api('GET', `/v1/sessions/${id}`);
    expect(read.body).toMatchObject({ id, status: 'closed', closed_reason: 'worker_lost' });
    const refused = await api('POST', `/v1/sessions/${id}/executions`, { code: 'n' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({
      code: 'session_closed',
      message: `session ${id} is closed (worker_lost)`,
    });
    // The gateway recorded the end.
    await until(async () =>
      (await gateway.audit()).some(
        (r) => r.type === 'finished' && r.execution_id === id && r.reason === 'worker_lost',
      ),
    );
    await replace();
  }, 180_000);

  it('answers a cell whose worker is killed while it runs with internal_error (worker lost)', async () => {
    const id = await open({ language: 'javascript' });
    const pending = api('POST', `/v1/sessions/${id}/executions`, {
      code: 'await new Promise((resolve) => setTimeout(resolve, 50000))',
      limits: { wall_time_ms: 60_000 },
    });
    await until(async () => (await api('GET', `/v1/sessions/${id}`)).body.status === 'busy', 100);
    await kill(await hostOf(id));
    const answered = await pending;
    expect(answered.status).toBe(500);
    expect(answered.body.error.code).toBe('internal_error');
    expect(answered.body.error.message).toContain('worker lost');
    expect((await api('GET', `/v1/sessions/${id}`)).body).toMatchObject({ closed_reason: 'worker_lost' });
    await replace();
  }, 180_000);
});

describe('python sessions on gVisor through a NATS gateway', () => {
  it('resumes on the other worker a session paused on one that was then killed', async () => {
    const id = await open({ language: 'python', backend: 'gvisor' });
    await cell(id, 'x = 41\nopen("/work/note.txt", "w").write("written before the pause")');
    const paused = await api('POST', `/v1/sessions/${id}/pause`);
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body.status).toBe('paused');
    const first = await hostOf(id);
    const other = workers.find((w) => w !== first)!;
    await kill(first);
    // The next cell: any live worker (here the other one) fetches the pause image and restores it.
    const result = await cell(id, 'print(x + 1)\nopen("/work/note.txt").read()');
    expect(result.stdout).toBe('42\n');
    expect(result.value['text/plain']).toBe("'written before the pause'");
    expect((await hostOf(id)).child.pid).toBe(other.child.pid);
    // The files API goes to the session's worker too: a binary round trip, and the listing.
    const auth = bearer(await issuer.mint({ tenant: 'acme' }));
    const blob = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    const put = await fetch(`${gateway.url}/v1/sessions/${id}/files/data/blob.bin`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: blob,
    });
    expect(put.status).toBe(201);
    const got = await fetch(`${gateway.url}/v1/sessions/${id}/files/data/blob.bin`, { headers: auth });
    expect(Buffer.from(await got.arrayBuffer())).toEqual(blob);
    expect(got.headers.get('x-content-sha256')).toBe(((await put.json()) as any).sha256);
    const listing = await api('GET', `/v1/sessions/${id}/files?path=.`);
    expect(listing.body.entries.map((e: any) => e.name)).toEqual(
      expect.arrayContaining(['data', 'note.txt']),
    );
    expect((await api('GET', `/v1/sessions/${id}`)).body).toMatchObject({ status: 'ready', cells: 2 });
    // Its pause image is gone once restored; it was never a snapshot of the tenant's.
    expect((await api('GET', '/v1/snapshots')).body.snapshots).toEqual([]);
    expect((await api('DELETE', `/v1/sessions/${id}`)).body).toMatchObject({ closed_reason: 'deleted' });
    await replace();
  }, 600_000);

  it('resumes from its latest snapshot a session that asked resume_on_worker_loss', async () => {
    const id = await open({ language: 'python', backend: 'gvisor', resume_on_worker_loss: true });
    await cell(id, 'y = 7\nopen("/work/state.txt", "w").write("as of the snapshot")');
    const taken = await api('POST', `/v1/sessions/${id}/snapshots`);
    expect(taken.status, JSON.stringify(taken.body)).toBe(201);
    await cell(id, 'y = 8\nopen("/work/state.txt", "w").write("after the snapshot")');
    await kill(await hostOf(id));
    // State as of that snapshot: what came after it went with the worker.
    expect(await value(id, 'y, open("/work/state.txt").read()')).toBe("(7, 'as of the snapshot')");
    // The snapshot stays the tenant's.
    expect((await api('GET', `/v1/snapshots/${taken.body.id}`)).status).toBe(200);
    expect((await api('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
    expect((await api('DELETE', `/v1/snapshots/${taken.body.id}`)).status).toBe(200);
    await replace();
  }, 600_000);

  it('hands its sessions over when stopped with SIGTERM: paused, then resumed on the other worker', async () => {
    const id = await open({ language: 'python', backend: 'gvisor' });
    await cell(id, 'w = 5');
    const stopped = await hostOf(id);
    const other = workers.find((w) => w !== stopped)!;
    stopped.child.kill('SIGTERM');
    expect(await stopped.exited).toBe(0);
    workers.splice(workers.indexOf(stopped), 1);
    expect(stopped.output()).toContain('paused sessions handed over to the fleet');
    expect((await api('GET', `/v1/sessions/${id}`)).body.status).toBe('paused');
    expect(await value(id, 'w + 1')).toBe('6');
    expect((await hostOf(id)).child.pid).toBe(other.child.pid);
    expect((await api('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
    await replace();
  }, 600_000);

  it("refuses an image corrupted in the Object Store, and another tenant's snapshot is 404", async () => {
    const id = await open({ language: 'python', backend: 'gvisor' });
    await cell(id, 'z = 3');
    const taken = await api('POST', `/v1/sessions/${id}/snapshots`);
    expect(taken.status, JSON.stringify(taken.body)).toBe(201);
    const snapshotId: string = taken.body.id;
    expect((await api('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
    for (const [method, path, body] of [
      ['GET', `/v1/snapshots/${snapshotId}`, undefined],
      ['DELETE', `/v1/snapshots/${snapshotId}`, undefined],
      ['POST', '/v1/sessions', { language: 'python', from_snapshot: snapshotId }],
    ] as const) {
      const refused = await api(method, path, body, 'globex');
      expect(refused.status, `${method} ${path}`).toBe(404);
      expect(refused.body.error.code).toBe('not_found');
    }
    expect((await api('GET', '/v1/snapshots', undefined, 'globex')).body.snapshots).toEqual([]);

    // One byte of the image changed in the Object Store: refused, never restored.
    const nc = await cluster().connect();
    const images = await new Objm(nc).open('airlock-snapshots');
    const bytes = await images.getBlob(snapshotId);
    expect(bytes?.length).toBe(taken.body.size_bytes);
    const changed = Uint8Array.from(bytes!);
    changed[changed.length >> 1]! ^= 0xff;
    await images.putBlob({ name: snapshotId }, changed);
    const refused = await api('POST', '/v1/sessions', { language: 'python', from_snapshot: snapshotId });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error).toEqual({
      code: 'snapshot_corrupt',
      message: `snapshot ${snapshotId} failed its integrity check (sha256 mismatch); it is not restored`,
    });
    expect((await api('DELETE', `/v1/snapshots/${snapshotId}`)).status).toBe(200);
  }, 600_000);
});
