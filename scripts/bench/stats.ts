// Small statistics for benchmarks: percentiles and a timed loop at a given concurrency.

export interface Sample {
  p50: number;
  p99: number;
  mean: number;
  count: number;
  throughput: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Runs `task` `count` times with `concurrency` in flight; returns latency percentiles (ms) and ops/s. */
export async function measure(
  count: number,
  concurrency: number,
  task: () => Promise<void>,
): Promise<Sample> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count) {
      next += 1;
      const t0 = performance.now();
      await task();
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    count: latencies.length,
    throughput: latencies.length / elapsed,
  };
}

export function row(name: string, s: Sample): string {
  return `${name.padEnd(44)} p50 ${s.p50.toFixed(2).padStart(8)} ms   p99 ${s.p99.toFixed(2).padStart(8)} ms   ${s.throughput
    .toFixed(1)
    .padStart(8)} ops/s   n=${s.count}`;
}
