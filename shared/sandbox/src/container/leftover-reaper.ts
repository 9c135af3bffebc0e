// Sweeps the containers of Airlock services that are gone (reaper.ts), at start-up and then periodically while
// this service runs: a service killed with SIGKILL leaves its containers (stopped by their runners' own deadline,
// but not removed), and no other service may start for a long time to clean them up.
// It must never remove a container whose owner is alive (reapLeftovers' rule), never let two sweeps overlap, and
// never throw from its timer or keep the process alive: a failed periodic sweep is logged and the next one tries
// again (only the start-up sweep's failure reaches the caller).

import type Dockerode from 'dockerode';
import { reapLeftovers } from './reaper.ts';

export interface LeftoverReaperLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LeftoverReaperOptions {
  docker: Dockerode;
  /** Time between sweeps after the first; 0: sweep at start-up only. @default 60000 */
  intervalMs?: number;
  /** Further `key=value` labels a container must carry to be swept (narrows the sweep, e.g. in tests). */
  labels?: string[];
  logger?: LeftoverReaperLogger;
}

export class LeftoverReaper {
  readonly #options: LeftoverReaperOptions;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #closed = false;
  #sweeps = 0;
  #removed = 0;

  constructor(options: LeftoverReaperOptions) {
    this.#options = options;
  }

  /** Sweeps finished, successful or not (at start-up and periodically). */
  get sweeps(): number {
    return this.#sweeps;
  }

  /** Containers removed by all sweeps. */
  get removed(): number {
    return this.#removed;
  }

  /** The start-up sweep (awaited: it must finish before any pool starts; rejects if it fails), then one every
   * intervalMs. */
  async start(): Promise<number> {
    const removed = await this.#reap();
    const interval = this.#options.intervalMs ?? 60_000;
    if (interval > 0 && !this.#closed) {
      this.#timer = setInterval(() => {
        if (!this.#sweeping) this.#sweeping = this.#periodicSweep();
      }, interval);
      this.#timer.unref();
    }
    return removed;
  }

  /** Stops sweeping; waits for a sweep in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#sweeping;
  }

  async #periodicSweep(): Promise<void> {
    try {
      await this.#reap();
    } catch (error) {
      this.#options.logger?.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'sweeping leftover sandbox containers failed',
      );
    } finally {
      this.#sweeping = undefined;
    }
  }

  async #reap(): Promise<number> {
    try {
      const removed = await reapLeftovers(this.#options.docker, { labels: this.#options.labels ?? [] });
      this.#removed += removed;
      if (removed > 0) this.#options.logger?.warn({ removed }, 'removed leftover sandbox containers');
      return removed;
    } finally {
      this.#sweeps++;
    }
  }
}
