// Lifecycle events (execution accepted/started/finished/canceled, session created/…/closed, snapshot …): the
// seam every producer and consumer shares. Producers call `publish` once per state change; the feed stores
// the event in its log (SQLite in the embedded mode, a JetStream stream in NATS mode) and tells local
// subscribers (the events stream, webhook delivery). `GET /v1/events` reads the log.
// Invariant: an event is stored before any subscriber hears of it, and a subscriber that throws harms no one.

import { randomBytes } from 'node:crypto';
import type { LifecycleEvent, LifecycleEventType } from '@airlock/protocol';

/** An event with its position in the log: strictly increasing, never reused. */
export interface LoggedLifecycleEvent {
  seq: number;
  event: LifecycleEvent;
}

export interface LifecycleEventRead {
  /** Only events after this position. @default 0 (from the oldest retained) */
  after?: number;
  /** Only events of these types. @default every type */
  types?: readonly LifecycleEventType[];
  /** At most this many events. */
  limit: number;
}

/** Where events are kept, tenant by tenant, in publish order, bounded by age and bytes. */
export interface LifecycleEventLog {
  append(event: LifecycleEvent): Promise<number>;
  read(tenant: string, query: LifecycleEventRead): Promise<LoggedLifecycleEvent[]>;
}

/** An event as a producer states it; the feed gives it its id and time. */
export type NewLifecycleEvent = Omit<LifecycleEvent, 'id' | 'at'> & { at?: string };

export type LifecycleEventListener = (logged: LoggedLifecycleEvent) => void;

/** The one-line way to emit an event, and to hear of the events this process emits. */
export interface LifecycleEvents {
  /** Stores the event, then tells the subscribers; never throws (a failed write is reported, not raised). */
  publish(event: NewLifecycleEvent): Promise<void>;
  /** Calls the listener for each event published from now on in this process. Returns the unsubscribe. */
  subscribe(listener: LifecycleEventListener): () => void;
}

export function newEventId(): string {
  return `evt_${randomBytes(16).toString('base64url')}`;
}

/** The LifecycleEvents of one process over a log. */
export class LifecycleEventFeed implements LifecycleEvents {
  readonly log: LifecycleEventLog;
  readonly #listeners = new Set<LifecycleEventListener>();
  readonly #onError: (error: unknown, event: LifecycleEvent) => void;
  /** Appends run one after another, so subscribers hear events in log order. */
  #tail: Promise<void> = Promise.resolve();

  constructor(log: LifecycleEventLog, onError: (error: unknown, event: LifecycleEvent) => void) {
    this.log = log;
    this.#onError = onError;
  }

  publish(event: NewLifecycleEvent): Promise<void> {
    const full: LifecycleEvent = { ...event, id: newEventId(), at: event.at ?? new Date().toISOString() };
    this.#tail = this.#tail.then(async () => {
      let seq: number;
      try {
        seq = await this.log.append(full);
      } catch (error) {
        this.#onError(error, full);
        return;
      }
      for (const listener of this.#listeners) {
        try {
          listener({ seq, event: full });
        } catch {
          // A listener's failure is its own.
        }
      }
    });
    return this.#tail;
  }

  subscribe(listener: LifecycleEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
