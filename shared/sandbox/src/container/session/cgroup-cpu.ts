// CPU time of a sandbox container from its cgroup (v1 cpuacct controller, cgroupfs driver:
// <root>/<container id>/cpuacct.usage, nanoseconds), read on the host: what a session cell used is the
// difference across it, whatever the processes inside say. Under gVisor it includes the sandbox kernel's own work.
// It must never fail a cell: a cgroup that is gone (or a host without cgroup v1) answers null.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_CGROUP_CPU_ROOT = '/sys/fs/cgroup/cpuacct/docker';

/** The container's CPU time so far in ns, or null when it cannot be read. */
export async function readCpuNs(cgroupRoot: string, containerId: string): Promise<number | null> {
  if (!/^[0-9a-f]{64}$/.test(containerId)) return null;
  try {
    const ns = Number((await readFile(join(cgroupRoot, containerId, 'cpuacct.usage'), 'utf8')).trim());
    return Number.isSafeInteger(ns) && ns >= 0 ? ns : null;
  } catch {
    return null;
  }
}

/** The CPU ms between two readings, in whole µs (never more than was counted); null when either is missing. */
export function cpuMsBetween(before: number | null, after: number | null): number | null {
  if (before === null || after === null) return null;
  return Math.floor(Math.max(0, after - before) / 1000) / 1000;
}
