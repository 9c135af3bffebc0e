// Delivers webhooks at least once: each delivery has one `webhook-id` for all its attempts, a body fixed when
// it is created, and a Standard Webhooks signature (standardwebhooks) made per attempt with the tenant's
// `whsec_` secret, read from the secrets provider just then and never kept, logged or put in an error. A failed
// attempt is retried after an exponential delay with full jitter, up to the configured attempts; every attempt
// goes to the delivery log. Embedded mode keeps pending deliveries in memory, bounded: a restart loses them.
// Must never retry a delivery whose address check refused it, nor exceed the pending bound.

import { randomBytes } from 'node:crypto';
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
  event: LifecycleEvent;
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

interface Pending extends Delivery {
  webhookId: string;
  body: string;
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

  /** Starts delivering; false (and logged) when the pending bound is reached or the dispatcher is closed. */
  dispatch(delivery: Delivery): boolean {
    if (this.#closed) return false;
    if (this.#pending >= this.#deps.settings.maxPending) {
      this.#deps.logger.warn(
        { tenant: delivery.tenant, subject: delivery.event.subject, event: delivery.event.type },
        'webhook dropped: too many deliveries pending (AIRLOCK_WEBHOOK_MAX_PENDING)',
      );
      return false;
    }
    this.#pending++;
    const body = JSON.stringify({
      type: delivery.event.type,
      timestamp: delivery.event.at,
      data: delivery.event,
    });
    void this.#attempt({
      ...delivery,
      webhookId: `msg_${randomBytes(16).toString('base64url')}`,
      body,
      attempt: 1,
    });
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
    const { settings, log } = this.#deps;
    const now = () => this.#deps.now?.() ?? new Date();
    const started = performance.now();
    const at = now();
    let result: { status: number | null; error: string | null; final?: boolean };
    try {
      const signature = await this.#sign(delivery, at);
      const outcome = await attemptDelivery({
        target: delivery.target,
        headers: {
          'webhook-id': delivery.webhookId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signature,
          'user-agent': 'Airlock-Webhooks',
        },
        body: delivery.body,
        addresses: this.#deps.addresses,
        resolver: this.#deps.resolver,
        timeoutMs: settings.timeoutMs,
        maxResponseBytes: MAX_RESPONSE_BYTES,
        ca: this.#deps.ca,
      });
      result = { ...outcome, final: outcome.error?.startsWith('refused:') === true };
    } catch (error) {
      result = { status: null, error: (error as Error).message.slice(0, 200) };
    }
    if (this.#closed) return;
    const delivered = result.error === null;
    const retry = !delivered && result.final !== true && delivery.attempt < settings.attempts;
    const entry: DeliveryAttempt = {
      webhook_id: delivery.webhookId,
      event_id: delivery.event.id,
      event_type: delivery.event.type,
      url: displayUrl(delivery.target),
      attempt: delivery.attempt,
      status: result.status,
      latency_ms: Math.round(performance.now() - started),
      error: result.error,
      outcome: delivered ? 'delivered' : retry ? 'retrying' : 'failed',
      at: at.toISOString(),
    };
    log.record(delivery.tenant, delivery.event.subject, entry);
    if (retry) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        void this.#attempt({ ...delivery, attempt: delivery.attempt + 1 });
      }, this.#delay(delivery.attempt));
      this.#timers.add(timer);
      return;
    }
    if (!delivered) {
      this.#deps.logger.warn(
        {
          webhook_id: delivery.webhookId,
          tenant: delivery.tenant,
          subject: delivery.event.subject,
          url: entry.url,
          attempts: delivery.attempt,
          error: result.error,
        },
        'webhook delivery given up',
      );
    }
    this.#settle();
  }

  /** Full jitter: a random delay up to the doubled backoff, capped. */
  #delay(attempt: number): number {
    const { backoffMs, maxBackoffMs } = this.#deps.settings;
    const ceiling = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
    return Math.floor((this.#deps.random ?? Math.random)() * ceiling);
  }

  async #sign(delivery: Pending, at: Date): Promise<string> {
    let secret: string;
    try {
      secret = await this.#deps.secrets.resolve(delivery.secretRef);
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

  #settle(): void {
    this.#pending = Math.max(0, this.#pending - 1);
    if (this.#pending > 0) return;
    for (const resolve of this.#idle) resolve();
    this.#idle.clear();
  }
}
