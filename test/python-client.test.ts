// The Python client (shared/client-python) with Debian's python3, as a user gets it: installed with pip into a
// fresh venv, offline (setuptools from Debian, no build isolation), typed (mypy --strict on the package and its
// tests; a consumer type-checks against the installed py.typed package), and its unittest suite run against a real
// service started here (isolate and runc; a python session draws a chart).

import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERROR_CODES } from '@airlock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/cli.ts';
import { useContainerService } from './support/containers.ts';
import { type Ran, runFile, stdoutOf } from './support/run-file.ts';

/** Debian's interpreter, not whatever python3 is first on PATH (pyenv shims and the like). */
const PYTHON = '/usr/bin/python3';
const SOURCE = join(REPO_ROOT, 'shared', 'client-python');

const service = useContainerService({ AIRLOCK_BACKENDS: 'isolate,docker' });
let dir: string;
let copy: string;
let venvPython: string;

/** No PYTHONPATH and no user site: the installed package is what the tests import. */
const pythonEnv = (env: Record<string, string> = {}) => ({
  PATH: '/usr/bin:/bin',
  HOME: dir,
  PYTHONNOUSERSITE: '1',
  ...env,
});
const run = (file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Ran> =>
  runFile(file, args, cwd, pythonEnv(env));
const ok = (file: string, args: string[], cwd: string): Promise<string> =>
  stdoutOf(file, args, cwd, pythonEnv());

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-python-client-'));
  // pip builds in the source folder (build/, *.egg-info): build from a copy, never in the repo.
  copy = join(dir, 'client-python');
  await cp(SOURCE, copy, {
    recursive: true,
    filter: (path) => !/(__pycache__|\.mypy_cache|\.egg-info|\/build)$/.test(path),
  });
  await ok(PYTHON, ['-m', 'venv', '--system-site-packages', join(dir, 'venv')], dir);
  venvPython = join(dir, 'venv', 'bin', 'python');
  await ok(venvPython, ['-m', 'pip', 'install', '--no-index', '--no-build-isolation', '--quiet', copy], dir);
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('the Python client', { timeout: 600_000 }, () => {
  it('installs with pip offline as a typed package (PEP 561) of the standard library only', async () => {
    const shown = await ok(venvPython, ['-m', 'pip', 'show', '--files', 'airlock-client'], dir);
    expect(shown).toContain('Name: airlock-client\nVersion: 0.1.0\n');
    expect(shown).toContain('Requires: \n');
    expect(shown).toContain('  airlock_client/py.typed\n');
    expect(shown).not.toContain('tests/');

    await writeFile(
      join(dir, 'consumer.py'),
      [
        'from airlock_client import AirlockClientError, Client, Execution',
        'client = Client("http://127.0.0.1:8080", token=None)',
        'execution: Execution = client.run("python", "print(1)", limits={"wall_time_ms": 1000})',
        'outcome: str | None = execution.outcome',
        'code: int | None = execution.exit_code',
        'wrong: int = execution.stdout',
        'error = AirlockClientError(400, "invalid_request", "m")',
        'field: str | None = error.field',
      ].join('\n'),
    );
    const mypy = await run(
      PYTHON,
      [
        '-m',
        'mypy',
        '--strict',
        '--cache-dir',
        '/dev/null',
        '--python-executable',
        venvPython,
        'consumer.py',
      ],
      dir,
    );
    expect(mypy).toMatchObject({ code: 1, stderr: '' });
    expect(mypy.stdout).toBe(
      'consumer.py:6: error: Incompatible types in assignment (expression has type "str", variable has type "int")  [assignment]\n' +
        'Found 1 error in 1 file (checked 1 source file)\n',
    );
  });

  it('raises a specific exception for every status of the error table', async () => {
    const expected: Record<number, string> = {
      400: 'InvalidRequestError',
      401: 'AuthenticationError',
      403: 'PermissionDeniedError',
      404: 'NotFoundError',
      405: 'InvalidRequestError',
      407: 'AuthenticationError',
      409: 'ConflictError',
      413: 'InvalidRequestError',
      414: 'InvalidRequestError',
      415: 'InvalidRequestError',
      422: 'UnprocessableError',
      429: 'RateLimitError',
      431: 'InvalidRequestError',
      500: 'ServerError',
      502: 'ServerError',
      503: 'ServerError',
    };
    const table = Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status] as const);
    const script = [
      'import json, sys',
      'from airlock_client.errors import error_for',
      'rows = json.load(sys.stdin)',
      'print(json.dumps({c: type(error_for(s, {"error": {"code": c, "message": "m"}}, "x")).__name__ for c, s in rows}))',
    ].join('\n');
    const mapped = await new Promise<string>((resolve, reject) => {
      const child = execFile(venvPython, ['-c', script], { cwd: dir }, (error, stdout, stderr) =>
        error ? reject(new Error(stderr)) : resolve(stdout),
      );
      child.stdin?.end(JSON.stringify(table));
    });
    expect(JSON.parse(mapped)).toEqual(
      Object.fromEntries(table.map(([code, status]) => [code, expected[status]])),
    );
  });

  it('type-checks with mypy --strict (the package and its tests)', async () => {
    const mypy = await run(
      PYTHON,
      ['-m', 'mypy', '--strict', '--cache-dir', '/dev/null', 'src/airlock_client', 'tests'],
      copy,
    );
    expect(mypy).toEqual({ code: 0, stdout: 'Success: no issues found in 15 source files\n', stderr: '' });
  });

  it('passes its unittest suite against the real service, sync and asyncio', async () => {
    const suite = await run(
      venvPython,
      ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.', '-v'],
      copy,
      {
        AIRLOCK_URL: service().url,
      },
    );
    expect(suite.stderr).toMatch(/\nRan 27 tests in [\d.]+s\n\nOK\n$/);
    expect(suite.code).toBe(0);
    // Every test ran (none skipped), and the installed package, not the source folder, was the one imported.
    expect(suite.stderr).not.toMatch(/skipped/);
    const where = await ok(venvPython, ['-c', 'import airlock_client; print(airlock_client.__file__)'], copy);
    expect(where).toBe(
      `${join(dir, 'venv', 'lib', 'python3.11', 'site-packages', 'airlock_client', '__init__.py')}\n`,
    );
  });
});
