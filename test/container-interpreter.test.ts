// The pre-started python interpreter (sandbox-images/CONTRACT.md "Pre-started interpreter") and the CPU time
// limit (meta/cpu_ms → RLIMIT_CPU) on the docker (runc) and gvisor (runsc) backends, through the real REST API.
// A job run by the interpreter that was already waiting must look exactly like `python3 -I -u main.py ARGS`:
// the same program prints the same thing when a start-up variable (LANG) forces a fresh exec.

import { describe, expect, it } from 'vitest';
import { BACKENDS, type ContainerBackend, useContainerService } from './support/containers.ts';
import { run } from './support/service.ts';

const SLOW = 120_000;
const service = useContainerService();

const INTROSPECT = `"""the docstring"""
import os, sys
print(__name__, __file__, sys.argv, __doc__, __spec__, __cached__, __package__, type(__loader__).__name__)
print(sorted(k for k in globals() if k not in ('os', 'sys')))
print(sys.flags.isolated, sys.flags.ignore_environment, sys.flags.safe_path, sys.path[0] != os.getcwd())
print(repr(sys.stdin.read()), os.environ.get('GREETING'), os.getcwd())
import pickle
class Point:
    pass
print(type(pickle.loads(pickle.dumps(Point()))).__qualname__)
def fail():
    raise ValueError('from the job')
fail()
`;

describe.each(BACKENDS)('pre-started python and cpu limit on %s', (backend: ContainerBackend) => {
  const job = (body: Record<string, unknown>) =>
    run(service().url, { backend, limits: { wall_time_ms: 60_000 }, ...body }, 120);
  const cmdline = "print(open('/proc/self/cmdline','rb').read().split(b'\\0')[3].decode())";

  it(
    'a plain python job is run by the waiting interpreter; a start-up variable gets a fresh exec',
    async () => {
      const warm = await job({ language: 'python', code: cmdline });
      const fresh = await job({ language: 'python', code: cmdline, env: { LANG: 'C.UTF-8' } });
      expect(warm.result).toMatchObject({ outcome: 'success', stdout: '/opt/airlock/prestart.py\n' });
      expect(fresh.result).toMatchObject({ outcome: 'success', stdout: 'main.py\n' });
    },
    SLOW,
  );

  it(
    'the waiting interpreter runs the program exactly as a fresh python3 -I -u main.py does',
    async () => {
      const request = { language: 'python', code: INTROSPECT, args: ['a b', 'c'], stdin: 'in\n' };
      const warm = await job({ ...request, env: { GREETING: 'hi' } });
      const fresh = await job({ ...request, env: { GREETING: 'hi', LANG: 'C.UTF-8' } });
      const expected = {
        outcome: 'error',
        exit_code: 1,
        stdout: [
          "__main__ /work/main.py ['main.py', 'a b', 'c'] the docstring None None None SourceFileLoader",
          "['__annotations__', '__builtins__', '__cached__', '__doc__', '__file__', '__loader__', '__name__', '__package__', '__spec__']",
          '1 1 True True',
          "'in\\n' hi /work",
          'Point',
          '',
        ].join('\n'),
        stderr: [
          'Traceback (most recent call last):',
          '  File "/work/main.py", line 13, in <module>',
          '    fail()',
          '  File "/work/main.py", line 12, in fail',
          "    raise ValueError('from the job')",
          'ValueError: from the job',
          '',
        ].join('\n'),
      };
      expect(fresh.result).toMatchObject(expected);
      expect(warm.result).toMatchObject(expected);
    },
    SLOW,
  );

  it(
    'sys.exit codes and SystemExit messages come back as from a fresh interpreter',
    async () => {
      const three = await job({ language: 'python', code: 'import sys\nsys.exit(3)' });
      const message = await job({ language: 'python', code: "raise SystemExit('bye')" });
      expect(three.result).toMatchObject({ outcome: 'error', exit_code: 3, stderr: '' });
      expect(message.result).toMatchObject({ outcome: 'error', exit_code: 1, stderr: 'bye\n' });
    },
    SLOW,
  );

  it(
    'cpu_time_ms stops a busy loop with SIGXCPU: outcome timeout, before the wall clock',
    async () => {
      const limits = { cpu_time_ms: 1000, wall_time_ms: 60_000 };
      const python = await job({ language: 'python', code: 'while True:\n    pass', limits });
      const bash = await job({ language: 'bash', code: 'while :; do :; done', limits });
      for (const execution of [python, bash]) {
        expect(execution.result).toMatchObject({
          outcome: 'timeout',
          signal: 'SIGXCPU',
          reason: 'cpu time limit of 1000 ms exceeded',
        });
        // The kernel checks RLIMIT_CPU on its tick-based clock; the reported usage is precise (and excludes the
        // waiting interpreter's own start-up), so it can be somewhat below the limit.
        expect(execution.result.usage.cpu_ms).toBeGreaterThan(500);
      }
    },
    SLOW,
  );

  it(
    'a program that ignores SIGXCPU is killed one second later: still a cpu timeout',
    async () => {
      const code = 'import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass';
      const execution = await job({
        language: 'python',
        code,
        limits: { cpu_time_ms: 1000, wall_time_ms: 60_000 },
      });
      expect(execution.result).toMatchObject({
        outcome: 'timeout',
        signal: 'SIGKILL',
        reason: 'cpu time limit of 1000 ms exceeded',
      });
    },
    SLOW,
  );
});
