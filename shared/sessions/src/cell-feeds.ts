// The event feeds of running session cells, so `GET /v1/executions/:id/events` streams a cell as it does a
// one-shot run: `state` (running), `stdout`/`stderr` as the backend hands them over (a python cell's output
// arrives with its result, a JavaScript cell's as it is produced), then `result`. A feed lives from the cell's
// admission until its terminal record is stored, so a watcher finds either the feed or the stored replay; its
// result goes out only once the session is ready for another cell.
// Must never show a cell to another tenant, hold more output than its byte bound, or keep a listener after
// the result.

import type { Execution, ExecutionEvent, OutputStream } from '@airlock/protocol';
import { DEFAULT_MAX_EVENT_BYTES, type EventListener, EventLog, emitLive, watchLive } from '@airlock/queue';

interface CellFeed {
  tenant: string;
  events: EventLog;
  listeners: Set<EventListener>;
  /** Whether the backend streamed any output (else the result's output is sent before it). */
  streamed: boolean;
}

export class CellFeeds {
  readonly #feeds = new Map<string, CellFeed>();
  readonly #maxEventBytes: number;

  constructor(maxEventBytes = DEFAULT_MAX_EVENT_BYTES) {
    this.#maxEventBytes = maxEventBytes;
  }

  /** The feed of a cell that starts running now. */
  open(cell: Execution): void {
    const feed: CellFeed = {
      tenant: cell.tenant,
      events: new EventLog(this.#maxEventBytes),
      listeners: new Set(),
      streamed: false,
    };
    this.#feeds.set(cell.id, feed);
    this.#emit(feed, { type: 'state', status: 'running' });
  }

  /** Output of a running cell, as its backend produced it (already within the cell's cap). */
  output(id: string, stream: OutputStream, data: string): void {
    const feed = this.#feeds.get(id);
    if (!feed || feed.events.hasResult || data.length === 0) return;
    feed.streamed = true;
    this.#emit(feed, { type: 'output', stream, data });
  }

  /**
   * The cell finished: its output goes to the watchers when none was streamed. Returns the events to store as
   * its replay (the store adds the result).
   */
  replay(cell: Execution): ExecutionEvent[] {
    const feed = this.#feeds.get(cell.id);
    if (!feed) return [{ type: 'state', status: 'running' }];
    if (!feed.streamed && cell.result && !feed.events.hasResult) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const data = cell.result[stream];
        if (data.length > 0) this.#emit(feed, { type: 'output', stream, data });
      }
      feed.streamed = true;
    }
    return feed.events.toArray();
  }

  /**
   * The result goes to the watchers and the feed is dropped: called once the cell's record is stored and its
   * session is ready for the next cell (a watcher that sees the result may send one at once).
   */
  end(cell: Execution): void {
    const feed = this.#feeds.get(cell.id);
    if (!feed) return;
    this.#feeds.delete(cell.id);
    this.#emit(feed, { type: 'result', execution: structuredClone(cell) });
    feed.listeners.clear();
  }

  /** A watch of the tenant's running cell, or undefined when there is no such live cell. */
  watch(tenant: string, id: string, signal: AbortSignal): AsyncIterable<ExecutionEvent> | undefined {
    const feed = this.#feeds.get(id);
    if (!feed || feed.tenant !== tenant) return undefined;
    return watchLive(feed, signal);
  }

  get size(): number {
    return this.#feeds.size;
  }

  #emit(feed: CellFeed, event: ExecutionEvent): void {
    emitLive(feed, event);
  }
}
