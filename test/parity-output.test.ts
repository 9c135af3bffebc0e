// Parity of output on every backend and language (python, bash, node/TypeScript on runc and runsc; JavaScript and
// TypeScript on the isolate), through the real REST API: single writes of 64 KiB - 1, 64 KiB, 64 KiB + 1, 200 KB
// and 1 MB to stdout and to stderr arrive whole; every byte value; multi-byte characters split across writes and
// across pipe buffers; the output cap cuts at exactly `output_bytes` and says so in `truncated` and `reason`.
// Binary output: stdout and stderr are UTF-8 text, so bytes that are not UTF-8 arrive as U+FFFD (the WHATWG
// decoder's replacement); exact bytes come back as output files (test/container-programs.test.ts).

import { describe, expect, it } from 'vitest';
import {
  ALL_TARGETS,
  CONTAINER_TARGETS,
  nameOf,
  onEveryTarget,
  PARITY_TIMEOUT,
  runs,
  summary,
  type Target,
  useParityJobs,
  wholeSuccess,
} from './support/parity.ts';

const job = useParityJobs();

const SIZES = [65_535, 65_536, 65_537, 200_000, 1_000_000];
const OUT_LETTERS = 'abcde';
const ERR_LETTERS = 'vwxyz';
const expectedWrites = (letters: string) => SIZES.map((n, i) => `${letters[i]!.repeat(n - 1)}\n`).join('');

/** Each payload `letter × (n-1) + \n` in ONE write call: to stdout, then to stderr. */
const SINGLE_WRITES: Record<string, string> = {
  python: `import sys
sizes = ${JSON.stringify(SIZES)}
for i, n in enumerate(sizes):
    sys.stdout.write('${OUT_LETTERS}'[i] * (n - 1) + '\\n')
for i, n in enumerate(sizes):
    sys.stderr.write('${ERR_LETTERS}'[i] * (n - 1) + '\\n')
`,
  // dd with bs = the payload's size reads it in one read and writes it in one write.
  bash: `set -e
sizes=(${SIZES.join(' ')}); out=${OUT_LETTERS}; err=${ERR_LETTERS}
for i in 0 1 2 3 4; do
  n=\${sizes[$i]}
  head -c $((n - 1)) /dev/zero | tr '\\0' "\${out:$i:1}" > /tmp/out$i; echo >> /tmp/out$i
  head -c $((n - 1)) /dev/zero | tr '\\0' "\${err:$i:1}" > /tmp/err$i; echo >> /tmp/err$i
done
for i in 0 1 2 3 4; do dd if=/tmp/out$i bs=\${sizes[$i]} count=1 status=none; done
for i in 0 1 2 3 4; do dd if=/tmp/err$i bs=\${sizes[$i]} count=1 status=none >&2; done
`,
  javascript: `const fs = require('node:fs');
const sizes = ${JSON.stringify(SIZES)};
for (const [fd, letters] of [[1, '${OUT_LETTERS}'], [2, '${ERR_LETTERS}']])
  sizes.forEach((n, i) => fs.writeSync(fd, Buffer.from(letters[i].repeat(n - 1) + '\\n')));
`,
  typescript: `import fs from 'node:fs';
const sizes: number[] = ${JSON.stringify(SIZES)};
for (const [fd, letters] of [[1, '${OUT_LETTERS}'], [2, '${ERR_LETTERS}']] as const)
  sizes.forEach((n: number, i: number) => fs.writeSync(fd, Buffer.from(letters[i]!.repeat(n - 1) + '\\n')));
`,
};

/** The isolate has no file descriptors: one console call is its single write (console.log adds the \n). */
const ISOLATE_SINGLE_WRITES = `const sizes = ${JSON.stringify(SIZES)};
sizes.forEach((n, i) => console.log('${OUT_LETTERS}'[i].repeat(n - 1)));
sizes.forEach((n, i) => console.error('${ERR_LETTERS}'[i].repeat(n - 1)));
`;

const singleWrites = (t: Target) =>
  t.backend === 'isolate' ? ISOLATE_SINGLE_WRITES : SINGLE_WRITES[t.language]!;

const BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** blob.bin (every byte value) to stdout, then to stderr. */
const ECHO_BLOB: Record<string, string> = {
  python: `import sys
blob = open('blob.bin', 'rb').read()
sys.stdout.buffer.write(blob)
sys.stderr.buffer.write(blob)
`,
  bash: 'cat blob.bin; cat blob.bin >&2',
  javascript: `const fs = require('node:fs');
const blob = fs.readFileSync('blob.bin');
fs.writeSync(1, blob);
fs.writeSync(2, blob);
`,
  typescript: `import fs from 'node:fs';
const blob: Buffer = fs.readFileSync('blob.bin');
fs.writeSync(1, blob);
fs.writeSync(2, blob);
`,
};

const TEXT = 'héllo wörld ✓ 😀 日本語 ∑\n';
const BIG_TEXT = `${'é😀✓'.repeat(60_000)}\n`; // 540,001 bytes: pipe buffers end inside characters
/** text.txt one byte per write (every multi-byte character split), then big.txt in one write. */
const SPLIT_UNICODE: Record<string, string> = {
  python: `import sys
for b in open('text.txt', 'rb').read():
    sys.stdout.buffer.write(bytes([b]))
sys.stdout.buffer.write(open('big.txt', 'rb').read())
`,
  bash: 'dd if=text.txt bs=1 status=none; dd if=big.txt bs=1M count=1 status=none',
  javascript: `const fs = require('node:fs');
for (const b of fs.readFileSync('text.txt')) fs.writeSync(1, Buffer.from([b]));
fs.writeSync(1, fs.readFileSync('big.txt'));
`,
  typescript: `import fs from 'node:fs';
for (const b of fs.readFileSync('text.txt')) fs.writeSync(1, Buffer.from([b]));
fs.writeSync(1, fs.readFileSync('big.txt'));
`,
};
const ISOLATE_UNICODE = `for (const ch of airlock.readFile('text.txt', 'utf8').slice(0, -1)) console.log(ch);
console.log(airlock.readFile('big.txt', 'utf8').slice(0, -1));
`;

/** 200,000 bytes in one write to stdout (fd 1) or stderr (fd 2). */
const FLOOD: Record<string, (fd: 1 | 2) => string> = {
  python: (fd) => `import sys\nsys.${fd === 1 ? 'stdout' : 'stderr'}.write('f' * 200000)\n`,
  bash: (fd) =>
    `head -c 200000 /dev/zero | tr '\\0' f > /tmp/f\ndd if=/tmp/f bs=200000 count=1 status=none >&${fd}`,
  javascript: (fd) => `require('node:fs').writeSync(${fd}, 'f'.repeat(200000));\n`,
  typescript: (fd) => `import fs from 'node:fs';\nfs.writeSync(${fd}, 'f'.repeat(200000));\n`,
};
const ISOLATE_FLOOD = (fd: 1 | 2) => `console.${fd === 1 ? 'log' : 'error'}('f'.repeat(199999));\n`;
/** 3-byte characters past the cap: the cut never splits one. */
const EURO_FLOOD: Record<string, string> = {
  python: "import sys\nsys.stdout.write('€' * 100000)\n",
  bash: "printf '€%.0s' $(seq 100000)",
  javascript: "require('node:fs').writeSync(1, '€'.repeat(100000));\n",
  typescript: "import fs from 'node:fs';\nfs.writeSync(1, '€'.repeat(100000));\n",
};

