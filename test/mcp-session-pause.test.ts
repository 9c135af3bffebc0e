// Pausing and resuming a session through MCP over stdio, against a real service on gVisor: pause_session frees
// the session's sandbox (status paused) and resume_session restores its variables; update_session changes its
// timeouts; create_session takes on_idle; a docker session cannot be paused (an error result with the Airlock
// code). Real dockerd, real runsc (checkpoint/restore).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTAINER_SERVICE_ENV, containersLabelled } from './support/containers.ts';
import { callTool, structured, textOf, useMcpClient } from './support/mcp.ts';
import { useService } from './support/service.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'airlock-mcp-pause-'));
const svc = useService({ ...CONTAINER_SERVICE_ENV, AIRLOCK_DATA_DIR: dataDir });
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('session pause and resume over MCP (stdio)', () => {
  const mcp = useMcpClient('stdio', () => svc().url);
  const call = (name: string, args: Record<string, unknown>) => callTool(mcp().client, name, args);

  it('pauses a gVisor session, resumes it with its variables, and changes its timeouts', async () => {
    const created = await call('create_session', { language: 'python', backend: 'gvisor', on_idle: 'pause' });
    const { id, on_idle } = structured<{ id: string; on_idle: string }>(created);
    expect(on_idle).toBe('pause');
    expect(textOf(created)).toContain('pauses (the next cell resumes it)');
    structured(await call('run_code', { session_id: id, code: 'x = 41' }));

    const paused = await call('pause_session', { session_id: id });
    expect(structured<{ status: string }>(paused).status).toBe('paused');
    expect(textOf(paused)).toContain('resume_session');
    expect(containersLabelled(`airlock.session=${id}`)).toEqual([]);

    const resumed = await call('resume_session', { session_id: id });
    expect(structured<{ status: string }>(resumed).status).toBe('ready');
    const cell = structured<any>(await call('run_code', { session_id: id, code: 'x + 1' }));
    expect(cell.result.value).toEqual({ 'text/plain': '42' });

    // Paused again, the next run_code resumes it on its own.
    structured(await call('pause_session', { session_id: id }));
    const after = structured<any>(await call('run_code', { session_id: id, code: 'x + 2' }));
    expect(after.result.value).toEqual({ 'text/plain': '43' });

    const updated = structured<{ created_at: string; expires_at: string }>(
      await call('update_session', { session_id: id, idle_timeout_seconds: 3600, max_lifetime_seconds: 600 }),
    );
    expect(Date.parse(updated.expires_at)).toBe(Date.parse(updated.created_at) + 600_000);
    const refused = await call('update_session', { session_id: id, idle_timeout_seconds: 999_999 });
    expect(refused.isError).toBe(true);

    const runc = structured<{ id: string; on_idle: string }>(
      await call('create_session', { language: 'python', backend: 'docker' }),
    );
    expect(runc.on_idle).toBe('close');
    const cannot = await call('pause_session', { session_id: runc.id });
    expect(cannot.isError).toBe(true);
    expect(cannot._meta?.['airlock/error']).toMatchObject({ code: 'snapshot_unsupported', status: 422 });
    const refusedCreate = await call('create_session', {
      language: 'python',
      backend: 'docker',
      on_idle: 'pause',
    });
    expect(refusedCreate.isError).toBe(true);
    expect(refusedCreate._meta?.['airlock/error']).toMatchObject({
      code: 'snapshot_unsupported',
      status: 422,
    });

    for (const session_id of [id, runc.id]) structured(await call('close_session', { session_id }));
  }, 300_000);
});
