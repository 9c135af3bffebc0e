// How long something takes, in milliseconds: an exponentially weighted moving average of the measured samples
// (the first sample is the estimate until more arrive). Undefined until something was measured, so callers can
// tell "unknown" from "fast".

export class DurationEstimate {
  readonly #weight: number;
  #estimate: number | undefined;
  #samples = 0;

  /** `weight` is the share of each new sample in the estimate (0 < weight ≤ 1). @default 0.3 */
  constructor(weight = 0.3) {
    if (!(weight > 0 && weight <= 1)) throw new RangeError(`weight must be in (0, 1], got ${weight}`);
    this.#weight = weight;
  }

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#samples++;
    this.#estimate =
      this.#estimate === undefined ? ms : this.#estimate + this.#weight * (ms - this.#estimate);
  }

  /** The estimate in ms, or undefined before the first sample. */
  get ms(): number | undefined {
    return this.#estimate;
  }

  get samples(): number {
    return this.#samples;
  }
}
