// The compiled-language rows of `npm run bench -- --only templates`: C hello compile+run via POST
// /v1/executions?wait on runc (the shipped gcc template, warm pool of 2), against its Docker baseline: `docker
// exec` into a running container of the same image with Airlock's hardened flags (containerSpec: /work mounted
// exec, same memory, pids and CPU limits, user 65534, /work as the working folder) of `sh -c` writing main.c and
// running the template's own compile argv and then its run argv. The two kinds of sample are interleaved, in
// turn first, so both see the same load on this shared machine, and each sample starts with the service at rest
// (the pool full again, the last job's container removed): latency at a request rate the pool keeps up with. A
// back-to-back REST row follows (each job's removal and refill then overlap the next job), with its pool's waits.
// Prints both p50s, their ratio (target <= 1.0x), how many pairs REST won, and where the REST p50 goes.
// It must never leave a container behind: the baseline's is labelled `airlock.bench=1` and removed.

import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  buildTemplates,
  type ContainerSandbox,
  findBuildInputs,
  loadResolvedImages,
  loadTemplateCatalog,
  TemplateRegistry,
} from '@airlock/sandbox';
import { containerSpec } from '@airlock/sandbox/internal';
import type Dockerode from 'dockerode';
import { postJson, startBenchService } from './bench-service.ts';
import { createBenchContainer } from './docker-baselines.ts';
import { measure, percentile, row, type Sample, summarize } from './stats.ts';

const HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n';

interface CompiledBenchOptions {
  samples: number;
  repoRoot: string;
  dockerSocket: string;
  docker: Dockerode;
  print: (line: string) => void;
}

/** What one REST C hello reported of itself, ms. */
interface RestTimes {
  total: number;
  /** result.compile.wall_ms: the job in, gcc, its end markers back. */
  compile: number;
  /** result.usage.wall_ms: the program's job in, ./main, its markers back. */
  program: number;
}

export async function runCompiledBench(options: CompiledBenchOptions): Promise<void> {
  const { docker, print, repoRoot } = options;
  const registry = TemplateRegistry.withBuiltins(await loadResolvedImages(repoRoot, docker));
  const catalog = await loadTemplateCatalog([join(repoRoot, 'sandbox-images', 'templates')]);
  const summary = await buildTemplates(catalog, {
    docker,
    inputs: await findBuildInputs(repoRoot),
    registry,
    only: ['gcc'],
  });
  const entry = registry.get('gcc');
  const c = entry?.programs.c;
  if (!summary.ready.includes('gcc') || !entry?.tag || !c?.compile)
    throw new Error(`gcc template: ${JSON.stringify(summary.failed)}`);
  // The template's own commands, so the baseline compiles exactly as the compile step does.
  const script = `printf '%s' ${shellQuote(HELLO)} > ${shellQuote(c.file)} && ${c.compile.map(shellQuote).join(' ')} && ${c.argv.map(shellQuote).join(' ')}`;

  await using bench = await startBenchService('airlock-bench-compiled-', 'warn', (data) => ({
    AIRLOCK_BACKENDS: 'docker',
    AIRLOCK_POOL_SIZE: '0',
    AIRLOCK_DOCKER_SOCKET: options.dockerSocket,
    AIRLOCK_TEMPLATES_BUILD: 'off',
    AIRLOCK_TEMPLATE_POOLS: 'gcc=2',
    AIRLOCK_DATA_DIR: data,
  }));
  const sandbox = bench.service.registry.get('docker') as ContainerSandbox;
  const body = JSON.stringify({ language: 'c', code: HELLO });
  const viaRest = async (): Promise<RestTimes> => {
    const t0 = performance.now();
    const response = await postJson(`${bench.url}/v1/executions?wait=60`, body);
    const execution = (await response.json()) as {
      result?: { stdout?: string; usage?: { wall_ms: number }; compile?: { wall_ms: number } };
    };
    const total = performance.now() - t0;
    const { result } = execution;
    if (response.status !== 201 || result?.stdout !== 'hello\n' || !result.compile || !result.usage)
      throw new Error(`C run failed: ${response.status} ${JSON.stringify(execution)}`);
    return { total, compile: result.compile.wall_ms, program: result.usage.wall_ms };
  };
  /** The pool full again and no removal pending, then a short pause for dockerd's own clean-up. */
  const atRest = async () => {
    await sandbox.whenWarm();
    while (sandbox.stats().removalsPending > 0) await sleep(10);
    await sleep(100);
  };

  const spec = containerSpec({
    image: entry.tag,
    runtime: 'runc',
    backend: 'docker',
    profile: { memoryMb: 128 },
    instance: 'bench',
    execWork: true,
  });
  const baseline = await startBaseline(docker, spec);
  try {
    await atRest();
    print(
      `load average (1, 5, 15 min) before the C pairs: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`,
    );
    const before = sandbox.stats();
    const rest: RestTimes[] = [];
    const exec: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      for (const kind of i % 2 === 0 ? ['rest', 'exec'] : ['exec', 'rest']) {
        await atRest();
        if (kind === 'rest') rest.push(await viaRest());
        else exec.push(await baseline.exec(script));
      }
    }
    const after = sandbox.stats();
    print(
      `load average (1, 5, 15 min) after the C pairs: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`,
    );
    const restSample = sampleOf(rest.map((r) => r.total));
    const execSample = sampleOf([...exec]);
    print(row('C hello compile+run via REST, runc (at rest)', restSample));
    print(row('docker exec gcc + binary, runc (running)', execSample));
    const ratio = restSample.p50 / execSample.p50;
    const wins = rest.filter((r, i) => r.total <= exec[i]!).length;
    print(
      `ratio REST/docker exec p50 (C compile+run): ${ratio.toFixed(2)}x (target <= 1.0x: ${ratio <= 1 ? 'met' : 'NOT met'}); REST faster in ${wins}/${rest.length} pairs`,
    );
    const p50 = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        50,
      );
    print(
      `  REST p50 parts: compile step ${p50(rest.map((r) => r.compile)).toFixed(0)} ms, program ${p50(rest.map((r) => r.program)).toFixed(0)} ms, ` +
        `the rest (HTTP, queue, audit, lease, result) ${p50(rest.map((r) => r.total - r.compile - r.program)).toFixed(0)} ms`,
    );
    print(
      `gcc template pool warm hit rate (at rest): ${after.warmLeases - before.warmLeases}/${after.warmLeases - before.warmLeases + after.coldStarts - before.coldStarts}`,
    );

    const waitsBefore = poolWaits(sandbox);
    const backToBack = await measure(options.samples, 1, async () => {
      await viaRest();
    });
    const end = sandbox.stats();
    print(row('C hello via REST, runc (back to back)', backToBack));
    print(
      `gcc template pool warm hit rate (back to back): ${end.warmLeases - after.warmLeases}/${end.warmLeases - after.warmLeases + end.coldStarts - after.coldStarts}, ` +
        `${poolWaits(sandbox) - waitsBefore} waited for a refill; ${poolTimes(sandbox, entry.tag)}`,
    );
  } finally {
    await baseline.remove();
  }
}

