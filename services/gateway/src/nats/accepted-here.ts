// The executions this gateway accepted and that have not finished yet. Their tenant quota grants and their
// metrics live here (each gateway holds its own), yet the terminal transition is usually made by a worker in
// another process: so the gateway hears the terminal transitions it makes itself, listens to the result
// events of the whole cluster and, for any it may have missed (a reconnect), reads the record of what it
// still tracks every sweep interval; its own finished-listeners hear each execution accepted here once.
// Must never report one execution finished twice, and never keep a finished one forever.

import type { Execution } from '@airlock/protocol';
import { type FinishedListener, type JetStreamJobQueue, type JobQueue, withSubmit } from '@airlock/queue';

export interface AcceptedHereOptions {
  queue: JetStreamJobQueue;
  /**
   * Milliseconds between reads of the records of executions tracked for longer than this.
   * @default 5_000
   */
  sweepMs?: number;
  /** Told when a finished-listener throws, or a tracked record cannot be read. */
  onError: (error: unknown) => void;
}

export class AcceptedHere {
  readonly #options: AcceptedHereOptions;
  readonly #tracked = new Map<string, { tenant: string; since: number }>();
  readonly #listeners = new Set<{ listener: FinishedListener }>();
  readonly #unsubscribe: Array<() => void>;
  readonly #sweep: NodeJS.Timeout;
  #sweeping = false;

  constructor(options: AcceptedHereOptions) {
    this.#options = options;
    this.#unsubscribe = [
      options.queue.onFinished((execution) => this.#finished(execution)),
      options.queue.subscribeResults((execution) => this.#finished(execution)),
    ];
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
    return withSubmit(queue, async (input) => {
      const outcome = await queue.submit(input);
      if (outcome.created) this.#track(outcome.execution);
      return outcome;
    });
  }

  /** Calls the listener once for each execution accepted here, when it has finished. Returns the unsubscribe. */
  onFinished(listener: FinishedListener): () => void {
    const entry = { listener };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    clearInterval(this.#sweep);
  }

  /** An execution finished (heard, read, or finished by this gateway itself); ignored if not tracked. */
  #finished(execution: Execution): void {
    if (execution.status !== 'finished' || !this.#tracked.delete(execution.id)) return;
    for (const { listener } of [...this.#listeners]) {
      try {
        listener(execution);
      } catch (error) {
        this.#options.onError(error);
      }
    }
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
        if (execution) this.#finished(execution);
        else if (this.#tracked.delete(id)) this.#options.onError(new Error(`execution ${id} is gone`));
      }
    } catch (error) {
      this.#options.onError(error);
    } finally {
      this.#sweeping = false;
    }
  }
}
