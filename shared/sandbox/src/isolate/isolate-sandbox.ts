// The `isolate` backend: runs JavaScript and TypeScript jobs, each in a fresh isolated-vm isolate inside one of
// a pool of supervised host processes, each host under a memory cap set for the job it runs. run() never
// throws for anything the guest does; every guest fault, limit, cancel or host crash comes back as an
// ExecutionResult. Must never run a job in the parent process.

import { AirlockError, type ExecutionResult, emptyResult, type Language } from '@airlock/protocol';
import type { RuntimeInfo, Sandbox, SandboxJob, SandboxRunOptions } from '../sandbox.ts';
import { type MemoryCgroups, openMemoryCgroups } from './host-cgroup.ts';
import { MIN_MEMORY_MB } from './host-messages.ts';
import { type HostEvent, HostPool, type SandboxLogger } from './host-pool.ts';
import { type HostRun, runOnHost } from './host-run.ts';

export interface IsolateSandboxOptions {
  /** Number of isolate host processes, each running one job at a time. @default 2 */
  hosts?: number;
  /**
   * A host is handed over to a fresh process after about this many jobs (each host's own budget is drawn up to
   * a quarter below it, so hosts do not all recycle at once; the fresh one is started before the old one
   * stops). @default 2000
   */
  maxJobsPerHost?: number;
  /** Sees what happens to the host processes (ready, leased, succession, retiring, exited). */
  onHostEvent?: (event: HostEvent) => void;
  /** Draws each host's budget jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Receives host crashes and restarts; pino-compatible. @default no logging */
  logger?: SandboxLogger;
  /** How long a host may overrun a deadline or a cancel before it is killed. @default 2000 */
  killGraceMs?: number;
  /** How long start() waits for the hosts to become ready. @default 30000 */
  readyTimeoutMs?: number;
  /**
   * The memory limit (MB) most jobs run with (the service's default `memory_mb`). Each host keeps a brand-new
   * isolate of this size prepared while it is idle; a job with another limit gets one built on demand.
   * @default 128
   */
  defaultMemoryMb?: number;
  /**
   * The cgroup v1 memory group under which each host gets its own group, capped for the job it runs; null
   * turns that off. Where it cannot be used the hosts run without one (a warning says why) and only the
   * parent's watchdog on their resident memory holds them to their cap.
   * @default /sys/fs/cgroup/memory/airlock
   */
  memoryCgroup?: string | null;
}

const LANGUAGES: readonly Language[] = ['javascript', 'typescript'];

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1) {
    throw new TypeError(
      `IsolateSandbox option ${name} must be a positive integer, got ${String(chosen)} (${typeof chosen})`,
    );
  }
  return chosen;
}

export class IsolateSandbox implements Sandbox {
  readonly backend = 'isolate' as const;
  readonly languages = LANGUAGES;
  readonly #pool: HostPool;
  readonly #cgroups: MemoryCgroups | null;
  readonly #killGraceMs: number;
  readonly #active = new Set<HostRun>();
  #started: Promise<void> | null = null;
  #closed = false;
  #dispatches = 0;

  constructor(options: IsolateSandboxOptions = {}) {
    this.#killGraceMs = positiveInt('killGraceMs', options.killGraceMs, 2000);
    this.#cgroups = openMemoryCgroups(options.memoryCgroup, options.logger, 'isolate hosts');
    this.#pool = new HostPool({
      size: positiveInt('hosts', options.hosts, 2),
      maxJobsPerHost: positiveInt('maxJobsPerHost', options.maxJobsPerHost, 2000),
      warmMemoryMb: Math.max(MIN_MEMORY_MB, positiveInt('defaultMemoryMb', options.defaultMemoryMb, 128)),
      logger: options.logger,
      readyTimeoutMs: positiveInt('readyTimeoutMs', options.readyTimeoutMs, 30_000),
      shutdownGraceMs: this.#killGraceMs,
      cgroups: this.#cgroups,
      onHostEvent: options.onHostEvent,
      random: options.random,
    });
  }

  /** Spawns the host processes and waits until they are ready. Idempotent; run() calls it too. */
  start(): Promise<void> {
    if (this.#closed)
      return Promise.reject(new AirlockError('shutting_down', 'the isolate sandbox is closed'));
    this.#started ??= this.#pool.start();
    return this.#started;
  }

  runtimes(): RuntimeInfo[] {
    const version = `v8 ${process.versions.v8}`;
    return LANGUAGES.map((language) => ({ language, backend: 'isolate', version, available: true }));
  }

  /** Process ids of the live isolate hosts. */
  hostPids(): number[] {
    return this.#pool.pids();
  }

  /** Where the hosts' memory cgroups are made, or null when they run without (see memoryCgroup). */
  get memoryCgroup(): string | null {
    return this.#cgroups?.path ?? null;
  }

  /** The memory cap of a live host (its cgroup directory and the resident bytes it is held to), for checks. */
  hostMemoryCap(pid: number): { cgroup: string | null; capBytes: number } | undefined {
    const host = this.#pool.host(pid);
    return host && { cgroup: host.memory.cgroupPath, capBytes: host.memory.capBytes };
  }

  async run(job: SandboxJob, options: SandboxRunOptions): Promise<ExecutionResult> {
    if (this.#closed) throw new AirlockError('shutting_down', 'the isolate sandbox is closed');
    if (!LANGUAGES.includes(job.language)) {
      throw new AirlockError('backend_unavailable', `the isolate backend cannot run ${job.language}`);
    }
    await this.start();
    const host = await this.#pool.acquire(options.signal);
    if (host === null) {
      const reason = this.#closed
        ? 'the isolate sandbox was closed'
        : 'canceled by the caller before it started';
      return emptyResult('canceled', reason);
    }
    this.#dispatches += 1;
    host.memory.set(Math.max(MIN_MEMORY_MB, job.limits.memory_mb));
    const run = runOnHost(host, `${job.executionId}#${this.#dispatches}`, job, options, {
      killGraceMs: this.#killGraceMs,
    });
    this.#active.add(run);
    let outOfMemory = false;
    try {
      const result = await run.result;
      outOfMemory = result.outcome === 'memory_limit';
      return result;
    } finally {
      this.#active.delete(run);
      this.#pool.release(host, outOfMemory);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const run of this.#active)
      run.end({ outcome: 'canceled', reason: 'the isolate sandbox was closed' });
    await this.#pool.close();
    await this.#started?.catch(() => {});
  }
}
