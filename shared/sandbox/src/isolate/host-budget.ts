// How many jobs one isolate host runs before it is handed over to a fresh process, and when its successor is
// started. Each host's budget is drawn a little below the configured one, so hosts that started together do not
// all reach it together; the successor starts a tenth of the budget early, so it is usually ready (warm) by the
// time the budget is spent. Pure arithmetic; must always give 1 <= successorAt <= jobs <= the configured budget.

export interface HostBudget {
  /** This host's own budget: the configured one, drawn up to a quarter below it. */
  jobs: number;
  /** After this many jobs its successor is started. */
  successorAt: number;
}

/** The share of the budget a host's own budget may be drawn below it. */
const JITTER = 0.25;
/** The share of its budget a host has left when its successor is started. */
const LEAD = 0.1;

/** A host's budget out of the configured `maxJobs`; `random` gives a number in [0, 1). */
export function hostBudget(maxJobs: number, random: () => number): HostBudget {
  const jobs = Math.max(1, maxJobs - Math.floor(random() * JITTER * maxJobs));
  const successorAt = Math.max(1, jobs - Math.floor(LEAD * jobs));
  return { jobs, successorAt };
}
