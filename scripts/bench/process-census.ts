// What the `other` share of host-cpu.ts is made of on a shared machine: the CPU of every process outside the
// engine's accounting group, the containers' cgroups and this process, by program, between two moments. Only
// a process alive at the second moment is seen (one that started and ended inside the window is not), so the
// figures are a lower bound of `other`. Reads /proc only.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { parsePidStat } from './proc-files.ts';

/** Each live process's program and CPU so far, by `pid:startTicks` (one process across pid reuse). */
export type Census = Map<string, { pid: number; comm: string; program: string; cpuSeconds: number }>;

export function takeCensus(): Census {
  const census: Census = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = parsePidStat(readFileSync(`/proc/${name}/stat`, 'utf8'));
      census.set(`${stat.pid}:${stat.startTicks}`, {
        pid: stat.pid,
        comm: stat.comm,
        program: programOf(stat.pid, stat.comm),
        cpuSeconds: stat.cpuSeconds,
      });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return census;
}

export interface ProgramCpu {
  program: string;
  processes: number;
  seconds: number;
}

/** CPU seconds spent between the two censuses by the processes not `excluded`, by program, largest first. */
export function otherPrograms(before: Census, after: Census, excluded: ReadonlySet<number>): ProgramCpu[] {
  const byProgram = new Map<string, ProgramCpu>();
  for (const [key, now] of after) {
    if (excluded.has(now.pid)) continue;
    const seconds = now.cpuSeconds - (before.get(key)?.cpuSeconds ?? 0);
    if (seconds <= 0) continue;
    const entry = byProgram.get(now.program) ?? { program: now.program, processes: 0, seconds: 0 };
    entry.processes += 1;
    entry.seconds += seconds;
    byProgram.set(now.program, entry);
  }
  return [...byProgram.values()].sort((a, b) => b.seconds - a.seconds);
}

/** The executable's name (`node`, not the main thread's name); a kernel thread's name without its instance. */
export function programOf(pid: number, comm: string): string {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return comm.split('/')[0]!;
  }
}

/** The pids listed in each cgroup.procs file given (a missing file, a removed group, lists none). */
export function pidsIn(files: readonly string[]): Set<number> {
  const pids = new Set<number>();
  for (const file of files) {
    try {
      for (const line of readFileSync(file, 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      // The container was removed meanwhile.
    }
  }
  return pids;
}
