// The one gate for a sandbox's Docker lifecycle calls (create, attach, start, remove): at most `concurrency` at
// once, so bursts queue here instead of stampeding dockerd, and the queue serves a job's cold start first, then
// pool refills, then removals of used containers (which nobody waits for). Each call keeps its own deadline;
// time queued here does not count against it.

import PQueue from 'p-queue';

export const DOCKER_PRIORITY = { coldStart: 2, refill: 1, removal: 0 } as const;
export type DockerPriority = (typeof DOCKER_PRIORITY)[keyof typeof DOCKER_PRIORITY];

export class DockerLimiter {
  readonly #queue: PQueue;

  constructor(concurrency: number) {
    if (!(Number.isInteger(concurrency) && concurrency >= 1))
      throw new RangeError(`Docker call concurrency must be an integer ≥ 1, got ${concurrency}`);
    this.#queue = new PQueue({ concurrency });
  }

  run<T>(priority: DockerPriority, call: () => Promise<T>): Promise<T> {
    return this.#queue.add(call, { priority });
  }

  /** Calls waiting for their turn. */
  get queued(): number {
    return this.#queue.size;
  }

  get running(): number {
    return this.#queue.pending;
  }
}
