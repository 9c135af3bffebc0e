// Removes sandbox containers left behind by an earlier run of the service (crash, kill -9, dockerd trouble):
// every container carrying the labels `airlock=1` and `airlock.owner`, running or not, whose owning service
// process (`airlock.owner` = host:pid) is no longer alive on this host. Called at service start-up, before any
// container backend starts its pool, and periodically after that (leftover-reaper.ts). It must never touch a container without those labels (an image build's
// intermediate containers inherit `airlock=1` from the base image, but no owner), nor one that a live service
// (another test file, a second service on the machine) still owns.

import type Dockerode from 'dockerode';
import { ownerAlive } from './owner.ts';

export interface ReapOptions {
  /** Further `key=value` labels a container must carry too (narrows the sweep, e.g. to one instance). */
  labels?: string[];
  /** Also remove containers whose owning process is alive: for a service sweeping its own containers. */
  includeLiveOwners?: boolean;
}

/** Force-removes every matching container; returns how many were removed. */
export async function reapLeftovers(docker: Dockerode, options: ReapOptions = {}): Promise<number> {
  const labels = ['airlock=1', 'airlock.owner', ...(options.labels ?? [])];
  const found = (await docker.listContainers({ all: true, filters: { label: labels } })).filter(
    (c) => options.includeLiveOwners === true || !ownerAlive(c.Labels?.['airlock.owner']),
  );
  const results = await Promise.allSettled(
    found.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })),
  );
  const failed = results.filter(
    (r) => r.status === 'rejected' && !/no such container|404|already in progress/i.test(String(r.reason)),
  );
  if (failed.length > 0) {
    const first = (failed[0] as PromiseRejectedResult).reason;
    throw new Error(
      `reaper: ${failed.length} of ${found.length} airlock containers could not be removed: ${first}`,
    );
  }
  return results.length - failed.length;
}
