// Warm containers of one image × runtime × limit profile, started and waiting on stdin, so a job costs a write
// instead of a create. Refilled in the background after every lease (when the job ends, or after a short delay
// for long jobs), one creation at a time; a failing creation (dockerd restarting, image gone) backs off and
// retries; a container that dies while waiting is dropped and replaced. It must never hand out a container
// twice or one whose stream has ended, and never make a job wait: an empty pool answers `undefined` at once
// and the job takes the cold path.

import type { AttachedContainer } from './attached-container.ts';

export interface PoolLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface WarmPoolOptions {
  /** What the pool holds, for logs and stats (e.g. `airlock-python:…|runc|mem=128`). */
  key: string;
  /** Containers kept waiting. */
  size: number;
  create: () => Promise<AttachedContainer>;
  /** Takes every container the pool lets go of (died, drained). */
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
}

export interface WarmPoolStats {
  key: string;
  size: number;
  ready: number;
  /** Jobs served by a warm container. */
  hits: number;
  /** Jobs that found the pool empty (cold path). */
  misses: number;
  created: number;
  /** Warm containers that ended before any job leased them. */
  died: number;
  createFailures: number;
}

export class WarmPool {
  readonly #options: WarmPoolOptions;
  readonly #ready: AttachedContainer[] = [];
  readonly #stats: Omit<WarmPoolStats, 'key' | 'size' | 'ready'> = {
    hits: 0,
    misses: 0,
    created: 0,
    died: 0,
    createFailures: 0,
  };
  #creating: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #refillTimer: NodeJS.Timeout | undefined;
  #failuresInARow = 0;
  #closed = false;
  #waiters: Array<() => void> = [];

  constructor(options: WarmPoolOptions) {
    this.#options = options;
  }

  start(): void {
    this.#fill();
  }

  /** A warm container for one job, or undefined when none is ready. */
  take(): AttachedContainer | undefined {
    let container = this.#ready.shift();
    while (container?.isEnded) {
      this.#stats.died++;
      this.#options.discard(container);
      container = this.#ready.shift();
    }
    if (container) {
      this.#stats.hits++;
      this.#failuresInARow = 0;
    } else {
      this.#stats.misses++;
    }
    if (!this.#refillTimer) {
      this.#refillTimer = setTimeout(() => this.refill(), this.#options.refillDelayMs ?? 1000);
      this.#refillTimer.unref();
    }
    return container;
  }

  /** Refills now; the sandbox calls this when the job that leased a container has ended. */
  refill(): void {
    clearTimeout(this.#refillTimer);
    this.#refillTimer = undefined;
    this.#fill();
  }

  stats(): WarmPoolStats {
    return { key: this.#options.key, size: this.#options.size, ready: this.#ready.length, ...this.#stats };
  }

  /** Resolves once the pool is full (or closed). */
  whenFull(): Promise<void> {
    if (this.#closed || this.#ready.length >= this.#options.size) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops refilling, discards every waiting container and waits for a creation in flight. */
  async drain(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#refillTimer);
    for (const container of this.#ready.splice(0)) this.#options.discard(container);
    this.#wake();
    await this.#creating;
  }

  #fill(): void {
    if (this.#closed || this.#creating || this.#retry || this.#refillTimer) return;
    if (this.#ready.length >= this.#options.size) return;
    this.#creating = this.#createOne().finally(() => {
      this.#creating = undefined;
      this.#fill();
    });
  }

  async #createOne(): Promise<void> {
    let container: AttachedContainer;
    try {
      container = await this.#options.create();
    } catch (error) {
      this.#stats.createFailures++;
      this.#options.logger?.warn(
        { pool: this.#options.key, err: error instanceof Error ? error.message : String(error) },
        'warm pool: creating a container failed',
      );
      this.#backOff();
      return;
    }
    this.#stats.created++;
    if (this.#closed) {
      this.#options.discard(container);
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
    if (!this.#closed && this.#ready.length < this.#options.size) return;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
