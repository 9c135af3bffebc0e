// The published @airlock/client as a consumer gets it: built (shared/client/build.ts), packed with `npm pack`,
// installed from the tarball into an empty project (its declared dependencies packed from this repo's own installed
// copies, so the install is offline and never depends on the registry being reachable), type-checked there with this repo's TypeScript and @types/node, and run against a real service:
// the library from compiled JavaScript, and the packed `airlock` command.

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airlock, cleanEnv, REPO_ROOT } from './support/cli.ts';
import { type Ran, runFile, stdoutOf } from './support/run-file.ts';
import { useService } from './support/service.ts';

const service = useService();
let dir: string;
let project: string;

const run = (file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Ran> =>
  runFile(file, args, cwd, cleanEnv(env));
const ok = (file: string, args: string[], cwd: string): Promise<string> =>
  stdoutOf(file, args, cwd, cleanEnv());

interface Manifest {
  version: string;
  dependencies?: Record<string, string>;
}

async function manifestOf(name: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8'));
}

async function versionOf(name: string): Promise<string> {
  return (await manifestOf(name)).version;
}

/** `names` and everything they depend on, as this repo installed them (its root node_modules). */
async function closureOf(names: string[]): Promise<string[]> {
  const seen = new Set<string>();
  const pending = [...names];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    pending.push(...Object.keys((await manifestOf(name)).dependencies ?? {}));
  }
  return [...seen].sort();
}

const USAGE = `import { AirlockClient, AirlockClientError, type Execution, type ExecutionStreamEvent } from '@airlock/client';

const client = new AirlockClient({ baseUrl: process.env.AIRLOCK_URL ?? 'http://127.0.0.1:8080' });
const execution: Execution = await client.run({ language: 'javascript', code: 'console.log(6 * 7)' });
console.log(execution.result?.outcome, execution.result?.stdout.trim());

const { execution: queued } = await client.submit({ language: 'typescript', code: 'console.error("e" as string)' });
const events: ExecutionStreamEvent[] = [];
for await (const event of client.stream(queued.id)) events.push(event);
console.log(events.map((e) => (e.type === 'stderr' ? \`stderr:\${e.data.trim()}\` : e.type)).join(' '));

try {
  await client.get('ex_AAAAAAAAAAAAAAAAAAAAAA');
} catch (error) {
  if (error instanceof AirlockClientError) console.log(error.status, error.code);
}
`;

const TSCONFIG = {
  compilerOptions: {
    // Also checks the package's own declarations (and zod's and Node's): what a strict consumer sees.
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    types: ['node'],
    outDir: 'build',
  },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-client-package-'));
  const built = join(dir, 'built');
  await ok(process.execPath, [join(REPO_ROOT, 'shared', 'client', 'build.ts'), '--out', built], REPO_ROOT);
  const [packed] = JSON.parse(await ok('npm', ['pack', built, '--pack-destination', dir, '--json'], dir));
  project = join(dir, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), '{"name":"consumer","private":true,"type":"module"}\n');
  const published = JSON.parse(await readFile(join(built, 'package.json'), 'utf8')) as Manifest;
  const needed = await closureOf([...Object.keys(published.dependencies ?? {}), 'typescript', '@types/node']);
  const tarballs = join(dir, 'deps');
  await mkdir(tarballs);
  for (const name of needed) {
    const from = join(REPO_ROOT, 'node_modules', name);
    await ok('npm', ['pack', from, '--pack-destination', tarballs, '--ignore-scripts'], dir);
  }
  const deps = (await readdir(tarballs)).map((name) => join(tarballs, name));
  await ok(
    'npm',
    [
      'install',
      join(dir, packed.filename),
      ...deps,
      '--offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
    ],
    project,
  );
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the packed @airlock/client', { timeout: 300_000 }, () => {
  it('ships JavaScript, one declaration file and the airlock bin, and depends only on published packages', async () => {
    const installed = join(project, 'node_modules', '@airlock', 'client');
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name: '@airlock/client',
      type: 'module',
      exports: { '.': { types: './index.d.mts', default: './index.mjs' } },
      bin: { airlock: './cli.mjs' },
      dependencies: {
        jose: `^${await versionOf('jose')}`,
        zod: `^${await versionOf('zod')}`,
      },
    });
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['jose', 'jsonc-parser', 'zod']);
    expect(manifest.private).toBeUndefined();
    const files = await readdir(installed);
    expect(files.filter((f) => f.endsWith('.ts') || f.endsWith('.mts'))).toEqual(['index.d.mts']);
    expect(files).toContain('README.md');
    for (const file of files.filter((f) => f.endsWith('.mjs'))) {
      expect(await readFile(join(installed, file), 'utf8'), file).not.toMatch(/from ["']@airlock\//);
    }
  });

  it('type-checks a consumer with the current TypeScript and @types/node, and catches its type errors', async () => {
    await writeFile(join(project, 'usage.ts'), USAGE);
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files: ['usage.ts'] }));
    const tsc = join(project, 'node_modules', '.bin', 'tsc');
    expect(await run(tsc, ['-p', '.'], project)).toEqual({ code: 0, stdout: '', stderr: '' });

    await writeFile(join(project, 'wrong.ts'), USAGE.replace("language: 'javascript'", "language: 'cobol'"));
    // The declarations are checked above; here only the consumer's own mistake must surface.
    const wrongConfig = {
      compilerOptions: { ...TSCONFIG.compilerOptions, noEmit: true, skipLibCheck: true },
      files: ['wrong.ts'],
    };
    await writeFile(join(project, 'tsconfig.wrong.json'), JSON.stringify(wrongConfig));
    const wrong = await run(tsc, ['-p', 'tsconfig.wrong.json'], project);
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toContain(`wrong.ts(4,49): error TS2322: Type '"cobol"' is not assignable to type`);
  });

  it('runs the compiled consumer and the packed airlock command against a real service', async () => {
    const env = { AIRLOCK_URL: service().url };
    expect(await run(process.execPath, ['build/usage.js'], project, env)).toEqual({
      code: 0,
      stdout: 'success 42\nstate state stderr:e result\n404 execution_not_found\n',
      stderr: '',
    });
    await writeFile(
      join(project, 'hello.ts'),
      'const who: string = "packed";\nconsole.log("hello " + who)\n',
    );
    const bin = join(project, 'node_modules', '.bin', 'airlock');
    expect(await airlock(['run', 'hello.ts'], { command: [bin], cwd: project, env })).toEqual({
      code: 0,
      signal: null,
      stdout: 'hello packed\n',
      stderr: '',
    });
    const version = JSON.parse(
      await readFile(join(REPO_ROOT, 'shared', 'client', 'package.json'), 'utf8'),
    ).version;
    expect(await airlock(['--version'], { command: [bin], cwd: project })).toMatchObject({
      code: 0,
      stdout: `${version}\n`,
    });
  });
});
