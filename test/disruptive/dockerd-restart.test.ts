// A dockerd restart under a running service does not wedge the warm pool. Every
// container on this machine dies with dockerd, so this file runs alone, after the main suite
// (vitest.disruptive.config.ts, called by `npm test`). dockerd is the one scripts/setup-host.sh started (the
// README's commands start it); it is stopped by its pid and started again by that same script.

import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ContainerSandbox } from '@airlock/sandbox';
import { processAlive } from '@airlock/testing';
import { describe, expect, it } from 'vitest';
import { BACKENDS, type ContainerBackend, useContainerService } from '../support/containers.ts';
import { run } from '../support/service.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const service = useContainerService({ AIRLOCK_POOL_SIZE: '1' });

function sandboxOf(backend: ContainerBackend): ContainerSandbox {
  return service().service.registry.get(backend) as ContainerSandbox;
}

/** The warm pool of the default python profile of a backend. */
function pythonPool(backend: ContainerBackend) {
  const pool = sandboxOf(backend)
    .stats()
    .pools.find((p) => p.key.startsWith('airlock-python:'));
  if (!pool) throw new Error(`no python pool on ${backend}`);
  return pool;
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  seconds: number,
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not within ${seconds} s: ${what}`);
}

const hello = (backend: ContainerBackend) =>
  run(service().url, { language: 'python', backend, code: "print('hello')" }, 120);

describe('dockerd restart', () => {
  it('the service answers through it and the warm pools refill afterwards', async () => {
    for (const backend of BACKENDS) {
      expect((await hello(backend)).result).toMatchObject({ outcome: 'success', stdout: 'hello\n' });
      await waitFor(() => pythonPool(backend).ready === 1, `${backend} pool warm before the restart`, 120);
    }

    const pids = execFileSync('pidof', ['dockerd'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    expect(pids).toHaveLength(1);
    const [pid] = pids as [number];
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !processAlive(pid), 'dockerd stopped', 60);

    // While dockerd is away a job is answered (an internal error naming Docker), never left hanging.
    const during = await hello('docker');
    expect(during.status).toBe('finished');
    expect(during.result.outcome).toBe('internal_error');

    const setup = spawnSync('bash', ['scripts/setup-host.sh'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(setup.status, setup.stdout + setup.stderr).toBe(0);

    for (const backend of BACKENDS) {
      // The first jobs may still meet a warm container that died with dockerd; within a short while they pass.
      await waitFor(
        async () => (await hello(backend)).result.outcome === 'success',
        `a ${backend} job succeeds after the restart`,
        120,
      );
      await waitFor(() => pythonPool(backend).ready === 1, `${backend} pool warm again`, 120);
      const hits = pythonPool(backend).hits;
      expect((await hello(backend)).result).toMatchObject({ outcome: 'success', stdout: 'hello\n' });
      expect(pythonPool(backend).hits).toBe(hits + 1);
    }
  }, 600_000);
});
