// Parity of ordinary programs on runc and runsc (python, bash, node/TypeScript) and, where it makes sense, the
// isolate (JavaScript, TypeScript), through the real REST API, against exact expected output: the file-system
// commands an agent starts with (`ls`, `ls DIR`, `ls -la`, `ls -l`, `stat`, `find`, `du`, `cp`, `mv`) run from
// every language, the same work through each language's own file API, reading a big file, stdin, exit codes, and
// death by signal. Only what the two kernels legitimately count differently is left out of the comparison: block
// counts (`total` of `ls -l`, `du` without --apparent-size) and timestamps.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ALL_TARGETS,
  CONTAINER_TARGETS,
  nameOf,
  onEveryTarget,
  PARITY_TIMEOUT,
  summary,
  useParityJobs,
  wholeSuccess,
} from './support/parity.ts';

const job = useParityJobs({ limits: { wall_time_ms: 60_000 } });

/** The commands, as a script every language runs (bash directly, python and node as a child process). */
const FS_SCRIPT = `set -e
mkdir -p d/sub
printf abc > d/a.txt
printf 'hello\\n' > d/sub/b.txt
chmod 640 d/sub/b.txt
echo '== ls'; ls
echo '== ls d'; ls d
echo '== ls -la'; ls -la >/dev/null; ls -la --time-style=+T d | tail -n +2
echo '== ls -l'; ls -l --time-style=+T d/sub | tail -n +2
echo '== stat'; stat --printf '%n %s %F %A %U %G %h\\n' d d/a.txt d/sub/b.txt
echo '== find'; find d | LC_ALL=C sort
echo '== du'; du -s d >/dev/null; du -ab d/a.txt d/sub/b.txt
echo '== cp mv'; cp -a d e; mv e f; ls -R f; cmp d/sub/b.txt f/sub/b.txt && echo same
echo '== rm'; rm -r f; ls
`;
const FS_EXPECTED = `== ls
d
fs.sh
main.PROGRAM
out
== ls d
a.txt
sub
== ls -la
drwxr-xr-x 3 nobody nogroup  80 T .
drwxrwxrwt 4 root   root    120 T ..
-rw-r--r-- 1 nobody nogroup   3 T a.txt
drwxr-xr-x 2 nobody nogroup  60 T sub
== ls -l
-rw-r----- 1 nobody nogroup 6 T b.txt
== stat
d 80 directory drwxr-xr-x nobody nogroup 3
d/a.txt 3 regular file -rw-r--r-- nobody nogroup 1
d/sub/b.txt 6 regular file -rw-r----- nobody nogroup 1
== find
d
d/a.txt
d/sub
d/sub/b.txt
== du
3\td/a.txt
6\td/sub/b.txt
== cp mv
f:
a.txt
sub

f/sub:
b.txt
same
== rm
d
fs.sh
main.PROGRAM
out
`;

const RUN_FS_SCRIPT: Record<string, string> = {
  python: "import subprocess\nsubprocess.run(['bash', 'fs.sh'], check=True)\n",
  bash: 'bash fs.sh',
  javascript: "require('node:child_process').execFileSync('bash', ['fs.sh'], { stdio: 'inherit' });\n",
  typescript:
    "import { execFileSync } from 'node:child_process';\nexecFileSync('bash', ['fs.sh'], { stdio: 'inherit' });\n",
};
const PROGRAM_FILE: Record<string, string> = { python: 'py', bash: 'sh', javascript: 'js', typescript: 'ts' };

