// The container part of `npm run bench`: python hello-world on runc and runsc in one run — Airlock's warm pool
// through REST (paced and back-to-back), the Docker baselines (docker-baselines.ts), Airlock's cold path (a
// limit profile no pool holds), throughput at concurrency = pool size against the raw API's at the same
// concurrency, sustained Poisson arrivals at 70% (by default) of the capacity, the lower of the two throughputs
// (arrival.ts) — then the ratios against their targets. `only: 'arrival'` runs just the rows the arrival targets need (paced, both throughputs, arrivals).
// Under the paced row (the quiet baseline) and the arrival row two lines say where the host's CPU went
// (host-cpu.ts), and under the arrival row others break the slowest 1% of jobs down by phase (job-phases.ts)
// and set the jobs that ran beside a pool creation or removal against those that ran alone (engine-overlap.ts).
// Numbers compare within one run only. It must never leave a container behind: the baselines' are swept by
// their labels, Airlock's are drained by service.close() and swept by their instance label, at the end, on
// failure and on interrupt. Beware: startEmbedded's start-up reaper removes every `airlock=1` container on
// this dockerd (another Airlock's too), and another Airlock's reaper would remove ours.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '@airlock/config';
import { type EmbeddedService, startEmbedded } from '@airlock/gateway';
import { createLogger } from '@airlock/logging';
import {
  type ContainerBackend,
  type ContainerRuntime,
  ContainerSandbox,
  loadResolvedImages,
} from '@airlock/sandbox';
import Dockerode from 'dockerode';
import { describeTrace, poissonArrivals } from './arrival.ts';
import { BENCH_LABELS, DockerBaselines, sweepContainers } from './docker-baselines.ts';
import { describeOverlap, splitByOverlap } from './engine-overlap.ts';
import { describeCpu, HostCpu } from './host-cpu.ts';
import { describeTail, type ExecutionStamps, phasesOf, tailBreakdown } from './job-phases.ts';
import { ms, percent, ratio, timed, waitHits } from './row-format.ts';
import type { Sample } from './stats.ts';

export interface ContainerBenchOptions {
  /** Samples per row on runc and on runsc (the throughput row takes 1.5×). */
  samples: Record<ContainerRuntime, number>;
  /** Warm containers per image × runtime (AIRLOCK_POOL_SIZE); also the throughput concurrency. */
  poolSize: number;
  dockerSocket: string;
  /** The checkout, where sandbox-images/.built/images.json lives. */
  repoRoot: string;
  /** How long the sustained-arrival row lasts on each runtime (issue #16's target: 60). */
  arrivalSeconds: number;
  /** The arrival rate as a share of the capacity, min(warm, raw API throughput) (issue #16's target: 0.7). */
  arrivalLoad: number;
  /** `arrival`: only the rows of the arrival and throughput targets. @default every row */
  only?: 'arrival';
  /** Aborted on SIGINT: the bench stops before the next sample and cleans up. */
  signal: AbortSignal;
  print: (line: string) => void;
}

const RUNTIMES = ['runc', 'runsc'] as const;
const BACKEND: Record<ContainerRuntime, ContainerBackend> = { runc: 'docker', runsc: 'gvisor' };
const POOLED_MEMORY_MB = 128;
const COLD_MEMORY_MB = 192;
const PACE_GAP_MS = 50;
const WARMUPS = 3;
/** Longest wait for a full pool before a row (another process's reaper can keep it from filling). */
const QUIET_DEADLINE_MS = 60_000;

interface RuntimeRows {
  /** Absent with `only: 'arrival'`. */
  exec?: Sample;
  raw?: Sample;
  warmBackToBack?: Sample;
  cold?: Sample;
  warmPaced: Sample;
  throughput: Sample;
  rawThroughput: Sample;
  arrival: { sample: Sample; warmShare: number };
}

