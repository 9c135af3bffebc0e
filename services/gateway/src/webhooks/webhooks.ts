// Webhooks for one gateway: checks a request's callback at submission, remembers it until its subject's life
// ends, and turns each lifecycle event into deliveries — to the subject's callback (if it asked for that type)
// and to every tenant-level subscription of the tenant policy that lists it. Must never deliver one tenant's
// event to another tenant's callback or subscription, and never accept a callback it would refuse to dial.

import type { TenantPolicies } from '@airlock/auth';
import { AddressCheck, type Resolver, type SecretsProvider } from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import {
  AirlockError,
  type Callback,
  type Execution,
  type LifecycleEvent,
  type LifecycleEventType,
  type Session,
} from '@airlock/protocol';
import { type CallbackTarget, checkCallbackUrl } from './callback-target.ts';
import { DeliveryLog } from './delivery-log.ts';
import { executionEndEvent, executionEvent, isTerminal, sessionEvent } from './lifecycle-events.ts';
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
}

/** Where deliveries go to be attempted: in memory (embedded) or a JetStream stream (NATS mode). */
export interface DeliveryDispatcher {
  /** Starts delivering; false when it cannot take the delivery (logged). */
  dispatch(delivery: Delivery): boolean;
  /** Deliveries waiting or in flight here. */
  readonly pending: number;
  idle(): Promise<void>;
  close(): void | Promise<void>;
}

interface Registration {
  tenant: string;
  target: CallbackTarget;
  events: readonly LifecycleEventType[] | undefined;
}

/** Subjects with a callback remembered at once; a subject beyond it gets no callback (and a warning). */
const MAX_REGISTERED = 200_000;

export class Webhooks {
  readonly log: DeliveryLog;
  readonly #deps: WebhooksDeps;
  readonly #addresses: AddressCheck;
  readonly #dispatcher: DeliveryDispatcher;
  readonly #callbacks = new Map<string, Registration>();
  readonly #subscriptions = new Map<
    string,
    Array<{ target: CallbackTarget; events: string[]; secretRef: string }>
  >();

  constructor(deps: WebhooksDeps) {
    this.#deps = deps;
    this.#addresses = new AddressCheck({ allowances: deps.settings.allowances });
    if (deps.delivery) {
      this.log = deps.delivery.log;
      this.#dispatcher = deps.delivery.dispatcher;
      return;
    }
    this.log = new DeliveryLog();
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

  /** Remembers a subject's callback until its terminal event (call after check()). */
  register(tenant: string, subject: string, callback: Callback, target: CallbackTarget): void {
    if (this.#callbacks.size >= MAX_REGISTERED) {
      this.#deps.logger.warn(
        { tenant, subject },
        'callback not registered: too many subjects with callbacks',
      );
      return;
    }
    this.#callbacks.set(subject, { tenant, target, events: callback.events });
  }

  /** A subject that never came to be (its submission failed after register()). */
  forget(subject: string): void {
    this.#callbacks.delete(subject);
  }

  executionAccepted(execution: Execution): void {
    this.publish(executionEvent('execution.accepted', execution));
  }

  executionEnded(execution: Execution): void {
    this.publish(executionEndEvent(execution));
  }

  sessionCreated(session: Session): void {
    this.publish(sessionEvent('session.created', session));
  }

  sessionClosed(session: Session): void {
    this.publish(sessionEvent('session.closed', session));
  }

  /** Delivers one event to its subject's callback and the tenant's subscriptions that want it. */
  publish(event: LifecycleEvent): void {
    const callback = this.#callbacks.get(event.subject);
    if (callback && callback.tenant === event.tenant && (callback.events?.includes(event.type) ?? true)) {
      this.#dispatcher.dispatch({
        tenant: event.tenant,
        event,
        target: callback.target,
        secretRef: this.#secretRef(event.tenant),
      });
    }
    if (isTerminal(event.type)) this.#callbacks.delete(event.subject);
    for (const subscription of this.#subscriptionsOf(event.tenant)) {
      if (!subscription.events.includes(event.type)) continue;
      this.#dispatcher.dispatch({
        tenant: event.tenant,
        event,
        target: subscription.target,
        secretRef: subscription.secretRef,
      });
    }
  }

  async close(): Promise<void> {
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
      list.push({ target: checked.target, events: subscription.events, secretRef: subscription.secret_ref });
    }
    this.#subscriptions.set(tenant, list);
    return list;
  }
}

/** The callback's checked target; refused when this server delivers no callbacks. */
export async function checkCallback(webhooks: Webhooks | undefined, tenant: string, callback: Callback) {
  if (!webhooks)
    throw new AirlockError('callback_refused', 'this server does not deliver callbacks', {
      field: 'callback.url',
    });
  return webhooks.check(tenant, callback);
}
