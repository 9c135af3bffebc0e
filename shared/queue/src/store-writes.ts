// The in-process queue's store writes that nobody awaits (a start, a terminal write): each is followed to its
// end, a failure is reported through onStoreError, and close() can wait for all of them to settle.
// Must never throw a write's failure into the queue, nor let a failing onStoreError hook do so.

import type { MemoryJobQueueOptions } from './memory-options.ts';

type OnStoreError = MemoryJobQueueOptions['onStoreError'];

export class StoreWrites {
  readonly #pending = new Set<Promise<void>>();
  readonly #onError: OnStoreError;

  constructor(onError: OnStoreError) {
    this.#onError = onError;
  }

  /** Follows a write to its end; a failure is reported, never thrown. */
  follow(during: 'update' | 'finish', write: Promise<void>): void {
    const settled = write
      .catch((error: unknown) => {
        try {
          this.#onError?.(error, during);
        } catch {
          // Documented: the hook must not throw.
        }
      })
      .finally(() => this.#pending.delete(settled));
    this.#pending.add(settled);
  }

  /** Resolves once every write followed so far has settled. */
  async settled(): Promise<void> {
    await Promise.all([...this.#pending]);
  }
}
