// Start-up checks against the real dockerd: the probe finds both backends, says why when it cannot, and the
// reaper removes airlock-labelled containers (here only the one this test made).

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
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
  it('removes containers of dead owners, running or not; spares live owners and ownerless ones', async () => {
    const { docker, images } = await requireContainerEnv();
    const mark = `airlock.instance=reaper-test-${randomBytes(4).toString('hex')}`;
    const [key, value] = mark.split('=') as [string, string];
    // Above any pid_max: no such process can exist.
    const deadOwner = `${hostname()}:2147483646`;
    const create = async (owner: string | undefined, start: boolean) => {
      const labels: Record<string, string> = { airlock: '1', [key]: value };
      if (owner !== undefined) labels['airlock.owner'] = owner;
      const c = await docker.createContainer({
        Image: images.bash.tag,
        Entrypoint: ['sleep', '600'],
        Labels: labels,
        HostConfig: { NetworkMode: 'none' },
      });
      // Another service's sweep may be removing a dead owner's container already.
      if (start)
        await c
          .start()
          .catch((e: unknown) => expect(String(e)).toMatch(/marked for removal|no such container/i));
      return c.id;
    };
    try {
      await create(deadOwner, true);
      await create(deadOwner, false);
      const live = await create(`${hostname()}:${process.pid}`, false);
      // Like an image build's intermediate container: the base image's airlock=1 label, no owner.
      const ownerless = await create(undefined, false);
      // dockerd is shared: another service's sweep (at its start, or its periodic one) may take the dead owner's
      // containers first, so what this call counts is at most 2; what is left is exact either way.
      const removed = await reapLeftovers(docker, { labels: [mark] });
      expect(removed).toBeGreaterThanOrEqual(0);
      expect(removed).toBeLessThanOrEqual(2);
      expect(containersWithLabel(mark).sort()).toEqual([live, ownerless].map((id) => id.slice(0, 12)).sort());
    } finally {
      const left = await docker.listContainers({ all: true, filters: { label: [mark] } });
      await Promise.allSettled(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    }
  }, 60_000);
});