/**
 * The baseline's running container (`sleep infinity`, Airlock's flags from `spec`). Another bench's sweep (by
 * `airlock.bench=1`) may remove it: a failed exec then gets a fresh container and is timed again, once.
 */
async function startBaseline(docker: Dockerode, spec: Dockerode.ContainerCreateOptions) {
  const start = async () => {
    const container = await createBenchContainer(docker, spec, {
      Cmd: ['sleep', 'infinity'],
      Entrypoint: [],
    });
    try {
      await container.start();
    } catch (error) {
      await container.remove({ force: true, v: true }).catch(() => {});
      throw error;
    }
    return container;
  };
  let container = await start();
  return {
    /** ms of one `docker exec … sh -c script`. */
    exec: async (script: string): Promise<number> => {
      try {
        return await timed(() => dockerExecScript(container, script));
      } catch {
        await container.remove({ force: true, v: true }).catch(() => {});
        container = await start();
        return await timed(() => dockerExecScript(container, script));
      }
    },
    remove: () => container.remove({ force: true, v: true }).catch(() => {}),
  };
}

/** As `docker exec -u 65534:65534 -w /work C sh -c SCRIPT`; throws unless it printed hello. */
async function dockerExecScript(container: Dockerode.Container, script: string): Promise<void> {
  const run = await container.exec({
    Cmd: ['sh', '-c', script],
    AttachStdout: true,
    AttachStderr: true,
    User: '65534:65534',
    WorkingDir: '/work',
  });
  const stream = await run.start({ hijack: true, stdin: false });
  const output = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    stream.once('error', reject);
  });
  const { ExitCode } = await run.inspect();
  if (ExitCode !== 0 || !output.includes('hello\n'))
    throw new Error(`docker exec gcc: exit ${ExitCode} ${output}`);
}

/** Latencies taken one at a time (waits between them excluded): ops/s is then 1 / mean latency. */
function sampleOf(latencies: number[]): Sample {
  return summarize(latencies, latencies.reduce((a, b) => a + b, 0) / 1000);
}

async function timed(task: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await task();
  return performance.now() - t0;
}

/** Jobs that found their pool empty and waited for a refill (every pool: only gcc's has jobs here). */
function poolWaits(sandbox: ContainerSandbox): number {
  return sandbox.pools().reduce((sum, pool) => sum + pool.waits, 0);
}

/** The gcc pool's own estimates: what each job's fresh container costs beside it (create+start, removal). */
function poolTimes(sandbox: ContainerSandbox, image: string): string {
  const pool = sandbox.pools().find((p) => p.key.startsWith(`${image}|`));
  const ms = (value: number | null | undefined) => (value == null ? '?' : `${value.toFixed(0)} ms`);
  return `refill ${ms(pool?.refillMs)}, removal ${ms(pool?.teardownMs)}, pool target ${pool?.size ?? '?'}`;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
