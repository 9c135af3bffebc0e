// The container part of `npm run bench`: python hello-world on runc and runsc in one run — Airlock's warm pool
// through REST (paced and back-to-back), `docker exec` into a running container and a raw Docker API
// create→start→wait→remove (both baselines), Airlock's cold path (a limit profile no pool holds), throughput
// at concurrency = pool size — then the ratios against their targets. Numbers compare within one run only.
// It must never leave a container behind: its own carry `airlock=1, airlock.bench=1` and are swept at the end,
// on failure and on interrupt; Airlock's are drained by service.close() and swept by their instance label.
// Beware: startEmbedded's start-up reaper removes every `airlock=1` container on this dockerd.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '@airlock/config';
import { startEmbedded } from '@airlock/gateway';
import { createLogger } from '@airlock/logging';
import { type ContainerRuntime, ContainerSandbox, loadResolvedImages } from '@airlock/sandbox';
import Dockerode from 'dockerode';
// Not exported by @airlock/sandbox: the one place the product's hardened create options are built. Using it
// (not a copy) keeps the baselines' flags identical to what Airlock creates.
import { containerSpec } from '../../shared/sandbox/src/container/container-spec.ts';
import { percentile, type Sample } from './stats.ts';

export interface ContainerBenchOptions {
  /** Samples per row on runc and on runsc (throughput rows take 1.5×). */
  samples: Record<ContainerRuntime, number>;
  /** Warm containers per image × runtime (AIRLOCK_POOL_SIZE); also the throughput concurrency. */
  poolSize: number;
  dockerSocket: string;
  /** The checkout, where sandbox-images/.built/images.json lives. */
  repoRoot: string;
  /** Aborted on SIGINT: the bench stops at the next sample and cleans up. */
  signal: AbortSignal;
  print: (line: string) => void;
}

const HELLO_CODE = 'print("hello")';
const HELLO_ARGV = ['python3', '-c', HELLO_CODE];
const POOLED_MEMORY_MB = 128;
const COLD_MEMORY_MB = 192;
const PACE_GAP_MS = 50;
const WARMUPS = 3;
const BACKEND: Record<ContainerRuntime, 'docker' | 'gvisor'> = { runc: 'docker', runsc: 'gvisor' };
const BENCH_LABELS = ['airlock=1', 'airlock.bench=1'];

interface RuntimeRows {
  exec: Sample;
  raw: Sample;
  warmPaced: Sample;
  warmBackToBack: Sample;
  cold: Sample;
}

