// Whether a job that found its warm pool empty waits for a container being created, or goes cold at once: it
// waits when the soonest creation not already promised to an earlier waiter is expected to finish before a cold
// start would (both from measured times), and then for at most the cold estimate, so it never waits forever.
// Pure: every input is passed in, so the decisions are tested without a clock or a container.

export interface LeaseWaitInput {
  now: number;
  /** When each creation now in flight began (any order). */
  creationsStartedAt: readonly number[];
  /** Jobs already waiting; each is promised one of the oldest creations. */
  waiting: number;
  /** Measured refill (create+start) time in ms; undefined before the first one. */
  refillMs: number | undefined;
  /** Measured cold start time in ms; the refill time stands in before the first one. */
  coldMs: number | undefined;
}

/** The longest the job should wait in ms, or undefined to go cold now. */
export function leaseWait(input: LeaseWaitInput): number | undefined {
  if (input.refillMs === undefined) return undefined;
  const cold = input.coldMs ?? input.refillMs;
  const free = [...input.creationsStartedAt].sort((a, b) => a - b).slice(Math.max(0, input.waiting));
  const soonest = free[0];
  if (soonest === undefined) return undefined;
  const expected = Math.max(0, input.refillMs - (input.now - soonest));
  return expected < cold ? cold : undefined;
}
