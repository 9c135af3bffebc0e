// The hard memory cap of one isolate host process, kept by the parent: before each job (or once for a session)
// the cap is set to what the host holds now plus what the job may hold plus a margin, in the host's own cgroup
// (the kernel kills the host past it) and for a watchdog that reads the host's resident memory from /proc (the
// parent kills the host past it). The host's own accounting ends a job at its limit first; this bound is for
// what that cannot stop in time (a single native operation, a host that does not answer).
// Must never lower a cap below what the host already holds, and never fail a job because a cap could not be set.

import { readFileSync } from 'node:fs';
import type { HostCgroup, MemoryCgroups } from './host-cgroup.ts';
import { heapSlackBytes } from './job-memory.ts';

const MIB = 1024 * 1024;
/** What a host may hold while it starts, before its first job sets a cap (a session host makes its isolate). */
const START_ALLOWANCE_MB = 512;
/**
 * The cap's margin over where the host's own count stops a job (its limit and its heap's slack): that count
 * samples every 10 ms, and a single native operation can run on after its isolate is disposed.
 */
const CAP_MARGIN_MB = 32;
/**
 * The kernel's limit sits this far inside the watchdog's: the cgroup is charged for pages the host itself
 * brought in, while its resident set also counts shared pages charged to others, which can grow during a job.
 */
const KERNEL_INSIDE_MB = 8;
/** A kernel limit this close below the one wanted is kept as it is (a write to it costs the kernel a drain). */
const KERNEL_KEEP_MB = 8;

/** How much more than it holds now a host may hold while it runs a job (or a session) of `memoryMb`. */
export function capAllowanceBytes(memoryMb: number): number {
  return (memoryMb + CAP_MARGIN_MB) * MIB + heapSlackBytes(memoryMb);
}

/** Resident memory of process `pid` in bytes, from /proc; 0 once it has gone. */
export function processResidentBytes(pid: number): number {
  return procStatusBytes(pid, 'VmRSS');
}

/** A memory figure (`VmRSS`, `VmHWM`, …) of process `pid` in bytes, read from outside; 0 once it has gone. */
export function procStatusBytes(pid: number, field: string): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

export class HostMemoryCap {
  readonly #pid: number;
  readonly #cgroup: HostCgroup | null;
  #capBytes = Number.POSITIVE_INFINITY;
  #memoryMb: number | null = null;

  /** Puts the host `pid` into its own cgroup under `cgroups` (when there are any), capped for its start. */
  constructor(pid: number, cgroups: MemoryCgroups | null, warmMemoryMb: number) {
    this.#pid = pid;
    this.#cgroup = cgroups?.attach(pid, capAllowanceBytes(START_ALLOWANCE_MB + warmMemoryMb)) ?? null;
  }

  /** The host's cgroup directory, if it has one. */
  get cgroupPath(): string | null {
    return this.#cgroup?.path ?? null;
  }

  /** The resident-memory cap the watchdog holds the host to (bytes); Infinity before the first job. */
  get capBytes(): number {
    return this.#capBytes;
  }

  /** The memory limit (MB) of the job or session the cap was last set for. */
  get memoryMb(): number | null {
    return this.#memoryMb;
  }

  resident(): number {
    return processResidentBytes(this.#pid);
  }

  /** Caps the host for a job (or a session) of `memoryMb` on top of what it holds now. */
  set(memoryMb: number): void {
    const allowance = capAllowanceBytes(memoryMb);
    this.#memoryMb = memoryMb;
    this.#capBytes = this.resident() + allowance;
    const cgroup = this.#cgroup;
    if (cgroup === null) return;
    try {
      const wanted = cgroup.held() + allowance - KERNEL_INSIDE_MB * MIB;
      if (cgroup.limit > wanted || cgroup.limit < wanted - KERNEL_KEEP_MB * MIB) cgroup.setLimit(wanted);
    } catch {
      // The group went away with its process; the watchdog still holds the cap.
    }
  }

  /** True when the host holds more than its cap (read now). */
  over(): boolean {
    return this.resident() > this.#capBytes;
  }

  /** After the host has exited: whether the kernel killed it for its cap; then removes its cgroup. */
  async release(): Promise<{ killedByKernel: boolean; cgroupRemoved: boolean }> {
    if (this.#cgroup === null) return { killedByKernel: false, cgroupRemoved: true };
    const killedByKernel = this.#cgroup.oomKills() > 0;
    return { killedByKernel, cgroupRemoved: await this.#cgroup.remove() };
  }
}
