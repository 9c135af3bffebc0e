// The reading side every watcher shares (the in-process one, execution-watch.ts, and the JetStream one,
// jetstream/event-watch.ts): it yields the events that arrived, in order, sleeps until more arrive, and ends
// after the result, when no more can arrive, or when the watch is aborted.
// Must never yield past the result, and never end without stopping its watcher (whatever ends the loop).

import type { ExecutionEvent } from '@airlock/protocol';

/** A sleeper the arrival of an event (or the end of the watch) wakes; waking with no one asleep is a no-op. */
export class Wake {
  #resolve: (() => void) | undefined;

  sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
  }

  wake(): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.();
  }
}

export interface WatchSource {
  /** The next event that arrived and was not yet taken, as the caller is to see it. */
  take(): ExecutionEvent | undefined;
  /** True once no more events will arrive. */
  ended(): boolean;
  /** True once the watch was aborted: nothing more is yielded, not even what arrived. */
  aborted(): boolean;
  /** Ends the watch (idempotent); called however the loop ends, also when the caller stops iterating. */
  stop(): void;
  wake: Wake;
}

export async function* eventsUntilResult(
  source: WatchSource,
): AsyncGenerator<ExecutionEvent, void, undefined> {
  try {
    while (!source.aborted()) {
      const event = source.take();
      if (event) {
        yield event;
        if (event.type === 'result') return;
        continue;
      }
      if (source.ended()) return;
      await source.wake.sleep();
    }
  } finally {
    source.stop();
  }
}
