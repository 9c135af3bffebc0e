// The one way a route answers with Server-Sent Events: a bounded count of open streams per route, the same
// response headers, a comment line at an interval so idle connections stay open, and one `id/event/data` frame
// format.
// Invariant: a stream counts as open from `open` until its `end`, and `end` (idempotent) stops the keep-alive,
// drops the close listener and ends the response; `admit` refuses with queue_full (retry after 1 s) at the bound.

import { AirlockError } from '@airlock/protocol';
import type { FastifyReply } from 'fastify';

export interface EventStream {
  /** Writes one event frame: `id`, `event` name and JSON `data`. */
  send(id: string | number, event: string, data: unknown): void;
  end(): void;
}

export class EventStreams {
  readonly #max: number;
  readonly #keepAliveMs: number;
  #open = 0;

  /** `keepAliveMs`: interval of comment lines that keep idle connections open (default 15000). */
  constructor(max: number, keepAliveMs = 15_000) {
    this.#max = max;
    this.#keepAliveMs = keepAliveMs;
  }

  /** Throws queue_full while `max` streams are open. */
  admit(): void {
    if (this.#open >= this.#max) {
      throw new AirlockError('queue_full', 'too many event streams are open; retry later', { retryAfter: 1 });
    }
  }

  /** Takes the reply over and answers 200 as an event stream; `onClose` runs if the client goes first. */
  open(reply: FastifyReply, onClose: () => void): EventStream {
    this.#open += 1;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), this.#keepAliveMs);
    res.once('close', onClose);
    let ended = false;
    return {
      send: (id, event, data) => {
        res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      end: () => {
        if (ended) return;
        ended = true;
        clearInterval(keepAlive);
        res.off('close', onClose);
        this.#open -= 1;
        res.end();
      },
    };
  }
}