describe('output parity on every backend and language', () => {
  it(
    'single writes of 65535, 65536, 65537, 200000 and 1000000 bytes to stdout and stderr arrive whole',
    async () => {
      const expected = wholeSuccess(expectedWrites(OUT_LETTERS), expectedWrites(ERR_LETTERS));
      await onEveryTarget(
        ALL_TARGETS,
        (t) => job(t, singleWrites(t), { limits: { wall_time_ms: 60_000, output_bytes: 4 * 1024 * 1024 } }),
        (execution, t) => expect(summary(execution.result), nameOf(t)).toEqual(expected),
      );
    },
    PARITY_TIMEOUT,
  );

  it(
    'every byte value: valid UTF-8 arrives as is, each invalid byte as U+FFFD, on stdout and stderr alike',
    async () => {
      const executions = await Promise.all(
        CONTAINER_TARGETS.map((t) =>
          job(t, ECHO_BLOB[t.language]!, {
            files: [{ path: 'blob.bin', content: BYTES.toString('base64'), encoding: 'base64' }],
          }),
        ),
      );
      const expected = new TextDecoder().decode(BYTES);
      expect([...expected].filter((c) => c === '\uFFFD')).toHaveLength(128);
      expect(expected.slice(0, 128)).toBe(String.fromCharCode(...BYTES.subarray(0, 128)));
      executions.forEach((execution, i) => {
        const name = nameOf(CONTAINER_TARGETS[i]!);
        expect(execution.result, `${name}: ${execution.result.reason}`).toMatchObject({
          outcome: 'success',
          stdout: expected,
          stderr: expected,
          truncated: { stdout: false, stderr: false },
        });
      });
    },
    PARITY_TIMEOUT,
  );

  it(
    'multi-byte characters split across writes and across pipe buffers arrive intact',
    async () => {
      const files = [
        { path: 'text.txt', content: TEXT },
        { path: 'big.txt', content: BIG_TEXT },
      ];
      const code = (t: Target) => (t.backend === 'isolate' ? ISOLATE_UNICODE : SPLIT_UNICODE[t.language]!);
      await onEveryTarget(
        ALL_TARGETS,
        (t) => job(t, code(t), { files, limits: { wall_time_ms: 60_000 } }),
        (execution, t) => {
          // The isolate writes whole strings: one console.log per character adds a newline after each.
          const text = t.backend === 'isolate' ? [...TEXT.slice(0, -1)].map((c) => `${c}\n`).join('') : TEXT;
          expect(summary(execution.result), nameOf(t)).toEqual(wholeSuccess(text + BIG_TEXT, ''));
        },
      );
    },
    PARITY_TIMEOUT,
  );

  it(
    'output past output_bytes is cut at exactly the cap: outcome output_limit, truncated names the stream',
    async () => {
      const limits = { output_bytes: 100_000, wall_time_ms: 60_000 };
      const cases = ALL_TARGETS.flatMap((t) => ([1, 2] as const).map((fd) => ({ t, fd })));
      const floods = await Promise.all(
        cases.map(({ t, fd }) =>
          job(t, t.backend === 'isolate' ? ISOLATE_FLOOD(fd) : FLOOD[t.language]!(fd), { limits }),
        ),
      );
      floods.forEach((execution, i) => {
        const { t, fd } = cases[i]!;
        const cut = runs('f'.repeat(100_000));
        expect(summary(execution.result), `${nameOf(t)}, fd ${fd}`).toEqual({
          outcome: 'output_limit',
          exit_code: null,
          // A container's processes are killed; an isolate has no processes and no signals.
          signal: t.backend === 'isolate' ? null : 'SIGKILL',
          stdout: fd === 1 ? cut : '',
          stderr: fd === 2 ? cut : '',
          truncated: { stdout: fd === 1, stderr: fd === 2 },
          reason: 'output exceeded the limit of 100000 bytes',
        });
      });
      const euro = await Promise.all(
        CONTAINER_TARGETS.map((t) =>
          job(t, EURO_FLOOD[t.language]!, { limits: { ...limits, output_bytes: 100_001 } }),
        ),
      );
      euro.forEach((execution, i) => {
        expect(summary(execution.result), nameOf(CONTAINER_TARGETS[i]!)).toEqual({
          outcome: 'output_limit',
          exit_code: null,
          signal: 'SIGKILL',
          stdout: runs('€'.repeat(33_333)),
          stderr: '',
          truncated: { stdout: true, stderr: false },
          reason: 'output exceeded the limit of 100001 bytes',
        });
      });
    },
    PARITY_TIMEOUT,
  );
});
