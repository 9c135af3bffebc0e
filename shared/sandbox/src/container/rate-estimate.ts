// How often something happens, in events per second: an exponentially weighted moving average over time (each
// event adds 1/window and the sum decays by e^(−elapsed/window)), so a steady rate λ reads λ and a rate that
// stops decays towards 0 without any further event; after a step to λ it reads λ(1 − e^(−t/window)). The window
// may be a function, read at every event and reading (a pool's follows its measured refill time); a steady rate
// still reads λ whatever the window. It reads only the clock it is given (tests inject one).

export class RateEstimate {
  readonly #windowMs: () => number;
  readonly #now: () => number;
  /** Events per second as of #at. */
  #rate = 0;
  #at: number;

  constructor(windowMs: number | (() => number), now: () => number) {
    this.#windowMs = typeof windowMs === 'number' ? () => windowMs : windowMs;
    this.#window();
    this.#now = now;
    this.#at = now();
  }

  /** Counts one event now. */
  record(): void {
    this.#rate = this.perSecond() + 1000 / this.#window();
    this.#at = this.#now();
  }

  /** The estimate now, in events per second. */
  perSecond(): number {
    const elapsed = Math.max(0, this.#now() - this.#at);
    return this.#rate * Math.exp(-elapsed / this.#window());
  }

  #window(): number {
    const windowMs = this.#windowMs();
    if (!(windowMs > 0)) throw new RangeError(`window must be > 0 ms, got ${windowMs}`);
    return windowMs;
  }
}
