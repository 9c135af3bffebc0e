// A warm pool of isolate host processes: a fixed number of children, each leased to one job at a time, a FIFO
// of jobs waiting for a free host, and a replacement for every host that dies. A host is handed over to a
// successor once it nears its job budget (see host-budget.ts): the successor is started first and the old host
// keeps serving until the successor is ready, and only one host is handed over at a time, so recycling never
// leaves fewer ready hosts than the pool's size. A job that ran out of memory, or that left its host holding
// much more than it started with, retires that host at once. Must never hand a dead, busy or retiring host to a
// job, and never leave a child running after close().

import { type HostBudget, hostBudget } from './host-budget.ts';
import type { MemoryCgroups } from './host-cgroup.ts';
import { IsolateHost } from './isolate-host.ts';

export interface SandboxLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What happens to the pool's hosts, for observers (tests, metrics); `pid` is the host's process id. */
export type HostEvent =
  | { type: 'ready'; pid: number }
  | { type: 'leased'; pid: number }
  /** The host `successor` was started for the host `pid`, which had run `jobsRun` of its budget of `budget`. */
  | { type: 'succession'; pid: number; successor: number; jobsRun: number; budget: number }
  /** The host takes no more jobs and is shut down once its current job (if any) is over. */
  | { type: 'retiring'; pid: number }
  | { type: 'exited'; pid: number };

export interface HostPoolOptions {
  size: number;
  /** Jobs a host runs before it is handed over to a fresh process (each host gets a jittered share). */
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
  /** Sees every host event. */
  onHostEvent?: ((event: HostEvent) => void) | undefined;
  /** Draws each host's budget jitter, in [0, 1). @default Math.random */
  random?: (() => number) | undefined;
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

/** One host being handed over: its successor is starting, or it waits for its current job to end. */
interface Handover {
  predecessor: IsolateHost;
  /** Null once the successor is ready (it is then an ordinary member of the pool). */
  successor: IsolateHost | null;
}

export class HostPool {
  readonly #options: HostPoolOptions;
  readonly #hosts = new Set<IsolateHost>();
  readonly #retiring = new Set<IsolateHost>();
  readonly #budgets = new WeakMap<IsolateHost, HostBudget>();
  #handover: Handover | null = null;
  #idle: IsolateHost[] = [];
  #waiters: Waiter[] = [];
  #closed = false;
  #failedStarts = 0;
  /** No successor is started before this time (performance.now()) after one failed to start. */
  #successorNotBefore = 0;
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

