// SECURITY.md classes 9 (fork bomb), 10 (memory bomb), 11 (infinite loop), 12 (disk fill), 13 (output flood)
// and 18 (children that ignore SIGTERM, double-fork or setsid) on the docker (runc) and gvisor (runsc) backends,
// through the real REST API: each ends with its exact outcome, leaves no container or process behind, and the
// next job runs normally. It must never aim at anything outside the sandbox.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  BACKENDS,
  type ContainerBackend,
  containersLabelled,
  expectResult,
  useContainerService,
} from './support/containers.ts';
import { call, run } from './support/service.ts';

const SLOW = 120_000;

const service = useContainerService({
  // The four infinite loops of class 11 run side by side.
  AIRLOCK_CONCURRENCY: '4',
});

/** Polls (bounded) until check() is true; the bound is generous, it only keeps a broken run from hanging. */
async function eventually(check: () => boolean, what: string, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never happened: ${what}`);
}

/** Host processes whose command line mentions `needle` (runc jobs, containerd shims, runsc sandboxes). */
function hostProcessesMentioning(needle: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(needle) && !line.includes('ps -eo'));
}

/** How a job ends that went past its 128 MB. */
const MEMORY_KILLED = {
  outcome: 'memory_limit',
  signal: 'SIGKILL',
  reason: 'memory limit of 128 MB exceeded',
};

describe.each(BACKENDS)('container resource attacks on %s', (backend: ContainerBackend) => {
  const job = (language: string, code: string, limits: Record<string, number> = {}, extra = {}) =>
    run(
      service().url,
      { language, backend, code, limits: { wall_time_ms: 10_000, ...limits }, ...extra },
      120,
    );

  async function stillServes() {
    const execution = await job('bash', 'echo alive');
    expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
      outcome: 'success',
      exit_code: 0,
      stdout: 'alive\n',
    });
  }

  it(
    'class 9: a python fork bomb is contained (fork fails on runc, the memory limit ends it on gVisor)',
    async () => {
      // Every process forks until fork fails, then waits; the first process reports and exits.
      const bomb = `
import os, sys, time
root = os.getpid()
try:
    while True:
        os.fork()
except OSError as e:
    if os.getpid() == root:
        print('fork failed errno', e.errno, flush=True)
        sys.exit(3)
    time.sleep(600)
`;
      const execution = await job('python', bomb, { wall_time_ms: 30_000 });
      if (backend === 'docker') {
        // The pids cgroup (128) makes fork fail with EAGAIN; the runner then kills every process left.
        expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
          outcome: 'error',
          exit_code: 3,
          stdout: 'fork failed errno 11\n',
        });
      } else {
        // Under gVisor every guest process costs several MB of sandbox memory: 128 MB runs out before the
        // nproc limit (64) is reached, and the OOM kill of the whole sandbox ends the job.
        expectResult(execution, MEMORY_KILLED);
      }
      await stillServes();
    },
    SLOW,
  );

  it(
    'class 9: the bash fork bomb hits the process limit, the script itself survives and ends normally',
    async () => {
      // ':' is the bomb from here on. The script counts processes with builtins only (no fork) until the bomb
      // has filled the sandbox (runc: 128 pids, gVisor: nproc 64), lets it press on the limit, then ends.
      const bomb = [
        'shopt -s nullglob',
        ':(){ :|:& };:',
        'peak=0',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${#array[@]}, not a template
        'until (( peak >= 60 || SECONDS >= 20 )); do p=(/proc/[0-9]*); (( ${#p[@]} > peak )) && peak=${#p[@]}; done',
        'end=$((SECONDS + 2)); while (( SECONDS < end )); do true; done',
        '(( peak >= 60 )) && echo "the bomb filled the sandbox"',
        'echo survived',
      ].join('\n');
      const execution = await job('bash', bomb, { wall_time_ms: 40_000 });
      expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
        outcome: 'success',
        exit_code: 0,
        stdout: 'the bomb filled the sandbox\nsurvived\n',
      });
      expect(execution.result.stderr).toContain('main.sh: fork: retry: Resource temporarily unavailable');
      await stillServes();
    },
    SLOW,
  );

  it(
    'class 10: memory bombs in python and javascript end with memory_limit',
    async () => {
      const [python, javascript] = await Promise.all([
        job('python', 'blocks = []\nwhile True:\n    blocks.append(bytearray(8 << 20))', {
          wall_time_ms: 30_000,
        }),
        job('javascript', 'const a = [];\nfor (;;) a.push(Buffer.alloc(8 << 20, 1));', {
          wall_time_ms: 30_000,
        }),
      ]);
      for (const execution of [python, javascript]) {
        expectResult(execution, MEMORY_KILLED);
      }
      await stillServes();
    },
    SLOW,
  );

  it(
    'class 11: infinite loops in every language end at the deadline',
    async () => {
      const loops = await Promise.all([
        job('python', 'while True:\n    pass', { wall_time_ms: 3_000 }),
        job('bash', 'while :; do :; done', { wall_time_ms: 3_000 }),
        job('javascript', 'for (;;) {}', { wall_time_ms: 3_000 }),
        job('typescript', 'const spin = (): never => { for (;;) {} };\nspin();', { wall_time_ms: 3_000 }),
      ]);
      for (const execution of loops) {
        expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
          outcome: 'timeout',
          exit_code: null,
          signal: 'SIGKILL',
          reason: 'wall time limit of 3000 ms exceeded',
        });
      }
      await stillServes();
    },
    SLOW,
  );

  it(
    'class 12: filling every writable path gives ENOSPC or EFBIG inside, the root is read-only, the job ends normally',
    async () => {
      const code = `
import errno, os
def fill(path):
    try:
        with open(path, 'wb') as f:
            while True:
                f.write(b'x' * (1 << 20))
                f.flush()
    except OSError as e:
        return errno.errorcode.get(e.errno)
    finally:
        if os.path.exists(path):
            os.remove(path)
for d in ['/work', '/tmp', '/dev/shm']:
    print(d, fill(d + '/fill'))
try:
    with open('/work/sparse', 'wb') as f:
        f.seek(64 << 20)
        f.write(b'x')
    print('past fsize OK')
except OSError as e:
    print('past fsize', errno.errorcode.get(e.errno))
for path in ['/fill', '/etc/fill', '/var/fill', '/opt/fill']:
    try:
        open(path, 'w')
        print(path, 'OK')
    except OSError as e:
        print(path, errno.errorcode.get(e.errno))
mounts = {m.split()[1]: m.split() for m in open('/proc/mounts')}
print('root read-only', 'ro' in mounts['/'][3].split(','))
print('memory-backed', [mounts[p][2] for p in ['/work', '/tmp', '/dev/shm']])
`;
      const execution = await job('python', code, { wall_time_ms: 30_000 });
      // runc checks the read-only mount first; gVisor checks the directory's permissions first.
      const readOnly = backend === 'docker' ? 'EROFS' : 'EACCES';
      expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
        outcome: 'success',
        exit_code: 0,
        stderr: '',
        stdout: [
          '/work ENOSPC',
          '/tmp ENOSPC',
          // /dev/shm is 64 MiB, as large as the fsize limit: the file hits the size limit first.
          '/dev/shm EFBIG',
          'past fsize EFBIG',
          `/fill ${readOnly}`,
          `/etc/fill ${readOnly}`,
          `/var/fill ${readOnly}`,
          `/opt/fill ${readOnly}`,
          'root read-only True',
          "memory-backed ['tmpfs', 'tmpfs', 'tmpfs']",
          '',
        ].join('\n'),
      });
      await stillServes();
    },
    SLOW,
  );

  it.each([
    ['stdout', 'import sys\nwhile True:\n    sys.stdout.write("x" * 1000)'],
    ['stderr', 'import sys\nwhile True:\n    sys.stderr.write("y" * 1000)'],
  ] as const)(
    'class 13: an output flood on %s is capped, flagged truncated and stopped',
    async (stream, code) => {
      const execution = await job('python', code, { output_bytes: 10_000, wall_time_ms: 30_000 });
      const other = stream === 'stdout' ? 'stderr' : 'stdout';
      expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
        outcome: 'output_limit',
        signal: 'SIGKILL',
        reason: 'output exceeded the limit of 10000 bytes',
        truncated: { [stream]: true, [other]: false },
        [stream]: (stream === 'stdout' ? 'x' : 'y').repeat(10_000),
        [other]: '',
      });
      await stillServes();
    },
    SLOW,
  );

  // Children that ignore SIGTERM, double-fork into daemons, or setsid into their own session.
  const ESCAPEES = `
(trap '' TERM; exec sleep 987001) &
( ( exec sleep 987002 & ) & )
setsid sleep 987003 &
python3 -c 'import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); os.setsid(); time.sleep(987004)' &
nohup sleep 987005 >/dev/null 2>&1 &
for i in $(seq 100); do
  n=$(ps -eo args= | grep -c -e '^sleep 98700' -e 'time[.]sleep(987004)')
  [ "$n" = 5 ] && break
  sleep 0.1
done
echo "$n"
`;

  /** Runs code on the cold path (its own labelled container) and returns the execution and its container id. */
  async function runWatched(code: string, wallMs: number) {
    // memory_mb 96 is not the pooled profile: the container is created for this job and labelled with its id.
    const submitted = await call(service().url, 'POST', '/v1/executions', {
      language: 'bash',
      backend,
      code,
      limits: { wall_time_ms: wallMs, memory_mb: 96 },
    });
    expect(submitted.status).toBe(201);
    const id: string = submitted.body.id;
    let container: string | undefined;
    const seen = eventually(() => {
      container ??= containersLabelled(`airlock.execution=${id}`)[0]?.split(' ')[0];
      return container !== undefined;
    }, `a container labelled airlock.execution=${id}`);
    const execution = await service().service.queue.wait('local', id, 120_000);
    await seen;
    return { execution, container: container as string, id };
  }

  async function expectNothingLeft(id: string, container: string) {
    await eventually(
      () => containersLabelled(`airlock.execution=${id}`).length === 0,
      `container of ${id} removed`,
    );
    await eventually(
      () => hostProcessesMentioning(container).length === 0,
      `no host process of ${container}`,
    );
    expect(hostProcessesMentioning('sleep 98700')).toEqual([]);
    expect(hostProcessesMentioning('time.sleep(987004)')).toEqual([]);
    const next = await job('bash', 'ps -eo comm=');
    expect(next.result, `reason: ${next.result.reason}`).toMatchObject({
      outcome: 'success',
      stdout: 'runner\nbash\nps\n',
    });
  }

  it(
    'class 18: escaping children do not keep a finished job alive, and nothing of it is left',
    async () => {
      const { execution, container, id } = await runWatched(`${ESCAPEES}echo main exits`, 30_000);
      // Ending before the deadline shows the runner killed the five sleepers instead of waiting for them.
      expect(execution.result, `reason: ${execution.result?.reason}`).toMatchObject({
        outcome: 'success',
        stdout: '5\nmain exits\n',
      });
      await expectNothingLeft(id, container);
    },
    SLOW,
  );

  it(
    'class 18: a job whose escaping children outlive the deadline is killed whole, and nothing of it is left',
    async () => {
      const { execution, container, id } = await runWatched(`${ESCAPEES}sleep 600`, 5_000);
      expect(execution.result, `reason: ${execution.result?.reason}`).toMatchObject({
        outcome: 'timeout',
        signal: 'SIGKILL',
        stdout: '5\n',
        reason: 'wall time limit of 5000 ms exceeded',
      });
      await expectNothingLeft(id, container);
    },
    SLOW,
  );
});
