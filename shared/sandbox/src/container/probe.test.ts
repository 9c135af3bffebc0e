// Start-up checks against the real dockerd: the probe finds both backends, says why when it cannot, and the
// reaper removes airlock-labelled containers (here only the one this test made).

import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { containersWithLabel, REPO_ROOT, requireContainerEnv } from './container-test-env.ts';
import { probeContainerBackends } from './probe.ts';
import { reapLeftovers } from './reaper.ts';

describe('probeContainerBackends', () => {
  it('finds docker and gvisor available with versioned images', async () => {
    const { docker } = await requireContainerEnv();
    const probe = await probeContainerBackends(docker, REPO_ROOT);
    expect(probe.docker).toEqual({ available: true });
    expect(probe.gvisor).toEqual({ available: true });
    expect(probe.images?.python.version).toMatch(/^3\.\d+\.\d+$/);
    expect(probe.images?.node.version).toMatch(/^24\.\d+\.\d+$/);
  });

  it('says to run the setup script when the images were never built', async () => {
    const { docker } = await requireContainerEnv();
    const probe = await probeContainerBackends(docker, '/nonexistent-airlock-checkout');
    expect(probe.docker.available).toBe(false);
    expect(probe.gvisor.reason).toContain('scripts/setup-host.sh');
    expect(probe.images).toBeNull();
  });

  it('says dockerd is not answering when the socket is wrong', async () => {
    const probe = await probeContainerBackends(
      new Dockerode({ socketPath: '/nonexistent/docker.sock' }),
      REPO_ROOT,
    );
    expect(probe.docker).toMatchObject({ available: false });
    expect(probe.docker.reason).toMatch(/dockerd is not answering.*setup-host\.sh/);
  });
});

describe('reapLeftovers', () => {
  it('removes airlock-labelled containers, running or not', async () => {
    const { docker, images } = await requireContainerEnv();
    const mark = `airlock.instance=reaper-test-${randomBytes(4).toString('hex')}`;
    const [key, value] = mark.split('=') as [string, string];
    try {
      for (const start of [true, false]) {
        const c = await docker.createContainer({
          Image: images.bash.tag,
          Entrypoint: ['sleep', '600'],
          Labels: { airlock: '1', [key]: value },
          HostConfig: { NetworkMode: 'none' },
        });
        if (start) await c.start();
      }
      expect(containersWithLabel(mark)).toHaveLength(2);
      expect(await reapLeftovers(docker, { labels: [mark] })).toBe(2);
      expect(containersWithLabel(mark)).toEqual([]);
    } finally {
      await reapLeftovers(docker, { labels: [mark] });
    }
  }, 60_000);
});
