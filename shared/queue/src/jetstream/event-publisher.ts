// Publishes an execution's events on `airlock.events.<id>.state` (state changes, then the result) and
// `airlock.events.<id>.output` (output chunks). The event stream keeps them for late watchers: a per-subject
// limit bounds the output kept, and the state subject, holding three events at most, never loses one.
// Events are notices; the KV record stays the truth. State, result and lifecycle events are stored without a
// request each (stored-publisher.ts: CPU per job). Must never throw into the caller's path, and never publish
// an output event larger than the chunk bound.

import type { Execution, ExecutionEvent, LifecycleEventType, OutputStream, Status } from '@airlock/protocol';
import type { NatsConnection } from '@nats-io/transport-node';
import { executionLifecycleEvent } from './lifecycle-log.ts';
import type { QueueNames } from './names.ts';
import { StoredPublisher } from './stored-publisher.ts';

export class EventPublisher {
  readonly #nc: NatsConnection;
  /** Stores the state, result and lifecycle events without a request each (stored-publisher.ts). */
  readonly #stored: StoredPublisher;
  readonly #names: QueueNames;
  readonly #chunkBytes: number;
  readonly #onError: (error: unknown, during: string) => void;

  constructor(
    nc: NatsConnection,
    names: QueueNames,
    chunkBytes: number,
    onError: (error: unknown, during: string) => void,
  ) {
    this.#nc = nc;
    this.#stored = new StoredPublisher(nc);
    this.#names = names;
    this.#chunkBytes = chunkBytes;
    this.#onError = onError;
  }

  /**
   * Sent at once and not awaited (latency: no round trip on the submit and run paths). What this connection
   * publishes next still comes after it: the server takes one connection's messages in order, and one
   * stream stores them in that order. A failed store is reported to onError; the record stays the truth.
   */
  state(id: string, status: Status): void {
    void this.#store(this.#names.stateEvents(id), { type: 'state', status }, `${id}.${status}`);
  }

  async result(execution: Execution): Promise<void> {
    const id = execution.id;
    await this.#store(this.#names.stateEvents(id), { type: 'result', execution }, `${id}.result`);
  }

  /**
   * The lifecycle event of a transition, to the lifecycle stream (message id `<id>.<type>`, so a repeat is
   * stored once). Not awaited; a failure is reported to onError.
   */
  lifecycle(type: LifecycleEventType, execution: Execution): void {
    const event = executionLifecycleEvent(type, execution);
    this.#stored
      .publish(this.#names.lifecycle(event.tenant, type), JSON.stringify(event), `${execution.id}.${type}`)
      .catch((error: unknown) => this.#onError(error, `publishing the ${type} lifecycle event`));
  }

  /** Fire and forget, in order on this connection; long data goes out as several chunks. */
  output(id: string, stream: OutputStream, data: string): void {
    const subject = this.#names.outputEvents(id);
    try {
      for (const chunk of splitOutput(data, this.#chunkBytes)) {
        const event: ExecutionEvent = { type: 'output', stream, data: chunk };
        this.#nc.publish(subject, JSON.stringify(event));
      }
    } catch (error) {
      this.#onError(error, 'publishing output');
    }
  }

  /** Waits for the stores still unanswered (each within its timeout), then stops listening for answers. */
  close(): Promise<void> {
    return this.#stored.close();
  }

  async #store(subject: string, event: ExecutionEvent, msgID: string): Promise<void> {
    try {
      await this.#stored.publish(subject, JSON.stringify(event), msgID);
    } catch (error) {
      this.#onError(error, `publishing the ${event.type} event`);
    }
  }
}

/** Splits text into pieces of at most maxBytes UTF-8 bytes, never inside a character. */
export function splitOutput(data: string, maxBytes: number): string[] {
  if (data.length * 3 <= maxBytes || Buffer.byteLength(data, 'utf8') <= maxBytes) return [data];
  const pieces: string[] = [];
  let start = 0;
  let bytes = 0;
  let index = 0;
  for (const char of data) {
    const size = utf8Size(char.codePointAt(0)!);
    if (bytes + size > maxBytes && index > start) {
      pieces.push(data.slice(start, index));
      start = index;
      bytes = 0;
    }
    bytes += size;
    index += char.length;
  }
  pieces.push(data.slice(start));
  return pieces;
}

function utf8Size(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  return codePoint < 0x10000 ? 3 : 4;
}
