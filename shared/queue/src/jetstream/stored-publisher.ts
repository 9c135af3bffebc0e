// Publishes messages into JetStream streams without a client request per message (CPU per job: a request
// costs a reply-mux entry, a timer, a deferred and, when it settles, an Error with its stack trace): each
// message goes out as a plain publish whose reply subject is a token under one inbox this publisher
// subscribes to once, the server's PubAck comes there and settles that message's promise. The server stores
// what one connection publishes in the order it was sent, as with the client's own publish, and the
// Nats-Msg-Id header makes a repeat within the stream's window stored once. An error answer (or no
// responders) rejects with a JetStreamApiError-like error; no answer within the timeout rejects with a
// timeout, found by one sweep every fifth of the timeout rather than a timer per message.
// Must never settle a message's promise twice, and never leave a message unsettled after its timeout (a closed
// connection included: the sweep rejects it).

import {
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';

const TIMEOUT_MS = 5_000;

/** A stream's refusal of a message: the JetStream API error code and description it answered with. */
export class StoreRefused extends Error {
  readonly code: number;
  constructor(code: number, description: string) {
    super(`${description} (${code})`);
    this.name = 'StoreRefused';
    this.code = code;
  }
}

interface Pending {
  sentAt: number;
  settle: PromiseWithResolvers<void>;
}

export class StoredPublisher {
  readonly #nc: NatsConnection;
  readonly #inbox = createInbox();
  readonly #pending = new Map<string, Pending>();
  #subscription: Subscription | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #next = 0;
  readonly #timeoutMs: number;

  /** `timeoutMs`: how long a message may go unanswered before it is rejected. @default 5_000 */
  constructor(nc: NatsConnection, timeoutMs = TIMEOUT_MS) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
  }

  /** Resolves once the stream has stored the message (or had it already, by its message id). */
  publish(subject: string, payload: string, msgID: string): Promise<void> {
    this.#open();
    const token = (this.#next++).toString(36);
    const settle = Promise.withResolvers<void>();
    const h = headers();
    h.set('Nats-Msg-Id', msgID);
    try {
      this.#nc.publish(subject, payload, { headers: h, reply: `${this.#inbox}.${token}` });
    } catch (error) {
      settle.reject(error);
      return settle.promise;
    }
    this.#pending.set(token, { sentAt: Date.now(), settle });
    return settle.promise;
  }

  /** Waits for the answers still due (each within its timeout), then stops listening. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pending.values()].map((pending) => pending.settle.promise));
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  #open(): void {
    if (this.#subscription) return;
    this.#subscription = this.#nc.subscribe(`${this.#inbox}.*`, {
      callback: (_error, message) => this.#answer(message),
    });
    this.#sweep = setInterval(() => this.#expire(), Math.max(10, Math.ceil(this.#timeoutMs / 5)));
    this.#sweep.unref();
  }

  #answer(message: Msg): void {
    const token = message.subject.slice(this.#inbox.length + 1);
    const pending = this.#pending.get(token);
    if (!pending) return; // answered after it timed out
    this.#pending.delete(token);
    if (message.headers?.hasError) {
      const { code, description } = message.headers;
      pending.settle.reject(new StoreRefused(code, description || 'no stream stored it'));
      return;
    }
    let answer: { error?: { err_code?: number; code?: number; description?: string } };
    try {
      answer = message.json();
    } catch {
      pending.settle.reject(new Error('unreadable answer from JetStream'));
      return;
    }
    if (answer.error) {
      const { err_code, code, description } = answer.error;
      pending.settle.reject(new StoreRefused(err_code ?? code ?? 0, description ?? 'refused'));
    } else {
      pending.settle.resolve();
    }
  }

  #expire(): void {
    const now = Date.now();
    for (const [token, pending] of this.#pending) {
      if (now - pending.sentAt < this.#timeoutMs) break; // insertion order: the rest are younger
      this.#pending.delete(token);
      pending.settle.reject(new Error(`no answer from JetStream within ${this.#timeoutMs} ms`));
    }
  }
}
