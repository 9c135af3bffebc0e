// Peak memory of a sandbox container from its cgroup (v1 memory controller, cgroupfs driver:
// <root>/<container id>/memory.max_usage_in_bytes), read on the host while the container still exists.
// It must never fail a job: a cgroup that is already gone (or a host without cgroup v1) answers null.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_CGROUP_MEMORY_ROOT = '/sys/fs/cgroup/memory/docker';

export async function readMemoryPeak(cgroupRoot: string, containerId: string): Promise<number | null> {
  if (!/^[0-9a-f]{64}$/.test(containerId)) return null;
  try {
    const text = await readFile(join(cgroupRoot, containerId, 'memory.max_usage_in_bytes'), 'utf8');
    const bytes = Number(text.trim());
    return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
  } catch {
    return null;
  }
}
