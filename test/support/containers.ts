// Helpers shared by the container test files: which backends they cover, the service they start (for jobs or
// for sessions) with the check that it left no container behind, a job runner on one backend, the checks of a
// job's result, and waiting until a running program's output has shown. Never removes anything itself: a leftover is a failure to report, not to hide.

import { execFileSync } from 'node:child_process';
import { CONTAINER_BACKENDS, type ContainerBackend, type ContainerSandbox } from '@airlock/sandbox';
import { afterAll, beforeAll, expect } from 'vitest';
import { run, startService, type TestService } from './service.ts';

export const BACKENDS = CONTAINER_BACKENDS;
export type { ContainerBackend };

/** The service settings every container test file starts with. */
export const CONTAINER_SERVICE_ENV = {
  AIRLOCK_BACKENDS: 'isolate,docker,gvisor',
  AIRLOCK_POOL_SIZE: '1',
  AIRLOCK_MAX_WAIT_SECONDS: '300',
} as const;

/**
 * Runs jobs on `backend` of the file's service: `language` and `code` with `wallTimeMs` of wall time (a `limits`
 * in `extra` replaces it whole), each waited for up to 120 s.
 */
export function containerJob(service: () => TestService, backend: ContainerBackend, wallTimeMs: number) {
  return (language: string, code: string, extra: Record<string, unknown> = {}): Promise<any> =>
    run(service().url, { language, backend, code, limits: { wall_time_ms: wallTimeMs }, ...extra }, 120);
}

/** The job's result has `fields`; a failure names the result's reason. */
export function expectResult(execution: any, fields: Record<string, unknown>): void {
  expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject(fields);
}

/** The job succeeded with nothing on stderr and printed exactly `lines`, each ended by a newline. */
export function expectPrinted(execution: any, lines: readonly string[]): void {
  expectResult(execution, { outcome: 'success', stderr: '' });
  expect(execution.result.stdout.split('\n')).toEqual([...lines, '']);
}

/** `docker ps -a` lines (id, state) of the containers carrying `label`. */
export function containersLabelled(label: string): string[] {
  const args = ['ps', '-a', '--no-trunc', '--filter', `label=${label}`, '--format', '{{.ID}} {{.State}}'];
  return execFileSync('docker', args, { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.length > 0);
}

/**
 * No container of this service is left after close(). One that some other process is removing right now (the
 * start-up reaper of another service on this dockerd) is given a moment to go; anything else fails at once.
 */
export async function expectNoContainersLeft(instance: string): Promise<void> {
  const label = `airlock.instance=${instance}`;
  for (let i = 0; i < 100; i++) {
    const left = containersLabelled(label);
    if (left.length === 0 || left.some((line) => !line.endsWith(' removing'))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(containersLabelled(label)).toEqual([]);
}

/**
 * Starts one service with the container backends for the calling test file (beforeAll) and closes it after the
 * file (afterAll), checking that it left no container. Returns a getter: the service exists only once the file's
 * tests run.
 */
export function useContainerService(
  env: Record<string, string> = {},
  /** Set in this process's own environment while the service starts (e.g. a canary it must not pass on). */
  startEnv: Record<string, string> = {},
): () => TestService {
  let svc: TestService | undefined;
  let instances: string[] = [];
  beforeAll(async () => {
    Object.assign(process.env, startEnv);
    let started: TestService;
    try {
      started = await startService({ ...CONTAINER_SERVICE_ENV, ...env });
    } finally {
      for (const name of Object.keys(startEnv)) delete process.env[name];
    }
    svc = started;
    // The container backends this service was asked to run (all of them unless `env` names fewer).
    const named = (env.AIRLOCK_BACKENDS ?? CONTAINER_SERVICE_ENV.AIRLOCK_BACKENDS).split(',');
    instances = BACKENDS.filter((b) => named.includes(b)).map(
      (b) => (started.service.registry.get(b) as ContainerSandbox).instance,
    );
  }, 180_000);
  afterAll(async () => {
    await svc?.close();
    for (const instance of instances) await expectNoContainersLeft(instance);
  }, 120_000);
  return () => {
    if (!svc) throw new Error('the container service is not started (use it inside a test)');
    return svc;
  };
}

/**
 * Starts one service with container sessions (no warm pool: sessions start their own containers) for the
 * calling test file and closes it after the file, checking that no session container is left; when given,
 * `sessionBackends` is how many container session backends it must have run. Returns a getter, as
 * useContainerService does.
 */
export function useSessionService(
  env: Record<string, string> = {},
  sessionBackends?: number,
): () => TestService {
  let svc: TestService | undefined;
  beforeAll(async () => {
    svc = await startService({ ...CONTAINER_SERVICE_ENV, AIRLOCK_POOL_SIZE: '0', ...env });
  }, 120_000);
  afterAll(async () => {
    const instances = svc?.service.sessions.containerInstances() ?? [];
    await svc?.close();
    if (sessionBackends !== undefined) expect(instances).toHaveLength(sessionBackends);
    for (const instance of instances) await expectNoContainersLeft(instance);
  }, 120_000);
  return () => {
    if (!svc) throw new Error('the session service is not started (use it inside a test)');
    return svc;
  };
}

/** Resolves once the event stream of execution `id` on the service at `url` has carried `text`. */
export async function outputSeen(url: string, id: string, text: string): Promise<void> {
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/executions/${id}/events`, { signal: controller.signal });
  if (!response.body) throw new Error('no event stream');
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the event stream ended before ${JSON.stringify(text)}: ${seen}`);
      seen += decoder.decode(value, { stream: true });
      if (seen.includes(text)) return;
    }
  } finally {
    controller.abort();
  }
}
