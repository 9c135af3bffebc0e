// Webhooks for one gateway: checks a request's callback at submission, keeps it (callback-registry.ts) until
// its subject's life ends, and routes each lifecycle event of the feed (the very event `GET /v1/events` lists:
// same id, type and payload) to deliveries — to the subject's callback (if it asked for that type) and to every
// tenant-level subscription of the tenant policy that lists it. Embedded mode follows the process's feed; NATS
// mode routes the shared lifecycle stream (lifecycle-router.ts). Must never deliver one tenant's event to
// another tenant's callback or subscription, and never accept a callback it would refuse to dial.

import type { TenantPolicies } from '@airlock/auth';
import { AddressCheck, type Resolver, type SecretsProvider } from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import { AirlockError, type Callback, type LifecycleEvent, type LifecycleEventType } from '@airlock/protocol';
import type { Callbacks } from '@airlock/sessions';
import type { LifecycleEvents } from '@airlock/store';
import type { NatsConnection } from '@nats-io/transport-node';
import { type CallbackRegistry, MemoryCallbackRegistry, registeredCallback } from './callback-registry.ts';
import { type CallbackTarget, checkCallbackUrl } from './callback-target.ts';
import { type DeliveryLog, MemoryDeliveryLog } from './delivery-log.ts';
import { LifecycleRouter } from './lifecycle-router.ts';
import { type Delivery, WebhookDispatcher, type WebhookSettings } from './webhook-dispatcher.ts';

export interface WebhooksDeps {
  settings: WebhookSettings;
  secrets: SecretsProvider;
  resolver: Resolver;
  logger: Logger;
  /** Tenant policies (token mode): subscriptions, callback_secret_ref. Absent in local mode. */
  policies?: TenantPolicies;
  /** CA bundle for TLS receivers. @default Node's bundled roots */
  ca?: string[];
  /** [0, 1) for the retry jitter. @default Math.random */
  random?: () => number;
  /** Another dispatcher and the log it writes. @default in memory (WebhookDispatcher) */
  delivery?: { dispatcher: DeliveryDispatcher; log: DeliveryLog };
  /** Where callbacks are kept until their subject ends. @default in memory */
  callbacks?: CallbackRegistry;
}

/** Where deliveries go to be attempted: in memory (embedded) or a JetStream stream (NATS mode). */
export interface DeliveryDispatcher {
  /**
   * Takes the delivery: true once it is held, false when it was dropped (over the pending bound; logged);
   * rejects when it could not be stored (NATS mode: the stream refused it), so the event is routed again.
   */
  dispatch(delivery: Delivery): Promise<boolean>;
  /** Deliveries waiting or in flight here. */
  readonly pending: number;
  idle(): Promise<void>;
  close(): void | Promise<void>;
}

/** Whether an event ends its subject's life (no later event is about it). */
function isTerminal(type: LifecycleEventType): boolean {
  return type === 'execution.finished' || type === 'execution.canceled' || type === 'session.closed';
}

export class Webhooks implements Callbacks {
  readonly log: DeliveryLog;
  readonly #deps: WebhooksDeps;
  readonly #addresses: AddressCheck;
  readonly #dispatcher: DeliveryDispatcher;
  readonly #callbacks: CallbackRegistry;
  /** What follows the events, stopped first on close(). */
  readonly #stops: Array<() => Promise<void>> = [];
  readonly #subscriptions = new Map<
    string,
    Array<{ key: string; target: CallbackTarget; events: string[]; secretRef: string }>
  >();

