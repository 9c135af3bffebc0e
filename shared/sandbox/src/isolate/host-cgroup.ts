// A memory cgroup (v1) for each isolate host process, made under one parent cgroup: the kernel's hard cap on
// everything the host holds, whatever allocated it. The parent process makes it, moves the host in right
// after the fork, sets its limit per job, reads whether the kernel killed the host for it, and removes it
// once the host has ended; groups left by a service that died are removed at start-up.
// Must never create anything outside the configured parent, never remove a group whose owner is alive, and
// never make the service fail where cgroups cannot be made: it then says why and runs without them.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SandboxLogger } from './host-pool.ts';

/** The default parent: a group of its own at the top of the v1 memory hierarchy, beside Docker's. */
export const DEFAULT_MEMORY_CGROUP = '/sys/fs/cgroup/memory/airlock';

const LIMIT = 'memory.limit_in_bytes';
const SWAP_LIMIT = 'memory.memsw.limit_in_bytes';
const GROUP_NAME = /^isolate-(\d+)-(\d+)$/;
const REMOVE_ATTEMPTS = 20;
const REMOVE_RETRY_MS = 50;

function isMemoryCgroup(path: string): boolean {
  return existsSync(join(path, LIMIT)) && existsSync(join(path, 'cgroup.procs'));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The hosts' cgroups under `path` (the default when undefined, none when null); null when they cannot be made,
 * after a warning to `logger` that names `hosts` and says why.
 */
export function openMemoryCgroups(
  path: string | null | undefined,
  logger: SandboxLogger | undefined,
  hosts: string,
): MemoryCgroups | null {
  if (path === null) return null;
  const cgroups = MemoryCgroups.open(path ?? DEFAULT_MEMORY_CGROUP);
  if (cgroups.unavailable === null) return cgroups;
  logger?.warn(
    { reason: cgroups.unavailable },
    `${hosts} run without a memory cgroup: only the watchdog on their resident memory caps them`,
  );
  return null;
}

/** The parent cgroup under which hosts get their own group; `unavailable` says why there is none. */
export class MemoryCgroups {
  readonly path: string;
  readonly #available: boolean;
  readonly unavailable: string | null;

  private constructor(path: string, unavailable: string | null) {
    this.path = path;
    this.unavailable = unavailable;
    this.#available = unavailable === null;
  }

  /**
   * Checks (and makes, one level only) the parent `path`, then removes the empty groups of owners that are
   * gone. Never throws: a parent that cannot be used is returned with the reason in `unavailable`.
   */
  static open(path: string): MemoryCgroups {
    try {
      if (!isMemoryCgroup(path)) {
        if (!isMemoryCgroup(dirname(path))) {
          return new MemoryCgroups(path, `${dirname(path)} is not a cgroup v1 memory hierarchy`);
        }
        mkdirSync(path);
        if (!isMemoryCgroup(path)) return new MemoryCgroups(path, `${path} is not a memory cgroup`);
      }
      const groups = new MemoryCgroups(path, null);
      groups.#sweep();
      return groups;
    } catch (error) {
      return new MemoryCgroups(path, `cannot create cgroups under ${path}: ${messageOf(error)}`);
    }
  }

  get available(): boolean {
    return this.#available;
  }

  /** Makes the group of host `pid` with `limitBytes` and moves the process into it; null if that fails. */
  attach(pid: number, limitBytes: number): HostCgroup | null {
    if (!this.#available) return null;
    const path = join(this.path, `isolate-${process.pid}-${pid}`);
    try {
      mkdirSync(path, { recursive: false });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return null;
    }
    const group = new HostCgroup(path);
    try {
      group.setLimit(limitBytes);
      writeFileSync(join(path, 'cgroup.procs'), String(pid));
      return group;
    } catch {
      void group.remove();
      return null;
    }
  }

  /** Removes the groups whose owning service process has gone (their hosts went with it). */
  #sweep(): void {
    for (const name of readdirSync(this.path)) {
      const owner = Number(GROUP_NAME.exec(name)?.[1]);
      if (!Number.isSafeInteger(owner) || owner === process.pid || processAlive(owner)) continue;
      try {
        rmdirSync(join(this.path, name));
      } catch {
        // Still holds a process (or is not ours to remove): leave it.
      }
    }
  }
}

/** One host's memory cgroup. */
export class HostCgroup {
  readonly path: string;
  readonly #hasSwap: boolean;
  /** The limit last written (bytes); -1 before the first. */
  #limit = -1;

  constructor(path: string) {
    this.path = path;
    this.#hasSwap = existsSync(join(path, SWAP_LIMIT));
  }

  /** The limit last set (bytes); -1 before the first. */
  get limit(): number {
    return this.#limit;
  }

  /** Bytes the group is charged for now, less the page cache the kernel can drop when it needs to. */
  held(): number {
    const usage = Number(readFileSync(join(this.path, 'memory.usage_in_bytes'), 'utf8'));
    const stat = readFileSync(join(this.path, 'memory.stat'), 'utf8');
    const cache = Number(/^total_cache (\d+)$/m.exec(stat)?.[1] ?? 0);
    return Math.max(0, usage - cache);
  }

  /** Sets the hard limit (memory, and memory + swap where the kernel accounts swap). */
  setLimit(bytes: number): void {
    const value = Math.max(0, Math.floor(bytes));
    const limit = join(this.path, LIMIT);
    const swap = join(this.path, SWAP_LIMIT);
    // memory + swap may never be below memory: raise memory + swap first, lower memory first.
    const current = this.#limit >= 0 ? this.#limit : Number(readFileSync(limit, 'utf8'));
    const raising = value >= current;
    if (raising && this.#hasSwap) writeFileSync(swap, String(value));
    writeFileSync(limit, String(value));
    if (!raising && this.#hasSwap) writeFileSync(swap, String(value));
    this.#limit = value;
  }

  /** How many times the kernel killed a process of this group for its limit. */
  oomKills(): number {
    try {
      const text = readFileSync(join(this.path, 'memory.oom_control'), 'utf8');
      return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  /**
   * Removes the group once its process has gone (the kernel may take a moment to let go of it); false if it
   * is still there after about a second.
   */
  async remove(): Promise<boolean> {
    for (let attempt = 0; attempt < REMOVE_ATTEMPTS; attempt += 1) {
      try {
        rmdirSync(this.path);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
        await delay(REMOVE_RETRY_MS);
      }
    }
    return false;
  }
}
