// One watcher of one execution: first the events it missed, then live ones, ending after the result event
// or when its signal aborts; or the replay of a finished one. A live source (a running execution or cell)
// emits and is watched through emitLive / watchLive. Must never leave its listener or abort handler
// attached after it ends.

import type { ExecutionEvent } from '@airlock/protocol';
import { EventLog } from './event-log.ts';
import { eventsUntilResult, Wake } from './watch-loop.ts';

export type EventListener = (event: ExecutionEvent) => void;

export interface WatchFeed {
  /** A private copy of the events so far; live events are appended to it as the watcher's backlog. */
  backlog: EventLog;
  /** Attaches a live listener; returns the detach function. Not called when the backlog already holds the result. */
  subscribe(listener: EventListener): () => void;
  signal: AbortSignal;
}

/** What is live of one running execution or cell: its events so far and the listeners of the next ones. */
export interface LiveEvents {
  events: EventLog;
  listeners: Set<EventListener>;
}

/** Appends `event` to the source's log, then tells every listener attached now. */
export function emitLive(source: LiveEvents, event: ExecutionEvent): void {
  source.events.append(event);
  for (const listener of [...source.listeners]) listener(event);
}

/** A watch of a live source: the events it emitted so far, then the next ones until the result. */
export function watchLive(source: LiveEvents, signal: AbortSignal): AsyncIterable<ExecutionEvent> {
  return watchEvents({
    backlog: source.events.copy(),
    signal,
    subscribe: (listener) => {
      source.listeners.add(listener);
      return () => source.listeners.delete(listener);
    },
  });
}

/**
 * Subscribes at once (so nothing is missed between this call and the first `next()`) and returns a
 * single-consumer async iterable. Each yielded event is the caller's own copy.
 */
export function watchEvents(feed: WatchFeed): AsyncIterable<ExecutionEvent> {
  const { backlog, signal } = feed;
  let ended = backlog.hasResult || signal.aborted;
  let aborted = signal.aborted;
  const wake = new Wake();
  let unsubscribe = () => {};

  const stop = () => {
    ended = true;
    unsubscribe();
    unsubscribe = () => {};
    signal.removeEventListener('abort', onAbort);
    wake.wake();
  };
  const onAbort = () => {
    aborted = true;
    stop();
  };

  if (!ended) {
    signal.addEventListener('abort', onAbort, { once: true });
    unsubscribe = feed.subscribe((event) => {
      backlog.append(event);
      if (event.type === 'result') stop();
      else wake.wake();
    });
  }

  return eventsUntilResult({
    take: () => {
      const event = backlog.shift();
      return event && copyEvent(event);
    },
    ended: () => ended,
    aborted: () => aborted,
    stop,
    wake,
  });
}

/** A watcher of a finished execution: the stored events, ending with the result; nothing live follows. */
export function watchReplay(
  events: readonly ExecutionEvent[],
  signal: AbortSignal,
): AsyncIterable<ExecutionEvent> {
  const backlog = new EventLog(Number.MAX_SAFE_INTEGER);
  for (const event of events) backlog.append(event);
  return watchEvents({ backlog, signal, subscribe: () => () => {} });
}

function copyEvent(event: ExecutionEvent): ExecutionEvent {
  // Output data is an immutable string: a shallow copy is a full copy, and cheap for large chunks.
  return event.type === 'output' ? { ...event } : structuredClone(event);
}
