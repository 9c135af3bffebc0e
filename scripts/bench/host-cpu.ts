// Where the machine's CPU goes during a bench window, from the kernel's own counters: the host's busy share
// (/proc/stat), the Docker engine (dockerd, containerd, every containerd-shim and the runc/runsc commands they
// run), this Node process (the embedded service and the bench's HTTP client), the sandboxes (the `docker`
// cpuacct cgroup: every container's processes, gVisor's sentry and gofer included) and the rest (other
// processes on the machine). The engine's short-lived processes (a runc or runsc command lives tens of ms, a
// shim as long as its container) cannot be caught by sampling /proc, so while open this moves dockerd,
// containerd and the live shims into a cpuacct cgroup of their own, which their children inherit. It does so
// only where the cpuacct hierarchy is mounted apart from `cpu` (cgroup v1, checked in /proc/self/mountinfo), so
// the move changes accounting, never scheduling; containers still land in /docker/<id> (absolute cgroup
// paths). Invariant: close() moves every process back to the group it came from (one born in the group goes
// to containerd's) and removes the group; where the move is not safe or another bench holds the group, the
// engine is not measured (its share is left in `other`).

import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  cgroupOf,
  cpuacctMountedAlone,
  type HostTimes,
  parseCpuacctUsage,
  parsePressure,
  parseProcStat,
} from './proc-files.ts';
import { type Census, otherPrograms, type ProgramCpu, pidsIn, takeCensus } from './process-census.ts';

const CPUACCT = '/sys/fs/cgroup/cpuacct';
const ENGINE_GROUP = join(CPUACCT, 'airlock-bench-engine');
/** Holds the pid of the bench that owns ENGINE_GROUP. */
const ENGINE_LOCK = '/tmp/airlock-bench-engine.pid';
const ENGINE_COMMANDS = new Set(['dockerd', 'containerd', 'containerd-shim', 'runc', 'runsc']);
/** How many of `other`'s largest programs a window names. */
const OTHER_PROGRAMS = 3;
/** Each moved process's own cpuacct group (relative to CPUACCT), to move it back to. */
const ORIGIN = new Map<number, string>();

/** The counters at one moment; `window` subtracts two. */
export interface CpuMark {
  at: number;
  host: HostTimes;
  /** Undefined when the engine is not in the accounting group. */
  engine: number | undefined;
  sandboxes: number;
  service: number;
  /** Seconds some runnable task waited for a CPU; undefined without /proc/pressure/cpu. */
  pressure: number | undefined;
  census: Census;
  loop: ReturnType<typeof monitorEventLoopDelay>;
}

/** CPU seconds per group over a window; `other` is the host's busy time the groups do not account for. */
export interface CpuWindow {
  seconds: number;
  cores: number;
  /** Busy share of the host's capacity (cores × seconds), 0–1. */
  busy: number;
  steal: number;
  groups: { engine: number | undefined; service: number; sandboxes: number; other: number };
  /** Of `other`, the largest programs (live processes only). */
  otherPrograms: ProgramCpu[];
  /** Share of the window during which some runnable task waited for a CPU, 0–1. */
  pressure: number | undefined;
  /** This process's event-loop delay, ms: how long a ready callback waited to run. */
  loopDelay: { p99: number; max: number };
}

export class HostCpu {
  /** Why the engine is not measured, when it is not. */
  readonly engineNote: string | undefined;
  readonly #owned: boolean;

  private constructor(owned: boolean, note: string | undefined) {
    this.#owned = owned;
    this.engineNote = note;
  }

  /** Starts accounting the engine apart (unless another bench does); never throws for lack of cgroups. */
  static open(): HostCpu {
    try {
      const holder = existsSync(ENGINE_LOCK) ? Number(readFileSync(ENGINE_LOCK, 'utf8')) : 0;
      if (holder > 0 && holder !== process.pid && alive(holder))
        return new HostCpu(false, `the engine's cgroup is held by another bench (pid ${holder})`);
      if (!cpuacctMountedAlone(readFileSync('/proc/self/mountinfo', 'utf8'), CPUACCT))
        return new HostCpu(false, 'engine not measured apart: cpuacct is not a hierarchy of its own here');
      const engine = [...takeCensus().values()].filter((p) => ENGINE_COMMANDS.has(p.comm));
      if (!engine.some((p) => p.comm === 'dockerd')) throw new Error('no dockerd process found');
      writeFileSync(ENGINE_LOCK, String(process.pid));
      mkdirSync(ENGINE_GROUP, { recursive: true });
      for (const p of engine) {
        const origin = cgroupOf(readFileSync(`/proc/${p.pid}/cgroup`, 'utf8'), 'cpuacct');
        if (origin === undefined) continue;
        ORIGIN.set(p.pid, origin);
        moveTo(ENGINE_GROUP, p.pid);
      }
      // process.exit() (a second Ctrl-C) skips the bench's finally; this hook runs on it too.
      process.once('exit', releaseEngineGroup);
      return new HostCpu(true, undefined);
    } catch (error) {
      releaseEngineGroup();
      return new HostCpu(false, `engine not measured apart: ${(error as Error).message}`);
    }
  }

