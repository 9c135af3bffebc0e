// Session snapshots through MCP, over both transports, against a real service on gVisor: snapshot_session saves
// a python session between cells and the session goes on; create_session with from_snapshot starts a fork that
// has the snapshot's variables and files; a session that cannot be snapshotted (docker) is an error result with
// the Airlock code. Real dockerd, real runsc (checkpoint/restore).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTAINER_SERVICE_ENV } from './support/containers.ts';
import { callTool, MCP_TRANSPORTS, structured, textOf, useMcpClient } from './support/mcp.ts';
import { useService } from './support/service.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'airlock-mcp-snapshots-'));
const svc = useService({ ...CONTAINER_SERVICE_ENV, AIRLOCK_DATA_DIR: dataDir });
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe.each(MCP_TRANSPORTS)('session snapshots over MCP (%s)', (transport) => {
  const mcp = useMcpClient(transport, () => svc().url);
  const call = (name: string, args: Record<string, unknown>) => callTool(mcp().client, name, args);

  it('snapshots a gVisor session, forks a new session from it, and says why a docker session cannot', async () => {
    const { id } = structured<{ id: string }>(
      await call('create_session', { language: 'python', backend: 'gvisor' }),
    );
    structured(
      await call('run_code', { session_id: id, code: 'x = 41\nopen("note.txt", "w").write("kept")' }),
    );

    const taken = await call('snapshot_session', { session_id: id });
    const snapshot = structured<{ id: string; session_id: string; size_bytes: number }>(taken);
    expect(snapshot).toMatchObject({ session_id: id, id: expect.stringMatching(/^snp_/) });
    expect(snapshot.size_bytes).toBeGreaterThan(0);
    expect(textOf(taken)).toContain(`Pass from_snapshot "${snapshot.id}" to create_session`);

    // The session goes on from where it was.
    const goesOn = structured<any>(await call('run_code', { session_id: id, code: 'x = x + 100\nx' }));
    expect(goesOn.result.value).toEqual({ 'text/plain': '141' });

    const forked = await call('create_session', { language: 'python', from_snapshot: snapshot.id });
    const fork = structured<{ id: string; backend: string }>(forked);
    expect(fork.backend).toBe('gvisor');
    expect(textOf(forked)).toContain(`from snapshot ${snapshot.id}`);
    const inFork = structured<any>(
      await call('run_code', { session_id: fork.id, code: 'x + 1, open("note.txt").read()' }),
    );
    expect(inFork.result.value).toEqual({ 'text/plain': "(42, 'kept')" });

    const runc = structured<{ id: string }>(
      await call('create_session', { language: 'python', backend: 'docker' }),
    );
    const refused = await call('snapshot_session', { session_id: runc.id });
    expect(refused.isError).toBe(true);
    expect(refused._meta?.['airlock/error']).toMatchObject({ code: 'snapshot_unsupported', status: 422 });

    for (const session_id of [id, fork.id, runc.id]) structured(await call('close_session', { session_id }));
  }, 300_000);
});