const BIG_LINES = 700_000;
const BIG = `${Array.from({ length: BIG_LINES }, (_, i) => i + 1).join('\n')}\n`;
/** Each language's own file API: list, stat, copy, move, and a big file written and read back. */
const NATIVE: Record<string, string> = {
  python: `import hashlib, os, shutil, stat
os.makedirs('d/sub')
open('d/a.txt', 'w').write('abc')
print('entries:', ','.join(sorted(os.listdir('d'))))
st = os.stat('d/a.txt')
print('a.txt:', st.st_size, oct(stat.S_IMODE(st.st_mode))[2:], stat.S_ISREG(st.st_mode), stat.S_ISDIR(os.stat('d/sub').st_mode))
shutil.copytree('d', 'e')
shutil.move('e', 'f')
print('moved:', ','.join(sorted(os.listdir('f'))), open('f/a.txt').read(), os.path.exists('e'))
with open('big.txt', 'w') as big:
    big.write(''.join(f'{i}\\n' for i in range(1, ${BIG_LINES + 1})))
data = open('big.txt', 'rb').read()
print('big:', len(data), data.split(b'\\n')[-2].decode(), hashlib.sha256(data).hexdigest())
`,
  bash: `set -e
mkdir -p d/sub; printf abc > d/a.txt
echo "entries: $(ls d | paste -sd,)"
echo "a.txt: $(stat --printf '%s %a' d/a.txt) $([[ -f d/a.txt ]] && echo True) $([[ -d d/sub ]] && echo True)"
cp -r d e; mv e f
echo "moved: $(ls f | paste -sd,) $(cat f/a.txt) $([[ -e e ]] && echo True || echo False)"
seq 1 ${BIG_LINES} > big.txt
echo "big: $(wc -c < big.txt) $(tail -n 1 big.txt) $(sha256sum big.txt | cut -c1-64)"
`,
  javascript: `const fs = require('node:fs');
const { createHash } = require('node:crypto');
fs.mkdirSync('d/sub', { recursive: true });
fs.writeFileSync('d/a.txt', 'abc');
console.log('entries:', fs.readdirSync('d').sort().join(','));
const st = fs.statSync('d/a.txt');
const py = (b) => (b ? 'True' : 'False');
console.log('a.txt:', st.size, (st.mode & 0o777).toString(8), py(st.isFile()), py(fs.statSync('d/sub').isDirectory()));
fs.cpSync('d', 'e', { recursive: true });
fs.renameSync('e', 'f');
console.log('moved:', fs.readdirSync('f').sort().join(','), fs.readFileSync('f/a.txt', 'utf8'), py(fs.existsSync('e')));
fs.writeFileSync('big.txt', Array.from({ length: ${BIG_LINES} }, (_, i) => i + 1).join('\\n') + '\\n');
const data = fs.readFileSync('big.txt');
console.log('big:', data.length, data.toString().split('\\n').at(-2), createHash('sha256').update(data).digest('hex'));
`,
  typescript: `import { createHash } from 'node:crypto';
import fs from 'node:fs';
const py = (b: boolean): string => (b ? 'True' : 'False');
fs.mkdirSync('d/sub', { recursive: true });
fs.writeFileSync('d/a.txt', 'abc');
console.log('entries:', fs.readdirSync('d').sort().join(','));
const st: fs.Stats = fs.statSync('d/a.txt');
console.log('a.txt:', st.size, (st.mode & 0o777).toString(8), py(st.isFile()), py(fs.statSync('d/sub').isDirectory()));
fs.cpSync('d', 'e', { recursive: true });
fs.renameSync('e', 'f');
console.log('moved:', fs.readdirSync('f').sort().join(','), fs.readFileSync('f/a.txt', 'utf8'), py(fs.existsSync('e')));
fs.writeFileSync('big.txt', Array.from({ length: ${BIG_LINES} }, (_, i: number) => i + 1).join('\\n') + '\\n');
const data: Buffer = fs.readFileSync('big.txt');
console.log('big:', data.length, data.toString().split('\\n').at(-2), createHash('sha256').update(data).digest('hex'));
`,
};
const nativeExpected = () =>
  [
    'entries: a.txt,sub',
    'a.txt: 3 644 True True',
    'moved: a.txt,sub abc False',
    `big: ${Buffer.byteLength(BIG)} ${BIG_LINES} ${createHash('sha256').update(BIG).digest('hex')}`,
    '',
  ].join('\n');

const STDIN = `first line\n${'ünïcödé ✓ 😀 '.repeat(20_000)}\nno newline at the end`;
const ECHO_STDIN: Record<string, string> = {
  python: "import sys\nsys.stdout.write(sys.stdin.read() + '\\n')\n",
  bash: 'cat; echo',
  javascript: "const fs = require('node:fs');\nfs.writeSync(1, fs.readFileSync(0, 'utf8') + '\\n');\n",
  typescript: "import fs from 'node:fs';\nfs.writeSync(1, fs.readFileSync(0, 'utf8') + '\\n');\n",
};
const ISOLATE_ECHO_STDIN = 'console.log(airlock.stdin);';

const EXIT: Record<string, (code: number) => string> = {
  python: (code) => `import sys\nprint('bye')\nsys.exit(${code})\n`,
  bash: (code) => `echo bye\nexit ${code}`,
  javascript: (code) => `console.log('bye');\nprocess.exitCode = ${code};\n`,
  typescript: (code) => `const code: number = ${code};\nconsole.log('bye');\nprocess.exitCode = code;\n`,
};
const ISOLATE_EXIT = (code: number) => `console.log('bye');\nairlock.exit(${code});\n`;

