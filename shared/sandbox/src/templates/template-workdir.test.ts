// A template's `workdir` against the real dockerd: a template from the bash one with `workdir: /work/app` and a
// compile step is built (its smoke job prints `pwd`), then run on runc and gVisor: the compile step and the
// program both run in /work/app, the code and the request's files are there, output files still come from
// /work/out, and the root stays read-only. The spec's refusals of a bad workdir are in template-spec.test.ts.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTemplateImages } from '@airlock/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ContainerTestEnv,
  REPO_ROOT,
  requireContainerEnv,
  runJob,
  testJob,
  withTemplateSandbox,
} from '../container/container-test-env.ts';
import { type BuildInputs, findBuildInputs } from './build-inputs.ts';
import { buildTemplate } from './template-builder.ts';
import { loadTemplateSpec } from './template-catalog.ts';
import { TemplateRegistry } from './template-registry.ts';

const NAME = `t-workdir-${process.pid}`;
let env: ContainerTestEnv;
let inputs: BuildInputs;
let dir: string;
let registry: TemplateRegistry;

beforeAll(async () => {
  env = await requireContainerEnv();
  inputs = await findBuildInputs(REPO_ROOT);
  dir = await mkdtemp(join(tmpdir(), 'airlock-templates-'));
  registry = TemplateRegistry.withBuiltins(env.images);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  removeTemplateImages(NAME);
}, 120_000);

describe('a template with a workdir', () => {
  it('runs its compile step and its program in the workdir, on runc and gVisor', async () => {
    await mkdir(join(dir, NAME));
    await writeFile(
      join(dir, NAME, 'template.json'),
      JSON.stringify({
        from: 'template:bash',
        workdir: '/work/app',
        languages: {
          bash: {
            source_file: 'main.sh',
            compile: ['bash', '-c', 'pwd > compiled-in.txt'],
            run: ['bash', 'main.sh'],
          },
        },
        smoke: [{ language: 'bash', code: 'pwd', stdout: '/work/app\n' }],
      }),
    );
    const entry = await buildTemplate(await loadTemplateSpec(dir, NAME), {
      docker: env.docker,
      inputs,
      registry,
      smokeRuntimes: ['runc'],
    });
    expect(entry.state).toBe('ready');
    registry.set(entry);

    for (const runtime of ['runc', 'runsc'] as const) {
      await withTemplateSandbox(env, runtime, registry, { memoryMb: 256 }, async (sandbox) => {
        const result = await runJob(
          sandbox,
          testJob({
            language: 'bash',
            template: NAME,
            code: [
              'pwd',
              'cat compiled-in.txt',
              'ls main.sh data/in.txt',
              'cat data/in.txt',
              'echo made > /work/out/made.txt',
              'touch /opt/x 2>/dev/null || echo ro',
            ].join('\n'),
            files: [{ path: 'data/in.txt', content: new TextEncoder().encode('given\n') }],
          }),
        );
        expect(result.outcome, `${runtime}: ${result.stderr}`).toBe('success');
        expect(result.stdout).toBe('/work/app\n/work/app\ndata/in.txt\nmain.sh\ngiven\nro\n');
        expect(result.compile).toMatchObject({ exit_code: 0 });
        expect(result.files?.map((f) => f.path)).toEqual(['made.txt']);
      });
    }
  }, 600_000);
});
