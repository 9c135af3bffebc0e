// Operator templates for tests: a folder of template specs (AIRLOCK_TEMPLATES_DIR) written by the test, a wait
// until the service has built one, and the removal of its images afterwards (they are tagged per test process).

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTemplateImages } from '@airlock/testing';
import { afterAll, beforeAll, expect } from 'vitest';
import { call } from './service.ts';

export { removeTemplateImages };

/**
 * The calling test file's templates folder: made before its tests, removed after them together with the images
 * of the templates named in `built`. Register it before the service that reads it, so the service is closed
 * first. A getter: the folder exists only once the file's hooks run.
 */
export function useTemplatesDir(built: readonly string[]): () => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-templates-'));
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    for (const name of built) removeTemplateImages(name);
  }, 120_000);
  return () => {
    if (dir === undefined) throw new Error('the templates folder is not made yet');
    return dir;
  };
}

/** Writes `dir/name/template.json` and the files beside it. */
export async function writeTemplate(
  dir: string,
  name: string,
  spec: unknown,
  files: Record<string, string> = {},
): Promise<void> {
  await mkdir(join(dir, name));
  await writeFile(join(dir, name, 'template.json'), JSON.stringify(spec));
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, name, file), content);
}

/** The template `name` as GET /v1/templates lists it, once its build has ended (ready or failed). */
export async function builtTemplate(url: string, name: string): Promise<Record<string, any> | undefined> {
  let found: Record<string, any> | undefined;
  for (let i = 0; i < 1200; i++) {
    const listed = (await call(url, 'GET', '/v1/templates')).body.templates as Array<Record<string, any>>;
    found = listed.find((t) => t.name === name);
    if (found?.state === 'ready' || found?.state === 'failed') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return found;
}

/**
 * POSTs an execution that must be refused for its `template`: 400 `invalid_request` or 503
 * `template_unavailable`, with `"field": "template"`. Returns the answer for the test's own checks.
 */
export async function refusedTemplate(url: string, request: Record<string, unknown>, status: 400 | 503) {
  const response = await call(url, 'POST', '/v1/executions', request);
  expect(response.status).toBe(status);
  const code = status === 400 ? 'invalid_request' : 'template_unavailable';
  expect(response.body.error).toMatchObject({ code, field: 'template' });
  return response;
}

/** A python template built from the python one, with a module (`airlock_greet`) and a data file ($MOTTO_FILE). */
export const PYTHON_EXTRA_TEMPLATE = {
  spec: {
    description: 'python with a module and a data file',
    from: 'template:python',
    files: [
      { source: 'airlock_greet.py', target: '/usr/lib/python3/dist-packages/airlock_greet.py' },
      { source: 'motto.txt', target: '/opt/greet/motto.txt' },
    ],
    env: { MOTTO_FILE: '/opt/greet/motto.txt' },
    languages: { python: { source_file: 'main.py', run: ['python3', '-I', '-u', 'main.py'] } },
    smoke: [
      { language: 'python', code: 'import airlock_greet; print(airlock_greet.GREETING)', stdout: 'hi\n' },
    ],
  },
  files: { 'airlock_greet.py': 'GREETING = "hi"\n', 'motto.txt': 'from the template\n' },
} as const;
