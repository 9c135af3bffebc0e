// For tests only: connects to the real dockerd and loads the real sandbox images, or fails with what to do.
// Container tests never pass (or skip) without dockerd, runc, runsc and the images. It must never build,
// pull or start anything itself.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExecutionResult, ResolvedLimits } from '@airlock/protocol';
import Dockerode from 'dockerode';
import { afterAll, beforeAll } from 'vitest';
import type { SandboxJob, SandboxRunOptions } from '../sandbox.ts';
import type { TemplateRegistry } from '../templates/template-registry.ts';
import { type AttachedContainer, startContainer } from './attached-container.ts';
import { ContainerSandbox, type ContainerSandboxOptions } from './container-sandbox.ts';
import { type ContainerBackend, type ContainerRuntime, containerSpec } from './container-spec.ts';
import type { ResolvedImages } from './images.ts';
import { probeContainerBackends } from './probe.ts';
import { reapLeftovers } from './reaper.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface ContainerTestEnv {
  docker: Dockerode;
  images: ResolvedImages;
}

/** Throws (failing the suite) unless dockerd answers with both runtimes and the images are built. */
export async function requireContainerEnv(): Promise<ContainerTestEnv> {
  const docker = new Dockerode();
  const probe = await probeContainerBackends(docker, REPO_ROOT);
  const missing = [probe.docker, probe.gvisor].filter((b) => !b.available).map((b) => b.reason);
  if (missing.length > 0 || probe.images === null) {
    throw new Error(
      `container tests need dockerd with runc and runsc and the sandbox images; run scripts/setup-host.sh (as root). ${missing.join('; ')}`,
    );
  }
  return { docker, images: probe.images };
}

export const TEST_LIMITS: ResolvedLimits = {
  wall_time_ms: 30_000,
  cpu_time_ms: 30_000,
  memory_mb: 128,
  output_bytes: 1_000_000,
};

let counter = 0;

export function testJob(fields: Partial<SandboxJob> & Pick<SandboxJob, 'language' | 'code'>): SandboxJob {
  counter++;
  return {
    executionId: `ex_test${String(counter).padStart(18, '0')}`,
    files: [],
    stdin: '',
    args: [],
    env: {},
    limits: TEST_LIMITS,
    ...fields,
  };
}

/** Containers carrying `label` (e.g. `airlock.instance=…`), as `docker ps -aq` lists them. */
export function containersWithLabel(label: string): string[] {
  return execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.length > 0);
}

export const BACKEND_OF: Readonly<Record<ContainerRuntime, ContainerBackend>> = {
  runc: 'docker',
  runsc: 'gvisor',
};

/**
 * A hardened container of `image` (the pooled 128 MB profile) on `runtime`, labelled with `instance`, started
 * and attached, its runner waiting for a job: for tests that talk to the runner without a ContainerSandbox.
 */
export function startTestContainer(
  docker: Dockerode,
  image: string,
  runtime: ContainerRuntime,
  instance: string,
): Promise<AttachedContainer> {
  return startContainer({
    docker,
    spec: containerSpec({
      image,
      runtime,
      backend: BACKEND_OF[runtime],
      profile: { memoryMb: 128 },
      instance,
    }),
    timeoutMs: 30_000,
    discard: () => {},
  });
}

export interface SuiteSandbox {
  env: ContainerTestEnv;
  sandbox: ContainerSandbox;
}

/**
 * One started ContainerSandbox (pool of 2 for TEST_LIMITS) for the enclosing describe block; closed in afterAll,
 * and whatever of it is left is reaped even when tests failed.
 */
export function suiteSandbox(runtime: ContainerRuntime, beforeStart?: () => void): SuiteSandbox {
  const suite = {} as SuiteSandbox;
  beforeAll(async () => {
    beforeStart?.();
    suite.env = await requireContainerEnv();
    suite.sandbox = new ContainerSandbox({
      docker: suite.env.docker,
      runtime,
      backend: BACKEND_OF[runtime],
      images: suite.env.images,
      pool: { size: 2, memoryMb: TEST_LIMITS.memory_mb },
    });
    await suite.sandbox.start();
  }, 120_000);
  afterAll(async () => {
    if (!suite.sandbox) return;
    try {
      await suite.sandbox.close();
    } finally {
      await reapLeftovers(suite.env.docker, { labels: [`airlock.instance=${suite.sandbox.instance}`] });
    }
  }, 120_000);
  return suite;
}

/**
 * Runs `use` with a started ContainerSandbox of `runtime` serving the registry's templates (no warm
 * containers of the built-in images), then closes it and reaps whatever of it is left.
 */
export async function withTemplateSandbox(
  env: ContainerTestEnv,
  runtime: ContainerRuntime,
  templates: TemplateRegistry,
  pool: Omit<NonNullable<ContainerSandboxOptions['pool']>, 'size'>,
  use: (sandbox: ContainerSandbox) => Promise<void>,
): Promise<void> {
  const sandbox = new ContainerSandbox({
    docker: env.docker,
    runtime,
    backend: BACKEND_OF[runtime],
    images: env.images,
    templates,
    pool: { size: 0, ...pool },
  });
  try {
    await sandbox.start();
    await use(sandbox);
  } finally {
    await sandbox.close();
    await reapLeftovers(env.docker, { labels: [`airlock.instance=${sandbox.instance}`] });
  }
}

export function runJob(
  sandbox: ContainerSandbox,
  job: SandboxJob,
  options: Partial<SandboxRunOptions> = {},
): Promise<ExecutionResult> {
  return sandbox.run(job, { signal: new AbortController().signal, ...options });
}
