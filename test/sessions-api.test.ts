// The /v1/sessions surface: bad input answers exact coded errors (unknown session, bad body, bash, busy), idle
// expiry destroys the container (checked with dockerode), and nothing is left after the service closes.
// Real dockerd (runc), real HTTP.

import Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { useSessionService } from './support/containers.ts';
import { call } from './support/service.ts';

const service = useSessionService({ AIRLOCK_BACKENDS: 'isolate,docker' }, 1);
const docker = new Dockerode();

const open = async (extra: Record<string, unknown> = {}) => {
  const response = await call(service().url, 'POST', '/v1/sessions', {
    language: 'python',
    backend: 'docker',
    ...extra,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
};

async function sessionContainers(id: string): Promise<string[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [`airlock.session=${id}`] } });
  return found.map((c) => c.Id);
}

describe('session bad input', () => {
  it('answers not_found for unknown and malformed session ids', async () => {
    for (const id of ['ses_AAAAAAAAAAAAAAAAAAAAAA', 'nope']) {
      for (const [method, path, body] of [
        ['GET', `/v1/sessions/${id}`, undefined],
        ['DELETE', `/v1/sessions/${id}`, undefined],
        ['POST', `/v1/sessions/${id}/executions`, { code: '1' }],
      ] as const) {
        const response = await call(service().url, method, path, body);
        expect(response.status).toBe(404);
        expect(response.body.error.code).toBe('not_found');
      }
    }
  });

  it('refuses bash, unknown fields, bad timeouts and cell memory with invalid_request naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ language: 'bash' }, 'language'],
      [{ language: 'python', code: 'x' }, 'code'],
      [{ language: 'python', idle_timeout_seconds: 0 }, 'idle_timeout_seconds'],
      [{ language: 'python', idle_timeout_seconds: 3601 }, 'idle_timeout_seconds'],
      [{ language: 'python', max_lifetime_seconds: 86_401 }, 'max_lifetime_seconds'],
      [{ language: 'python', limits: { memory_mb: 4 } }, 'limits.memory_mb'],
      [{ language: 'python', network: { egress: 'proxy' } }, 'network.egress'],
    ];
    for (const [body, field] of cases) {
      const response = await call(service().url, 'POST', '/v1/sessions', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      expect(response.body.error.field ?? '', JSON.stringify(body)).toBe(field);
    }
    const notJson = await call(service().url, 'POST', '/v1/sessions', '{', {});
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('invalid_json');
    const gvisor = await call(service().url, 'POST', '/v1/sessions', {
      language: 'python',
      backend: 'gvisor',
    });
    expect(gvisor.status).toBe(422);
    expect(gvisor.body.error).toMatchObject({ code: 'backend_unavailable', field: 'backend' });
  });

  it('refuses a bad cell body, and a second cell while one runs with session_busy', async () => {
    const session = await open();
    const path = `/v1/sessions/${session.id}/executions`;
    const noCode = await call(service().url, 'POST', path, {});
    expect(noCode.status).toBe(400);
    expect(noCode.body.error).toMatchObject({ code: 'invalid_request', field: 'code' });
    const memory = await call(service().url, 'POST', path, { code: '1', limits: { memory_mb: 64 } });
    expect(memory.status).toBe(400);
    expect(memory.body.error.code).toBe('invalid_request');
    const tooLong = await call(service().url, 'POST', path, { code: '1', limits: { wall_time_ms: 60_001 } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toMatchObject({ code: 'invalid_request', field: 'limits.wall_time_ms' });

    const slow = call(service().url, 'POST', path, { code: 'import time\ntime.sleep(2)\n"done"' });
    let busy: { status: number; body: any } | undefined;
    for (let i = 0; i < 50 && busy === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const current = await call(service().url, 'GET', `/v1/sessions/${session.id}`);
      if (current.body.status === 'busy') busy = await call(service().url, 'POST', path, { code: '1' });
    }
    expect(busy?.status).toBe(409);
    expect(busy?.body.error).toEqual({
      code: 'session_busy',
      message: `session ${session.id} is running a cell`,
    });
    const finished = await slow;
    expect(finished.status).toBe(201);
    expect(finished.body.result.value).toEqual({ 'text/plain': "'done'" });
    expect((await call(service().url, 'DELETE', `/v1/sessions/${session.id}`)).status).toBe(200);
  }, 120_000);
});

describe('session expiry', () => {
  it('destroys the container of an idle session and says why', async () => {
    const session = await open({ idle_timeout_seconds: 2 });
    expect(await sessionContainers(session.id)).toHaveLength(1);
    const expires = Date.parse(session.expires_at) - Date.parse(session.created_at);
    expect(expires).toBe(2000);
    let current: any;
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 200));
      current = (await call(service().url, 'GET', `/v1/sessions/${session.id}`)).body;
      if (current.status === 'closed') break;
    }
    expect(current).toMatchObject({ status: 'closed', closed_reason: 'idle_timeout' });
    for (let i = 0; i < 50 && (await sessionContainers(session.id)).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await sessionContainers(session.id)).toEqual([]);
    const cell = await call(service().url, 'POST', `/v1/sessions/${session.id}/executions`, { code: '1' });
    expect(cell.status).toBe(409);
    expect(cell.body.error).toEqual({
      code: 'session_closed',
      message: `session ${session.id} is closed (idle_timeout)`,
    });
  }, 120_000);
});
