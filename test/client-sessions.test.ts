// @airlock/client's sessions against a real service: create, get, run cells, close, and the coded errors of
// the sessions contract (bash refused naming the field, unknown session 404, a closed session 409), and the
// snapshot calls (unknown snapshot 404; runc and isolate sessions answer snapshot_unsupported).

import { AirlockClient } from '@airlock/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection } from './support/client.ts';
import { CONTAINER_SERVICE_ENV } from './support/containers.ts';
import { startService, type TestService } from './support/service.ts';

let svc: TestService;
let client: AirlockClient;

beforeAll(async () => {
  svc = await startService({ ...CONTAINER_SERVICE_ENV, AIRLOCK_BACKENDS: 'isolate,docker' });
  client = new AirlockClient({ baseUrl: svc.url });
}, 180_000);
afterAll(async () => {
  await svc?.close();
}, 120_000);

describe('sessions', () => {
  it('creates a session, runs cells that share state, reads it, and closes it', {
    timeout: 180_000,
  }, async () => {
    const session = await client.createSession({ language: 'python', metadata: { job: 'client-test' } });
    expect(session).toMatchObject({
      status: 'ready',
      tenant: 'local',
      language: 'python',
      backend: 'docker',
      cells: 0,
      closed_at: null,
      closed_reason: null,
      metadata: { job: 'client-test' },
    });
    const first = await client.runCell(session.id, { code: 'count = 1\nprint("first")' });
    expect(first).toMatchObject({
      session_id: session.id,
      status: 'finished',
      result: { outcome: 'success', stdout: 'first\n' },
    });
    const second = await client.runCell(session.id, { code: 'count + 1' });
    expect(second.result).toMatchObject({ outcome: 'success', value: { 'text/plain': '2' } });
    expect(await client.get(second.id)).toMatchObject({ id: second.id, session_id: session.id });
    expect(await client.getSession(session.id)).toMatchObject({ id: session.id, status: 'ready', cells: 2 });

    const closed = await client.closeSession(session.id);
    expect(closed).toMatchObject({ id: session.id, status: 'closed', closed_reason: 'deleted' });
    expect(closed.closed_at).not.toBeNull();
    const after = await rejection(client.runCell(session.id, { code: 'count' }));
    expect(after).toMatchObject({ status: 409, code: 'session_closed' });
  });

  it('refuses bash sessions naming the field, and unknown sessions with 404', async () => {
    const bash = await rejection(client.createSession({ language: 'bash' as 'python' }));
    expect(bash).toMatchObject({ status: 400, code: 'invalid_request', field: 'language' });
    const unknown = 'ses_AAAAAAAAAAAAAAAAAAAAAA';
    for (const attempt of [
      () => client.getSession(unknown),
      () => client.closeSession(unknown),
      () => client.runCell(unknown, { code: '1' }),
      () => client.snapshotSession(unknown),
      () => client.getSnapshot('snp_AAAAAAAAAAAAAAAAAAAAAA'),
      () => client.deleteSnapshot('snp_AAAAAAAAAAAAAAAAAAAAAA'),
    ]) {
      expect(await rejection(attempt())).toMatchObject({ status: 404, code: 'not_found' });
    }
    expect(await client.listSnapshots()).toEqual([]);
  });

  it('says why a runc or isolate session cannot be snapshotted or paused', { timeout: 180_000 }, async () => {
    for (const request of [
      { language: 'python', backend: 'docker' },
      { language: 'javascript', backend: 'isolate' },
    ] as const) {
      const session = await client.createSession(request);
      for (const attempt of [
        () => client.snapshotSession(session.id),
        () => client.pauseSession(session.id),
      ]) {
        expect(await rejection(attempt())).toMatchObject({ status: 422, code: 'snapshot_unsupported' });
      }
      expect(await client.resumeSession(session.id)).toMatchObject({ id: session.id, status: 'ready' });
      await client.closeSession(session.id);
    }
  });
});
