// A client generated from the live OpenAPI document, as an integrator would make one: openapi-typescript turns
// /openapi.json into types, a small openapi-fetch client is type-checked against them with tsc (and a call with a
// wrong field is refused by tsc), then runs a real job against the service: submit and wait, read it back, follow
// its events.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './support/service.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const run = promisify(execFile);

let dir: string;
let svc: TestService;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-openapi-client-'));
  // The project resolves openapi-fetch, TypeScript's lib and @types/node from the repository's packages.
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  svc = await startService();
}, 180_000);
afterAll(async () => {
  await svc?.close();
  await rm(dir, { recursive: true, force: true });
});

const TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  },
};

/** The client: typed by the generated `paths`, nothing written by hand about the API's shapes. */
const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, paths } from './airlock.ts';

type Execution = components['schemas']['Execution'];

const baseUrl = process.argv[2];
if (!baseUrl) throw new Error('usage: node client.ts BASE_URL');
const airlock = createClient<paths>({ baseUrl });

const submitted = await airlock.POST('/v1/executions', {
  params: { query: { wait: 30 } },
  body: { language: 'javascript', code: 'console.log(6 * 7, airlock.args[0])', args: ['typed'] },
});
if (submitted.error) throw new Error(\`refused: \${submitted.error.error.code} \${submitted.error.error.message}\`);
const execution: Execution = submitted.data;

const read = await airlock.GET('/v1/executions/{id}', { params: { path: { id: execution.id } } });
if (read.error) throw new Error(read.error.error.code);

const events = await airlock.GET('/v1/executions/{id}/events', {
  params: { path: { id: execution.id } },
  parseAs: 'text',
});

const missing = await airlock.GET('/v1/executions/{id}', { params: { path: { id: 'ex_AAAAAAAAAAAAAAAAAAAAAA' } } });

console.log(JSON.stringify({
  status: submitted.response.status,
  outcome: execution.result?.outcome,
  stdout: execution.result?.stdout,
  readBack: read.data.id === execution.id,
  events: events.data,
  missing: missing.error?.error.code,
}));
`;

/** A call that does not fit the document: tsc must refuse it. */
const MISTAKE = `
import createClient from 'openapi-fetch';
import type { paths } from './airlock.ts';

const airlock = createClient<paths>({ baseUrl: 'http://127.0.0.1' });
await airlock.POST('/v1/executions', { body: { language: 'cobol', code: 'DISPLAY 1' } });
`;

describe('a client generated from /openapi.json', () => {
  it('type-checks, refuses a call that does not fit, and runs a job through the service', async () => {
    await run(
      join(BIN, 'openapi-typescript'),
      [`${svc.url}/openapi.json`, '--output', join(dir, 'airlock.ts')],
      {
        cwd: dir,
      },
    );
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files: ['client.ts'] }));
    await writeFile(join(dir, 'client.ts'), CLIENT);
    await writeFile(join(dir, 'mistake.ts'), MISTAKE);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));

    await run(join(BIN, 'tsc'), ['-p', 'tsconfig.json'], { cwd: dir });

    await writeFile(
      join(dir, 'tsconfig.mistake.json'),
      JSON.stringify({ ...TSCONFIG, files: ['mistake.ts'] }),
    );
    const refused = await run(join(BIN, 'tsc'), ['-p', 'tsconfig.mistake.json'], { cwd: dir }).then(
      () => '',
      (failed: { stdout: string }) => failed.stdout,
    );
    expect(refused).toMatch(/mistake\.ts\(\d+,\d+\): error TS\d+: .*"cobol"/);

    const { stdout } = await run(process.execPath, ['client.ts', svc.url], { cwd: dir });
    const answer = JSON.parse(stdout);
    expect(answer).toMatchObject({
      status: 201,
      outcome: 'success',
      stdout: '42 typed\n',
      readBack: true,
      missing: 'execution_not_found',
    });
    expect(answer.events).toContain('event: result');
  }, 180_000);
});
