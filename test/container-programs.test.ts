// Ordinary programs on the docker (runc) and gvisor (runsc) backends, through the real REST API: every language's
// exit codes and outcomes, stdin/args/env/files in and output files out (base64), 20 concurrent jobs, cancel of
// a running job, the warm pool in use, and no container of this service left after it closes.

import { COMPILED_LANGUAGES } from '@airlock/protocol';
import type { ContainerSandbox } from '@airlock/sandbox';
import { describe, expect, it } from 'vitest';
import { BACKENDS, type ContainerBackend, outputSeen, useContainerService } from './support/containers.ts';
import { call, run } from './support/service.ts';

const LANGUAGES = ['python', 'bash', 'javascript', 'typescript'] as const;
type Language = (typeof LANGUAGES)[number];
const SLOW = 120_000;

const service = useContainerService({
  AIRLOCK_CONCURRENCY: '4',
});

function sandboxOf(backend: ContainerBackend): ContainerSandbox {
  return service().service.registry.get(backend) as ContainerSandbox;
}

const EXITING: Record<Language, (code: number) => string> = {
  python: (code) => `import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(${code})`,
  bash: (code) => `echo out\necho err >&2\nexit ${code}`,
  javascript: (code) => `console.log('out');\nconsole.error('err');\nprocess.exitCode = ${code};`,
  typescript: (code) =>
    `const code: number = ${code};\nconsole.log('out');\nconsole.error('err');\nprocess.exitCode = code;`,
};

/** Reads input text, a binary file, stdin, args and env; copies the binary to out/ and writes a note there. */
const ROUND_TRIP: Record<Language, string> = {
  python: `
import json, os, shutil, sys
blob = open('data/blob.bin', 'rb').read()
print(json.dumps({'text': open('data/input.txt', encoding='utf-8').read(), 'blob_size': len(blob),
                  'blob_first': list(blob[:2]), 'stdin': sys.stdin.read(), 'args': sys.argv[1:],
                  'env': os.environ['GREETING']}, ensure_ascii=False, separators=(',', ':')))
os.makedirs('out/nested')
shutil.copy('data/blob.bin', 'out/result.bin')
open('out/nested/note.txt', 'w').write('from python')
`,
  bash: String.raw`set -euo pipefail
stdin=$(cat)
jq -cn --arg text "$(cat data/input.txt)" --argjson size "$(wc -c < data/blob.bin)" \
  --argjson first "[$(od -An -tu1 -N2 data/blob.bin | xargs | tr ' ' ',')]" --arg stdin "$stdin" \
  --arg env "$GREETING" --argjson args "$(printf '%s\n' "$@" | jq -Rsc 'split("\n")[:-1]')" \
  '{text: $text, blob_size: $size, blob_first: $first, stdin: $stdin, args: $args, env: $env}'
mkdir -p out/nested
cp data/blob.bin out/result.bin
printf 'from bash' > out/nested/note.txt
`,
  javascript: `
const fs = require('node:fs');
const blob = fs.readFileSync('data/blob.bin');
console.log(JSON.stringify({ text: fs.readFileSync('data/input.txt', 'utf8'), blob_size: blob.length,
  blob_first: [...blob.subarray(0, 2)], stdin: fs.readFileSync(0, 'utf8'), args: process.argv.slice(2),
  env: process.env.GREETING }));
fs.mkdirSync('out/nested', { recursive: true });
fs.copyFileSync('data/blob.bin', 'out/result.bin');
fs.writeFileSync('out/nested/note.txt', 'from javascript');
`,
  typescript: `
import fs from 'node:fs';
interface Report { text: string; blob_size: number; blob_first: number[]; stdin: string; args: string[]; env?: string }
const blob: Buffer = fs.readFileSync('data/blob.bin');
const report: Report = { text: fs.readFileSync('data/input.txt', 'utf8'), blob_size: blob.length,
  blob_first: [...blob.subarray(0, 2)], stdin: fs.readFileSync(0, 'utf8'), args: process.argv.slice(2),
  env: process.env.GREETING };
console.log(JSON.stringify(report));
fs.mkdirSync('out/nested', { recursive: true });
fs.copyFileSync('data/blob.bin', 'out/result.bin');
fs.writeFileSync('out/nested/note.txt', 'from typescript');
`,
};

