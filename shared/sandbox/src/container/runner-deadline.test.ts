// The runner's own wall clock (meta/wall_ms, sandbox-images/CONTRACT.md "Wall-clock deadline"), against the real
// dockerd, runc and runsc: a hardened container gets a job archive and nothing else — no timer, no kill, as when
// the service that wrote it is gone — and its runner kills a sleep and a CPU spin loop 1 s past their limit and
// exits 3, which ends the container. The verdict of such an end is a timeout.

import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import type { ContainerRuntime } from './container-spec.ts';
import { requireContainerEnv, startTestContainer, TEST_LIMITS, testJob } from './container-test-env.ts';
import { buildJobArchive } from './job-archive.ts';
import { judgeJob } from './job-verdict.ts';
import { OutputBudget } from './output-budget.ts';
import { reapLeftovers } from './reaper.ts';

const instance = `runner-deadline-${randomBytes(4).toString('hex')}`;
const CAPS = { maxFiles: 10, maxBytes: 1000 };
const WALL_MS = 1500;

afterAll(async () => {
  await reapLeftovers(new Dockerode(), { labels: [`airlock.instance=${instance}`], includeLiveOwners: true });
}, 60_000);

describe.each(['runc', 'runsc'] as const)(
  'the runner ends its job at meta/wall_ms on %s',
  (runtime: ContainerRuntime) => {
    it.each([
      { language: 'bash' as const, code: 'echo started\nsleep 600\necho never' },
      { language: 'python' as const, code: 'print("started")\nwhile True:\n    pass' },
    ])(
      '$language: killed 1 s past the limit with nobody outside; the container exits 3',
      async (program) => {
        const env = await requireContainerEnv();
        const image = program.language === 'bash' ? env.images.bash : env.images.python;
        const limits = { ...TEST_LIMITS, wall_time_ms: WALL_MS, cpu_time_ms: 60_000 };
        const { archive } = await buildJobArchive(testJob({ ...program, limits }), CAPS);
        const container = await startTestContainer(env.docker, image.tag, runtime, instance);
        try {
          const budget = new OutputBudget(limits.output_bytes);
          container.listen((stream, payload) => budget.add(stream, payload));
          await container.write(archive);
          const exit = (await container.container.wait()) as { StatusCode: number };
          expect(exit.StatusCode).toBe(3);
          const result = await judgeJob(
            { kind: 'ended' },
            {
              container,
              budget,
              limits,
              wallMs: 0,
              outputCaps: CAPS,
              dockerTimeoutMs: 30_000,
              docker: env.docker,
              runtime,
            },
          );
          expect(result).toMatchObject({
            outcome: 'timeout',
            signal: 'SIGKILL',
            stdout: 'started\n',
            stderr: '',
            reason: `wall time limit of ${WALL_MS} ms exceeded`,
          });
        } finally {
          await container.container.remove({ force: true });
        }
      },
      120_000,
    );
  },
);