  constructor(deps: WebhooksDeps) {
    this.#deps = deps;
    this.#addresses = new AddressCheck({ allowances: deps.settings.allowances });
    this.#callbacks =
      deps.callbacks ??
      new MemoryCallbackRegistry((subject) =>
        deps.logger.warn({ subject }, 'callback not registered: too many subjects with callbacks'),
      );
    if (deps.delivery) {
      this.log = deps.delivery.log;
      this.#dispatcher = deps.delivery.dispatcher;
      return;
    }
    this.log = new MemoryDeliveryLog();
    this.#dispatcher = new WebhookDispatcher({
      settings: deps.settings,
      addresses: this.#addresses,
      resolver: deps.resolver,
      secrets: deps.secrets,
      log: this.log,
      logger: deps.logger,
      ...(deps.ca ? { ca: deps.ca } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    });
  }

  /** Deliveries waiting or in flight. */
  get pending(): number {
    return this.#dispatcher.pending;
  }

  /** Resolves once nothing is pending (tests, shutdown). */
  idle(): Promise<void> {
    return this.#dispatcher.idle();
  }

  /**
   * The callback's target, or AirlockError `callback_refused` (field `callback.url`): a URL Airlock will not
   * dial, or a tenant with no signing secret. Reads the secret only to see that it is there.
   */
  async check(tenant: string, callback: Callback): Promise<CallbackTarget> {
    const checked = checkCallbackUrl(callback.url, this.#addresses);
    if (!checked.ok)
      throw new AirlockError('callback_refused', `callback URL refused: ${checked.reason}`, {
        field: 'callback.url',
      });
    const ref = this.#secretRef(tenant);
    try {
      await this.#deps.secrets.resolve(ref);
    } catch {
      throw new AirlockError(
        'callback_refused',
        `no webhook signing secret '${ref}' is configured for tenant '${tenant}'`,
        { field: 'callback.url' },
      );
    }
    return checked.target;
  }

  /**
   * Keeps a subject's callback until its terminal event (call after check(), before the subject is accepted:
   * its first event may be routed at once, here or on another gateway).
   */
  async register(tenant: string, subject: string, callback: Callback): Promise<void> {
    await this.#callbacks.put(subject, registeredCallback(tenant, callback));
  }

  /** A subject that never came to be (its submission failed or was a replay after register()). */
  async forget(subject: string): Promise<void> {
    await this.#callbacks.delete(subject);
  }

  /** Routes every event the process's feed publishes from now on (embedded mode), until close(). */
  follow(events: LifecycleEvents): void {
    const unsubscribe = events.subscribe(({ event }) => {
      this.route(event).catch((err: unknown) =>
        this.#deps.logger.warn({ err, event: event.type, subject: event.subject }, 'webhook routing failed'),
      );
    });
    this.#stops.push(async () => void unsubscribe());
  }

  /** Routes the shared lifecycle stream's events, with every gateway on it (NATS mode), until close(). */
  async followStream(nc: NatsConnection, stream: string): Promise<void> {
    const router = await LifecycleRouter.open({
      nc,
      stream,
      route: (event) => this.route(event),
      logger: this.#deps.logger,
    });
    this.#stops.push(() => router.close());
  }

  /**
   * Hands one event to its subject's callback and the tenant's subscriptions that want it; resolves once every
   * delivery is held, rejects when one could not be (route it again: a delivery is stored once per receiver).
   */
  async route(event: LifecycleEvent): Promise<void> {
    const dispatches: Array<Promise<boolean>> = [];
    const callback = await this.#callbacks.get(event.subject);
    if (callback && callback.tenant === event.tenant && (callback.events?.includes(event.type) ?? true)) {
      const checked = checkCallbackUrl(callback.url, this.#addresses);
      if (checked.ok)
        dispatches.push(
          this.#dispatcher.dispatch({
            tenant: event.tenant,
            event,
            receiver: 'callback',
            target: checked.target,
            secretRef: this.#secretRef(event.tenant),
          }),
        );
    }
    for (const subscription of this.#subscriptionsOf(event.tenant)) {
      if (!subscription.events.includes(event.type)) continue;
      dispatches.push(
        this.#dispatcher.dispatch({
          tenant: event.tenant,
          event,
          receiver: subscription.key,
          target: subscription.target,
          secretRef: subscription.secretRef,
        }),
      );
    }
    await Promise.all(dispatches);
    if (isTerminal(event.type) && this.#callbacks.ordered) await this.#callbacks.delete(event.subject);
  }

  async close(): Promise<void> {
    for (const stop of this.#stops.splice(0)) await stop();
    await this.#dispatcher.close();
  }

  #secretRef(tenant: string): string {
    return this.#deps.policies?.forTenant(tenant)?.callback_secret_ref ?? `webhook.${tenant}`;
  }

  /** The tenant's subscriptions, their URLs checked once (a refused one is logged and skipped). */
  #subscriptionsOf(tenant: string) {
    let list = this.#subscriptions.get(tenant);
    if (list) return list;
    list = [];
    for (const [i, subscription] of (this.#deps.policies?.forTenant(tenant)?.webhooks ?? []).entries()) {
      const checked = checkCallbackUrl(subscription.url, this.#addresses);
      if (!checked.ok) {
        this.#deps.logger.error(
          { tenant, webhook: i, reason: checked.reason },
          'tenant webhook URL refused; it gets no deliveries',
        );
        continue;
      }
      list.push({
        key: `webhook${i}`,
        target: checked.target,
        events: subscription.events,
        secretRef: subscription.secret_ref,
      });
    }
    this.#subscriptions.set(tenant, list);
    return list;
  }
}
