// Bounded waiting: the queue never waits on a worker or a finish without a deadline.
// Must never reject and never leave its timer behind.

/** setTimeout's largest delay; longer ones would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Waits for the promise, or for ms milliseconds, whichever comes first; never rejects. */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
  });
  const settled = promise.then(
    () => {},
    () => {},
  );
  try {
    await Promise.race([settled, elapsed]);
  } finally {
    clearTimeout(timer);
  }
}
