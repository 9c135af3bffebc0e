// The service sweeps leftovers while it runs, not only when it starts (AIRLOCK_REAPER_INTERVAL_SECONDS): a
// container of a dead owner that appears after start-up is removed by a later sweep, and the service says so.
// dockerd is shared: another Airlock starting meanwhile may remove such a container first, so one is made again
// until this service's sweep is the one that took it.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { loadResolvedImages } from '@airlock/sandbox';
import Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { containersLabelled, useContainerService } from './support/containers.ts';

const REPO_ROOT = join(import.meta.dirname, '..');
const service = useContainerService({ AIRLOCK_POOL_SIZE: '0', AIRLOCK_REAPER_INTERVAL_SECONDS: '1' });
const REMOVED = 'removed leftover sandbox containers';

describe('the periodic reaper of a running service', () => {
  it('removes a dead owner’s container that appeared after start-up, and keeps a live owner’s', async () => {
    const docker = new Dockerode();
    const images = await loadResolvedImages(REPO_ROOT, docker);
    const mark = `airlock.instance=service-reaper-test-${randomBytes(4).toString('hex')}`;
    const [key, value] = mark.split('=') as [string, string];
    const create = (owner: string) =>
      docker.createContainer({
        Image: images.bash.tag,
        Entrypoint: ['sleep', '600'],
        Labels: { airlock: '1', [key]: value, 'airlock.owner': owner },
        HostConfig: { NetworkMode: 'none' },
      });
    const said = () => service().logs.filter((line) => line.includes(REMOVED)).length;
    const live = await create(`${hostname()}:${process.pid}`);
    try {
      const before = said();
      for (let attempt = 0; attempt < 5 && said() === before; attempt++) {
        // Above any pid_max: no such process can exist.
        await create(`${hostname()}:2147483646`);
        // Until a sweep has removed it (the test's timeout bounds the wait).
        while (containersLabelled(mark).length > 1) await new Promise((r) => setTimeout(r, 100));
      }
      expect(said()).toBeGreaterThan(before);
      expect(containersLabelled(mark)).toEqual([`${live.id} created`]);
    } finally {
      const left = await docker.listContainers({ all: true, filters: { label: [mark] } });
      await Promise.allSettled(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    }
  }, 120_000);
});
