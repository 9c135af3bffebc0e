// Counts the executions started with each intent token, keyed by (issuer, jti), so a token cannot start more
// than its intent allows. A use is first reserved (it counts against the token at once, so two concurrent
// submissions cannot both take the last use), then committed when the execution is accepted, or released
// when the submission is refused after all. Entries live until the token could no longer verify (exp plus the
// clock tolerance) and are then evicted, so memory is bounded by the live tokens. Must never forget a live or
// reserved entry to make room: when full of live tokens it refuses (fails closed) instead.

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
  /** Committed uses. */
  uses: number;
  /** Reserved uses, neither committed nor released yet. */
  pending: number;
  forgetAt: number;
}

/** One reserved use of a token. */
export interface TokenUse {
  /** The use counts for good (the execution was accepted). Later calls, and release() after it, do nothing. */
  commit(): void;
  /** Gives the use back (the submission was refused after all). Later calls, and commit() after it, do nothing. */
  release(): void;
}

export type TokenUseDecision =
  | { ok: true; use: TokenUse }
  /** `spent`: no uses left; `pending`: the last uses are reserved by submissions still in progress. */
  | { ok: false; reason: 'spent' | 'pending' | 'full' };

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
    const decision = this.reserve(principal, maxExecutions);
    if (decision.ok) decision.use.commit();
    return decision.ok;
  }

  /**
   * Reserves one use of the token, counted against `maxExecutions` at once. A refusal reserves nothing.
   * The caller must commit() or release() the use it got.
   */
  reserve(
    principal: Pick<Principal, 'issuer' | 'jti' | 'expiresAt'>,
    maxExecutions: number,
  ): TokenUseDecision {
    const now = this.#now();
    if (now >= this.#nextSweep || this.#entries.size >= this.#maxEntries) this.#sweep(now);
    // The issuer's length prefix keeps (iss 'a', jti 'bc') and (iss 'ab', jti 'c') apart.
    const key = `${principal.issuer.length}:${principal.issuer}${principal.jti}`;
    const forgetAt = principal.expiresAt.getTime() + this.#toleranceMs;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (maxExecutions < 1) return { ok: false, reason: 'spent' };
      if (this.#entries.size >= this.#maxEntries) return { ok: false, reason: 'full' };
      entry = { uses: 0, pending: 0, forgetAt };
      this.#entries.set(key, entry);
    }
    if (entry.uses >= maxExecutions) return { ok: false, reason: 'spent' };
    if (entry.uses + entry.pending >= maxExecutions) return { ok: false, reason: 'pending' };
    entry.pending += 1;
    entry.forgetAt = Math.max(entry.forgetAt, forgetAt);
    const reserved = entry;
    let settled = false;
    const settle = (commit: boolean) => {
      if (settled) return;
      settled = true;
      reserved.pending -= 1;
      if (commit) reserved.uses += 1;
      else if (reserved.uses === 0 && reserved.pending === 0 && this.#entries.get(key) === reserved) {
        this.#entries.delete(key);
      }
    };
    return { ok: true, use: { commit: () => settle(true), release: () => settle(false) } };
  }

  /** Tokens currently tracked. */
  get size(): number {
    return this.#entries.size;
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.forgetAt <= now && entry.pending === 0) this.#entries.delete(key);
    }
    this.#nextSweep = now + this.#sweepMs;
  }
}