  /** Process ids of the live hosts that serve (or will serve) jobs: not retiring, not a successor still starting. */
  pids(): number[] {
    const starting = this.#handover?.successor;
    return [...this.#hosts]
      .filter((host) => host.alive && !this.#retiring.has(host) && host !== starting)
      .map((host) => host.pid);
  }

  /** Waits for a free host; null when the signal aborts first or the pool closes. */
  acquire(signal: AbortSignal): Promise<IsolateHost | null> {
    if (this.#closed || signal.aborted) return Promise.resolve(null);
    const host = this.#takeIdle();
    if (host !== null) return Promise.resolve(this.#lease(host));
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
   * Returns a host after its job. A host whose job ran out of memory or that holds much more than it started
   * with is replaced at once; one whose successor is ready retires; one near its budget gets a successor.
   */
  release(host: IsolateHost, outOfMemory = false): void {
    if (!host.alive || !this.#hosts.has(host)) return;
    if (this.#closed) {
      void host.shutdown(this.#options.shutdownGraceMs);
      return;
    }
    if (this.#retiring.has(host)) {
      void host.shutdown(this.#options.shutdownGraceMs);
      return;
    }
    if (outOfMemory || host.residentGrowth() > RETIRE_GROWTH_BYTES) {
      this.#retire(host);
      void host.shutdown(this.#options.shutdownGraceMs);
      // The successor of a host being handed over takes its place; any other host needs a replacement.
      if (this.#handover?.predecessor !== host) this.#respawn();
      return;
    }
    this.#startSuccessionIfDue(host);
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

  #lease(host: IsolateHost): IsolateHost {
    this.#options.onHostEvent?.({ type: 'leased', pid: host.pid });
    return host;
  }

  #takeIdle(): IsolateHost | null {
    while (this.#idle.length > 0) {
      const host = this.#idle.shift();
      if (host?.alive && !this.#retiring.has(host)) return host;
    }
    return null;
  }

  #offer(host: IsolateHost): void {
    if (this.#closed || !host.alive || this.#retiring.has(host)) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(this.#lease(host));
    else this.#idle.push(host);
  }

  /** Takes `host` out of service; it is shut down now if idle, else when its job is released. */
  #retire(host: IsolateHost): void {
    if (this.#retiring.has(host)) return;
    this.#retiring.add(host);
    this.#options.onHostEvent?.({ type: 'retiring', pid: host.pid });
    const idleAt = this.#idle.indexOf(host);
    if (idleAt === -1) return;
    this.#idle.splice(idleAt, 1);
    void host.shutdown(this.#options.shutdownGraceMs);
  }

  /** Starts a successor for `host` when it is near its budget and no other host is being handed over. */
  #startSuccessionIfDue(host: IsolateHost): void {
    if (this.#handover !== null || this.#closed || !host.alive || this.#retiring.has(host)) return;
    const budget = this.#budgets.get(host);
    if (budget === undefined || host.jobsRun < budget.successorAt) return;
    if (performance.now() < this.#successorNotBefore) return;
    let successor: IsolateHost;
    try {
      successor = this.#spawn();
    } catch (error) {
      this.#startFailed(error);
      return;
    }
    this.#handover = { predecessor: host, successor };
    this.#options.onHostEvent?.({
      type: 'succession',
      pid: host.pid,
      successor: successor.pid,
      jobsRun: host.jobsRun,
      budget: budget.jobs,
    });
  }

  /** After a host is gone: the next idle host due for a successor gets one (busy ones are looked at on release). */
  #startNextSuccession(): void {
    for (const host of this.#idle) {
      this.#startSuccessionIfDue(host);
      if (this.#handover !== null) return;
    }
  }

  #startFailed(error: unknown): void {
    this.#failedStarts += 1;
    this.#successorNotBefore = performance.now() + this.#backoffMs();
    this.#options.logger?.error({ err: error }, 'could not start an isolate host; retrying with back-off');
  }

  #backoffMs(): number {
    return this.#failedStarts === 0 ? 0 : Math.min(MAX_RESPAWN_DELAY_MS, 250 * 2 ** this.#failedStarts);
  }

  #spawn(): IsolateHost {
    const host = new IsolateHost(this.#options.warmMemoryMb, { cgroups: this.#options.cgroups });
    let becameReady = false;
    this.#hosts.add(host);
    this.#budgets.set(host, hostBudget(this.#options.maxJobsPerHost, this.#options.random ?? Math.random));
    host.ready.then(
      () => {
        becameReady = true;
        this.#failedStarts = 0;
        this.#options.onHostEvent?.({ type: 'ready', pid: host.pid });
        const handover = this.#handover;
        if (handover?.successor === host) {
          // The successor serves first, then its predecessor leaves: never fewer ready hosts than the size.
          handover.successor = null;
          this.#offer(host);
          if (handover.predecessor.alive) this.#retire(handover.predecessor);
          else this.#handoverDone();
          return;
        }
        this.#offer(host);
      },
      () => {},
    );
    void host.exited.then((exit) => {
      this.#hosts.delete(host);
      this.#idle = this.#idle.filter((h) => h !== host);
      this.#options.onHostEvent?.({ type: 'exited', pid: host.pid });
      if (exit.cgroupLeft !== null) {
        this.#options.logger?.warn({ cgroup: exit.cgroupLeft }, 'could not remove an isolate host cgroup');
      }
      const wasRetiring = this.#retiring.delete(host);
      if (this.#closed) return;
      const handover = this.#handover;
      const details = { pid: host.pid, exit, stderr: host.stderrTail.slice(-1024) };
      if (handover?.successor === host) {
        // The predecessor keeps serving (a later release tries again after the back-off); if it is already
        // gone or going, the pool needs a replacement instead.
        this.#handover = null;
        if (!handover.predecessor.alive || this.#retiring.has(handover.predecessor)) this.#respawn();
        this.#startFailed(new Error('the successor of an isolate host died before it was ready'));
        this.#options.logger?.error(details, 'isolate host died before it was ready; retrying with back-off');
        return;
      }
      if (handover?.predecessor === host) {
        if (!wasRetiring)
          this.#options.logger?.warn(details, 'isolate host exited; its successor takes over');
        // Its successor, still starting, takes its place; once ready the handover is done.
        if (handover.successor === null) this.#handoverDone();
        return;
      }
      if (wasRetiring) return;
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

  #handoverDone(): void {
    this.#handover = null;
    this.#startNextSuccession();
  }

  #respawn(): void {
    // A host that dies before it is ready points to a broken installation: back off instead of looping.
    const timer = setTimeout(() => {
      this.#respawnTimers.delete(timer);
      if (this.#closed) return;
      try {
        this.#spawn();
      } catch (error) {
        this.#startFailed(error);
        this.#respawn();
      }
    }, this.#backoffMs());
    this.#respawnTimers.add(timer);
  }
}
