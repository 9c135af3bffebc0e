// When dockerd cannot give a container (here: an image that does not exist), jobs still answer at once with
// internal_error and a reason and the pool keeps retrying with back-off; warm containers killed from outside
// are replaced; nothing is left behind.

import type Dockerode from 'dockerode';
import { describe, expect, it, vi } from 'vitest';
import { ContainerSandbox } from './container-sandbox.ts';
import { containersWithLabel, requireContainerEnv, testJob } from './container-test-env.ts';
import type { ResolvedImages } from './images.ts';

/** A `docker` (runc) sandbox on `images` whose pool keeps `poolSize` warm containers per image. */
function runcSandbox(docker: Dockerode, images: ResolvedImages, poolSize: number): ContainerSandbox {
  return new ContainerSandbox({
    docker,
    runtime: 'runc',
    backend: 'docker',
    images,
    pool: { size: poolSize },
  });
}

describe('ContainerSandbox when containers fail', () => {
  it('answers internal_error without waiting for the pool, and keeps retrying the pool', async () => {
    const { docker, images } = await requireContainerEnv();
    const missing = { tag: 'airlock-missing:000000000000', hash: '000000000000', version: '0.0.0' };
    const broken: ResolvedImages = { ...images, bash: missing };
    const sandbox = runcSandbox(docker, broken, 1);
    try {
      await sandbox.start();
      const result = await sandbox.run(testJob({ language: 'bash', code: 'echo hi' }), {
        signal: new AbortController().signal,
      });
      expect(result.outcome).toBe('internal_error');
      expect(result.reason).toMatch(/could not start a sandbox container: .*airlock-missing/);
      await vi.waitFor(
        () => {
          const pool = sandbox.stats().pools.find((p) => p.key.startsWith('airlock-missing'));
          expect(pool?.createFailures).toBeGreaterThanOrEqual(2);
        },
        { timeout: 30_000 },
      );
    } finally {
      await sandbox.close();
    }
    expect(containersWithLabel(`airlock.instance=${sandbox.instance}`)).toEqual([]);
  }, 60_000);

  it('replaces warm containers that die while waiting (as when dockerd restarts)', async () => {
    const { docker, images } = await requireContainerEnv();
    const sandbox = runcSandbox(docker, images, 1);
    try {
      await sandbox.start();
      await sandbox.whenWarm();
      const warm = containersWithLabel(`airlock.instance=${sandbox.instance}`);
      expect(warm).toHaveLength(3);
      await Promise.all(warm.map((id) => docker.getContainer(id).kill({ signal: 'SIGKILL' })));
      await vi.waitFor(() => expect(sandbox.stats().pools.reduce((n, p) => n + p.died, 0)).toBe(3), {
        timeout: 30_000,
      });
      await sandbox.whenWarm();
      const result = await sandbox.run(testJob({ language: 'bash', code: 'echo alive' }), {
        signal: new AbortController().signal,
      });
      expect(result).toMatchObject({ outcome: 'success', stdout: 'alive\n' });
      expect(sandbox.stats().warmLeases).toBe(1);
    } finally {
      await sandbox.close();
    }
    expect(containersWithLabel(`airlock.instance=${sandbox.instance}`)).toEqual([]);
  }, 60_000);

  it('cancels a job before it starts without touching dockerd', async () => {
    const { docker, images } = await requireContainerEnv();
    const sandbox = runcSandbox(docker, images, 0);
    const controller = new AbortController();
    controller.abort();
    const result = await sandbox.run(testJob({ language: 'python', code: 'print(1)' }), {
      signal: controller.signal,
    });
    expect(result.outcome).toBe('canceled');
    expect(sandbox.stats()).toMatchObject({ warmLeases: 0, coldStarts: 0 });
    await sandbox.close();
  });
});
