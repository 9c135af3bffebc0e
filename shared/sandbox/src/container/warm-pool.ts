// Warm containers of one image × runtime × limit profile, started and waiting on stdin, so a job costs a write
// instead of a create. The pool's target follows demand (pool-target.ts: the leases expected during one refill
// plus a margin for Poisson bursts, between its min and max; the lease rate follows a step within one or two
// refills: lease-rate.ts); surplus containers are retired once the pool has been idle for its idle period.
// Refills start after every lease (when the job ends, or after a short delay for long jobs), as many creations
// at once as the target lacks; a failing creation (dockerd restarting, image gone) backs off and retries; a
// container that dies while waiting is dropped and replaced. A job that finds the pool empty waits for a
// creation in flight only when that is expected sooner than a cold start, and for at most the cold estimate
// (lease-wait.ts). It must never hand out a container twice or one whose stream has ended.

import type { AttachedContainer } from './attached-container.ts';
import { DurationEstimate } from './duration-estimate.ts';
import { LeaseRate } from './lease-rate.ts';
import { leaseWait } from './lease-wait.ts';
import { poolTarget, surplus } from './pool-target.ts';

export interface PoolLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface WarmPoolOptions {
  /** What the pool holds, for logs and stats (e.g. `airlock-python:…|runc|mem=128`). */
  key: string;
  /** Containers always kept waiting (the pool's min; 0: only while there is demand). */
  size: number;
  /** Most containers kept waiting when demand is high. @default size */
  max?: number;
  create: () => Promise<AttachedContainer>;
  /** Takes every container the pool lets go of (died, retired, drained). */
  discard: (container: AttachedContainer) => void;
  logger?: PoolLogger | undefined;
  /** First retry delay after a failed creation; doubles up to maxBackoffMs. @default 250 */
  initialBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /**
   * A lease refills when its job ends (refill()) or after this delay, whichever comes first: on a small
   * machine a creation running beside the job roughly doubles the job's latency. @default 1000
   */
  refillDelayMs?: number;
  /** With no lease for this long the pool is idle: its target falls to its min and surplus is retired. @default 30000 */
  idleMs?: number;
  /** Time constant of the slow lease rate estimate (the fast one's: the refill time, lease-rate.ts). @default 10000 */
  rateWindowMs?: number;
  /** Milliseconds between idle checks; 0: none (tests call tick()). @default idleMs / 4, at most 5000 */
  tickMs?: number;
  /** The clock of every estimate and decision. @default performance.now */
  now?: () => number;
}

export interface WarmPoolStats {
  key: string;
  /** The size the pool refills to now (its target, between min and max). */
  size: number;
  min: number;
  max: number;
  ready: number;
  /** Creations in flight. */
  creating: number;
  /** Jobs served by a warm container (at once or after waiting). */
  hits: number;
  /** Jobs that took the cold path. */
  misses: number;
  /** Jobs that found the pool empty and waited for a creation in flight. */
  waits: number;
  /** Of those, the ones that got a warm container. */
  waitHits: number;
  created: number;
  /** Warm containers that ended before any job leased them. */
  died: number;
  /** Surplus containers retired after an idle period. */
  retired: number;
  createFailures: number;
  /** Leases per second (estimate). */
  leaseRate: number;
  /** Measured create+start time of a refill, ms (estimate; null before the first). */
  refillMs: number | null;
  /** Measured cold start time, ms (estimate; null before the first). */
  coldMs: number | null;
  /** Measured removal time of this pool's containers, ms (estimate; null before the first). */
  teardownMs: number | null;
}

type Counts = Pick<
  WarmPoolStats,
  'hits' | 'misses' | 'waits' | 'waitHits' | 'created' | 'died' | 'retired' | 'createFailures'
>;

interface Waiter {
  resolve: (container: AttachedContainer | undefined) => void;
}

