// NATS mode: webhook deliveries kept in a JetStream work-queue stream (file storage) and taken by one durable
// pull consumer that every gateway shares, so a delivery survives the restart of the gateway that made it and
// is done by whichever gateway is up. Each message carries its attempt number and the time before which it
// must not be tried: a failed attempt publishes the next one (same webhook-id and body, the backoff delay
// later) before acknowledging its own message, so the count and the delay survive any restart (JetStream's
// own delivery count does not carry across consumers' pull requests reliably). A message taken too early is
// handed back with the time left. Must never acknowledge a delivery before its successor is stored.

import type { Logger } from '@airlock/logging';
import { ensureStream, NS_PER_MS } from '@airlock/queue';
import {
  AckPolicy,
  type ConsumerMessages,
  DiscardPolicy,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DeliveryLog } from './delivery-log.ts';
import {
  type AttemptDeps,
  attemptOnce,
  type Delivery,
  givenUp,
  outcomeOf,
  type PendingDelivery,
  pendingDelivery,
  retryDelay,
} from './webhook-dispatcher.ts';

export const WEBHOOK_STREAM = 'AIRLOCK_WEBHOOKS';
export const WEBHOOK_SUBJECT = 'airlock.webhooks.deliveries';
const CONSUMER = 'airlock-webhooks';
const DUPLICATE_WINDOW_MS = 10 * 60_000;
/** Attempts one gateway makes at once. */
const IN_FLIGHT = 16;

export interface JetStreamDispatcherDeps extends AttemptDeps {
  nc: NatsConnection;
  log: DeliveryLog;
  logger: Logger;
  random?: () => number;
}

/** A delivery as the stream holds it: which attempt it is and when it may be made (ms since the epoch). */
interface StoredDelivery extends PendingDelivery {
  attempt: number;
  not_before: number;
}

export class JetStreamWebhookDispatcher {
  readonly #deps: JetStreamDispatcherDeps;
  readonly #js: JetStreamClient;
  readonly #messages: ConsumerMessages;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #loop: Promise<void>;
  readonly #published = new Set<Promise<void>>();

  private constructor(deps: JetStreamDispatcherDeps, js: JetStreamClient, messages: ConsumerMessages) {
    this.#deps = deps;
    this.#js = js;
    this.#messages = messages;
    this.#loop = this.#consume();
  }

  /** Creates the stream and the durable consumer if missing (idempotent), then starts taking deliveries. */
  static async open(deps: JetStreamDispatcherDeps): Promise<JetStreamWebhookDispatcher> {
    const jsm = await jetstreamManager(deps.nc);
    const stream = {
      name: WEBHOOK_STREAM,
      subjects: [WEBHOOK_SUBJECT],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      max_msgs: deps.settings.maxPending,
      // A delivery dispatched again (the event routed twice: a gateway gone before acknowledging it) is stored once.
      duplicate_window: DUPLICATE_WINDOW_MS * NS_PER_MS,
    };
    await ensureStream(jsm, stream);
    await jsm.consumers.add(WEBHOOK_STREAM, {
      durable_name: CONSUMER,
      ack_policy: AckPolicy.Explicit,
      // An attempt ends within its timeout; a gateway gone mid-attempt hands it on after this.
      ack_wait: (deps.settings.timeoutMs + 30_000) * NS_PER_MS,
      max_ack_pending: 1_000,
    });
    const js = jetstream(deps.nc);
    const consumer = await js.consumers.get(WEBHOOK_STREAM, CONSUMER);
    const messages = await consumer.consume({ max_messages: IN_FLIGHT });
    return new JetStreamWebhookDispatcher(deps, js, messages);
  }

  /**
   * Stores the delivery in the stream; rejects when the stream refused it (full, unreachable). Stored once per
   * event and receiver however often it is dispatched (the message id follows from them).
   */
  async dispatch(delivery: Delivery): Promise<boolean> {
    const stored: StoredDelivery = { ...pendingDelivery(delivery), attempt: 1, not_before: 0 };
    const published = this.#store(stored);
    const tracked = published.then(
      () => {},
      () => {},
    );
    this.#published.add(tracked);
    try {
      await published;
      return true;
    } finally {
      this.#published.delete(tracked);
    }
  }

  /** Deliveries this gateway is attempting right now. */
  get pending(): number {
    return this.#inFlight.size;
  }

  /** Resolves when what this gateway published is stored and its attempts in flight have ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.#published]);
    await Promise.all([...this.#inFlight]);
  }

  /** Stops taking deliveries; attempts in flight end first (and are acknowledged or handed back). */
  async close(): Promise<void> {
    await Promise.all([...this.#published]);
    this.#messages.stop();
    await this.#loop;
    await Promise.all([...this.#inFlight]);
  }

  async #consume(): Promise<void> {
    for await (const message of this.#messages) {
      const handled: Promise<void> = this.#handle(message).finally(() => this.#inFlight.delete(handled));
      this.#inFlight.add(handled);
      if (this.#inFlight.size >= IN_FLIGHT) await Promise.race(this.#inFlight);
    }
  }

  #store(delivery: StoredDelivery) {
    return this.#js.publish(WEBHOOK_SUBJECT, JSON.stringify(delivery), {
      msgID: `${delivery.webhookId}.${delivery.receiver}.${delivery.attempt}`,
    });
  }

  async #handle(message: JsMsg): Promise<void> {
    let delivery: StoredDelivery;
    try {
      delivery = message.json<StoredDelivery>();
    } catch {
      message.term('not a delivery');
      return;
    }
    const wait = delivery.not_before - Date.now();
    if (wait > 0) return void message.nak(wait);
    const { attempt } = delivery;
    const { entry, retryable } = await attemptOnce(this.#deps, delivery, attempt);
    const retry = retryable && attempt < this.#deps.settings.attempts;
    await this.#deps.log.record(delivery.tenant, delivery.event.subject, {
      ...entry,
      outcome: outcomeOf(entry, retry),
    });
    if (retry) {
      const delay = retryDelay(this.#deps, attempt);
      try {
        await this.#store({ ...delivery, attempt: attempt + 1, not_before: Date.now() + delay });
      } catch (err) {
        // Not stored: this message is handed back, and the attempt is made again after the delay.
        this.#deps.logger.warn({ err, webhook_id: delivery.webhookId }, 'webhook retry not stored');
        return void message.nak(delay);
      }
    } else if (entry.error !== null) {
      givenUp(this.#deps.logger, delivery, entry);
    }
    message.ack();
  }
}
