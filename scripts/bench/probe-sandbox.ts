// `node scripts/bench/probe-sandbox.ts [--n 300] [--rounds 6] [--gap-ms 0]`: IsolateSandbox.run of a JavaScript
// hello world at concurrency 1 against a bare in-process isolated-vm create-compile-run-dispose, measured in
// alternating rounds in the same run (this machine is noisy), with the ratio of the medians. The sandbox target
// is a ratio of at most 0.6. `--gap-ms` pauses between jobs (both kinds), as between requests of a real client,
// which gives the hosts time to prepare the next isolate; 0 runs jobs back to back.

import { parseArgs } from 'node:util';
import { IsolateSandbox } from '@airlock/sandbox';
import { bareIsolate, percentile } from './stats.ts';

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '6' },
    'gap-ms': { type: 'string', default: '0' },
  },
});
const N = Number(flags.n);
const ROUNDS = Number(flags.rounds);
const GAP_MS = Number(flags['gap-ms']);
const MEMORY_MB = 128;

const bareHello = () => bareIsolate(MEMORY_MB, '"hello"');

const sandbox = new IsolateSandbox({ hosts: 2, defaultMemoryMb: MEMORY_MB });
await sandbox.start();
const job = {
  executionId: 'x',
  language: 'javascript' as const,
  code: 'console.log("hello, world")',
  files: [],
  stdin: '',
  args: [],
  env: {},
  limits: { wall_time_ms: 10000, cpu_time_ms: 10000, memory_mb: MEMORY_MB, output_bytes: 1 << 20 },
};
async function viaSandbox(): Promise<void> {
  const result = await sandbox.run(job, { signal: new AbortController().signal });
  if (result.stdout !== 'hello, world\n') throw new Error(JSON.stringify(result));
}

async function sample(task: () => Promise<void>, count: number, into: number[]): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    await task();
    into.push(performance.now() - t0);
    if (GAP_MS > 0) await new Promise((resolve) => setTimeout(resolve, GAP_MS));
  }
}

function median(latencies: number[]): number {
  return percentile(
    [...latencies].sort((a, b) => a - b),
    50,
  );
}

function summary(name: string, latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const p = (q: number) => percentile(sorted, q).toFixed(2).padStart(7);
  return `${name.padEnd(28)} p50 ${p(50)} ms   p90 ${p(90)} ms   p99 ${p(99)} ms   n=${sorted.length}`;
}

try {
  await sample(bareHello, 50, []);
  await sample(viaSandbox, 50, []);
  const bare: number[] = [];
  const sandboxed: number[] = [];
  const perRound = Math.max(1, Math.round(N / ROUNDS));
  for (let round = 0; round < ROUNDS; round += 1) {
    await sample(bareHello, perRound, bare);
    await sample(viaSandbox, perRound, sandboxed);
  }
  const ratio = median(sandboxed) / median(bare);
  console.log(summary('bare isolate (in process)', bare));
  console.log(summary(`sandbox c=1${GAP_MS > 0 ? `, ${GAP_MS} ms apart` : ''}`, sandboxed));
  console.log(`sandbox p50 / bare p50 = ${ratio.toFixed(2)} (target ≤ 0.60)`);
} finally {
  await sandbox.close();
}
