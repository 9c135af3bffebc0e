// Template builds against the real dockerd: a template from the Debian base with one small extra package (built
// here and served from a loopback apt repository) and a file, run on runc and gVisor with every hardened flag
// on its warm containers; the second build is a cache hit; a package that does not exist, a missing `from`
// image and one without /bin/sh fail at their named step; bring-your-own from an image built here with
// `docker build` (no registry).

import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerSandbox } from '../container/container-sandbox.ts';
import {
  type ContainerTestEnv,
  REPO_ROOT,
  requireContainerEnv,
  runJob,
  TEST_LIMITS,
  testJob,
  withTemplateSandbox,
} from '../container/container-test-env.ts';
import { type BuildInputs, findBuildInputs } from './build-inputs.ts';
import { type LoopbackAptRepo, startLoopbackAptRepo } from './loopback-apt-repo.ts';
import { buildTemplate, TemplateBuildError, type TemplateBuildOptions } from './template-builder.ts';
import { loadTemplateSpec } from './template-catalog.ts';
import { TemplateRegistry } from './template-registry.ts';

const id = `${process.pid}`;
const NAME = `t-demo-${id}`;
const BYO_IMAGE = `airlock-test-byo:${id}`;
const NOSH_IMAGE = `airlock-test-nosh:${id}`;
let env: ContainerTestEnv;
let inputs: BuildInputs;
let repo: LoopbackAptRepo;
let dir: string;
let registry: TemplateRegistry;
const lines: string[] = [];

async function template(name: string, spec: unknown, files: Record<string, string> = {}) {
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(join(dir, name, 'template.json'), JSON.stringify(spec));
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, name, file), content);
  return loadTemplateSpec(dir, name);
}

function options(extra: Partial<TemplateBuildOptions> = {}): TemplateBuildOptions {
  return {
    docker: env.docker,
    inputs,
    registry,
    aptSources: [repo.source],
    progress: (l) => lines.push(l),
    ...extra,
  };
}

const BASH = { bash: { source_file: 'main.sh', run: ['bash', 'main.sh'] } };

beforeAll(async () => {
  env = await requireContainerEnv();
  inputs = await findBuildInputs(REPO_ROOT);
  repo = await startLoopbackAptRepo('airlock-hello', 'hello from a deb');
  dir = await mkdtemp(join(tmpdir(), 'airlock-templates-'));
  registry = TemplateRegistry.withBuiltins(env.images);
}, 120_000);

afterAll(async () => {
  await repo?.close();
  await rm(dir, { recursive: true, force: true });
  const refs = execFileSync(
    'docker',
    ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'label=airlock.image=template'],
    { encoding: 'utf8' },
  )
    .split('\n')
    .filter((r) => r.includes(`-${id}:`) || r.includes(`-${id}-`));
  for (const ref of [...refs, BYO_IMAGE, NOSH_IMAGE])
    execFileSync('docker', ['rmi', '-f', ref], { stdio: 'ignore' });
}, 120_000);

