// The runner's second job (meta/next, sandbox-images/CONTRACT.md "Template images"), against the real dockerd,
// runc and runsc: the first job (a compile step's place) leaves processes behind and a file in /work; the runner
// kills every one of them before it reads the second job from the same stream, which then sees the file, no
// leftover, and no descriptor of the job stream, and gets its own nonce, stdin and usage. Without meta/next the
// runner takes no second job.

import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import type { AttachedContainer } from './attached-container.ts';
import { type ContainerJobContext, runContainerJob } from './container-job.ts';
import type { ContainerRuntime } from './container-spec.ts';
import { requireContainerEnv, startTestContainer, TEST_LIMITS, testJob } from './container-test-env.ts';
import { buildJobArchive, type JobArchive } from './job-archive.ts';
import { DEFAULT_CGROUP_MEMORY_ROOT } from './memory-peak.ts';
import { reapLeftovers } from './reaper.ts';

const instance = `runner-next-${randomBytes(4).toString('hex')}`;
const CAPS = { maxFiles: 10, maxBytes: 1000 };

afterAll(async () => {
  await reapLeftovers(new Dockerode(), { labels: [`airlock.instance=${instance}`], includeLiveOwners: true });
}, 60_000);

const FIRST = 'sleep 600 &\nsetsid sleep 601 &\necho built > built.txt\necho first; echo to-stderr >&2\n';
// $$ is the bash of the second job: its descriptors are its stdin (the memfd) and the two output pipes only.
const SECOND =
  'cat built.txt; pgrep -x sleep || echo no-sleep; ls /proc/$$/fd | tr "\\n" " "; echo; cat; echo; exit 7';

describe.each(['runc', 'runsc'] as const)(
  'the runner takes a second job after meta/next on %s',
  (runtime: ContainerRuntime) => {
    /** Runs `body` with a fresh bash container and a way to run one job in it; the container is removed after. */
    const withContainer = async (
      body: (
        job: (archive: JobArchive) => ReturnType<typeof runContainerJob>,
        container: AttachedContainer,
      ) => Promise<void>,
    ) => {
      const env = await requireContainerEnv();
      const container = await startTestContainer(env.docker, env.images.bash.tag, runtime, instance);
      const context: ContainerJobContext = {
        docker: env.docker,
        cgroupMemoryRoot: DEFAULT_CGROUP_MEMORY_ROOT,
        outputCaps: CAPS,
        dockerTimeoutMs: 30_000,
        runtime,
      };
      const signal = new AbortController().signal;
      try {
        await body(
          (archive) => runContainerJob(container, { archive, limits: TEST_LIMITS }, { signal }, context),
          container,
        );
        const exit = (await container.container.wait()) as { StatusCode: number };
        expect(exit.StatusCode).toBe(0);
      } finally {
        await container.container.remove({ force: true });
      }
    };

    it(
      "kills the first job's leftovers, then runs the second in the same /work",
      () =>
        withContainer(async (job) => {
          const first = await buildJobArchive(testJob({ language: 'bash', code: FIRST }), CAPS, undefined, {
            next: true,
          });
          expect(await job(first)).toMatchObject({
            outcome: 'success',
            exit_code: 0,
            stdout: 'first\n',
            stderr: 'to-stderr\n',
          });
          const second = await buildJobArchive(
            testJob({ language: 'bash', code: '', stdin: 'the stdin' }),
            CAPS,
            { file: 'unused.sh', argv: ['bash', '-c', SECOND] },
            { withWork: false },
          );
          expect(second.nonce).not.toBe(first.nonce);
          const ran = await job(second);
          expect(ran).toMatchObject({
            outcome: 'error',
            exit_code: 7,
            stdout: 'built\nno-sleep\n0 1 2 \nthe stdin\n',
            stderr: '',
          });
          // Its own CPU only: the first job's processes are not counted again.
          expect(ran.usage.cpu_ms).toBeLessThan(5_000);
        }),
      120_000,
    );

    it(
      'without meta/next the runner exits after its one job',
      () =>
        withContainer(async (job) => {
          const only = await buildJobArchive(testJob({ language: 'bash', code: 'echo only' }), CAPS);
          expect(await job(only)).toMatchObject({ outcome: 'success', stdout: 'only\n' });
        }),
      120_000,
    );
  },
);
