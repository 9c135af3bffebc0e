// The timed loop of the container bench's rows and the way their numbers are printed: a row runs a task a
// number of times at a concurrency, counting failures instead of timing them; a ratio line names its target and
// says whether it is met. Shared by containers.ts and its arrival row so every line reads the same.

import type { ContainerSandboxStats } from '@airlock/sandbox';
import { lanes, type Sample, summarize } from './stats.ts';

/**
 * `count` runs of task with `concurrency` in flight; `pace` (untimed) runs before each. A failed run is counted,
 * not timed (another Airlock's reaper may kill a container mid-job); more than a quarter failing ends the bench.
 */
export async function timed(
  count: number,
  concurrency: number,
  task: () => Promise<unknown>,
  signal: AbortSignal,
  pace?: () => Promise<void>,
): Promise<{ sample: Sample; failures: string[] }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  await lanes(count, concurrency, async () => {
    signal.throwIfAborted();
    await pace?.();
    const t0 = performance.now();
    try {
      await task();
      latencies.push(performance.now() - t0);
    } catch (error) {
      failures.push(error instanceof Error ? error.message.slice(0, 160) : String(error));
      if (failures.length > Math.max(1, count / 4))
        throw new Error(`too many failures: ${failures.join('; ')}`);
    }
  });
  const sample = summarize(latencies, (performance.now() - started) / 1000);
  return { sample, failures };
}

/** Of the warm leases so far, those that waited for a container being created (the pool was empty). */
export function waitHits(stats: ContainerSandboxStats): number {
  return stats.pools.reduce((n, pool) => n + pool.waitHits, 0);
}

export function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

export function ratio(name: string, value: number, target: number): string {
  return `ratio ${name}: ${value.toFixed(2)}x (target <= ${target}x: ${value <= target ? 'met' : 'NOT met'})`;
}

export function ms(value: number): string {
  return `${value.toFixed(1).padStart(7)} ms`;
}
