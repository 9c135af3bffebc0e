// The size a warm pool refills to, from demand: the containers being refilled at any moment are the arrival rate ×
// the refill time (Little's law, m = λT), and a job finds the pool empty when more than the pool arrive during one
// refill. Arrivals are Poisson, so the count in a refill has mean m and standard deviation √m; the pool keeps
// m + k·√m ready (square-root staffing), k = BURST_MARGIN unless given, clamped between the pool's min and max.
// An idle pool (no lease for the idle period) wants its min.
// Pure: every input is passed in, so the decisions are tested without a clock or a container.

/**
 * Standard deviations of the arrivals in one refill a pool covers beyond their mean. With k = 3 the share of jobs
 * that find the pool empty (a Poisson count of mean m reaching m + 3√m) is about 1–2% for m from 1 to 3 and falls
 * with m, where k = 1 left 15% of jobs at m = 3 waiting for a refill: the p99 is then a warm lease, not a refill.
 */
export const BURST_MARGIN = 3;

export interface PoolTargetInput {
  /** Leases per second (the pool's lease rate estimate). */
  ratePerSecond: number;
  /** Measured create+start time in ms; undefined before the first refill (then the min holds). */
  refillMs: number | undefined;
  min: number;
  max: number;
  /** Whether the pool had no lease for its idle period. */
  idle: boolean;
  /** k of m + k·√m. @default BURST_MARGIN */
  margin?: number;
}

export function poolTarget(input: PoolTargetInput): number {
  const max = Math.max(input.min, input.max);
  if (input.idle || input.refillMs === undefined) return input.min;
  const inRefill = Math.max(0, input.ratePerSecond) * (input.refillMs / 1000);
  const margin = Math.max(0, input.margin ?? BURST_MARGIN);
  const wanted = inRefill > 0 ? Math.ceil(inRefill + margin * Math.sqrt(inRefill)) : 0;
  return Math.min(max, Math.max(input.min, wanted));
}

/** How many ready containers to retire now: only an idle pool retires, and only what is above its target. */
export function surplus(ready: number, target: number, idle: boolean): number {
  return idle ? Math.max(0, ready - target) : 0;
}
