// A warm pool of isolate host processes: a fixed number of children, each leased to one job at a time, a FIFO
// of jobs waiting for a free host, recycling after a number of jobs or a job that left the host holding much
// more memory than it started with, and a replacement for every host that dies. Must never hand a dead or busy
// host to a job, and never leave a child running after close().

import type { MemoryCgroups } from './host-cgroup.ts';
import { IsolateHost } from './isolate-host.ts';

export interface SandboxLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface HostPoolOptions {
  size: number;
  maxJobsPerHost: number;
  /** The memory limit (MB) each host keeps a prepared isolate ready for. */
  warmMemoryMb: number;
  logger: SandboxLogger | undefined;
  /** How long a host may take to become ready at start-up. */
  readyTimeoutMs: number;
  /** How long an idle host may take to exit on close before it is killed. */
  shutdownGraceMs: number;
  /** Where each host gets its own memory cgroup (null: none). */
  cgroups: MemoryCgroups | null;
}

const MAX_RESPAWN_DELAY_MS = 30_000;
/**
 * A host still holding this much more than when it was ready once a job is over is replaced: V8 keeps some
 * memory of a disposed isolate (Intl objects, malloc arenas), and a fresh process gives it all back.
 */
const RETIRE_GROWTH_BYTES = 128 * 1024 * 1024;

interface Waiter {
  resolve(host: IsolateHost | null): void;
}

export class HostPool {
  readonly #options: HostPoolOptions;
  readonly #hosts = new Set<IsolateHost>();
  readonly #retiring = new Set<IsolateHost>();
  #idle: IsolateHost[] = [];
  #waiters: Waiter[] = [];
  #closed = false;
  #failedStarts = 0;
  readonly #respawnTimers = new Set<NodeJS.Timeout>();

  constructor(options: HostPoolOptions) {
    this.#options = options;
  }

  /** Starts the hosts and waits until every one is ready; rejects (after cleaning up) if one is not. */
  async start(): Promise<void> {
    const started: IsolateHost[] = [];
    for (let i = this.#hosts.size; i < this.#options.size; i += 1) started.push(this.#spawn());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`isolate hosts were not ready within ${this.#options.readyTimeoutMs} ms`)),
        this.#options.readyTimeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(started.map((host) => host.ready)), timeout]);
    } catch (error) {
      await this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The live host with process id `pid`, if it belongs to this pool. */
  host(pid: number): IsolateHost | undefined {
    return [...this.#hosts].find((host) => host.pid === pid && host.alive);
  }

  pids(): number[] {
    return [...this.#hosts].filter((host) => host.alive && !this.#retiring.has(host)).map((host) => host.pid);
  }

  /** Waits for a free host; null when the signal aborts first or the pool closes. */
  acquire(signal: AbortSignal): Promise<IsolateHost | null> {
    if (this.#closed || signal.aborted) return Promise.resolve(null);
    const host = this.#takeIdle();
    if (host !== null) return Promise.resolve(host);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve: (leased) => {
          signal.removeEventListener('abort', onAbort);
          resolve(leased);
        },
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        waiter.resolve(null);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Returns a host after its job. A host that has served its quota, whose job ran out of memory, or that holds
   * much more than it started with is replaced by a fresh one.
   */
  release(host: IsolateHost, outOfMemory = false): void {
    if (!host.alive || !this.#hosts.has(host)) return;
    if (this.#closed) {
      void host.shutdown(this.#options.shutdownGraceMs);
      return;
    }
    const spent = host.jobsRun >= this.#options.maxJobsPerHost;
    if (spent || outOfMemory || host.residentGrowth() > RETIRE_GROWTH_BYTES) {
      this.#retiring.add(host);
      void host.shutdown(this.#options.shutdownGraceMs);
      this.#respawn();
      return;
    }
    this.#offer(host);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#respawnTimers) clearTimeout(timer);
    this.#respawnTimers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(null);
    this.#idle = [];
    const hosts = [...this.#hosts];
    await Promise.all(hosts.map((host) => host.shutdown(this.#options.shutdownGraceMs)));
  }

  #takeIdle(): IsolateHost | null {
    while (this.#idle.length > 0) {
      const host = this.#idle.shift();
      if (host?.alive) return host;
    }
    return null;
  }

  #offer(host: IsolateHost): void {
    if (this.#closed || !host.alive) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(host);
    else this.#idle.push(host);
  }

  #spawn(): IsolateHost {
    const host = new IsolateHost(this.#options.warmMemoryMb, { cgroups: this.#options.cgroups });
    let becameReady = false;
    this.#hosts.add(host);
    host.ready.then(
      () => {
        becameReady = true;
        this.#failedStarts = 0;
        this.#offer(host);
      },
      () => {},
    );
    void host.exited.then((exit) => {
      this.#hosts.delete(host);
      this.#idle = this.#idle.filter((h) => h !== host);
      if (exit.cgroupLeft !== null) {
        this.#options.logger?.warn({ cgroup: exit.cgroupLeft }, 'could not remove an isolate host cgroup');
      }
      if (this.#retiring.delete(host) || this.#closed) return;
      const details = { pid: host.pid, exit, stderr: host.stderrTail.slice(-1024) };
      if (becameReady) {
        this.#options.logger?.warn(details, 'isolate host exited; starting a replacement');
      } else {
        this.#failedStarts += 1;
        this.#options.logger?.error(details, 'isolate host died before it was ready; retrying with back-off');
      }
      this.#respawn();
    });
    return host;
  }

  #respawn(): void {
    // A host that dies before it is ready points to a broken installation: back off instead of looping.
    const delay =
      this.#failedStarts === 0 ? 0 : Math.min(MAX_RESPAWN_DELAY_MS, 250 * 2 ** this.#failedStarts);
    const timer = setTimeout(() => {
      this.#respawnTimers.delete(timer);
      if (this.#closed) return;
      try {
        this.#spawn();
      } catch (error) {
        this.#failedStarts += 1;
        this.#options.logger?.error(
          { err: error },
          'could not start an isolate host; retrying with back-off',
        );
        this.#respawn();
      }
    }, delay);
    this.#respawnTimers.add(timer);
  }
}
