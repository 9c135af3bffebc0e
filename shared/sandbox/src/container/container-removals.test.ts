// Removal of used containers against the real dockerd, and shutdown when dockerd is away.

import Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { ContainerRemovals } from './container-removals.ts';
import { containersWithLabel, requireContainerEnv } from './container-test-env.ts';
import { reapLeftovers } from './reaper.ts';

describe('ContainerRemovals', () => {
  it('removes a running container, and takes a second removal of it in its stride', async () => {
    const { docker, images } = await requireContainerEnv();
    const mark = `airlock.instance=removals-test-${process.pid}`;
    const warnings: object[] = [];
    const removals = new ContainerRemovals({
      timeoutMs: 30_000,
      logger: { warn: (obj) => warnings.push(obj) },
    });
    try {
      const container = await docker.createContainer({
        Image: images.bash.tag,
        Entrypoint: ['sleep', '600'],
        Labels: { airlock: '1', 'airlock.instance': mark.split('=')[1]! },
        HostConfig: { NetworkMode: 'none' },
      });
      await container.start();
      removals.remove(container);
      removals.remove(container);
      expect(removals.pending).toBe(2);
      await removals.settled();
      expect(containersWithLabel(mark)).toEqual([]);
      expect(warnings).toEqual([]);
    } finally {
      await reapLeftovers(docker, { labels: [mark] });
    }
  }, 60_000);

  it('gives up at shutdown when dockerd does not answer, and says so', async () => {
    const away = new Dockerode({ socketPath: '/nonexistent/docker.sock' });
    const warnings: object[] = [];
    const removals = new ContainerRemovals({
      timeoutMs: 1_000,
      logger: { warn: (obj) => warnings.push(obj) },
      retryDelaysMs: [3_600_000],
    });
    removals.remove(away.getContainer('0'.repeat(64)));
    await removals.settled();
    expect(removals.pending).toBe(0);
    expect(warnings).toHaveLength(1);
  });
});
