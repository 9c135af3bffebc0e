// Removes used and broken sandbox containers off the critical path of jobs, and remembers every removal in
// flight so shutdown can wait for them. A removal that fails (dockerd restarting) is retried with back-off
// until shutdown, which makes one last attempt. It must never throw (a removal that still fails is logged; the
// start-up reaper catches what is left), and never hang shutdown on a dockerd that does not answer.

import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { withDeadline } from './attached-container.ts';

export interface RemovalLogger {
  warn(obj: object, msg: string): void;
}

export interface ContainerRemovalsOptions {
  /** Deadline of one remove call. */
  timeoutMs: number;
  logger?: RemovalLogger | undefined;
  /** Delays between attempts; the last one gives up. @default [500, 1000, 2000, 4000, 8000, 16000] */
  retryDelaysMs?: readonly number[];
}

export class ContainerRemovals {
  readonly #inFlight = new Set<Promise<void>>();
  readonly #options: ContainerRemovalsOptions;
  /** Aborted by settled(): waiting retries stop waiting and make their last attempt. */
  readonly #finalAttempt = new AbortController();

  constructor(options: ContainerRemovalsOptions) {
    this.#options = options;
  }

  /** Force-removes the container (killing it if it still runs). */
  remove(container: Dockerode.Container): void {
    const removal = this.#removeWithRetries(container).finally(() => this.#inFlight.delete(removal));
    this.#inFlight.add(removal);
  }

  get pending(): number {
    return this.#inFlight.size;
  }

  /** Resolves when every removal started so far has finished or given up (retries are cut short). */
  async settled(): Promise<void> {
    this.#finalAttempt.abort();
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #removeWithRetries(container: Dockerode.Container): Promise<void> {
    const delays = this.#options.retryDelaysMs ?? [500, 1000, 2000, 4000, 8000, 16000];
    for (let attempt = 0; ; attempt++) {
      try {
        await withDeadline(container.remove({ force: true, v: true }), this.#options.timeoutMs, 'remove');
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // Gone already, or another removal of it is under way.
        if (/no such container|404|already in progress/i.test(message)) return;
        // Connection errors while dockerd restarts, and a dockerd too busy to answer, are worth a retry.
        const delay = delays[attempt];
        if (delay === undefined || this.#finalAttempt.signal.aborted) {
          this.#options.logger?.warn(
            { container: container.id, err: message },
            'removing a sandbox container failed',
          );
          return;
        }
        await sleep(delay, undefined, { signal: this.#finalAttempt.signal }).catch(() => {});
      }
    }
  }
}
