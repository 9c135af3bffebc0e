// A warm pool's lease rate, in leases per second: the larger of a slow estimate (a window of seconds, steady
// under Poisson noise) and a fast one whose window is the pool's measured refill time, so a step up in demand
// shows within one or two refills (the fast one reads 1 − e^(−t/refill) of it) while a pause shrinks it only as
// the slow one decays. Both read the clock they are given (tests inject one).

import { RateEstimate } from './rate-estimate.ts';

/** The fast window's floor: a refill measured faster than this would make the rate mostly noise. */
const MIN_FAST_WINDOW_MS = 100;

export class LeaseRate {
  readonly #slow: RateEstimate;
  readonly #fast: RateEstimate;

  /** `refillMs` is read at every lease and reading; until it is known the fast window is the slow one. */
  constructor(slowWindowMs: number, refillMs: () => number | undefined, now: () => number) {
    this.#slow = new RateEstimate(slowWindowMs, now);
    const fastMs = () => Math.min(slowWindowMs, Math.max(MIN_FAST_WINDOW_MS, refillMs() ?? slowWindowMs));
    this.#fast = new RateEstimate(fastMs, now);
  }

  /** Counts one lease now. */
  record(): void {
    this.#slow.record();
    this.#fast.record();
  }

  perSecond(): number {
    return Math.max(this.#slow.perSecond(), this.#fast.perSecond());
  }
}
