// SECURITY.md classes 6 (credential hunting), 14 (persistence), 15 (host files) and 16 (output files that are
// links or FIFOs) on the docker (runc) and gvisor (runsc) backends, through the real REST API, with the exact
// outcome on each runtime. It must never aim at anything outside the sandbox.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BACKENDS, type ContainerBackend, containerJob, useContainerService } from './support/containers.ts';

const SLOW = 120_000;

/** A secret in the service's own environment: it must reach no sandbox. */
const CANARY = `airlock-canary-${randomBytes(12).toString('hex')}`;

const service = useContainerService({}, { AIRLOCK_TEST_CANARY: CANARY });

describe.each(BACKENDS)('container host attacks on %s', (backend: ContainerBackend) => {
  const job = containerJob(service, backend, 45_000);

  it(
    'class 6: the service canary is in no env, environ, argv, readable file, nor in the result',
    async () => {
      // The program gets the canary in two halves: assembling it only in grep's argv keeps it out of every
      // file and every argv the dump below prints.
      const half = CANARY.length / 2;
      const dump = String.raw`
echo "== env"; env
echo "== environ"
for f in /proc/[0-9]*/environ; do echo "$f"; tr '\0' '\n' < "$f" 2>&1; done
echo "== cmdline"
for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f" 2>&1; echo; done
echo "== files"
timeout 30 grep -rls -e "$1$2" -e "AIRLOCK_TEST""_CANARY" /work /tmp /etc /opt /usr/local /var /run /home /srv /root
echo "== end: grep exit $?"
`;
      const python = String.raw`
import os, sys
print(sorted(os.environ))
print(sys.argv)
print(open('/proc/self/cmdline').read().split('\0'))
`;
      const [shell, py] = await Promise.all([
        job('bash', dump, { args: [CANARY.slice(0, half), CANARY.slice(half)] }),
        job('python', python),
      ]);
      expect(shell.result, `reason: ${shell.result.reason}`).toMatchObject({
        outcome: 'success',
        exit_code: 0,
      });
      expect(shell.result.stdout).toContain('PATH=/usr/local/bin:/usr/bin:/bin\n');
      expect(shell.result.stdout).toMatch(/== environ\n\/proc\/1\/environ\n/);
      // Nothing listed, and grep went through (1: no match, 2: no match but some files unreadable; 124 would be
      // the timeout cutting it short).
      expect(shell.result.stdout).toMatch(/\n== files\n== end: grep exit [12]\n$/);
      expect(py.result, `reason: ${py.result.reason}`).toMatchObject({
        outcome: 'success',
        stdout: [
          "['HOME', 'HOSTNAME', 'LANG', 'MPLBACKEND', 'MPLCONFIGDIR', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'PATH']",
          "['main.py']",
          // The pre-started interpreter (sandbox-images/CONTRACT.md) ran the job.
          "['python3', '-I', '-u', '/opt/airlock/prestart.py', '']",
          '',
        ].join('\n'),
      });
      for (const execution of [shell, py]) {
        expect(JSON.stringify(execution)).not.toContain(CANARY);
        expect(JSON.stringify(execution)).not.toContain('AIRLOCK_TEST_CANARY');
      }
      expect(service().logs.join('')).not.toContain(CANARY);
    },
    SLOW,
  );

  it(
    'class 14: what run 1 writes is gone in run 2',
    async () => {
      const paths = "['/work/x', '/tmp/x', '/dev/shm/x', '/work/out/x']";
      const first = await job(
        'python',
        `for p in ${paths}:\n    open(p, 'w').write('left behind')\nprint('written')`,
      );
      expect(first.result, `reason: ${first.result.reason}`).toMatchObject({
        outcome: 'success',
        stdout: 'written\n',
      });
      const second = await job(
        'python',
        `import os\nprint([os.path.exists(p) for p in ${paths}])\nprint(sorted(os.listdir('/work')), os.listdir('/tmp'), os.listdir('/dev/shm'))`,
      );
      expect(second.result, `reason: ${second.result.reason}`).toMatchObject({
        outcome: 'success',
        stdout: "[False, False, False, False]\n['main.py', 'out'] [] []\n",
      });
    },
    SLOW,
  );

  it(
    'class 15: host files are absent, denied or the sandbox’s own',
    async () => {
      const code = `
import errno, os
def attempt(name, fn):
    try:
        print(name, fn())
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
def same_as_own_root():
    a, b = os.stat('/proc/1/root/'), os.stat('/')
    return 'own-root' if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) else 'OTHER-ROOT'
attempt('/etc/shadow', lambda: len(open('/etc/shadow').read()))
attempt('/proc/1/root', same_as_own_root)
for path in ['/var/run/docker.sock', '/run/docker.sock']:
    print(path, 'exists' if os.path.lexists(path) else 'absent')
attempt('/sys/firmware', lambda: os.listdir('/sys/firmware'))
print('uid', os.getuid(), os.getgid(), os.getgroups())
caps = [l.split()[1] for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapPrm', 'CapBnd'))]
print('caps', caps)
`;
      const execution = await job('python', code);
      // pid 1 is the runner, which is not dumpable: its /proc entries are closed to the job on both runtimes.
      const proc1Root = 'EACCES';
      expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
        outcome: 'success',
        stderr: '',
        stdout: [
          '/etc/shadow EACCES',
          `/proc/1/root ${proc1Root}`,
          '/var/run/docker.sock absent',
          '/run/docker.sock absent',
          '/sys/firmware []',
          'uid 65534 65534 [65534]',
          "caps ['0000000000000000', '0000000000000000', '0000000000000000']",
          '',
        ].join('\n'),
      });
    },
    SLOW,
  );

  it(
    'class 15: a binary dropped in a writable path cannot be executed',
    async () => {
      const execution = await job(
        'bash',
        'for d in /work /tmp /dev/shm; do cp /bin/true "$d/t" && "$d/t"; echo "$d=$?"; done 2>/dev/null',
      );
      expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
        outcome: 'success',
        stdout: '/work=126\n/tmp=126\n/dev/shm=126\n',
      });
    },
    SLOW,
  );

  it(
    'class 16: symlinks and FIFOs in the output folder are not returned, regular files are',
    async () => {
      const code = `set -e
cd /work/out
ln -s /etc/passwd passwd-link
ln -s /etc etc-link
ln -s /proc/self/environ environ-link
mkfifo fifo
mkdir sub
echo hello > real.txt
echo inner > sub/inner.txt
ln -s ../real.txt sub/relative-link
echo done`;
      const execution = await job('bash', code);
      expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
        outcome: 'success',
        stdout: 'done\n',
        stderr: '',
      });
      const files = [...execution.result.files].sort((a, b) => a.path.localeCompare(b.path));
      expect(files).toEqual([
        { path: 'real.txt', size: 6, encoding: 'base64', content: Buffer.from('hello\n').toString('base64') },
        {
          path: 'sub/inner.txt',
          size: 6,
          encoding: 'base64',
          content: Buffer.from('inner\n').toString('base64'),
        },
      ]);
    },
    SLOW,
  );
});
