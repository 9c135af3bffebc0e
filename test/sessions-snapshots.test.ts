// Session snapshots with intent tokens, on gVisor: a python session's variables, a numpy array, a DataFrame and a
// file in /work survive snapshot → session deleted → two forks, which then diverge; the session snapshotted goes
// on; pause frees the sandbox and the next cell resumes it; a corrupted image is refused and never restored;
// another tenant sees 404; a snapshot while a cell runs is 409; runc and isolate sessions say why they cannot.
// Restored containers are labelled and hardened like every session container, and none is left behind.
// Real dockerd, real runsc (checkpoint/restore), real HTTP.

import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { containersLabelled, useSessionService } from './support/containers.ts';
import { call } from './support/service.ts';
import { bearer, tenantPolicy, tokenSettings } from './support/tokens.ts';

const dir = await mkdtemp(join(tmpdir(), 'airlock-snapshots-'));
const dataDir = join(dir, 'data');
const issuer: TestIssuer = await createTestIssuer({ kid: 'snapshots-key' });
const policy = tenantPolicy({
  languages: ['python', 'javascript'],
  backends: ['gvisor', 'docker', 'isolate'],
  limits: { memory_mb: 256, wall_time_ms: 60_000 },
  sessions: true,
});
const tokens = await tokenSettings(dir, issuer, { acme: policy, globex: policy });
const service = useSessionService({
  ...tokens,
  AIRLOCK_DATA_DIR: dataDir,
  AIRLOCK_TOKEN_MAX_EXECUTIONS: '1000',
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const as = async (tenant = 'acme') => bearer(await issuer.mint({ tenant }));
const api = async (method: string, path: string, body?: unknown, tenant = 'acme') =>
  call(service().url, method, path, body, await as(tenant));

async function open(extra: Record<string, unknown> = {}): Promise<string> {
  const response = await api('POST', '/v1/sessions', { language: 'python', backend: 'gvisor', ...extra });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body.status).toBe('ready');
  return response.body.id;
}

async function cell(id: string, code: string): Promise<any> {
  const response = await api('POST', `/v1/sessions/${id}/executions`, {
    code,
    limits: { wall_time_ms: 60_000 },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body.result.outcome, JSON.stringify(response.body.result)).toBe('success');
  return response.body.result;
}

const value = async (id: string, code: string) => (await cell(id, code)).value['text/plain'];

/** The types of the lifecycle events about `subject`, in feed order. */
async function eventsAbout(subject: string): Promise<string[]> {
  const feed = await api('GET', '/v1/events?limit=1000');
  expect(feed.status, JSON.stringify(feed.body)).toBe(200);
  return feed.body.data.filter((e: any) => e.subject === subject).map((e: any) => e.type);
}

async function snapshot(id: string): Promise<any> {
  const response = await api('POST', `/v1/sessions/${id}/snapshots`);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

const STATE = [
  'import numpy as np, pandas as pd',
  'x = 41',
  'a = np.arange(6).reshape(2, 3)',
  'df = pd.DataFrame({"k": ["p", "q"], "v": [1.5, 2.5]})',
  'open("/work/note.txt", "w").write("from the original")',
].join('\n');

describe('session snapshots on gvisor', () => {
  it('forks twice from a snapshot of a deleted session; the forks diverge and the original went on', async () => {
    const original = await open();
    await cell(original, STATE);
    const taken = await snapshot(original);
    expect(taken).toMatchObject({
      session_id: original,
      language: 'python',
      backend: 'gvisor',
      memory_mb: expect.any(Number),
    });
    expect(taken.id).toMatch(/^snp_[A-Za-z0-9_-]{22}$/);
    expect(taken.size_bytes).toBeGreaterThan(1024 * 1024);
    expect(taken.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The image on disk: owner-only, and as large as said.
    const image = join(dataDir, 'snapshots', taken.id, 'checkpoint.img');
    const info = await stat(image);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.size).toBe(taken.size_bytes);
    expect((await stat(join(dataDir, 'snapshots', taken.id))).mode & 0o777).toBe(0o700);

    // The session snapshotted goes on from where it was.
    expect(await value(original, 'x + 1')).toBe('42');
    expect((await api('GET', `/v1/snapshots/${taken.id}`)).body).toEqual(taken);
    expect((await api('GET', '/v1/snapshots')).body.snapshots.map((s: any) => s.id)).toContain(taken.id);
    expect((await api('DELETE', `/v1/sessions/${original}`)).status).toBe(200);

    const first = await open({ from_snapshot: taken.id, backend: 'auto' });
    const second = await open({ from_snapshot: taken.id });
    for (const fork of [first, second]) {
      expect(await value(fork, 'x + 1')).toBe('42');
      expect(await value(fork, 'int(a.sum()), df["v"].sum(), open("note.txt").read()')).toBe(
        "(15, 4.0, 'from the original')",
      );
    }
    await cell(first, 'x = 100\na[0, 0] = 7\nopen("note.txt", "w").write("first only")');
    expect(await value(second, 'x, int(a[0, 0]), open("note.txt").read()')).toBe(
      "(41, 0, 'from the original')",
    );
    expect(await value(first, 'x, int(a[0, 0]), open("note.txt").read()')).toBe("(100, 7, 'first only')");

    // Restored containers are session containers like any other: labelled and hardened.
    const [line] = containersLabelled(`airlock.session=${first}`);
    expect(line).toBeDefined();
    const inspected = JSON.parse(
      execFileSync('docker', ['inspect', String(line?.split(' ')[0])], { encoding: 'utf8' }),
    )[0];
    expect(inspected.Config.Labels).toMatchObject({ airlock: '1', 'airlock.backend': 'gvisor' });
    expect(inspected.Config.User).toBe('65534:65534');
    expect(inspected.HostConfig).toMatchObject({
      Runtime: 'runsc-restore',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      NetworkMode: 'none',
      Privileged: false,
    });

    expect((await api('DELETE', `/v1/snapshots/${taken.id}`)).status).toBe(200);
    expect((await api('GET', `/v1/snapshots/${taken.id}`)).status).toBe(404);
    expect(await eventsAbout(taken.id)).toEqual(['snapshot.created', 'snapshot.deleted']);
    // Taken and deleted, each audited with the image's size and hash (never its content), by its caller.
    const audited = (await readAuditRecords(service().auditPath)).filter(
      (r) => r.type === 'snapshot' && r.detail.snapshot_id === taken.id,
    );
    expect(audited.map((r) => [r.detail.op, r.execution_id, r.tenant])).toEqual([
      ['snapshot', original, 'acme'],
      ['delete', original, 'acme'],
    ]);
    for (const record of audited)
      expect(record.detail).toMatchObject({ size: taken.size_bytes, sha256: taken.sha256 });
    // Forks do not depend on the image once restored.
    expect(await value(second, 'x')).toBe('41');
    for (const fork of [first, second])
      expect((await api('DELETE', `/v1/sessions/${fork}`)).status).toBe(200);
  }, 300_000);

  it('pauses a session, frees its container, and resumes it on the next cell or on request', async () => {
    const id = await open();
    await cell(id, 'x = 41\nopen("kept.txt", "w").write("yes")');
    const paused = await api('POST', `/v1/sessions/${id}/pause`);
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body.status).toBe('paused');
    expect(containersLabelled(`airlock.session=${id}`)).toEqual([]);
    expect((await api('GET', '/v1/snapshots')).body.snapshots.map((s: any) => s.session_id)).not.toContain(
      id,
    );
    expect(await value(id, 'x + 1, open("kept.txt").read()')).toBe("(42, 'yes')");
    expect((await api('GET', `/v1/sessions/${id}`)).body.status).toBe('ready');

    expect((await api('POST', `/v1/sessions/${id}/pause`)).body.status).toBe('paused');
    const resumed = await api('POST', `/v1/sessions/${id}/resume`);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.status).toBe('ready');
    expect(await value(id, 'x')).toBe('41');
    // Closed while paused: its pause image goes too.
    expect((await api('POST', `/v1/sessions/${id}/pause`)).body.status).toBe('paused');
    expect((await api('DELETE', `/v1/sessions/${id}`)).body.status).toBe('closed');
    const images = await readdir(join(dataDir, 'snapshots'));
    const metas = await Promise.all(
      images.map(async (name) =>
        JSON.parse(await readFile(join(dataDir, 'snapshots', name, 'meta.json'), 'utf8')),
      ),
    );
    expect(metas.filter((meta) => meta.snapshot.session_id === id)).toEqual([]);
    const audited = (await readAuditRecords(service().auditPath)).filter(
      (r) => r.type === 'snapshot' && r.execution_id === id,
    );
    expect(audited.map((r) => r.detail.op)).toEqual(['pause', 'resume', 'pause', 'resume', 'pause']);
    // The feed tells each pause and resume; a pause image is no snapshot, so it has no snapshot events.
    expect(await eventsAbout(id)).toEqual([
      'session.created',
      ...['session.paused', 'session.resumed', 'session.paused', 'session.resumed'],
      'session.paused',
      'session.closed',
    ]);
  }, 300_000);

  it('refuses a corrupted or truncated snapshot, and never restores it', async () => {
    const id = await open();
    await cell(id, 'x = 41');
    const taken = await snapshot(id);
    const flipped = await snapshot(id);
    expect((await api('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
    const folder = (snp: string) => join(dataDir, 'snapshots', snp, 'checkpoint.img');
    const bytes = await readFile(folder(flipped.id));
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await writeFile(folder(flipped.id), bytes);
    await truncate(folder(taken.id), Math.floor(taken.size_bytes / 2));
    for (const snp of [flipped.id, taken.id]) {
      const refused = await api('POST', '/v1/sessions', { language: 'python', from_snapshot: snp });
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(refused.body.error.code).toBe('snapshot_corrupt');
    }
    // No container of this service was created naming either image (a refused restore starts nothing).
    for (const instance of service().service.sessions.containerInstances()) {
      for (const line of containersLabelled(`airlock.instance=${instance}`)) {
        const env = inspectEnv(String(line.split(' ')[0]));
        expect(env).not.toContain(taken.id);
        expect(env).not.toContain(flipped.id);
      }
    }
  }, 300_000);

  it('shows a snapshot to its tenant only, and refuses one while a cell runs', async () => {
    const id = await open();
    await cell(id, 'x = 41');
    const taken = await snapshot(id);
    for (const [method, path, body] of [
      ['GET', `/v1/snapshots/${taken.id}`, undefined],
      ['DELETE', `/v1/snapshots/${taken.id}`, undefined],
      ['POST', `/v1/sessions/${id}/snapshots`, undefined],
      ['POST', '/v1/sessions', { language: 'python', from_snapshot: taken.id }],
    ] as const) {
      const other = await api(method, path, body, 'globex');
      expect(other.status, `${method} ${path}`).toBe(404);
      expect(other.body.error.code).toBe('not_found');
    }
    expect((await api('GET', '/v1/snapshots', undefined, 'globex')).body.snapshots).toEqual([]);
    expect((await api('GET', `/v1/snapshots/${taken.id}`)).status).toBe(200);

    const running = await api('POST', `/v1/sessions/${id}/executions?wait=0`, {
      code: 'import time\ntime.sleep(8)\nx = 43',
      limits: { wall_time_ms: 60_000 },
    });
    expect(running.status).toBe(202);
    const busy = await api('POST', `/v1/sessions/${id}/snapshots`);
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('session_busy');
    expect((await api('POST', `/v1/sessions/${id}/pause`)).status).toBe(409);
    // The session is ready again once the cell's record is written and its slot freed.
    for (let i = 0; i < 480; i++) {
      if ((await api('GET', `/v1/sessions/${id}`)).body.status === 'ready') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await value(id, 'x')).toBe('43');
    expect((await api('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
  }, 300_000);

  it('says why runc and isolate sessions cannot be snapshotted', async () => {
    for (const [language, backend] of [
      ['python', 'docker'],
      ['javascript', 'isolate'],
    ] as const) {
      const opened = await api('POST', '/v1/sessions', { language, backend });
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      for (const path of ['snapshots', 'pause']) {
        const refused = await api('POST', `/v1/sessions/${opened.body.id}/${path}`);
        expect(refused.status).toBe(422);
        expect(refused.body.error.code).toBe('snapshot_unsupported');
        expect(refused.body.error.message).toMatch(backend === 'docker' ? /CRIU/ : /isolate/);
      }
      expect((await api('GET', `/v1/sessions/${opened.body.id}`)).body.status).toBe('ready');
      expect((await api('DELETE', `/v1/sessions/${opened.body.id}`)).status).toBe(200);
    }
  }, 300_000);
});

/** A container's environment as dockerd holds it ('' when it went meanwhile). */
function inspectEnv(container: string): string {
  try {
    return execFileSync('docker', ['inspect', '-f', '{{json .Config.Env}}', container], { encoding: 'utf8' });
  } catch {
    return '';
  }
}
