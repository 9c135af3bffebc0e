// Removes used and broken sandbox containers off the critical path of jobs, and remembers every removal in
// flight so shutdown can wait for them. Removals run at most `concurrency` at once and at the lowest priority of
// the Docker limiter, so creations for jobs and refills go first. A removal that fails (dockerd restarting) is retried with back-off
// until shutdown, which makes one last attempt. It must never throw (a removal that still fails is logged; the
// start-up reaper catches what is left), and never hang shutdown on a dockerd that does not answer.

import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import PQueue from 'p-queue';
import { withDeadline } from './attached-container.ts';
import { DOCKER_PRIORITY, type DockerLimiter } from './docker-limiter.ts';

export interface RemovalLogger {
  warn(obj: object, msg: string): void;
}

export interface ContainerRemovalsOptions {
  /** Deadline of one remove call. */
  timeoutMs: number;
  logger?: RemovalLogger | undefined;
  /** Delays between attempts; the last one gives up. @default [500, 1000, 2000, 4000, 8000, 16000] */
  retryDelaysMs?: readonly number[];
  /** Removal calls at once (their retries wait outside). @default 2 */
  concurrency?: number;
  /** The sandbox's gate for Docker calls; removals take its lowest priority. @default none */
  limiter?: DockerLimiter | undefined;
}

/** Told how long a container's successful remove call took, in ms. */
export type OnRemoved = (ms: number) => void;

export class ContainerRemovals {
  readonly #inFlight = new Set<Promise<void>>();
  readonly #options: ContainerRemovalsOptions;
  /** Aborted by settled(): waiting retries stop waiting and make their last attempt. */
  readonly #finalAttempt = new AbortController();
  readonly #queue: PQueue;

  constructor(options: ContainerRemovalsOptions) {
    this.#options = options;
    this.#queue = new PQueue({ concurrency: options.concurrency ?? 2 });
  }

  /** Force-removes the container (killing it if it still runs). */
  remove(container: Dockerode.Container, onRemoved?: OnRemoved): void {
    const removal = this.#removeWithRetries(container, onRemoved).finally(() =>
      this.#inFlight.delete(removal),
    );
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

  /** One remove call, in its turn. */
  #removeOnce(container: Dockerode.Container, onRemoved?: OnRemoved): Promise<void> {
    const call = async () => {
      const began = performance.now();
      await withDeadline(container.remove({ force: true, v: true }), this.#options.timeoutMs, 'remove');
      onRemoved?.(performance.now() - began);
    };
    const limiter = this.#options.limiter;
    return this.#queue.add(() => (limiter ? limiter.run(DOCKER_PRIORITY.removal, call) : call()));
  }

  async #removeWithRetries(container: Dockerode.Container, onRemoved?: OnRemoved): Promise<void> {
    const delays = this.#options.retryDelaysMs ?? [500, 1000, 2000, 4000, 8000, 16000];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#removeOnce(container, onRemoved);
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