export async function runContainerBench(options: ContainerBenchOptions): Promise<void> {
  const { print } = options;
  const docker = new Dockerode({ socketPath: options.dockerSocket });
  const images = await loadResolvedImages(options.repoRoot, docker);
  await sweepContainers(docker, BENCH_LABELS);
  const foreign = await docker.listContainers({ all: true, filters: { label: ['airlock=1'] } });
  if (foreign.length > 0)
    print(
      `note: another Airlock uses this dockerd (${foreign.length} containers); the numbers are not clean`,
    );

  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-containers-'));
  const config = loadConfig({
    AIRLOCK_PORT: '0',
    AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
    AIRLOCK_LOG_LEVEL: 'error',
    AIRLOCK_BACKENDS: 'docker,gvisor',
    AIRLOCK_DOCKER_SOCKET: options.dockerSocket,
    AIRLOCK_POOL_SIZE: String(options.poolSize),
    // The cold row measures the cold path: no pool is made on demand for its memory limit.
    AIRLOCK_POOL_PROFILES: '0',
    AIRLOCK_CONCURRENCY: String(Math.max(2, options.poolSize)),
    AIRLOCK_DEFAULT_MEMORY_MB: String(POOLED_MEMORY_MB),
    AIRLOCK_MAX_QUEUED: '100000',
    AIRLOCK_RETENTION_SECONDS: '60',
  });
  let service: EmbeddedService | undefined;
  const sandboxes: ContainerSandbox[] = [];
  const cpu = HostCpu.open();
  try {
    if (cpu.engineNote) print(`note: ${cpu.engineNote}`);
    service = await startEmbedded(config, createLogger({ level: 'error' }));
    for (const runtime of RUNTIMES) sandboxes.push(containerSandbox(service, runtime));
    const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    await Promise.race([
      Promise.all(sandboxes.map((s) => s.whenWarm())),
      sleep(QUIET_DEADLINE_MS, undefined, { ref: false }),
    ]);
    print(
      `containers — python ${images.python.version} (${images.python.tag}), pool ${options.poolSize} per image × ` +
        `runtime, ${config.AIRLOCK_CONCURRENCY} workers, audit fsync ${config.AIRLOCK_AUDIT_FSYNC}`,
    );
    const results: Array<[ContainerRuntime, RuntimeRows]> = [];
    for (const [i, runtime] of RUNTIMES.entries()) {
      const baselines = new DockerBaselines(docker, images.python.tag, runtime);
      const image = images.python.tag;
      const setup = { url, sandbox: sandboxes[i]!, runtime, image, baselines, cpu, options };
      const bench = new RuntimeBench(setup);
      results.push([runtime, await bench.run()]);
    }
    for (const [runtime, rows] of results) {
      const { exec, raw, warmBackToBack, cold } = rows;
      if (exec)
        print(ratio(`warm paced p50 / docker exec p50, ${runtime}`, rows.warmPaced.p50 / exec.p50, 0.5));
      if (exec && warmBackToBack)
        print(
          ratio(`warm back-to-back p50 / docker exec p50, ${runtime}`, warmBackToBack.p50 / exec.p50, 0.5),
        );
      if (cold && raw) print(ratio(`cold p50 / raw API p50, ${runtime}`, cold.p50 / raw.p50, 1.2));
      const c = options.poolSize;
      const share = rows.throughput.throughput / rows.rawThroughput.throughput;
      print(
        `ratio warm REST / raw API throughput, c=${c}, ${runtime}: ${share.toFixed(2)}x ` +
          `(target >= 0.9x: ${share >= 0.9 ? 'met' : 'NOT met'})`,
      );
      const { sample, warmShare } = rows.arrival;
      print(
        `warm hits under arrival at ${percent(options.arrivalLoad)}, ${runtime}: ${(100 * warmShare).toFixed(1)}% ` +
          `(target >= 95%: ${warmShare >= 0.95 ? 'met' : 'NOT met'})`,
      );
      print(ratio(`arrival p99 / warm paced p50, ${runtime}`, sample.p99 / rows.warmPaced.p50, 3));
    }
  } finally {
    cpu.close();
    await service?.close();
    await sweepContainers(docker, BENCH_LABELS);
    for (const sandbox of sandboxes) await sweepContainers(docker, [`airlock.instance=${sandbox.instance}`]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** What the rows of one runtime run against. */
interface RuntimeSetup {
  url: string;
  sandbox: ContainerSandbox;
  runtime: ContainerRuntime;
  image: string;
  baselines: DockerBaselines;
  cpu: HostCpu;
  options: ContainerBenchOptions;
}

/** The rows of one runtime. */
class RuntimeBench {
  readonly #rows: RuntimeSetup;

  constructor(rows: RuntimeSetup) {
    this.#rows = rows;
  }

  async run(): Promise<RuntimeRows> {
    const n = this.#rows.options.samples[this.#rows.runtime];
    const { poolSize, only } = this.#rows.options;
    const label = (what: string) => `${this.#rows.runtime.padEnd(5)} ${what}`;
    this.#rows.options.print(`— ${this.#rows.runtime} (backend ${BACKEND[this.#rows.runtime]}) —`);
    const warm = () => this.#viaRest(POOLED_MEMORY_MB);
    let rows: Omit<RuntimeRows, 'warmPaced' | 'throughput' | 'rawThroughput' | 'arrival'> = {};
    if (only === undefined) {
      const target = await this.#rows.baselines.execTarget(POOLED_MEMORY_MB);
      let exec: Sample;
      try {
        exec = await this.#row(label('docker exec (baseline)'), n, 1, () => target.exec());
      } finally {
        await target.remove();
      }
      const raw = await this.#row(label('raw API create→start→wait→remove'), n, 1, () =>
        this.#rows.baselines.createStartWaitRemove(COLD_MEMORY_MB),
      );
      rows = { exec, raw };
    }
    const warmPaced = await this.#row(label(`warm REST, paced (+${PACE_GAP_MS} ms)`), n, 1, warm, 'paced');
    if (only === undefined) {
      const warmBackToBack = await this.#row(label('warm REST, back-to-back'), n, 1, warm);
      const cold = await this.#row(label(`cold REST (memory ${COLD_MEMORY_MB} MB)`), n, 1, () =>
        this.#viaRest(COLD_MEMORY_MB),
      );
      rows = { ...rows, warmBackToBack, cold };
    }
    const many = Math.round(n * 1.5);
    const throughput = await this.#row(
      label(`warm REST throughput, c=${poolSize}`),
      many,
      poolSize,
      warm,
      'throughput',
    );
    const rawThroughput = await this.#row(
      label(`raw API throughput, c=${poolSize}`),
      many,
      poolSize,
      () => this.#rows.baselines.createStartWaitRemove(POOLED_MEMORY_MB),
      'throughput',
    );
    // What the system sustains in steady state: every job costs one container's create, start and removal, so
    // the raw API's create→start→wait→remove throughput bounds it even where the warm row beats it (that row
    // leaves its removals for later, which a sustained rate cannot).
    const capacity = Math.min(throughput.throughput, rawThroughput.throughput);
    const bound = capacity < throughput.throughput ? 'raw API throughput' : 'warm REST throughput';
    this.#rows.options.print(
      `      capacity ${capacity.toFixed(2)}/s = min(warm ${throughput.throughput.toFixed(2)}, ` +
        `raw API ${rawThroughput.throughput.toFixed(2)}): bounded by the ${bound}`,
    );
    const rate = this.#rows.options.arrivalLoad * capacity;
    const arrival = await this.#arrival(label, rate, rawThroughput.throughput, warm);
    return { ...rows, warmPaced, throughput, rawThroughput, arrival };
  }

  /**
   * Poisson arrivals at `rate` for options.arrivalSeconds, starting with the pool full; prints its row, the
   * pool's series meanwhile and the rate against `engineRate` (the raw API's throughput: every job costs a
   * container's create, start and removal, so no sustained rate above it keeps the pool full).
   */
  async #arrival(
    label: (what: string) => string,
    rate: number,
    engineRate: number,
    task: () => Promise<ExecutionStamps>,
  ): Promise<RuntimeRows['arrival']> {
    const { sandbox, options, image } = this.#rows;
    await this.#quiet();
    const before = sandbox.stats();
    const mark = this.#rows.cpu.mark();
    const offset = Date.now() - performance.now();
    const run = await poissonArrivals({
      rate,
      seconds: options.arrivalSeconds,
      task,
      signal: options.signal,
      pool: () => {
        const stats = sandbox.stats();
        const python = stats.pools.find((pool) => pool.key.startsWith(`${image}|`));
        return { stats: python, removalsPending: stats.removalsPending };
      },
    });
    const cpu = this.#rows.cpu.window(mark);
    const after = sandbox.stats();
    const warm = after.warmLeases - before.warmLeases;
    const jobs = warm + after.coldStarts - before.coldStarts;
    const name = label(
      `arrival ${rate.toFixed(2)}/s (${percent(options.arrivalLoad)}), ${options.arrivalSeconds} s`,
    );
    const failed = run.failures.length > 0 ? `  FAILED ${run.failures.length} (${run.failures[0]})` : '';
    options.print(
      `${name.padEnd(50)} p50 ${ms(run.sample.p50)}  p99 ${ms(run.sample.p99)}  n=${run.sample.count}` +
        `  warm ${warm}/${jobs} (${waitHits(after) - waitHits(before)} waited)${failed}`,
    );
    options.print(
      `      ${describeTrace(run.pool)}; arrival rate ${(rate / engineRate).toFixed(2)}x the raw API's ` +
        `throughput; driver lag max ${run.driverLagMaxMs.toFixed(0)} ms`,
    );
    for (const line of describeCpu(cpu)) options.print(`      ${line}`);
    const times = run.jobs.map((job) => ({
      scheduled: job.scheduled + offset,
      received: job.ended + offset,
      execution: job.value,
    }));
    options.print(`      ${describeTail(tailBreakdown(times))}`);
    const spans = run.jobs.map((job, i) => ({ ...job, run: phasesOf(times[i]!)?.run }));
    options.print(`      ${describeOverlap(splitByOverlap(spans, run.engineCalls))}`);
    return { sample: run.sample, warmShare: jobs > 0 ? warm / jobs : 0 };
  }

  /**
   * Runs `task` after warm-ups, starting with the pool full and no removal in flight; a paced row waits for
   * that quiet (untimed) before every sample. Prints the row, with how many jobs found a warm container.
   */
  async #row(
    name: string,
    count: number,
    concurrency: number,
    task: () => Promise<unknown>,
    kind?: 'paced' | 'throughput',
  ): Promise<Sample> {
    const pace = kind === 'paced' ? () => this.#quiet().then(() => sleep(PACE_GAP_MS)) : undefined;
    await this.#quiet();
    await timed(WARMUPS, concurrency, task, this.#rows.options.signal, pace);
    await this.#quiet();
    const before = this.#rows.sandbox.stats();
    const mark = this.#rows.cpu.mark();
    const { sample, failures } = await timed(count, concurrency, task, this.#rows.options.signal, pace);
    const cpu = this.#rows.cpu.window(mark);
    const after = this.#rows.sandbox.stats();
    const warm = after.warmLeases - before.warmLeases;
    const jobs = warm + after.coldStarts - before.coldStarts;
    const hits = jobs > 0 ? `  warm ${warm}/${jobs} (${waitHits(after) - waitHits(before)} waited)` : '';
    const rate = kind === 'throughput' ? `  ${sample.throughput.toFixed(2).padStart(6)} ops/s` : '';
    const failed = failures.length > 0 ? `  FAILED ${failures.length} (${failures[0]})` : '';
    this.#rows.options.print(
      `${name.padEnd(50)} p50 ${ms(sample.p50)}  p99 ${ms(sample.p99)}${rate}  n=${sample.count}${hits}${failed}`,
    );
    // The paced row's CPU is the quiet baseline the arrival row's is read against.
    if (kind === 'paced') for (const line of describeCpu(cpu)) this.#rows.options.print(`      ${line}`);
    return sample;
  }

  /** Waits until the python pool is full and no used container is being removed, or QUIET_DEADLINE_MS. */
  async #quiet(): Promise<void> {
    const deadline = performance.now() + QUIET_DEADLINE_MS;
    while (!this.#rows.options.signal.aborted) {
      const stats = this.#rows.sandbox.stats();
      const python = stats.pools.find((pool) => pool.key.startsWith(`${this.#rows.image}|`));
      if ((python === undefined || python.ready >= python.size) && stats.removalsPending === 0) return;
      if (performance.now() > deadline) {
        this.#rows.options.print(
          `  (pool not full after ${QUIET_DEADLINE_MS / 1000} s: ${JSON.stringify(python)})`,
        );
        return;
      }
      await sleep(10);
    }
  }

  /** One python hello through REST; its execution record (for its stamps). Throws unless it printed hello. */
  async #viaRest(memoryMb: number): Promise<ExecutionStamps> {
    const response = await fetch(`${this.#rows.url}/v1/executions?wait=30`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        language: 'python',
        code: 'print("hello")',
        backend: BACKEND[this.#rows.runtime],
        // Default limits lease from the pool; any other memory limit takes the cold path.
        ...(memoryMb === POOLED_MEMORY_MB ? {} : { limits: { memory_mb: memoryMb } }),
      }),
    });
    const execution = (await response.json()) as ExecutionStamps & {
      result?: { outcome?: string; stdout?: string; reason?: string | null } | null;
    };
    const result = execution.result;
    if (result?.outcome !== 'success' || result.stdout !== 'hello\n')
      throw new Error(
        `HTTP ${response.status}, ${result?.outcome}: ${result?.reason ?? JSON.stringify(execution)}`,
      );
    return execution;
  }
}

function containerSandbox(service: EmbeddedService, runtime: ContainerRuntime): ContainerSandbox {
  const backend = BACKEND[runtime];
  const info = service.registry.runtimes().find((r) => r.backend === backend && r.language === 'python');
  if (!info?.available)
    throw new Error(
      `backend ${backend} is unavailable (${info?.reason ?? 'not configured'}); run bash scripts/setup-host.sh --require-docker`,
    );
  const sandbox = service.registry.get(backend);
  if (!(sandbox instanceof ContainerSandbox)) throw new Error(`backend ${backend} is not a ContainerSandbox`);
  return sandbox;
}
