// The `airlock` command's run and exec against a real service (isolate backend), as a child process: output
// streamed to stdout/stderr, the language from the file's extension, exit codes for each outcome, --json that
// parses, input from files and stdin, and the coded errors. Without a terminal no escape code is ever written.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSI, airlock, type CliOptions } from './support/cli.ts';
import { useService } from './support/service.ts';

const service = useService();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-cli-run-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the command in the test's folder against the service. */
function cli(args: string[], options: CliOptions = {}) {
  return airlock(args, { cwd: dir, ...options, env: { AIRLOCK_URL: service().url, ...options.env } });
}

async function program(name: string, code: string): Promise<string> {
  await writeFile(join(dir, name), code);
  return name;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Each case starts a Node process; on a busy 2-core machine that takes seconds.
describe('airlock run and exec', { timeout: 120_000 }, () => {
  it('streams stdout and stderr, with the language from the extension, and no escape codes', async () => {
    const js = await program(
      'ticks.js',
      'for (let i = 0; i < 3; i++) { console.log("tick " + i); await new Promise((r) => setTimeout(r, 50)); }\nconsole.error("done")',
    );
    expect(await cli(['run', js])).toEqual({
      code: 0,
      signal: null,
      stdout: 'tick 0\ntick 1\ntick 2\n',
      stderr: 'done\n',
    });
    const ts = await program('typed.mts', 'const n: number = 6;\nconsole.log(n * 7)');
    expect(await cli(['run', ts])).toMatchObject({ code: 0, stdout: '42\n', stderr: '' });

    const text = await program('notes.txt', 'console.log(1)');
    const unknown = await cli(['run', text]);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toBe(
      'airlock: cannot tell the language of notes.txt from its extension; pass --lang (airlock run --help shows the usage)\n',
    );
    expect(await cli(['run', text, '--lang', 'javascript'])).toMatchObject({ code: 0, stdout: '1\n' });
  });

  it("exits with the program's exit code, and a fixed code for each limit", async () => {
    const failing = await cli(['exec', 'throw new Error("boom")', '--lang', 'javascript']);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('Error: boom');

    const timeout = await cli(['exec', 'for (;;) {}', '--lang', 'javascript', '--limit', 'wall_time_ms=300']);
    expect(timeout.code).toBe(124);
    expect(timeout.stderr).toMatch(
      /^airlock: timeout: wall time limit of 300 ms exceeded \(ex_[\w-]{22}\)\n$/,
    );

    const memory = await cli([
      ...['exec', 'const a = []; for (;;) a.push(new Array(1e6).fill(1))', '--lang', 'javascript'],
      ...['--limit', 'memory_mb=16'],
    ]);
    expect(memory.code).toBe(125);
    expect(memory.stderr).toMatch(/^airlock: memory_limit: memory limit of 16 MB exceeded/);

    const output = await cli([
      ...['exec', 'for (let i = 0; i < 100; i++) console.log("x".repeat(99))', '--lang', 'javascript'],
      ...['--limit', 'output_bytes=1000'],
    ]);
    expect(output.code).toBe(123);
    expect(output.stdout).toBe(`${'x'.repeat(99)}\n`.repeat(10));
    for (const run of [failing, timeout, memory, output]) {
      expect(run.stdout).not.toMatch(ANSI);
      expect(run.stderr).not.toMatch(ANSI);
    }
  });

  it('cancels the execution on Ctrl-C and exits 130', async () => {
    const svc = service();
    const run = await cli(
      ['exec', 'await new Promise((r) => setTimeout(r, 60_000))', '--lang', 'typescript'],
      {
        env: { AIRLOCK_URL: svc.url },
        onSpawn: (child) => {
          const poll = setInterval(() => {
            if (svc.service.queue.stats().running > 0) {
              clearInterval(poll);
              child.kill('SIGINT');
            }
          }, 50);
          child.on('close', () => clearInterval(poll));
        },
      },
    );
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/^airlock: canceled: .+ \(ex_[\w-]{22}\)\n$/);
    expect(svc.service.queue.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('prints the finished execution with --json, and refusals as an error body', async () => {
    const ok = await cli([
      'exec',
      'console.log(airlock.args.join(","))',
      '--lang',
      'javascript',
      '--json',
      '--',
      'a',
      'b',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
    const execution = JSON.parse(ok.stdout);
    expect(execution).toMatchObject({
      status: 'finished',
      language: 'javascript',
      backend: 'isolate',
      result: { outcome: 'success', exit_code: 0, stdout: 'a,b\n' },
    });
    expect(ok.stdout.trim().split('\n')).toHaveLength(1);

    const timeout = await cli([
      'exec',
      'for (;;) {}',
      '--lang',
      'javascript',
      '--json',
      '--limit',
      'wall_time_ms=200',
    ]);
    expect(timeout.code).toBe(124);
    expect(JSON.parse(timeout.stdout).result).toMatchObject({ outcome: 'timeout', exit_code: null });
    expect(timeout.stderr).toBe('');

    const refused = await cli(['exec', '1', '--lang', 'cobol', '--json']);
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.stdout)).toEqual({
      error: {
        code: 'invalid_request',
        status: 400,
        field: 'language',
        message:
          'language: expected one of "javascript"|"typescript"|"python"|"bash"|"c"|"cpp"|"go"|"rust"|"java"|"ruby"|"php"',
        errors: [
          {
            field: 'language',
            message:
              'language: expected one of "javascript"|"typescript"|"python"|"bash"|"c"|"cpp"|"go"|"rust"|"java"|"ruby"|"php"',
          },
        ],
      },
    });
    const usage = await cli(['exec', '1', '--lang', 'javascript', '--json', '--limit', 'disk=1']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({
      error: {
        code: 'usage',
        message: '--limit disk: unknown limit; one of wall_time_ms, cpu_time_ms, memory_mb, output_bytes',
      },
    });
  });

  it('takes the code from stdin, stdin for the program, input files, env and arguments', async () => {
    const fromStdin = await cli(['exec', '-', '--lang', 'javascript'], {
      stdin: 'console.log("from stdin", airlock.stdin === "")',
    });
    expect(fromStdin).toMatchObject({ code: 0, stdout: 'from stdin true\n', stderr: '' });

    await writeFile(join(dir, 'data.csv'), 'a,b\n1,2\n');
    const code = [
      'console.log(airlock.stdin.trim().toUpperCase())',
      'console.log(airlock.readFile("data.csv", "utf8").split("\\n")[1])',
      'console.log(airlock.env.GREETING, airlock.args)',
    ].join('\n');
    const full = await cli(
      [
        ...['exec', code, '--lang', 'javascript', '--stdin', '--file', 'data.csv', '--env', 'GREETING=hello'],
        ...['--limit', 'wall_time_ms=5000', '--', 'x', '--y'],
      ],
      { stdin: 'shout\n' },
    );
    expect(full).toMatchObject({ code: 0, stdout: "SHOUT\n1,2\nhello [ 'x', '--y' ]\n", stderr: '' });

    const both = await cli(['exec', '-', '--lang', 'javascript', '--stdin'], { stdin: '1' });
    expect(both).toMatchObject({ code: 2, stdout: '' });
    expect(both.stderr).toContain('--stdin cannot be used when the code itself comes from stdin');
    const missing = await cli(['exec', '1', '--lang', 'javascript', '--file', 'nope.csv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('airlock: --file nope.csv: ENOENT');
  });

  it('passes --template through (exec and sessions create); the server refuses a template it does not have, naming it', async () => {
    const run = await cli(['exec', '1', '--lang', 'javascript', '--template', 'python-data']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^airlock: invalid_request \(field template\): template 'python-data': /);
    const session = await cli(['sessions', 'create', 'python', '--template', 'python-data']);
    expect(session).toMatchObject({ code: 3, stdout: '' });
    expect(session.stderr).toMatch(/^airlock: invalid_request \(field template\): template 'python-data': /);
  });

  it('exits 2 on a bad AIRLOCK_URL and 4 when Airlock cannot be reached', async () => {
    const bad = await cli(['exec', '1', '--lang', 'javascript'], {
      env: { AIRLOCK_URL: 'ftp://airlock.test' },
    });
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toContain(
      'airlock: AIRLOCK_URL must be an http:// or https:// URL (got "ftp://airlock.test")',
    );
    const port = await closedPort();
    const down = await cli(['exec', '1', '--lang', 'javascript'], {
      env: { AIRLOCK_URL: `http://127.0.0.1:${port}` },
    });
    expect(down.code).toBe(4);
    expect(down.stderr).toBe(
      `airlock: network_error: POST /v1/executions: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})\n`,
    );
    const flag = await cli(['runtimes', '--url', `http://127.0.0.1:${port}`]);
    expect(flag.code).toBe(4);
  });
});
