// Removes sandbox containers left behind by an earlier run of the service (crash, kill -9, dockerd trouble):
// every container carrying the label `airlock=1`, running or not. Called once at service start-up, before
// any container backend starts its pool. It must never touch a container without the airlock label.

import type Dockerode from 'dockerode';

export interface ReapOptions {
  /** Further `key=value` labels a container must carry too (narrows the sweep, e.g. to one instance). */
  labels?: string[];
}

/** Force-removes every matching container; returns how many were removed. */
export async function reapLeftovers(docker: Dockerode, options: ReapOptions = {}): Promise<number> {
  const labels = ['airlock=1', ...(options.labels ?? [])];
  const found = await docker.listContainers({ all: true, filters: { label: labels } });
  const results = await Promise.allSettled(
    found.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })),
  );
  const failed = results.filter(
    (r) => r.status === 'rejected' && !/no such container|404/i.test(String(r.reason)),
  );
  if (failed.length > 0) {
    const first = (failed[0] as PromiseRejectedResult).reason;
    throw new Error(
      `reaper: ${failed.length} of ${found.length} airlock containers could not be removed: ${first}`,
    );
  }
  return results.length - failed.length;
}
