// Delivers webhooks at least once: each delivery has one `webhook-id` for all its attempts, a body fixed when
// it is created, and a Standard Webhooks signature (standardwebhooks) made per attempt with the tenant's
// `whsec_` secret, read from the secrets provider just then and never kept, logged or put in an error. A failed
// attempt is retried after an exponential delay with full jitter, up to the configured attempts; every attempt
// goes to the delivery log. Embedded mode keeps pending deliveries in memory, bounded: a restart loses them.
// Must never retry a delivery whose address check refused it, nor exceed the pending bound.

import type { AddressCheck, Resolver, SecretsProvider } from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import type { LifecycleEvent } from '@airlock/protocol';
import { Webhook } from 'standardwebhooks';
import { type CallbackTarget, displayUrl } from './callback-target.ts';
import { attemptDelivery } from './delivery-attempt.ts';
import type { DeliveryAttempt, DeliveryLog } from './delivery-log.ts';

export interface WebhookSettings {
  /** Attempts per delivery, the first included. */
  attempts: number;
  /** One attempt's time, connect to last byte read. */
  timeoutMs: number;
  /** The first retry's delay ceiling; it doubles per attempt up to maxBackoffMs, and the delay is a random part of it. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Deliveries waiting or in flight at once. */
  maxPending: number;
  /** Addresses a callback may reach despite the special-purpose ranges (AIRLOCK_WEBHOOK_ALLOWANCES). */
  allowances: ReadonlyArray<{ address: string; port: number }>;
}

/** Bytes of a receiver's response body read before it is dropped. */
export const MAX_RESPONSE_BYTES = 16 * 1024;

export interface Delivery {
  tenant: string;
  /** The lifecycle feed's event, as `GET /v1/events` lists it (same id). */
  event: LifecycleEvent;
  /** Which of the event's receivers: `callback`, or a tenant subscription's key. One delivery per pair. */
  receiver: string;
  target: CallbackTarget;
  /** Name of the signing secret in the secrets provider. */
  secretRef: string;
}

export interface DispatcherDeps {
  settings: WebhookSettings;
  addresses: AddressCheck;
  resolver: Resolver;
  secrets: SecretsProvider;
  log: DeliveryLog;
  logger: Logger;
  /** CA bundle for TLS receivers. @default Node's bundled roots */
  ca?: string[];
  /** [0, 1) for the jitter. @default Math.random */
  random?: () => number;
  now?: () => Date;
}

/** A delivery with its id and body fixed: what every attempt sends (and what NATS mode stores). */
export interface PendingDelivery extends Delivery {
  webhookId: string;
  body: string;
}

interface Pending extends PendingDelivery {
  attempt: number;
}