export async function runContainerBench(options: ContainerBenchOptions): Promise<void> {
  const { print, signal } = options;
  const docker = new Dockerode({ socketPath: options.dockerSocket });
  const images = await loadResolvedImages(options.repoRoot, docker);
  const pythonImage = images.python.tag;
  await sweep(docker, BENCH_LABELS);
  const foreign = await docker.listContainers({ all: true, filters: { label: ['airlock=1'] } });
  if (foreign.length > 0)
    print(`note: ${foreign.length} airlock containers of another process will be removed by the reaper`);

  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-containers-'));
  const config = loadConfig({
    AIRLOCK_PORT: '0',
    AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
    AIRLOCK_LOG_LEVEL: 'error',
    AIRLOCK_BACKENDS: 'docker,gvisor',
    AIRLOCK_DOCKER_SOCKET: options.dockerSocket,
    AIRLOCK_POOL_SIZE: String(options.poolSize),
    AIRLOCK_CONCURRENCY: String(Math.max(2, options.poolSize)),
    AIRLOCK_DEFAULT_MEMORY_MB: String(POOLED_MEMORY_MB),
    AIRLOCK_MAX_QUEUED: '100000',
    AIRLOCK_RETENTION_SECONDS: '60',
  });
  const service = await startEmbedded(config, createLogger({ level: 'error' }));
  const sandboxes: ContainerSandbox[] = [];
  try {
    for (const runtime of ['runc', 'runsc'] as const) sandboxes.push(containerSandbox(service, runtime));
    const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    await Promise.all(sandboxes.map((s) => s.whenWarm()));
    print(
      `containers — python ${images.python.version} (${pythonImage}), pool ${options.poolSize} per image × runtime, ` +
        `${config.AIRLOCK_CONCURRENCY} workers, audit fsync ${config.AIRLOCK_AUDIT_FSYNC}`,
    );
    const results = new Map<ContainerRuntime, RuntimeRows>();
    for (const [i, runtime] of (['runc', 'runsc'] as const).entries()) {
      const bench = new RuntimeBench(docker, url, sandboxes[i]!, runtime, pythonImage, options);
      results.set(runtime, await bench.run());
    }
    for (const [runtime, rows] of results) {
      print(ratio(`warm paced p50 / docker exec p50, ${runtime}`, rows.warmPaced.p50 / rows.exec.p50, 0.5));
      print(
        ratio(
          `warm back-to-back p50 / docker exec p50, ${runtime}`,
          rows.warmBackToBack.p50 / rows.exec.p50,
          0.5,
        ),
      );
      print(ratio(`cold p50 / raw API p50, ${runtime}`, rows.cold.p50 / rows.raw.p50, 1.2));
    }
    if (signal.aborted) throw signal.reason;
  } finally {
    await service.close();
    await sweep(docker, BENCH_LABELS);
    for (const sandbox of sandboxes) await sweep(docker, [`airlock.instance=${sandbox.instance}`]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The rows of one runtime. */
class RuntimeBench {
  readonly #docker: Dockerode;
  readonly #url: string;
  readonly #sandbox: ContainerSandbox;
  readonly #runtime: ContainerRuntime;
  readonly #image: string;
  readonly #options: ContainerBenchOptions;

  constructor(
    docker: Dockerode,
    url: string,
    sandbox: ContainerSandbox,
    runtime: ContainerRuntime,
    image: string,
    options: ContainerBenchOptions,
  ) {
    this.#docker = docker;
    this.#url = url;
    this.#sandbox = sandbox;
    this.#runtime = runtime;
    this.#image = image;
    this.#options = options;
  }

  async run(): Promise<RuntimeRows> {
    const n = this.#options.samples[this.#runtime];
    const { poolSize } = this.#options;
    const label = (what: string) => `${this.#runtime.padEnd(5)} ${what}`;
    this.#options.print(`— ${this.#runtime} (backend ${BACKEND[this.#runtime]}) —`);
    const execContainer = await this.#createBaseline(['sleep', 'infinity'], POOLED_MEMORY_MB);
    let exec: Sample;
    try {
      await execContainer.start();
      exec = await this.#row(label('docker exec (baseline)'), n, 1, () => this.#dockerExec(execContainer));
    } finally {
      await execContainer.remove({ force: true, v: true }).catch(() => {});
    }
    const raw = await this.#row(label('raw API create→start→wait→remove'), n, 1, () => this.#rawApi());
    const warm = () => this.#viaRest(POOLED_MEMORY_MB);
    const warmPaced = await this.#row(label(`warm REST, paced (+${PACE_GAP_MS} ms)`), n, 1, warm, true);
    const warmBackToBack = await this.#row(label('warm REST, back-to-back'), n, 1, warm);
    const cold = await this.#row(label(`cold REST (memory ${COLD_MEMORY_MB} MB)`), n, 1, () =>
      this.#viaRest(COLD_MEMORY_MB),
    );
    await this.#row(
      label(`warm REST throughput, c=${poolSize}`),
      Math.round(n * 1.5),
      poolSize,
      warm,
      false,
      true,
    );
    return { exec, raw, warmPaced, warmBackToBack, cold };
  }

  /**
   * Runs `task` after warm-ups, with the pool full and no removal in flight at the start; paced rows wait for
   * that quiet before every sample. Prints the row with the share of jobs that found a warm container.
   */
  async #row(
    name: string,
    count: number,
    concurrency: number,
    task: () => Promise<void>,
    paced = false,
    throughput = false,
  ): Promise<Sample> {
    const pace = paced ? () => this.#quiet().then(() => sleep(PACE_GAP_MS)) : undefined;
    await this.#quiet();
    await timed(WARMUPS, concurrency, task, this.#options.signal, pace);
    await this.#quiet();
    const before = this.#sandbox.stats();
    const sample = await timed(count, concurrency, task, this.#options.signal, pace);
    const after = this.#sandbox.stats();
    const leases = after.warmLeases - before.warmLeases + (after.coldStarts - before.coldStarts);
    const hits = leases > 0 ? `  warm ${after.warmLeases - before.warmLeases}/${leases}` : '';
    const rate = throughput ? `  ${sample.throughput.toFixed(2).padStart(6)} ops/s` : '';
    this.#options.print(
      `${name.padEnd(50)} p50 ${ms(sample.p50)}  p99 ${ms(sample.p99)}${rate}  n=${sample.count}${hits}`,
    );
    return sample;
  }

  /** Waits until the python pool is full and no used container is still being removed. */
  async #quiet(): Promise<void> {
    await this.#sandbox.whenWarm();
    while (this.#sandbox.stats().removalsPending > 0 && !this.#options.signal.aborted) await sleep(10);
  }

  async #viaRest(memoryMb: number): Promise<void> {
    const response = await fetch(`${this.#url}/v1/executions?wait=30`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        language: 'python',
        code: HELLO_CODE,
        backend: BACKEND[this.#runtime],
        ...(memoryMb === POOLED_MEMORY_MB ? {} : { limits: { memory_mb: memoryMb } }),
      }),
    });
    const execution = (await response.json()) as { result?: { outcome?: string; stdout?: string } };
    if (execution.result?.outcome !== 'success' || execution.result.stdout !== 'hello\n')
      throw new Error(`unexpected result ${JSON.stringify(execution)}`);
  }

  async #dockerExec(container: Dockerode.Container): Promise<void> {
    // As `docker exec -u 65534:65534 -w /work C python3 -c …`: create, start attached, read to the end, inspect.
    const exec = await container.exec({
      Cmd: HELLO_ARGV,
      AttachStdout: true,
      AttachStderr: true,
      User: '65534:65534',
      WorkingDir: '/work',
      Privileged: false,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const output = await readToEnd(stream);
    const { ExitCode } = await exec.inspect();
    if (ExitCode !== 0 || !output.includes('hello\n'))
      throw new Error(`docker exec: exit ${ExitCode}, output ${JSON.stringify(output)}`);
  }

  async #rawApi(): Promise<void> {
    const container = await this.#createBaseline(HELLO_ARGV, COLD_MEMORY_MB);
    try {
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      if (StatusCode !== 0) throw new Error(`raw API: python exited ${StatusCode}`);
    } finally {
      await container.remove({ force: true, v: true });
    }
  }

  /** A container with Airlock's hardened flags running `cmd` instead of the runner; no stdin, not attached. */
  #createBaseline(cmd: string[], memoryMb: number): Promise<Dockerode.Container> {
    const spec = containerSpec({
      image: this.#image,
      runtime: this.#runtime,
      backend: BACKEND[this.#runtime],
      profile: { memoryMb },
      instance: 'bench',
    });
    return this.#docker.createContainer({
      ...spec,
      Cmd: cmd,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      OpenStdin: false,
      StdinOnce: false,
      Labels: { ...spec.Labels, 'airlock.bench': '1' },
    });
  }
}

function containerSandbox(
  service: Awaited<ReturnType<typeof startEmbedded>>,
  runtime: ContainerRuntime,
): ContainerSandbox {
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

/** `count` runs of task with `concurrency` in flight; `pace` (untimed) runs before each sample. */
async function timed(
  count: number,
  concurrency: number,
  task: () => Promise<void>,
  signal: AbortSignal,
  pace?: () => Promise<void>,
): Promise<Sample> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count) {
      next += 1;
      signal.throwIfAborted();
      await pace?.();
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

function readToEnd(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    stream.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    stream.once('error', reject);
  });
}

/** Force-removes every container carrying all the labels. */
async function sweep(docker: Dockerode, labels: string[]): Promise<void> {
  const found = await docker.listContainers({ all: true, filters: { label: labels } });
  await Promise.allSettled(found.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
}

function ratio(name: string, value: number, target: number): string {
  const verdict = value <= target ? 'met' : 'NOT met';
  return `ratio ${name}: ${value.toFixed(2)}x (target <= ${target}x: ${verdict})`;
}

function ms(value: number): string {
  return `${value.toFixed(1).padStart(7)} ms`;
}