  /** Starts a window: the counters now, and this process's event-loop delay from now on. */
  mark(): CpuMark {
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    return { ...this.#counters(), loop };
  }

  /** Ends the window `since` started. */
  window(since: CpuMark): CpuWindow {
    const now = this.#counters();
    since.loop.disable();
    const busy = now.host.busy - since.host.busy;
    const capacity = busy + now.host.idle - since.host.idle + now.host.steal - since.host.steal;
    const engine =
      now.engine !== undefined && since.engine !== undefined ? now.engine - since.engine : undefined;
    const service = now.service - since.service;
    const sandboxes = now.sandboxes - since.sandboxes;
    const seconds = (now.at - since.at) / 1000;
    const pressure =
      now.pressure !== undefined && since.pressure !== undefined ? now.pressure - since.pressure : undefined;
    return {
      seconds,
      cores: now.host.cores,
      busy: capacity > 0 ? busy / capacity : 0,
      steal: capacity > 0 ? (now.host.steal - since.host.steal) / capacity : 0,
      groups: { engine, service, sandboxes, other: busy - (engine ?? 0) - service - sandboxes },
      otherPrograms: otherPrograms(since.census, now.census, this.#accounted(now.census)).slice(
        0,
        OTHER_PROGRAMS,
      ),
      pressure: pressure !== undefined && seconds > 0 ? pressure / seconds : undefined,
      loopDelay: { p99: since.loop.percentile(99) / 1e6, max: since.loop.max / 1e6 },
    };
  }

  #counters(): Omit<CpuMark, 'loop'> {
    const usage = process.cpuUsage();
    return {
      at: performance.now(),
      host: parseProcStat(readFileSync('/proc/stat', 'utf8')),
      engine: this.#owned ? readUsage(ENGINE_GROUP) : undefined,
      sandboxes: readUsage(join(CPUACCT, 'docker')),
      service: (usage.user + usage.system) / 1e6,
      pressure: existsSync('/proc/pressure/cpu')
        ? parsePressure(readFileSync('/proc/pressure/cpu', 'utf8'))
        : undefined,
      census: takeCensus(),
    };
  }

  /** The pids counted in a group already: the engine's, the containers' and this process. */
  #accounted(census: Census): Set<number> {
    const docker = join(CPUACCT, 'docker');
    const groups = readdirSync(docker, { withFileTypes: true }).filter((entry) => entry.isDirectory());
    const pids = pidsIn(groups.map((entry) => join(docker, entry.name, 'cgroup.procs')));
    pids.add(process.pid);
    if (this.#owned) for (const pid of pidsIn([join(ENGINE_GROUP, 'cgroup.procs')])) pids.add(pid);
    else for (const p of census.values()) if (ENGINE_COMMANDS.has(p.comm)) pids.add(p.pid);
    return pids;
  }

  /** Moves every process of the engine's group back to the group it came from and removes the group. */
  close(): void {
    if (!this.#owned) return;
    process.off('exit', releaseEngineGroup);
    releaseEngineGroup();
  }
}

/** Two lines: the host's busy share and each group's share of it; then how long work waited for a CPU. */
export function describeCpu(window: CpuWindow): [string, string] {
  const { groups, busy } = window;
  const cores = (seconds: number) => `${(seconds / window.seconds).toFixed(2)} cores`;
  const spent = groups.service + groups.sandboxes + groups.other + (groups.engine ?? 0);
  const share = (seconds: number) =>
    `${spent > 0 ? ((100 * seconds) / spent).toFixed(0) : '0'}% (${cores(seconds)})`;
  const engine =
    groups.engine === undefined
      ? 'engine not measured apart (in other)'
      : `engine ${share(groups.engine)} (dockerd, containerd, shims, runc/runsc)`;
  const largest = window.otherPrograms.map((p) => `${p.program} ×${p.processes} ${cores(p.seconds)}`);
  const pressure =
    window.pressure === undefined ? 'not available' : `${(100 * window.pressure).toFixed(0)}% of the time`;
  return [
    `cpu over ${window.seconds.toFixed(0)} s: host busy ${(100 * busy).toFixed(0)}% of ${window.cores} cores ` +
      `(${(busy * window.cores).toFixed(2)} cores), steal ${(100 * window.steal).toFixed(0)}%; of the busy CPU: ` +
      `${engine}, service ${share(groups.service)} (this process: service + bench client), ` +
      `sandboxes ${share(groups.sandboxes)} (docker cgroup), other ${share(groups.other)}` +
      ` (largest still running at the end: ${largest.join(', ') || 'none'})`,
    `cpu wait: some runnable task waited for a CPU ${pressure} (/proc/pressure/cpu); this process's ` +
      `event-loop delay p99 ${window.loopDelay.p99.toFixed(0)} ms, max ${window.loopDelay.max.toFixed(0)} ms`,
  ];
}

function releaseEngineGroup(): void {
  const containerd = [...ORIGIN].find(([pid]) => readComm(pid) === 'containerd')?.[1] ?? '/';
  for (let round = 0; round < 20 && existsSync(ENGINE_GROUP); round++) {
    const left = readFileSync(join(ENGINE_GROUP, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    if (left.length === 0) break;
    for (const pid of left.map(Number)) moveTo(join(CPUACCT, ORIGIN.get(pid) ?? containerd), pid);
  }
  ORIGIN.clear();
  try {
    rmdirSync(ENGINE_GROUP);
  } catch {
    // Absent, or a process forked into it during the last round keeps it; the next open() reuses it.
  }
  if (existsSync(ENGINE_LOCK) && Number(readFileSync(ENGINE_LOCK, 'utf8')) === process.pid)
    rmSync(ENGINE_LOCK, { force: true });
}

function readUsage(group: string): number {
  return parseCpuacctUsage(readFileSync(join(group, 'cpuacct.usage'), 'utf8'));
}

function moveTo(group: string, pid: number): void {
  try {
    writeFileSync(join(group, 'cgroup.procs'), String(pid));
  } catch {
    // The process ended meanwhile.
  }
}

function readComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
