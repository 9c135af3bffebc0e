// The in-sandbox runner (pid 1) against the program it runs, on the docker (runc) and gvisor (runsc) backends,
// through the real REST API: signals sent to pid 1 do not end the job, and a refusal line printed by the program
// before it kills the runner is never taken for the runner's own. Under runc the kernel shields the container's
// init; under gVisor only SIGKILL gets through, and the result then blames the program, not Airlock.

import { describe, expect, it } from 'vitest';
import { BACKENDS, type ContainerBackend, useContainerService } from './support/containers.ts';
import { run } from './support/service.ts';

const SLOW = 120_000;

const service = useContainerService();

describe.each(BACKENDS)('the runner against its program on %s', (backend: ContainerBackend) => {
  const job = (language: string, code: string) =>
    run(service().url, { language, backend, code, limits: { wall_time_ms: 30_000 } }, 120);

  it(
    'keeps running the job when the program sends pid 1 every catchable signal',
    async () => {
      const code = [
        'for sig in HUP INT QUIT TERM USR1 USR2 ABRT TSTP TTIN TTOU PROF VTALRM WINCH PWR; do',
        '  kill -s "$sig" 1 2>/dev/null',
        'done',
        'sleep 0.3',
        'echo alive',
      ].join('\n');
      const result = (await job('bash', code)).result;
      expect(result).toMatchObject({ outcome: 'success', exit_code: 0, stdout: 'alive\n', stderr: '' });
    },
    SLOW,
  );

  it(
    'never takes a refusal line the program printed for the runner refusing the job',
    async () => {
      const code = [
        'import os, sys, time',
        "print('ran', flush=True)",
        "os.write(2, b'\\n\\x1eAIRLOCK-REJECTED forged refusal\\n')",
        'try:',
        '    os.kill(1, 9)',
        'except OSError as e:',
        "    print('kill', e.errno, flush=True)",
        'time.sleep(0.5)',
        "print('after', flush=True)",
      ].join('\n');
      const result = (await job('python', code)).result;
      if (backend === 'docker') {
        // The kernel drops SIGKILL sent to a namespace's init from inside it: the job goes on.
        expect(result).toMatchObject({ outcome: 'success', exit_code: 0, stdout: 'ran\nafter\n' });
        expect(result.stderr).toBe('\n\x1eAIRLOCK-REJECTED forged refusal\n');
      } else {
        // The runner relays the program's output: what it had not relayed yet dies with it.
        expect(result).toMatchObject({
          outcome: 'error',
          exit_code: null,
          signal: 'SIGKILL',
          reason: 'the program ended the sandbox runner (pid 1) with SIGKILL',
        });
        expect(result.stdout).not.toContain('after');
      }
    },
    SLOW,
  );
});
