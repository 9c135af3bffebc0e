// Which service process owns a Docker object Airlock created: the label `airlock.owner` = `host:pid`. The
// reapers remove leftovers only of owners that are gone, so two services (or test files) on one dockerd never
// remove each other's containers and networks.

import { hostname } from 'node:os';

/** `host:pid` of this service process, for the `airlock.owner` label. */
export function ownerLabel(): string {
  return `${hostname()}:${process.pid}`;
}

/** Whether the process an `airlock.owner` label names is alive on this host (another host's: never). */
export function ownerAlive(owner: string | undefined): boolean {
  if (owner === undefined) return false;
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
