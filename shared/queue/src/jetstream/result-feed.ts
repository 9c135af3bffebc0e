// The result events of the whole cluster as one queue instance hears them: a single subscription on
// `airlock.events.*.state`, opened on first use, that hands each result first to every listener
// (subscribeResults: the gateway's bookkeeping, e.g. releasing a tenant's grant) and then to the waiters of
// that execution — so a waiter woken by a result never answers before this process has taken note of it.
// Results are notices (one missed during a reconnect is not repeated); the KV record stays the truth.
// hearing() says since when no result can have been missed: a waiter for an execution submitted after that
// may skip its first read of the record (execution-waiter.ts).
// Must never hand a waiter a result for another execution, and never throw into the connection's callback.

import { type Execution, ExecutionEvent } from '@airlock/protocol';
import type { NatsConnection, Status, Subscription } from '@nats-io/transport-node';
import type { QueueNames } from './names.ts';

export type ResultHandler = (execution: Execution) => void;

export class ResultFeed {
  readonly #nc: NatsConnection;
  readonly #names: QueueNames;
  readonly #onError: (error: unknown, during: string) => void;
  readonly #listeners = new Set<ResultHandler>();
  readonly #waiters = new Map<string, Set<ResultHandler>>();
  #subscription: Subscription | undefined;
  #ready: Promise<void> | undefined;
  /** True once the server has the subscription (until close). */
  #heard = false;
  /** Counts the connection's disconnects and reconnects, during which results can be missed. */
  #breaks = 0;
  #status: { stop(): void } | undefined;

  constructor(nc: NatsConnection, names: QueueNames, onError: (error: unknown, during: string) => void) {
    this.#nc = nc;
    this.#names = names;
    this.#onError = onError;
  }

  /** Hears every result from now on (once the subscription is in place). Returns the unsubscribe. */
  listen(handler: ResultHandler): () => void {
    this.#open();
    const entry: ResultHandler = (execution) => handler(execution);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /**
   * Hears the result of one execution. Resolves once the server has the subscription, so a result published
   * after that is heard; returns the unsubscribe through `stop`.
   */
  async waitFor(id: string, handler: ResultHandler): Promise<{ stop: () => void }> {
    const ready = this.#open();
    let waiters = this.#waiters.get(id);
    if (!waiters) {
      waiters = new Set();
      this.#waiters.set(id, waiters);
    }
    const entry: ResultHandler = (execution) => handler(execution);
    waiters.add(entry);
    const stop = () => {
      const current = this.#waiters.get(id);
      current?.delete(entry);
      if (current?.size === 0) this.#waiters.delete(id);
    };
    try {
      await ready;
    } catch (error) {
      stop();
      throw error;
    }
    return { stop };
  }

  /**
   * A mark of continuous hearing, or undefined before the subscription is in place: while hearing() returns
   * the same mark, every result published since it was first returned has reached this feed.
   */
  hearing(): number | undefined {
    return this.#heard ? this.#breaks : undefined;
  }

  close(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    this.#ready = undefined;
    this.#heard = false;
    this.#status?.stop();
    this.#status = undefined;
    this.#listeners.clear();
    this.#waiters.clear();
  }

  #open(): Promise<void> {
    if (this.#ready) return this.#ready;
    this.#subscription = this.#nc.subscribe(this.#names.allStateEvents, {
      callback: (_error, message) => {
        const id = this.#names.idOfStateEvent(message.subject);
        if (id === undefined) return;
        let json: unknown;
        try {
          json = message.json();
        } catch {
          return; // not an event
        }
        const parsed = ExecutionEvent.safeParse(json);
        if (!parsed.success || parsed.data.type !== 'result' || parsed.data.execution.id !== id) return;
        this.#dispatch(parsed.data.execution);
      },
    });
    if (!this.#status) this.#watchConnection();
    // One flush for the lifetime of the subscription: after it, the server delivers every result to us.
    const ready = this.#nc.flush();
    this.#ready = ready;
    ready.then(
      () => {
        if (this.#ready === ready) this.#heard = true;
      },
      () => {
        if (this.#ready === ready) this.#ready = undefined; // the next caller flushes again
      },
    );
    return ready;
  }

  /** Counts every break of the connection: results published meanwhile may never have come. */
  #watchConnection(): void {
    const status = this.#nc.status() as AsyncIterable<Status> & { stop(): void };
    this.#status = status;
    void (async () => {
      for await (const event of status) {
        if (event.type === 'disconnect' || event.type === 'reconnect' || event.type === 'staleConnection') {
          this.#breaks++;
        }
      }
    })().catch(() => {});
  }

  #dispatch(execution: Execution): void {
    for (const handler of [...this.#listeners]) this.#call(handler, execution);
    for (const handler of [...(this.#waiters.get(execution.id) ?? [])]) this.#call(handler, execution);
  }

  #call(handler: ResultHandler, execution: Execution): void {
    try {
      handler(structuredClone(execution));
    } catch (error) {
      this.#onError(error, 'handling a result event');
    }
  }
}
