// NATS mode: routes every lifecycle event of the shared lifecycle stream to webhook deliveries, through one
// durable consumer every gateway pulls from, so each event is routed by one gateway, whichever is up — the
// gateway that accepted an execution may be gone when a worker finishes it. An event is acknowledged only once
// its deliveries are stored in the webhook stream; an event routed again (its gateway gone before the ack) is
// stored once, as the deliveries' message ids follow from the event id. Starts at the events stored after the
// consumer is first created (never replays the retained history). Must never acknowledge an event whose
// deliveries were not stored.

import type { Logger } from '@airlock/logging';
import { LifecycleEvent } from '@airlock/protocol';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export const ROUTER_CONSUMER = 'airlock-webhook-router';
const NS_PER_MS = 1_000_000;
/** An event whose deliveries could not be stored is routed again after this. */
const RETRY_MS = 5_000;
/** Times an event is routed before it is given up (logged): 100 × 5 s. */
const MAX_ROUTINGS = 100;

export interface LifecycleRouterDeps {
  nc: NatsConnection;
  /** The lifecycle stream's name. */
  stream: string;
  route: (event: LifecycleEvent) => Promise<void>;
  logger: Logger;
}

export class LifecycleRouter {
  readonly #deps: LifecycleRouterDeps;
  readonly #messages: ConsumerMessages;
  readonly #loop: Promise<void>;

  private constructor(deps: LifecycleRouterDeps, messages: ConsumerMessages) {
    this.#deps = deps;
    this.#messages = messages;
    this.#loop = this.#consume();
  }

  /** Creates the durable consumer if missing (idempotent), then routes events as they are stored. */
  static async open(deps: LifecycleRouterDeps): Promise<LifecycleRouter> {
    const jsm = await jetstreamManager(deps.nc);
    const existing = await jsm.consumers.info(deps.stream, ROUTER_CONSUMER).catch(() => undefined);
    if (!existing) {
      await jsm.consumers
        .add(deps.stream, {
          durable_name: ROUTER_CONSUMER,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New,
          ack_wait: 30_000 * NS_PER_MS,
          max_deliver: MAX_ROUTINGS,
          max_ack_pending: 1_000,
        })
        .catch(async (error: unknown) => {
          // Another gateway created it meanwhile.
          if (!(await jsm.consumers.info(deps.stream, ROUTER_CONSUMER).catch(() => undefined))) throw error;
        });
    }
    const consumer = await jetstream(deps.nc).consumers.get(deps.stream, ROUTER_CONSUMER);
    const messages = await consumer.consume({ max_messages: 64 });
    return new LifecycleRouter(deps, messages);
  }

  /** Stops taking events; the one being routed ends first (and is acknowledged or handed back). */
  async close(): Promise<void> {
    this.#messages.stop();
    await this.#loop;
  }

  async #consume(): Promise<void> {
    for await (const message of this.#messages) await this.#handle(message);
  }

  async #handle(message: JsMsg): Promise<void> {
    let event: LifecycleEvent;
    try {
      event = LifecycleEvent.parse(message.json());
    } catch {
      message.term('not a lifecycle event');
      return;
    }
    try {
      await this.#deps.route(event);
      message.ack();
    } catch (err) {
      this.#deps.logger.warn(
        { err, event: event.type, subject: event.subject, routings: message.info.deliveryCount },
        message.info.deliveryCount >= MAX_ROUTINGS
          ? 'webhooks of a lifecycle event given up: their deliveries could not be stored'
          : 'webhooks of a lifecycle event not stored; routed again later',
      );
      message.nak(RETRY_MS);
    }
  }
}
