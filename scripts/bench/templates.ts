// The templates part of `npm run bench` (`--only templates`): build time of a small template (from the bash
// template plus one file, no packages: no network) cold and cached, then the warm hit rate of that template's
// own pool while jobs name it through POST /v1/executions?wait on runc; then C hello compile+run against `docker
// exec` of gcc, in interleaved pairs (compiled.ts). Numbers compare within one run only.
// It must never leave an image or a container behind: the template's image is removed and the service closed.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTemplates,
  type ContainerSandbox,
  findBuildInputs,
  loadResolvedImages,
  loadTemplateCatalog,
  TemplateRegistry,
} from '@airlock/sandbox';
import { removeTemplateImages } from '@airlock/testing';
import Dockerode from 'dockerode';
import { postJson, startBenchService } from './bench-service.ts';
import { runCompiledBench } from './compiled.ts';
import { measure, row } from './stats.ts';

export interface TemplateBenchOptions {
  samples: number;
  repoRoot: string;
  dockerSocket: string;
  print: (line: string) => void;
}

export async function runTemplateBench(options: TemplateBenchOptions): Promise<void> {
  const { print, repoRoot } = options;
  const name = `bench-${process.pid}`;
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-templates-'));
  const docker = new Dockerode({ socketPath: options.dockerSocket });
  try {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'data.txt'), `bench ${Date.now()}\n`);
    await writeFile(
      join(dir, name, 'template.json'),
      JSON.stringify({
        from: 'template:bash',
        files: [{ source: 'data.txt', target: '/opt/bench/data.txt' }],
        languages: { bash: { source_file: 'main.sh', run: ['bash', 'main.sh'] } },
      }),
    );
    const catalog = await loadTemplateCatalog([dir]);
    const registry = TemplateRegistry.withBuiltins(await loadResolvedImages(repoRoot, docker));
    const inputs = await findBuildInputs(repoRoot);
    for (const kind of ['cold', 'cached']) {
      const t0 = performance.now();
      const summary = await buildTemplates(catalog, { docker, inputs, registry });
      if (summary.ready.length !== 1)
        throw new Error(`template build failed: ${JSON.stringify(summary.failed)}`);
      print(`template build (${kind}): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }

    await templateRow(options, dir, name);
    await runCompiledBench({ ...options, docker });
  } finally {
    await rm(dir, { recursive: true, force: true });
    removeTemplateImages(name);
  }
}

/** The template's jobs through REST on runc from a pool of 2, and the pool's warm hit rate; the service is gone after. */
async function templateRow(options: TemplateBenchOptions, dir: string, name: string): Promise<void> {
  const { print } = options;
  await using bench = await startBenchService('airlock-bench-templates-data-', 'warn', (data) => ({
    AIRLOCK_BACKENDS: 'docker',
    AIRLOCK_POOL_SIZE: '0',
    AIRLOCK_DOCKER_SOCKET: options.dockerSocket,
    AIRLOCK_TEMPLATES_DIR: dir,
    AIRLOCK_TEMPLATES_BUILD: 'off',
    AIRLOCK_TEMPLATE_POOLS: `${name}=2`,
    AIRLOCK_DATA_DIR: data,
  }));
  const { url, service } = bench;
  const sandbox = service.registry.get('docker') as ContainerSandbox;
  const body = JSON.stringify({ language: 'bash', template: name, code: 'cat /opt/bench/data.txt' });
  const sample = await measure(options.samples, 1, async () => {
    const response = await postJson(`${url}/v1/executions?wait=60`, body);
    if (response.status !== 201) throw new Error(`run failed: ${response.status} ${await response.text()}`);
  });
  print(row(`template job via REST, runc (pool of 2)`, sample));
  const { warmLeases, coldStarts } = sandbox.stats();
  print(`template pool warm hit rate: ${warmLeases}/${warmLeases + coldStarts}`);
}