export class WarmPool {
  readonly #options: WarmPoolOptions;
  readonly #now: () => number;
  readonly #ready: AttachedContainer[] = [];
  readonly #stats: Counts = {
    hits: 0,
    misses: 0,
    waits: 0,
    waitHits: 0,
    created: 0,
    died: 0,
    retired: 0,
    createFailures: 0,
  };
  /** Creations in flight, each with when it began. */
  readonly #creating = new Map<Promise<void>, number>();
  readonly #waiters: Waiter[] = [];
  readonly #rate: LeaseRate;
  readonly #refill = new DurationEstimate();
  readonly #cold = new DurationEstimate();
  readonly #teardown = new DurationEstimate();
  #lastLease: number;
  #retry: NodeJS.Timeout | undefined;
  #refillTimer: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #failuresInARow = 0;
  #closed = false;
  #fullWaiters: Array<() => void> = [];

  constructor(options: WarmPoolOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#rate = new LeaseRate(options.rateWindowMs ?? 10_000, () => this.#refillMs(), this.#now);
    this.#lastLease = this.#now();
  }

  start(): void {
    const tickMs = this.#options.tickMs ?? Math.min(5000, this.#idleMs / 4);
    if (tickMs > 0) {
      this.#ticker = setInterval(() => this.tick(), tickMs);
      this.#ticker.unref();
    }
    this.#fill();
  }

  get #idleMs(): number {
    return this.#options.idleMs ?? 30_000;
  }

  get #idle(): boolean {
    return this.#now() - this.#lastLease >= this.#idleMs;
  }

  /** The size the pool refills to now. */
  target(): number {
    return poolTarget({
      ratePerSecond: this.#rate.perSecond(),
      refillMs: this.#refillMs(),
      min: this.#options.size,
      max: this.#options.max ?? this.#options.size,
      idle: this.#idle,
    });
  }

  /** A pool that has not refilled yet (one made on demand) sizes itself by the cold starts it saw. */
  #refillMs(): number | undefined {
    return this.#refill.ms ?? this.#cold.ms;
  }

  /** A warm container for one job, or undefined (a miss) when none is ready: never waits. */
  take(): AttachedContainer | undefined {
    const container = this.#lease();
    if (container) this.#stats.hits++;
    else this.#stats.misses++;
    this.#fill();
    return container;
  }

  /**
   * A warm container for one job; when none is ready, waits for one being created if that is expected sooner
   * than a cold start (and at most the cold estimate, or until `signal` aborts); undefined: take the cold path.
   */
  async lease(signal?: AbortSignal): Promise<AttachedContainer | undefined> {
    const ready = this.#lease();
    const waitMs =
      ready || this.#closed
        ? undefined
        : leaseWait({
            now: this.#now(),
            creationsStartedAt: [...this.#creating.values()],
            waiting: this.#waiters.length,
            refillMs: this.#refill.ms,
            coldMs: this.#cold.ms,
          });
    this.#fill();
    if (ready || waitMs === undefined || signal?.aborted) {
      if (ready) this.#stats.hits++;
      else this.#stats.misses++;
      return ready;
    }
    this.#stats.waits++;
    const container = await new Promise<AttachedContainer | undefined>((resolve) => {
      const waiter: Waiter = {
        resolve: (c) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', giveUp);
          resolve(c);
        },
      };
      const giveUp = () => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
        waiter.resolve(undefined);
      };
      const timer = setTimeout(giveUp, waitMs);
      signal?.addEventListener('abort', giveUp, { once: true });
      this.#waiters.push(waiter);
    });
    if (container) {
      this.#stats.hits++;
      this.#stats.waitHits++;
    } else {
      this.#stats.misses++;
    }
    return container;
  }

  /** Refills now; the sandbox calls this when the job that leased a container has ended. */
  refill(): void {
    clearTimeout(this.#refillTimer);
    this.#refillTimer = undefined;
    this.#fill();
  }

  /** Measures a cold start of this pool's profile (the sandbox's, for the wait decision). */
  observeCold(ms: number): void {
    this.#cold.record(ms);
  }

  /** Measures a removal of one of this pool's containers. */
  observeTeardown(ms: number): void {
    this.#teardown.record(ms);
  }

  /** Retires surplus once idle and refills to the target; the pool's timer calls it, tests call it directly. */
  tick(): void {
    if (this.#closed) return;
    const retire = surplus(this.#ready.length, this.target(), this.#idle);
    for (const container of this.#ready.splice(0, retire)) {
      this.#stats.retired++;
      this.#options.discard(container);
    }
    if (retire > 0)
      this.#options.logger?.debug(
        { pool: this.#options.key, retired: retire },
        'warm pool: idle, retired surplus',
      );
    this.#fill();
    this.#wake();
  }

  stats(): WarmPoolStats {
    return {
      key: this.#options.key,
      size: this.target(),
      min: this.#options.size,
      max: Math.max(this.#options.size, this.#options.max ?? this.#options.size),
      ready: this.#ready.length,
      creating: this.#creating.size,
      ...this.#stats,
      leaseRate: this.#rate.perSecond(),
      refillMs: this.#refill.ms ?? null,
      coldMs: this.#cold.ms ?? null,
      teardownMs: this.#teardown.ms ?? null,
    };
  }

  /** Resolves once the pool holds its target (or is closed). */
  whenFull(): Promise<void> {
    if (this.#closed || this.#ready.length >= this.target()) return Promise.resolve();
    return new Promise((resolve) => this.#fullWaiters.push(resolve));
  }

  /** Stops refilling, discards every waiting container and waits for the creations in flight. */
  async drain(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#refillTimer);
    clearInterval(this.#ticker);
    for (const container of this.#ready.splice(0)) this.#options.discard(container);
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined);
    this.#wake();
    await Promise.all([...this.#creating.keys()]);
  }

  /** The first ready container still alive, counted as a lease (no hit or miss: the caller counts those). */
  #lease(): AttachedContainer | undefined {
    this.#rate.record();
    this.#lastLease = this.#now();
    let container = this.#ready.shift();
    while (container?.isEnded) {
      this.#stats.died++;
      this.#options.discard(container);
      container = this.#ready.shift();
    }
    if (container) this.#failuresInARow = 0;
    if (!this.#refillTimer && !this.#closed) {
      this.#refillTimer = setTimeout(() => this.refill(), this.#options.refillDelayMs ?? 1000);
      this.#refillTimer.unref();
    }
    return container;
  }

  #fill(): void {
    if (this.#closed || this.#retry) return;
    // While a leasing job runs, refills wait for it (refillDelayMs), unless a job is waiting for a container.
    if (this.#refillTimer && this.#waiters.length === 0) return;
    const lacking = this.target() + this.#waiters.length - this.#ready.length - this.#creating.size;
    for (let i = 0; i < lacking; i++) {
      const creation: Promise<void> = this.#createOne().finally(() => {
        this.#creating.delete(creation);
        this.#fill();
      });
      this.#creating.set(creation, this.#now());
    }
  }

  async #createOne(): Promise<void> {
    const began = this.#now();
    let container: AttachedContainer;
    try {
      container = await this.#options.create();
    } catch (error) {
      this.#stats.createFailures++;
      this.#options.logger?.warn(
        { pool: this.#options.key, err: error instanceof Error ? error.message : String(error) },
        'warm pool: creating a container failed',
      );
      // The job waiting for this creation goes cold now rather than at its deadline.
      this.#waiters.shift()?.resolve(undefined);
      this.#backOff();
      return;
    }
    this.#stats.created++;
    this.#refill.record(this.#now() - began);
    if (this.#closed) {
      this.#options.discard(container);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter && container.isEnded) {
      this.#stats.died++;
      this.#options.discard(container);
      waiter.resolve(undefined);
      return;
    }
    if (waiter) {
      this.#failuresInARow = 0;
      waiter.resolve(container);
      return;
    }
    this.#ready.push(container);
    container.ended.then(() => this.#dropIfWaiting(container));
    this.#wake();
  }

  #dropIfWaiting(container: AttachedContainer): void {
    const at = this.#ready.indexOf(container);
    if (at < 0) return;
    this.#ready.splice(at, 1);
    this.#stats.died++;
    this.#options.logger?.debug(
      { pool: this.#options.key, container: container.id },
      'warm pool: container died',
    );
    this.#options.discard(container);
    // Containers that die unleased (dockerd restarting, a broken image) are replaced with the same back-off.
    this.#backOff();
  }

  /** Refills after a delay that doubles with every failure since the last lease. */
  #backOff(): void {
    this.#failuresInARow++;
    if (this.#closed || this.#retry) return;
    const initial = this.#options.initialBackoffMs ?? 250;
    const delay = Math.min(this.#options.maxBackoffMs ?? 30_000, initial * 2 ** (this.#failuresInARow - 1));
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#fill();
    }, delay);
    this.#retry.unref();
  }

  #wake(): void {
    if (!this.#closed && this.#ready.length < this.target()) return;
    for (const resolve of this.#fullWaiters.splice(0)) resolve();
  }
}
