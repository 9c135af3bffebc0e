// The size a warm pool refills to, from demand: the containers being refilled at any moment are the arrival rate ×
// the refill time (Little's law), and the pool keeps that many ready plus a margin of its square root (Poisson
// arrivals), clamped between the pool's min and max. An idle pool (no lease for the idle period) wants its min.
// Pure: every input is passed in, so the decisions are tested without a clock or a container.

export interface PoolTargetInput {
  /** Leases per second (RateEstimate). */
  ratePerSecond: number;
  /** Measured create+start time in ms; undefined before the first refill (then the min holds). */
  refillMs: number | undefined;
  min: number;
  max: number;
  /** Whether the pool had no lease for its idle period. */
  idle: boolean;
}

export function poolTarget(input: PoolTargetInput): number {
  const max = Math.max(input.min, input.max);
  if (input.idle || input.refillMs === undefined) return input.min;
  const inRefill = Math.max(0, input.ratePerSecond) * (input.refillMs / 1000);
  const wanted = inRefill > 0 ? Math.ceil(inRefill + Math.sqrt(inRefill)) : 0;
  return Math.min(max, Math.max(input.min, wanted));
}

/** How many ready containers to retire now: only an idle pool retires, and only what is above its target. */
export function surplus(ready: number, target: number, idle: boolean): number {
  return idle ? Math.max(0, ready - target) : 0;
}