export class WebhookDispatcher {
  readonly #deps: DispatcherDeps;
  readonly #timers = new Set<NodeJS.Timeout>();
  #pending = 0;
  #closed = false;
  readonly #idle = new Set<() => void>();

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
  }

  /** Starts delivering; false (dropped, logged) when the pending bound is reached or the dispatcher is closed. */
  async dispatch(delivery: Delivery): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#pending >= this.#deps.settings.maxPending) {
      this.#deps.logger.warn(
        { tenant: delivery.tenant, subject: delivery.event.subject, event: delivery.event.type },
        'webhook dropped: too many deliveries pending (AIRLOCK_WEBHOOK_MAX_PENDING)',
      );
      return false;
    }
    this.#pending++;
    void this.#attempt({ ...pendingDelivery(delivery), attempt: 1 });
    return true;
  }

  /** Deliveries waiting or in flight. */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves once no delivery is pending (for an orderly shutdown and for tests). */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Stops retrying; deliveries still waiting are given up (in memory only). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#pending = 0;
    for (const resolve of this.#idle) resolve();
    this.#idle.clear();
  }

  async #attempt(delivery: Pending): Promise<void> {
    const { entry, retryable } = await attemptOnce(this.#deps, delivery, delivery.attempt);
    if (this.#closed) return;
    const retry = retryable && delivery.attempt < this.#deps.settings.attempts;
    await this.#deps.log.record(delivery.tenant, delivery.event.subject, {
      ...entry,
      outcome: outcomeOf(entry, retry),
    });
    if (this.#closed) return;
    if (retry) {
      const timer = setTimeout(
        () => {
          this.#timers.delete(timer);
          void this.#attempt({ ...delivery, attempt: delivery.attempt + 1 });
        },
        retryDelay(this.#deps, delivery.attempt),
      );
      this.#timers.add(timer);
      return;
    }
    if (entry.error !== null) givenUp(this.#deps.logger, delivery, entry);
    this.#settle();
  }

  #settle(): void {
    this.#pending = Math.max(0, this.#pending - 1);
    if (this.#pending > 0) return;
    for (const resolve of this.#idle) resolve();
    this.#idle.clear();
  }
}

/**
 * Fixes a delivery's webhook-id and body (Standard Webhooks: `{type, timestamp, data}`, data the event). The
 * webhook-id follows from the event id, so whoever routes the event names the same message.
 */
export function pendingDelivery(delivery: Delivery): PendingDelivery {
  return {
    ...delivery,
    webhookId: webhookIdOf(delivery.event),
    body: JSON.stringify({ type: delivery.event.type, timestamp: delivery.event.at, data: delivery.event }),
  };
}

/** `msg_` and the event id's own part: the same for every receiver and attempt of one event. */
export function webhookIdOf(event: LifecycleEvent): string {
  return `msg_${event.id.replace(/^evt_/, '')}`;
}

export type AttemptDeps = Pick<
  DispatcherDeps,
  'settings' | 'addresses' | 'resolver' | 'secrets' | 'ca' | 'now'
>;

/**
 * One signed attempt: its log entry (outcome still to be decided by the caller) and whether another attempt
 * could help (not after a 2xx, nor after the address check refused the target).
 */
export async function attemptOnce(
  deps: AttemptDeps,
  delivery: PendingDelivery,
  attempt: number,
): Promise<{ entry: Omit<DeliveryAttempt, 'outcome'>; retryable: boolean }> {
  const started = performance.now();
  const at = deps.now?.() ?? new Date();
  let result: { status: number | null; error: string | null };
  let refused = false;
  try {
    const signature = await sign(deps.secrets, delivery, at);
    result = await attemptDelivery({
      target: delivery.target,
      headers: {
        'webhook-id': delivery.webhookId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
        'user-agent': 'Airlock-Webhooks',
      },
      body: delivery.body,
      addresses: deps.addresses,
      resolver: deps.resolver,
      timeoutMs: deps.settings.timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      ca: deps.ca,
    });
    refused = result.error?.startsWith('refused:') === true;
  } catch (error) {
    result = { status: null, error: (error as Error).message.slice(0, 200) };
  }
  return {
    entry: {
      webhook_id: delivery.webhookId,
      event_id: delivery.event.id,
      event_type: delivery.event.type,
      url: displayUrl(delivery.target),
      attempt,
      status: result.status,
      latency_ms: Math.round(performance.now() - started),
      error: result.error,
      at: at.toISOString(),
    },
    retryable: result.error !== null && !refused,
  };
}

export function outcomeOf(entry: { error: string | null }, retry: boolean): DeliveryAttempt['outcome'] {
  return entry.error === null ? 'delivered' : retry ? 'retrying' : 'failed';
}

/** Full jitter: a random delay up to the doubled backoff, capped. */
export function retryDelay(deps: Pick<DispatcherDeps, 'settings' | 'random'>, attempt: number): number {
  const { backoffMs, maxBackoffMs } = deps.settings;
  const ceiling = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
  return Math.floor((deps.random ?? Math.random)() * ceiling);
}

export function givenUp(
  logger: Logger,
  delivery: PendingDelivery,
  entry: Omit<DeliveryAttempt, 'outcome'>,
): void {
  logger.warn(
    {
      webhook_id: delivery.webhookId,
      tenant: delivery.tenant,
      subject: delivery.event.subject,
      url: entry.url,
      attempts: entry.attempt,
      error: entry.error,
    },
    'webhook delivery given up',
  );
}

async function sign(secrets: SecretsProvider, delivery: PendingDelivery, at: Date): Promise<string> {
  let secret: string;
  try {
    secret = await secrets.resolve(delivery.secretRef);
  } catch {
    throw new Error(`signing secret '${delivery.secretRef}' is not available`);
  }
  if (!secret.startsWith('whsec_'))
    throw new Error(`signing secret '${delivery.secretRef}' is not a whsec_ secret`);
  try {
    return new Webhook(secret).sign(delivery.webhookId, at, delivery.body);
  } catch {
    throw new Error(`signing secret '${delivery.secretRef}' is not a valid whsec_ secret`);
  }
}
