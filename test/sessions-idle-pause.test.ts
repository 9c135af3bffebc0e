// Sessions that pause at their idle timeout instead of closing (`on_idle: "pause"`, and the server default
// AIRLOCK_SESSION_ON_IDLE=pause), on gVisor: the idle session becomes `paused` with no container left, audited and
// announced like an explicit pause, and its next cell has its variables back; its lifetime still ends it (and its
// pause image goes); a backend that cannot snapshot refuses `on_idle: "pause"` with 422 and takes the server
// default as `close`. Real dockerd, real runsc (checkpoint/restore), real HTTP.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { containersLabelled, useSessionService } from './support/containers.ts';
import { call } from './support/service.ts';
import { cellValue, eventTypesAbout } from './support/session-calls.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'airlock-idle-pause-'));
const service = useSessionService({ AIRLOCK_DATA_DIR: dataDir, AIRLOCK_SESSION_ON_IDLE: 'pause' });
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const api = (method: string, path: string, body?: unknown) => call(service().url, method, path, body);

async function open(body: Record<string, unknown>): Promise<any> {
  const response = await api('POST', '/v1/sessions', { language: 'python', ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

const value = (id: string, code: string) => cellValue(api, id, code);

/** The session once its status is `status` (polled; the sweep runs every second). */
async function statusBecomes(id: string, status: string): Promise<any> {
  let session: any;
  for (let i = 0; i < 600; i++) {
    session = (await api('GET', `/v1/sessions/${id}`)).body;
    if (session.status === status) return session;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(session.status, JSON.stringify(session)).toBe(status);
  return session;
}

const eventsAbout = (subject: string) => eventTypesAbout(api, subject);

/** The sessions that have an image (snapshot or pause image) in the data directory. */
async function sessionsWithImages(): Promise<string[]> {
  const folder = join(dataDir, 'snapshots');
  const names = await readdir(folder).catch(() => [] as string[]);
  const metas = await Promise.all(
    names.map(async (name) => JSON.parse(await readFile(join(folder, name, 'meta.json'), 'utf8'))),
  );
  return metas.map((meta) => meta.snapshot.session_id);
}

describe('sessions that pause when idle', () => {
  it('pauses an idle gVisor session instead of closing it; the next cell has its variables back', async () => {
    const opened = await open({ backend: 'gvisor', idle_timeout_seconds: 1, on_idle: 'pause' });
    expect(opened).toMatchObject({ status: 'ready', on_idle: 'pause' });
    const id = opened.id;
    expect(await value(id, 'x = 41\nopen("kept.txt", "w").write("yes")\nx')).toBe('41');

    const paused = await statusBecomes(id, 'paused');
    expect(paused.closed_reason).toBeNull();
    // A session paused at its idle timeout ends only at its lifetime (the default, 1800 s from its creation).
    expect(Date.parse(paused.expires_at)).toBe(Date.parse(paused.created_at) + 1800_000);
    expect(containersLabelled(`airlock.session=${id}`)).toEqual([]);
    expect(await sessionsWithImages()).toContain(id);
    // Further idle timeouts pass (the sweep runs each second): nothing but its lifetime or a DELETE closes it.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await api('GET', `/v1/sessions/${id}`)).body.status).toBe('paused');

    expect(await value(id, 'x + 1, open("kept.txt").read()')).toBe("(42, 'yes')");
    const resumed = (await api('GET', `/v1/sessions/${id}`)).body;
    expect(resumed.status).toBe('ready');
    expect(containersLabelled(`airlock.session=${id}`)).toHaveLength(1);
    expect(await sessionsWithImages()).not.toContain(id);

    // Paused by the server, audited and announced like an explicit pause.
    const audited = (await readAuditRecords(service().auditPath)).filter(
      (r) => r.type === 'snapshot' && r.execution_id === id,
    );
    expect(audited.map((r) => r.detail.op).slice(0, 2)).toEqual(['pause', 'resume']);
    expect((await eventsAbout(id)).slice(0, 3)).toEqual([
      'session.created',
      'session.paused',
      'session.resumed',
    ]);
    expect((await api('DELETE', `/v1/sessions/${id}`)).body.status).toBe('closed');
  }, 300_000);

  it('ends a paused session at its lifetime and removes its pause image', async () => {
    // No on_idle: the server's default (AIRLOCK_SESSION_ON_IDLE=pause), which gVisor can honour.
    const { id, on_idle } = await open({ backend: 'gvisor', idle_timeout_seconds: 1 });
    expect(on_idle).toBe('pause');
    expect(await value(id, 'x = 41')).toBeUndefined();
    await statusBecomes(id, 'paused');
    expect(await sessionsWithImages()).toContain(id);
    // A lifetime already over: the next sweep ends the paused session.
    const shortened = await api('PATCH', `/v1/sessions/${id}`, { max_lifetime_seconds: 1 });
    expect(shortened.status, JSON.stringify(shortened.body)).toBe(200);
    const closed = await statusBecomes(id, 'closed');
    expect(closed.closed_reason).toBe('max_lifetime');
    // Its closed record (the `session.closed` event) is written once the pause image is gone.
    for (let i = 0; i < 300 && !(await eventsAbout(id)).includes('session.closed'); i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await sessionsWithImages()).not.toContain(id);
    const cell = await api('POST', `/v1/sessions/${id}/executions`, { code: 'x' });
    expect(cell.status).toBe(409);
    expect(cell.body.error.code).toBe('session_closed');
    expect((await eventsAbout(id)).slice(-2)).toEqual(['session.paused', 'session.closed']);
  }, 300_000);

  it('refuses on_idle "pause" where sessions cannot be snapshotted, and takes the default as close there', async () => {
    for (const [language, backend, why] of [
      ['python', 'docker', /CRIU/],
      ['javascript', 'isolate', /isolate/],
    ] as const) {
      const refused = await api('POST', '/v1/sessions', { language, backend, on_idle: 'pause' });
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(refused.body.error).toMatchObject({ code: 'snapshot_unsupported', field: 'on_idle' });
      expect(refused.body.error.message).toMatch(why);
      // Without on_idle the server default (pause) cannot apply: the session says it closes when idle.
      const opened = await open({ language, backend });
      expect(opened.on_idle).toBe('close');
      expect((await api('DELETE', `/v1/sessions/${opened.id}`)).status).toBe(200);
    }
    const gvisor = await open({ backend: 'gvisor', on_idle: 'close' });
    expect(gvisor.on_idle).toBe('close');
    expect((await api('DELETE', `/v1/sessions/${gvisor.id}`)).status).toBe(200);
  }, 300_000);
});