describe.each(BACKENDS)('container programs on %s', (backend: ContainerBackend) => {
  const job = (language: string, code: string, extra: Record<string, unknown> = {}) =>
    run(service().url, { language, backend, code, limits: { wall_time_ms: 30_000 }, ...extra }, 120);

  it('/v1/runtimes lists every language on this backend as available, with its version', async () => {
    const response = await call(service().url, 'GET', '/v1/runtimes');
    expect(response.status).toBe(200);
    const mine = response.body.runtimes.filter((r: { backend: string }) => r.backend === backend);
    expect(mine.map((r: { language: string }) => r.language).sort()).toEqual(
      [...LANGUAGES, ...COMPILED_LANGUAGES].sort(),
    );
    const builtin = mine.filter((r: { language: Language }) => LANGUAGES.includes(r.language));
    for (const runtime of builtin) {
      expect(runtime).toMatchObject({ available: true, version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
      expect(runtime.template).toBe(
        runtime.language === 'python' || runtime.language === 'bash' ? runtime.language : 'node',
      );
    }
    // The compiled languages run in their template: available once it is built, else the template says why.
    for (const runtime of mine.filter((r: { language: Language }) => !LANGUAGES.includes(r.language))) {
      expect(runtime.template).toMatch(/^(gcc|go|rust|java|ruby|php)$/);
      if (!runtime.available) expect(runtime.reason).toContain(`template ${runtime.template}`);
    }
  });

  it(
    'every language: exit 0 is success, exit 3 is error with exit code 3, both streams come back',
    async () => {
      const cases = LANGUAGES.flatMap((language) => [0, 3].map((code) => ({ language, code })));
      const executions = await Promise.all(
        cases.map(({ language, code }) => job(language, EXITING[language](code))),
      );
      executions.forEach((execution, i) => {
        const { language, code } = cases[i] as (typeof cases)[number];
        expect(execution, `${language} exit ${code}`).toMatchObject({
          status: 'finished',
          language,
          backend,
          result: {
            outcome: code === 0 ? 'success' : 'error',
            exit_code: code,
            signal: null,
            stdout: 'out\n',
            stderr: 'err\n',
            truncated: { stdout: false, stderr: false },
            reason: null,
            files: [],
          },
        });
        // A python job's CPU excludes the waiting interpreter's start-up, and gVisor samples CPU time at 10 ms
        // ticks: a job this small can read 0 there (seen on the images before and after contract 3).
        const { cpu_ms } = execution.result.usage;
        expect(
          Number.isInteger(cpu_ms) && cpu_ms >= (language === 'python' ? 0 : 1),
          `cpu_ms ${cpu_ms}`,
        ).toBe(true);
        expect(execution.result.usage.memory_peak_bytes).toBeGreaterThan(0);
      });
    },
    SLOW,
  );

  it(
    'uncaught errors and deaths by signal are errors, not limits',
    async () => {
      const [python, javascript, segv, killed] = await Promise.all([
        job('python', 'raise ValueError("boom")'),
        job('javascript', 'throw new Error("boom");'),
        job('bash', 'echo before; kill -SEGV $$; echo after'),
        job('python', 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)'),
      ]);
      expect(python.result, `reason: ${python.result.reason}`).toMatchObject({
        outcome: 'error',
        exit_code: 1,
        signal: null,
        stdout: '',
      });
      expect(python.result.stderr).toMatch(/ValueError: boom\n$/);
      expect(javascript.result, `reason: ${javascript.result.reason}`).toMatchObject({
        outcome: 'error',
        exit_code: 1,
        signal: null,
        stdout: '',
      });
      expect(javascript.result.stderr).toContain('Error: boom');
      expect(segv.result, `reason: ${segv.result.reason}`).toMatchObject({
        outcome: 'error',
        exit_code: null,
        signal: 'SIGSEGV',
        stdout: 'before\n',
      });
      // A SIGKILL nobody's memory limit sent is the program's own death, not memory_limit.
      expect(killed.result, `reason: ${killed.result.reason}`).toMatchObject({
        outcome: 'error',
        exit_code: null,
        signal: 'SIGKILL',
        reason: null,
      });
    },
    SLOW,
  );

  it(
    'every language: stdin, args, env and files go in; output files come back base64',
    async () => {
      const blob = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const args = ['plain', 'with space', 'ünïcödé', '--flag=1', ''];
      const executions = await Promise.all(
        LANGUAGES.map((language) =>
          job(language, ROUND_TRIP[language], {
            stdin: 'line one\nline two',
            args,
            env: { GREETING: 'hej då' },
            files: [
              { path: 'data/input.txt', content: 'héllo wörld' },
              { path: 'data/blob.bin', content: blob.toString('base64'), encoding: 'base64' },
            ],
          }),
        ),
      );
      executions.forEach((execution, i) => {
        const language = LANGUAGES[i] as Language;
        expect(execution.result, language).toMatchObject({ outcome: 'success', exit_code: 0, stderr: '' });
        expect(JSON.parse(execution.result.stdout), language).toEqual({
          text: 'héllo wörld',
          blob_size: 256,
          blob_first: [0, 1],
          stdin: 'line one\nline two',
          args,
          env: 'hej då',
        });
        const files = [...execution.result.files].sort((a, b) => a.path.localeCompare(b.path));
        const note = Buffer.from(`from ${language}`);
        expect(files, language).toEqual([
          {
            path: 'nested/note.txt',
            size: note.length,
            encoding: 'base64',
            content: note.toString('base64'),
          },
          { path: 'result.bin', size: 256, encoding: 'base64', content: blob.toString('base64') },
        ]);
      });
    },
    SLOW,
  );

  it(
    'a job of the pooled profile leases a warm container',
    async () => {
      const sandbox = sandboxOf(backend);
      await sandbox.whenWarm();
      const before = sandbox.stats();
      const execution = await job('python', 'print("warm")');
      expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
        outcome: 'success',
        stdout: 'warm\n',
      });
      const after = sandbox.stats();
      expect(after.warmLeases).toBe(before.warmLeases + 1);
      expect(after.coldStarts).toBe(before.coldStarts);
    },
    SLOW,
  );

  it('20 concurrent jobs all succeed with their own output', async () => {
    const executions = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? job('python', `import sys\nprint(${i} * ${i}, sys.argv[1])`, { args: [`job${i}`] })
          : job('bash', `echo $(( ${i} * ${i} )) "$1"`, { args: [`job${i}`] }),
      ),
    );
    executions.forEach((execution, i) => {
      expect(execution.result, `job ${i}: ${execution.result.reason}`).toMatchObject({
        outcome: 'success',
        exit_code: 0,
        stdout: `${i * i} job${i}\n`,
        stderr: '',
      });
    });
    expect(new Set(executions.map((e) => e.id)).size).toBe(20);
  }, 300_000);

  it(
    'cancel stops a running job: outcome canceled with what it printed so far',
    async () => {
      const submitted = await call(service().url, 'POST', '/v1/executions', {
        language: 'bash',
        backend,
        code: 'echo started\nsleep 600\necho never',
        limits: { wall_time_ms: 60_000 },
      });
      expect(submitted.status).toBe(201);
      const id: string = submitted.body.id;
      await outputSeen(service().url, id, 'started');
      const canceled = await call(service().url, 'DELETE', `/v1/executions/${id}`);
      expect(canceled.status).toBe(200);
      expect(canceled.body).toMatchObject({
        status: 'finished',
        result: { outcome: 'canceled', signal: 'SIGKILL', stdout: 'started\n' },
      });
      const again = await call(service().url, 'GET', `/v1/executions/${id}`);
      expect(again.body.result.outcome).toBe('canceled');
      const next = await job('bash', 'echo next');
      expect(next.result, `reason: ${next.result.reason}`).toMatchObject({
        outcome: 'success',
        stdout: 'next\n',
      });
    },
    SLOW,
  );
});