const SIGNAL: Record<string, (name: string) => string> = {
  python: (name) =>
    `import os, signal\nprint('before')\nos.kill(os.getpid(), signal.${name})\nprint('after')\n`,
  bash: (name) => `echo before\nkill -${name.slice(3)} $$\necho after`,
  javascript: (name) =>
    `const fs = require('node:fs');\nfs.writeSync(1, 'before\\n');\nprocess.kill(process.pid, '${name}');\nsetTimeout(() => fs.writeSync(1, 'after\\n'), 1000);\n`,
  typescript: (name) =>
    `import fs from 'node:fs';\nfs.writeSync(1, 'before\\n');\nprocess.kill(process.pid, '${name}');\nsetTimeout((): void => { fs.writeSync(1, 'after\\n'); }, 1000);\n`,
};

describe('ordinary programs: parity on every backend and language', () => {
  it(
    'ls, ls DIR, ls -la, ls -l, stat, find, du, cp, mv, rm work alike from python, bash and node on runc and runsc',
    async () => {
      const files = [{ path: 'fs.sh', content: FS_SCRIPT }];
      await onEveryTarget(
        CONTAINER_TARGETS,
        (t) => job(t, RUN_FS_SCRIPT[t.language]!, { files }),
        (execution, t) => {
          expect(execution.result, nameOf(t)).toMatchObject({
            outcome: 'success',
            exit_code: 0,
            stdout: FS_EXPECTED.replaceAll('PROGRAM', PROGRAM_FILE[t.language]!),
            stderr: '',
          });
        },
      );
    },
    PARITY_TIMEOUT,
  );

  it(
    "each language's own file API: list, stat, copy, move, and a 4.8 MB file written and read back",
    async () => {
      await onEveryTarget(
        CONTAINER_TARGETS,
        (t) => job(t, NATIVE[t.language]!),
        (execution, t) => {
          expect(execution.result, nameOf(t)).toMatchObject({
            outcome: 'success',
            exit_code: 0,
            stdout: nativeExpected(),
            stderr: '',
          });
        },
      );
    },
    PARITY_TIMEOUT,
  );

  it(
    'stdin (multi-byte text, no final newline) reaches the program byte for byte',
    async () => {
      await onEveryTarget(
        ALL_TARGETS,
        (t) =>
          job(t, t.backend === 'isolate' ? ISOLATE_ECHO_STDIN : ECHO_STDIN[t.language]!, { stdin: STDIN }),
        (execution, t) =>
          expect(summary(execution.result), nameOf(t)).toEqual(wholeSuccess(`${STDIN}\n`, '')),
      );
    },
    PARITY_TIMEOUT,
  );

  it(
    'exit codes 0, 1, 3 and 255 come back as they are',
    async () => {
      const cases = ALL_TARGETS.flatMap((t) => [0, 1, 3, 255].map((code) => ({ t, code })));
      const executions = await Promise.all(
        cases.map(({ t, code }) =>
          job(t, t.backend === 'isolate' ? ISOLATE_EXIT(code) : EXIT[t.language]!(code)),
        ),
      );
      executions.forEach((execution, i) => {
        const { t, code } = cases[i]!;
        expect(execution.result, `${nameOf(t)}, exit ${code}`).toMatchObject({
          outcome: code === 0 ? 'success' : 'error',
          exit_code: code,
          signal: null,
          stdout: 'bye\n',
          stderr: '',
          reason: null,
        });
      });
    },
    PARITY_TIMEOUT,
  );

  it(
    'death by SIGTERM, SIGKILL and SIGSEGV: outcome error, the signal named, the output before it kept',
    async () => {
      const cases = CONTAINER_TARGETS.flatMap((t) =>
        ['SIGTERM', 'SIGKILL', 'SIGSEGV'].map((name) => ({ t, name })),
      );
      const executions = await Promise.all(cases.map(({ t, name }) => job(t, SIGNAL[t.language]!(name))));
      executions.forEach((execution, i) => {
        const { t, name } = cases[i]!;
        expect(execution.result, `${nameOf(t)}, ${name}`).toMatchObject({
          outcome: 'error',
          exit_code: null,
          signal: name,
          stdout: 'before\n',
          reason: null,
        });
      });
    },
    PARITY_TIMEOUT,
  );
});
