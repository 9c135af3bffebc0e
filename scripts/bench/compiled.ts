// The compiled-language row of `npm run bench -- --only templates`: C hello compile+run via POST
// /v1/executions?wait on runc (the shipped gcc template, warm pool of 2), against its Docker baseline: `docker
// exec` of gcc and then the binary in a running container of the same image with Airlock's hardened flags
// (/work mounted exec, as for a compiled template). The REST row starts once the pool is full and prints its
// warm hit rate (a miss is a cold container on the job's path). Prints both p50s and their ratio (target <= 1.0x).
// It must never leave a container behind: the baseline's is labelled `airlock.bench=1` and removed.

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
import { measure, row, type Sample } from './stats.ts';

const HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n';

export async function runCompiledBench(options: {
  samples: number;
  repoRoot: string;
  dockerSocket: string;
  docker: Dockerode;
  print: (line: string) => void;
}): Promise<void> {
  const { docker, print, repoRoot } = options;
  const registry = TemplateRegistry.withBuiltins(await loadResolvedImages(repoRoot, docker));
  const catalog = await loadTemplateCatalog([join(repoRoot, 'sandbox-images', 'templates')]);
  const summary = await buildTemplates(catalog, {
    docker,
    inputs: await findBuildInputs(repoRoot),
    registry,
    only: ['gcc'],
  });
  const image = registry.get('gcc')?.tag;
  if (!summary.ready.includes('gcc') || !image)
    throw new Error(`gcc template: ${JSON.stringify(summary.failed)}`);

  const { sample: rest, hitRate } = await viaRest(options.samples, options.dockerSocket);
  print(row('C hello compile+run via REST, runc (pool 2)', rest));
  print(`gcc template pool warm hit rate: ${hitRate}`);

  const spec = containerSpec({
    image,
    runtime: 'runc',
    backend: 'docker',
    profile: { memoryMb: 128 },
    instance: 'bench',
    execWork: true,
  });
  const container = await createBenchContainer(docker, spec, { Cmd: ['sleep', 'infinity'], Entrypoint: [] });
  try {
    await container.start();
    const script = `printf '%s' '${HELLO.replace(/'/g, "'\\''")}' > main.c && gcc -O2 -pipe -o main main.c -lm && ./main`;
    const exec = await measure(options.samples, 1, async () => {
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
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.once('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
        stream.once('error', reject);
      });
      const { ExitCode } = await run.inspect();
      if (ExitCode !== 0 || !output.includes('hello\n'))
        throw new Error(`docker exec gcc: exit ${ExitCode} ${output}`);
    });
    print(row('docker exec gcc + binary, runc (running)', exec));
    const ratio = rest.p50 / exec.p50;
    print(
      `ratio REST/docker exec p50 (C compile+run): ${ratio.toFixed(2)}x (target <= 1.0x: ${ratio <= 1 ? 'met' : 'NOT met'})`,
    );
  } finally {
    await container.remove({ force: true, v: true }).catch(() => {});
  }
}

/** `samples` C hellos through REST on runc from a pool of 2 gcc containers; the service is gone after. */
async function viaRest(samples: number, dockerSocket: string): Promise<{ sample: Sample; hitRate: string }> {
  await using bench = await startBenchService('airlock-bench-compiled-', 'warn', (data) => ({
    AIRLOCK_BACKENDS: 'docker',
    AIRLOCK_POOL_SIZE: '0',
    AIRLOCK_DOCKER_SOCKET: dockerSocket,
    AIRLOCK_TEMPLATES_BUILD: 'off',
    AIRLOCK_TEMPLATE_POOLS: 'gcc=2',
    AIRLOCK_DATA_DIR: data,
  }));
  const { url } = bench;
  const sandbox = bench.service.registry.get('docker') as ContainerSandbox;
  await sandbox.whenWarm();
  const body = JSON.stringify({ language: 'c', code: HELLO });
  const sample = await measure(samples, 1, async () => {
    const response = await postJson(`${url}/v1/executions?wait=60`, body);
    const execution = (await response.json()) as { result?: { outcome?: string; stdout?: string } };
    if (response.status !== 201 || execution.result?.stdout !== 'hello\n')
      throw new Error(`C run failed: ${response.status} ${JSON.stringify(execution)}`);
  });
  const { warmLeases, coldStarts } = sandbox.stats();
  return { sample, hitRate: `${warmLeases}/${warmLeases + coldStarts}` };
}
