// Parsers of the kernel's accounting files the bench reads: /proc/stat (the host's CPU time), /proc/<pid>/stat
// (one process's), a cgroup v1 cpuacct.usage (a group's) and /proc/pressure/cpu (how long runnable tasks waited
// for a CPU). Pure functions of the file's text; a malformed file throws instead of reading as zero.

/** USER_HZ: the unit of /proc/stat and /proc/<pid>/stat times on Linux. */
const TICKS_PER_SECOND = 100;

/** The host's aggregate `cpu` line of /proc/stat, in seconds summed over every core. */
export interface HostTimes {
  /** user + nice + system + irq + softirq (guest time is inside user). */
  busy: number;
  /** idle + iowait. */
  idle: number;
  /** Time the hypervisor ran something else while this VM wanted to run. */
  steal: number;
  cores: number;
}

/** Parses /proc/stat: the aggregate `cpu` line and the count of `cpuN` lines. */
export function parseProcStat(text: string): HostTimes {
  const lines = text.split('\n');
  const total = lines.find((line) => /^cpu\s/.test(line));
  if (total === undefined) throw new Error('/proc/stat has no aggregate cpu line');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = total
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const fields = [user, nice, system, idle, iowait, irq, softirq, steal];
  if (fields.some((n) => n === undefined || !Number.isFinite(n)))
    throw new Error(`/proc/stat cpu line is malformed: ${total}`);
  const [u, n, s, i, w, q, sq, st] = fields as number[];
  return {
    busy: (u! + n! + s! + q! + sq!) / TICKS_PER_SECOND,
    idle: (i! + w!) / TICKS_PER_SECOND,
    steal: st! / TICKS_PER_SECOND,
    cores: lines.filter((line) => /^cpu\d+\s/.test(line)).length,
  };
}

/** The fields of /proc/<pid>/stat this file reads. */
export interface ProcessStat {
  pid: number;
  /** The command name, at most 15 characters (it may hold spaces and parentheses). */
  comm: string;
  ppid: number;
  /** utime + stime of the process itself (not of its waited-for children), seconds. */
  cpuSeconds: number;
  /** When it started, in ticks since boot: with the pid, names one process across pid reuse. */
  startTicks: number;
}

/** Parses /proc/<pid>/stat; the command name runs to the last `)`, so any name parses. */
export function parsePidStat(text: string): ProcessStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  // After the name: state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const startTicks = Number(rest[19]);
  if (![ppid, utime, stime, startTicks].every(Number.isFinite))
    throw new Error(`/proc/<pid>/stat is malformed: ${text.slice(0, 120)}`);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    ppid,
    cpuSeconds: (utime + stime) / TICKS_PER_SECOND,
    startTicks,
  };
}

/** Parses a cgroup v1 `cpuacct.usage` (nanoseconds) into seconds. */
export function parseCpuacctUsage(text: string): number {
  const ns = Number(text.trim());
  if (!Number.isFinite(ns) || text.trim() === '') throw new Error(`cpuacct.usage is malformed: ${text}`);
  return ns / 1e9;
}

/** Parses /proc/pressure/cpu: the seconds during which some runnable task waited for a CPU (`some total`). */
export function parsePressure(text: string): number {
  const total = /^some .*\btotal=(\d+)/m.exec(text)?.[1];
  if (total === undefined)
    throw new Error(`/proc/pressure/cpu has no 'some … total=' line: ${text.slice(0, 80)}`);
  return Number(total) / 1e6;
}

/**
 * From /proc/self/mountinfo: whether the cgroup v1 hierarchy mounted at `mountPoint` controls `cpuacct` alone.
 * Only then does moving a process between its groups change accounting and nothing else (where `cpu` is
 * co-mounted, as `cpu,cpuacct` on many hosts, a move would change the process's CPU scheduling too).
 */
export function cpuacctMountedAlone(mountinfo: string, mountPoint: string): boolean {
  for (const line of mountinfo.split('\n')) {
    const [mount, rest] = line.split(' - ');
    if (mount?.split(' ')[4] !== mountPoint || rest === undefined) continue;
    const [fsType, , superOptions = ''] = rest.split(' ');
    const controllers = superOptions.split(',').filter((option) => option !== 'rw' && option !== 'ro');
    return fsType === 'cgroup' && controllers.includes('cpuacct') && !controllers.includes('cpu');
  }
  return false;
}

/** From /proc/<pid>/cgroup (v1): the process's group path in the hierarchy that has `controller`. */
export function cgroupOf(procCgroup: string, controller: string): string | undefined {
  for (const line of procCgroup.split('\n')) {
    const [, controllers = '', path] = line.split(':');
    if (controllers.split(',').includes(controller)) return path;
  }
  return undefined;
}
