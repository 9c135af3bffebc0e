// The periodic leftover reaper against the real dockerd: containers of a dead owner that appear while the service
// runs (after its start-up sweep) are removed by a later sweep; a live owner's are kept; no sweep after close().
// Narrowed to this test's own label, so it touches nothing else on the machine. dockerd is shared: another
// Airlock starting meanwhile may remove a dead owner's container first (its start-up reaper), so a dead owner's
// container is made again until this reaper is the one that removed it.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { containersWithLabel, requireContainerEnv } from './container-test-env.ts';
import { LeftoverReaper } from './leftover-reaper.ts';
import { reapLeftovers } from './reaper.ts';

describe('LeftoverReaper', () => {
  it('removes a dead owner’s containers that appear after start-up, keeps a live owner’s, stops on close', async () => {
    const { docker, images } = await requireContainerEnv();
    const mark = `airlock.instance=leftover-reaper-test-${randomBytes(4).toString('hex')}`;
    const [key, value] = mark.split('=') as [string, string];
    // Above any pid_max: no such process can exist.
    const deadOwner = `${hostname()}:2147483646`;
    const create = async (owner: string) => {
      const c = await docker.createContainer({
        Image: images.bash.tag,
        Entrypoint: ['sleep', '600'],
        Labels: { airlock: '1', [key]: value, 'airlock.owner': owner },
        HostConfig: { NetworkMode: 'none' },
      });
      return c.id.slice(0, 12);
    };
    const reaper = new LeftoverReaper({ docker, intervalMs: 200, labels: [mark] });
    try {
      expect(await reaper.start()).toBe(0);
      const live = await create(`${hostname()}:${process.pid}`);
      const sweepsBefore = reaper.sweeps;
      for (let attempt = 0; attempt < 5 && reaper.removed === 0; attempt++) {
        await create(deadOwner);
        // Until a sweep has removed it (the test's timeout bounds the wait).
        while (containersWithLabel(mark).length > 1) await new Promise((r) => setTimeout(r, 50));
      }
      // A removal another reaper had already begun counts too (reapLeftovers): at least this one.
      expect(reaper.removed).toBeGreaterThanOrEqual(1);
      expect(reaper.sweeps).toBeGreaterThan(sweepsBefore);
      expect(containersWithLabel(mark)).toEqual([live]);

      await reaper.close();
      const sweepsAtClose = reaper.sweeps;
      await new Promise((r) => setTimeout(r, 1000));
      expect(reaper.sweeps).toBe(sweepsAtClose);
    } finally {
      await reaper.close();
      await reapLeftovers(docker, { labels: [mark], includeLiveOwners: true });
    }
  }, 60_000);
});