describe('a template from the Debian base with a package and a file', () => {
  it('builds, smoke-checks on runc and gVisor, runs with the hardened flags on both, and is cached', async () => {
    const loaded = await template(
      NAME,
      {
        debian: ['airlock-hello'],
        files: [{ source: 'greeting.txt', target: '/opt/demo/greeting.txt' }],
        env: { DEMO: 'yes' },
        languages: BASH,
        smoke: [{ language: 'bash', code: 'airlock-hello', stdout: 'hello from a deb\n' }],
      },
      { 'greeting.txt': 'hi from the template folder\n' },
    );
    const entry = await buildTemplate(loaded, options({ smokeRuntimes: ['runc', 'runsc'] }));
    expect(entry.state).toBe('ready');
    expect(entry.packages).toEqual({ 'airlock-hello': '1.0' });
    expect(entry.tag).toBe(`airlock-tmpl-${NAME}:${entry.hash}`);
    expect(lines.some((l) => l.startsWith(`${NAME} debian-packages:`))).toBe(true);
    expect(lines.some((l) => l.includes('passed; tagged'))).toBe(true);
    registry.set(entry);

    for (const runtime of ['runc', 'runsc'] as const) {
      const pool = { memoryMb: TEST_LIMITS.memory_mb, templates: { [NAME]: 1 } };
      await withTemplateSandbox(env, runtime, registry, pool, async (sandbox) => {
        await sandbox.whenWarm();
        // The warm container of the template, before any job: every hardened flag.
        const [warm] = await env.docker.listContainers({
          filters: { label: [`airlock.instance=${sandbox.instance}`] },
        });
        const info = await env.docker.getContainer(warm?.Id ?? 'none').inspect();
        expect(info.Config.Image).toBe(entry.tag);
        expect(info.Config.User).toBe('65534:65534');
        expect(info.HostConfig.ReadonlyRootfs).toBe(true);
        expect(info.HostConfig.CapDrop).toEqual(['ALL']);
        expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
        expect(info.HostConfig.NetworkMode).toBe('none');
        expect(info.HostConfig.Memory).toBe(TEST_LIMITS.memory_mb * 1024 * 1024);
        expect(info.HostConfig.MemorySwap).toBe(TEST_LIMITS.memory_mb * 1024 * 1024);
        expect(info.HostConfig.PidsLimit).toBeGreaterThan(0);
        expect(info.HostConfig.Privileged).toBe(false);
        expect(info.HostConfig.Runtime).toBe(runtime);

        const result = await runJob(
          sandbox,
          testJob({
            language: 'bash',
            template: NAME,
            code: 'airlock-hello; cat /opt/demo/greeting.txt; echo "$DEMO $(id -u)"; touch /opt/demo/x 2>&1 || echo ro',
          }),
        );
        expect(result.stdout).toMatch(
          /^hello from a deb\nhi from the template folder\nyes 65534\n.*\nro\n$/s,
        );
        expect(result.outcome).toBe('success');
        expect(sandbox.stats().warmLeases).toBe(1);
      });
    }

    lines.length = 0;
    const again = await buildTemplate(loaded, options());
    expect(again.hash).toBe(entry.hash);
    expect(lines).toEqual([`${NAME} image: ${entry.tag} up to date`]);
  }, 600_000);

  it('a package that does not exist fails the build at its step, naming the package', async () => {
    const loaded = await template(`t-nopkg-${id}`, {
      debian: ['airlock-hello', 'airlock-no-such-package'],
      languages: BASH,
    });
    const error = await buildTemplate(loaded, options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateBuildError);
    expect((error as TemplateBuildError).step).toBe('debian-packages');
    expect((error as TemplateBuildError).package).toBe('airlock-no-such-package');
  }, 300_000);
});

describe('bring your own image', () => {
  it('builds a template from an image built here with docker build, and refuses missing or shell-less ones', async () => {
    const ctx = join(dir, 'byo-context');
    await mkdir(ctx);
    await writeFile(
      join(ctx, 'Dockerfile'),
      `FROM ${inputs.baseTag}\nRUN echo byo-marker > /etc/byo-marker\nUSER 0\nENTRYPOINT ["/bin/false"]\n`,
    );
    execFileSync('docker', ['build', '-q', '-t', BYO_IMAGE, '--label', 'airlock=1', ctx], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    const loaded = await template(`t-byo-${id}`, { from: `image:${BYO_IMAGE}`, languages: BASH });
    const entry = await buildTemplate(loaded, options());
    registry.set(entry);
    const sandbox = new ContainerSandbox({
      docker: env.docker,
      runtime: 'runc',
      backend: 'docker',
      images: env.images,
      templates: registry,
      pool: { size: 0 },
    });
    try {
      const result = await runJob(
        sandbox,
        testJob({ language: 'bash', template: loaded.name, code: 'cat /etc/byo-marker; id -u' }),
      );
      expect(result.stdout).toBe('byo-marker\n65534\n');
    } finally {
      await sandbox.close();
    }

    const missing = await template(`t-missing-${id}`, {
      from: `image:airlock-test-absent:${id}`,
      languages: BASH,
    });
    const noImage = await buildTemplate(missing, options()).catch((e: unknown) => e);
    expect((noImage as TemplateBuildError).step).toBe('from');

    const nosh = join(dir, 'nosh-context');
    await mkdir(nosh);
    await writeFile(join(nosh, 'file.txt'), 'x');
    await writeFile(join(nosh, 'Dockerfile'), 'FROM scratch\nCOPY file.txt /file.txt\n');
    execFileSync('docker', ['build', '-q', '-t', NOSH_IMAGE, '--label', 'airlock=1', nosh], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    const shellless = await template(`t-nosh-${id}`, { from: `image:${NOSH_IMAGE}`, languages: BASH });
    const noSh = await buildTemplate(shellless, options()).catch((e: unknown) => e);
    expect((noSh as TemplateBuildError).step).toBe('from');
    expect((noSh as Error).message).toMatch(/no working \/bin\/sh/);
  }, 600_000);
});
