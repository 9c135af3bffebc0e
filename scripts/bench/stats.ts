// Small statistics for benchmarks: percentiles, a timed loop at a given concurrency, and the bare-isolate floor
// the isolate rows are read against. Every row's numbers come from summarize, so they are computed one way.

import ivm from 'isolated-vm';

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

/** Runs `body` `count` times in all, with `concurrency` of them in flight. */
export async function lanes(count: number, concurrency: number, body: () => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next += 1;
      await body();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** Percentiles and mean of `latencies` (ms; sorted here) and the ops/s they make over `seconds`. */
export function summarize(latencies: number[], seconds: number): Sample {
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    count: latencies.length,
    throughput: latencies.length / seconds,
  };
}

/** Runs `task` `count` times with `concurrency` in flight; returns latency percentiles (ms) and ops/s. */
export async function measure(
  count: number,
  concurrency: number,
  task: () => Promise<void>,
): Promise<Sample> {
  const latencies: number[] = [];
  const started = performance.now();
  await lanes(count, concurrency, async () => {
    const t0 = performance.now();
    await task();
    latencies.push(performance.now() - t0);
  });
  return summarize(latencies, (performance.now() - started) / 1000);
}

/** Creates an isolate of `memoryMb`, runs `source` in a fresh context and disposes of it: the floor of a run. */
export async function bareIsolate(memoryMb: number, source: string): Promise<void> {
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  try {
    const context = await isolate.createContext();
    const script = await isolate.compileScript(source);
    await script.run(context, { timeout: 1000 });
  } finally {
    isolate.dispose();
  }
}

export function row(name: string, s: Sample): string {
  return `${name.padEnd(44)} p50 ${s.p50.toFixed(2).padStart(8)} ms   p99 ${s.p99.toFixed(2).padStart(8)} ms   ${s.throughput
    .toFixed(1)
    .padStart(8)} ops/s   n=${s.count}`;
}
