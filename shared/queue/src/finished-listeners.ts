// The listeners a queue instance tells about each execution it brings to its terminal state (audit records,
// metrics, the gateway's bookkeeping). Each listener gets its own copy, in the order they were added.
// Must never let a listener's exception reach the queue (the execution is finished either way), nor call a
// listener after its unsubscribe.

import type { Execution } from '@airlock/protocol';
import type { FinishedListener } from './job-queue.ts';

export class FinishedListeners {
  readonly #listeners = new Set<{ listener: FinishedListener }>();

  /** Adds a listener; returns its unsubscribe. The same function added twice is called twice. */
  add(listener: FinishedListener): () => void {
    const entry = { listener };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  notify(execution: Execution): void {
    for (const entry of [...this.#listeners]) {
      if (!this.#listeners.has(entry)) continue; // unsubscribed by a listener called before it
      try {
        entry.listener(structuredClone(execution));
      } catch {
        // Documented: a listener must not throw; the execution is already finished either way.
      }
    }
  }
}
