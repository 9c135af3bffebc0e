// The executions this gateway accepted and that have not finished yet. Their tenant quota grants and their
// metrics live here (each gateway holds its own), yet the terminal transition is usually made by a worker in
// another process: so the gateway listens to the result events of the whole cluster and, for any it may
// have missed (a reconnect), reads the record of what it still tracks every sweep interval.
// Must never report one execution finished twice, and never keep a finished one forever.

import type { Execution } from '@airlock/protocol';
import type { JetStreamJobQueue, JobQueue } from '@airlock/queue';

export interface AcceptedHereOptions {
  queue: JetStreamJobQueue;
  /** Called once per execution accepted here, when it has finished. */
  onFinished: (execution: Execution) => void;
  /**
   * Milliseconds between reads of the records of executions tracked for longer than this.
   * @default 5_000
   */
  sweepMs?: number;
  onError: (error: unknown) => void;
}

export class AcceptedHere {
  readonly #options: AcceptedHereOptions;
  readonly #tracked = new Map<string, { tenant: string; since: number }>();
  readonly #unsubscribe: () => void;
  readonly #sweep: NodeJS.Timeout;
  #sweeping = false;

  constructor(options: AcceptedHereOptions) {
    this.#options = options;
    this.#unsubscribe = options.queue.subscribeResults((execution) => this.finished(execution));
    const sweepMs = options.sweepMs ?? 5_000;
    this.#sweep = setInterval(() => void this.#sweepOnce(sweepMs), sweepMs);
    this.#sweep.unref();
  }

  get size(): number {
    return this.#tracked.size;
  }

  /** The queue as the gateway's routes use it, with each new execution tracked as it is accepted. */
  trackingQueue(): JobQueue {
    const queue = this.#options.queue;
    return {
      submit: async (input) => {
        const outcome = await queue.submit(input);
        if (outcome.created) this.#track(outcome.execution);
        return outcome;
      },
      get: (tenant, id) => queue.get(tenant, id),
      cancel: (tenant, id) => queue.cancel(tenant, id),
      wait: (tenant, id, timeoutMs) => queue.wait(tenant, id, timeoutMs),
      watch: (tenant, id, signal) => queue.watch(tenant, id, signal),
      consume: (worker) => queue.consume(worker),
      stats: () => queue.stats(),
      close: () => queue.close(),
    };
  }

  /** An execution finished (heard, read, or finished by this gateway itself); ignored if not tracked. */
  finished(execution: Execution): void {
    if (execution.status !== 'finished' || !this.#tracked.delete(execution.id)) return;
    try {
      this.#options.onFinished(execution);
    } catch (error) {
      this.#options.onError(error);
    }
  }

  stop(): void {
    this.#unsubscribe();
    clearInterval(this.#sweep);
  }

  #track(execution: Execution): void {
    if (execution.status === 'finished') return;
    this.#tracked.set(execution.id, { tenant: execution.tenant, since: Date.now() });
  }

  async #sweepOnce(olderThanMs: number): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      const cutoff = Date.now() - olderThanMs;
      for (const [id, { tenant, since }] of [...this.#tracked]) {
        if (since > cutoff) continue;
        const execution = await this.#options.queue.get(tenant, id);
        if (execution) this.finished(execution);
        else if (this.#tracked.delete(id)) this.#options.onError(new Error(`execution ${id} is gone`));
      }
    } catch (error) {
      this.#options.onError(error);
    } finally {
      this.#sweeping = false;
    }
  }
}
