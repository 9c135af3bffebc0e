// Submissions per minute per tenant, as a token bucket: a tenant may send up to its per-minute allowance at
// once, then one more every 60/allowance seconds. Buckets that have refilled are dropped, so memory follows
// the tenants active in the last minute. An allowance taken for a submission that is refused later (its queue
// was full, its audit record could not be written) is given back with refund(). Must never let a refused
// submission consume an allowance.

export interface TenantRateLimiterOptions {
  /** A tenant's allowance per minute (from its policy); 0 or less refuses every submission. */
  submissionsPerMinute: (tenant: string) => number;
  /** Clock in milliseconds. @default Date.now */
  now?: () => number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

const MINUTE_MS = 60_000;

export class TenantRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #rateOf: (tenant: string) => number;
  readonly #now: () => number;
  #nextSweep = 0;

  constructor(options: TenantRateLimiterOptions) {
    this.#rateOf = options.submissionsPerMinute;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one submission from the tenant's allowance, or says how long until one is available. */
  take(tenant: string): RateDecision {
    const now = this.#now();
    const perMinute = this.#rateOf(tenant);
    if (!(perMinute > 0)) return { ok: false, retryAfterSeconds: 60 };
    if (now >= this.#nextSweep) this.#sweep(now);

    const bucket = this.#buckets.get(tenant) ?? { tokens: perMinute, at: now };
    const elapsed = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(perMinute, bucket.tokens + (elapsed * perMinute) / MINUTE_MS);
    bucket.at = now;
    this.#buckets.set(tenant, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    const waitMs = ((1 - bucket.tokens) * MINUTE_MS) / perMinute;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  /** Gives back one allowance taken by take() for a submission that was refused after all. */
  refund(tenant: string): void {
    const bucket = this.#buckets.get(tenant);
    // A bucket already dropped was full: there is nothing to give back.
    if (bucket) bucket.tokens = Math.min(this.#rateOf(tenant), bucket.tokens + 1);
  }

  #sweep(now: number): void {
    for (const [tenant, bucket] of this.#buckets) {
      const perMinute = this.#rateOf(tenant);
      if (!(perMinute > 0) || bucket.tokens + ((now - bucket.at) * perMinute) / MINUTE_MS >= perMinute) {
        this.#buckets.delete(tenant);
      }
    }
    this.#nextSweep = now + MINUTE_MS;
  }
}
