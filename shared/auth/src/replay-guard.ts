// Counts the executions started with each intent token, keyed by (issuer, jti), so a token cannot start more
// than its intent allows. Entries live until the token could no longer verify (exp plus the clock
// tolerance) and are then evicted, so memory is bounded by the live tokens. Must never forget a live entry to
// make room: when full of live tokens it refuses (fails closed) instead.

import type { Principal } from './verifier.ts';

export interface ReplayGuardOptions {
  /** Keep an entry this long past the token's exp (match the verifier's tolerance). @default 30 */
  clockToleranceSeconds?: number;
  /** Live tokens tracked at most; past this, new tokens are refused until some expire. @default 100000 */
  maxEntries?: number;
  /** Least time between two sweeps for expired entries. @default 10 */
  sweepIntervalSeconds?: number;
  /** Clock in milliseconds. @default Date.now */
  now?: () => number;
}

interface Entry {
  uses: number;
  forgetAt: number;
}

/** The number of executions a principal's token may start: its intent's count, else the configured default. */
export function maxExecutionsFor(principal: Pick<Principal, 'intent'>, configuredDefault: number): number {
  return principal.intent?.max_executions ?? configuredDefault;
}

export class ReplayGuard {
  readonly #entries = new Map<string, Entry>();
  readonly #toleranceMs: number;
  readonly #maxEntries: number;
  readonly #sweepMs: number;
  readonly #now: () => number;
  #nextSweep = 0;

  constructor(options: ReplayGuardOptions = {}) {
    this.#toleranceMs = (options.clockToleranceSeconds ?? 30) * 1000;
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#sweepMs = (options.sweepIntervalSeconds ?? 10) * 1000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Records one use of the token; true when it is within `maxExecutions` (the use counts), false when the
   * token is spent (or the guard is full of live tokens). A false answer does not count as a use.
   */
  use(principal: Pick<Principal, 'issuer' | 'jti' | 'expiresAt'>, maxExecutions: number): boolean {
    const now = this.#now();
    if (now >= this.#nextSweep || this.#entries.size >= this.#maxEntries) this.#sweep(now);
    // The issuer's length prefix keeps (iss 'a', jti 'bc') and (iss 'ab', jti 'c') apart.
    const key = `${principal.issuer.length}:${principal.issuer}${principal.jti}`;
    const forgetAt = principal.expiresAt.getTime() + this.#toleranceMs;
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      if (maxExecutions < 1 || this.#entries.size >= this.#maxEntries) return false;
      this.#entries.set(key, { uses: 1, forgetAt });
      return true;
    }
    if (entry.uses >= maxExecutions) return false;
    entry.uses += 1;
    entry.forgetAt = Math.max(entry.forgetAt, forgetAt);
    return true;
  }

  /** Tokens currently tracked. */
  get size(): number {
    return this.#entries.size;
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.forgetAt <= now) this.#entries.delete(key);
    }
    this.#nextSweep = now + this.#sweepMs;
  }
}
