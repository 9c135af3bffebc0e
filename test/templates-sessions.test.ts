// Sessions started from a template, over REST on both container backends (docker = runc, gvisor = runsc): an
// operator template (AIRLOCK_TEMPLATES_DIR) built at start-up from the python template with a module and a data
// file of its own; its cells see both, and the session, its cells' execution records and the listing carry the
// template's name; a template's workdir is where its session cells start (also restored from its ready-made
// snapshot on gVisor). The errors are an execution's: unknown or not serving the language → 400 naming `template`,
// a failed build → 503 template_unavailable with Retry-After, a JavaScript (isolate) session → backend_unavailable.

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BACKENDS,
  CONTAINER_SERVICE_ENV,
  containersLabelled,
  expectNoContainersLeft,
} from './support/containers.ts';
import { call, startService, type TestService } from './support/service.ts';
import { builtTemplate, PYTHON_EXTRA_TEMPLATE, useTemplatesDir, writeTemplate } from './support/templates.ts';

const NAME = `pyextra-${process.pid}`;
const FAILED = `pyfail-${process.pid}`;
const FROM_BASE = `pybase-${process.pid}`;
let svc: TestService;
const dir = useTemplatesDir([NAME, FROM_BASE]);

beforeAll(async () => {
  await writeTemplate(dir(), NAME, PYTHON_EXTRA_TEMPLATE.spec, PYTHON_EXTRA_TEMPLATE.files);
  await writeTemplate(
    dir(),
    FROM_BASE,
    {
      from: 'base',
      files: [{ source: 'motto.txt', target: '/opt/greet/motto.txt' }],
      workdir: '/work/app',
      languages: { python: { source_file: 'main.py', run: ['python3', '-I', '-u', 'main.py'] } },
    },
    { 'motto.txt': 'from the base\n' },
  );
  await writeTemplate(dir(), FAILED, {
    from: `image:airlock-absent-${process.pid}:none`,
    languages: { python: { source_file: 'main.py', run: ['python3', 'main.py'] } },
  });
  svc = await startService({
    ...CONTAINER_SERVICE_ENV,
    AIRLOCK_POOL_SIZE: '0',
    AIRLOCK_TEMPLATES_DIR: dir(),
    AIRLOCK_TEMPLATES_BUILD: 'build',
  });
  await builtTemplate(svc.url, NAME);
  await builtTemplate(svc.url, FROM_BASE);
}, 900_000);

afterAll(async () => {
  const instances = svc?.service.sessions.containerInstances() ?? [];
  await svc?.close();
  for (const instance of instances) await expectNoContainersLeft(instance);
}, 120_000);

/** Opens a python session from `template` (built and ready) on `backend`; its id. */
async function openFrom(template: string, backend: string): Promise<string> {
  expect(await builtTemplate(svc.url, template)).toMatchObject({ state: 'ready', languages: ['python'] });
  const opened = await call(svc.url, 'POST', '/v1/sessions', { language: 'python', backend, template });
  expect(opened.status, JSON.stringify(opened.body)).toBe(201);
  expect(opened.body).toMatchObject({ backend, language: 'python', template, status: 'ready' });
  return opened.body.id as string;
}

/** A gVisor session of `template` restored from its ready-made snapshot (sessions boot until it is made). */
async function openRestored(template: string): Promise<string> {
  for (let i = 0; i < 240; i++) {
    const id = await openFrom(template, 'gvisor');
    const [line] = containersLabelled(`airlock.session=${id}`);
    const container = String(line).split(' ')[0] as string;
    const runtime = execFileSync('docker', ['inspect', '-f', '{{.HostConfig.Runtime}}', container], {
      encoding: 'utf8',
    }).trim();
    if (runtime === 'runsc-restore') return id;
    expect((await call(svc.url, 'DELETE', `/v1/sessions/${id}`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`no session of ${template} was restored from a ready-made snapshot`);
}

describe.each(BACKENDS)('a session from a template on %s', (backend) => {
  it("starts from the template's image: cells see its files, module and environment", async () => {
    const id = await openFrom(NAME, backend);
    const cell = await call(svc.url, 'POST', `/v1/sessions/${id}/executions`, {
      code: 'import os, airlock_greet\nprint(airlock_greet.GREETING, open(os.environ["MOTTO_FILE"]).read().strip())\nx = 1',
    });
    expect(cell.status, JSON.stringify(cell.body)).toBe(201);
    expect(cell.body).toMatchObject({
      session_id: id,
      template: NAME,
      result: { outcome: 'success', stdout: 'hi from the template\n' },
    });
    const second = await call(svc.url, 'POST', `/v1/sessions/${id}/executions`, { code: 'x + 1' });
    expect(second.body.result.value).toEqual({ 'text/plain': '2' });

    expect((await call(svc.url, 'GET', `/v1/sessions/${id}`)).body).toMatchObject({
      template: NAME,
      cells: 2,
    });
    expect((await call(svc.url, 'GET', `/v1/executions/${cell.body.id}`)).body).toMatchObject({
      id: cell.body.id,
      template: NAME,
    });
    const listed = await call(svc.url, 'GET', `/v1/executions?template=${NAME}&limit=100`);
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual(
      expect.arrayContaining([cell.body.id, second.body.id]),
    );
    expect(listed.body.data.every((e: { template: string }) => e.template === NAME)).toBe(true);
    const sessions = await call(svc.url, 'GET', `/v1/sessions?template=${NAME}&limit=100`);
    expect(sessions.status, JSON.stringify(sessions.body)).toBe(200);
    expect(sessions.body.data.map((s: { id: string }) => s.id)).toContain(id);
    expect(sessions.body.data.every((s: { template: string }) => s.template === NAME)).toBe(true);
    expect((await call(svc.url, 'DELETE', `/v1/sessions/${id}`)).status).toBe(200);

    const plain = await call(svc.url, 'POST', '/v1/sessions', { language: 'python', backend });
    expect(plain.body.template).toBeNull();
    const without = await call(svc.url, 'POST', `/v1/sessions/${plain.body.id}/executions`, {
      code: 'import importlib.util\nprint(importlib.util.find_spec("airlock_greet"))',
    });
    expect(without.body).toMatchObject({ template: null, result: { stdout: 'None\n' } });
    expect((await call(svc.url, 'DELETE', `/v1/sessions/${plain.body.id}`)).status).toBe(200);
  }, 300_000);

  it('runs a session from a python template built from the Debian base (it carries the session kernel)', async () => {
    const id = await openFrom(FROM_BASE, backend);
    const first = await call(svc.url, 'POST', `/v1/sessions/${id}/executions`, {
      code: 'motto = open("/opt/greet/motto.txt").read().strip()',
    });
    expect(first.body.result).toMatchObject({ outcome: 'success' });
    const second = await call(svc.url, 'POST', `/v1/sessions/${id}/executions`, { code: 'motto.upper()' });
    expect(second.body).toMatchObject({
      template: FROM_BASE,
      result: { value: { 'text/plain': "'FROM THE BASE'" } },
    });
    // The template's workdir, as a one-shot run of it has: cells start there, their files are written there.
    const here = await call(svc.url, 'POST', `/v1/sessions/${id}/executions`, {
      code: 'import os\nos.getcwd() + " " + open("note.txt").read()',
      files: [{ path: 'note.txt', content: 'noted' }],
    });
    expect(here.body.result, JSON.stringify(here.body)).toMatchObject({
      outcome: 'success',
      value: { 'text/plain': "'/work/app noted'" },
    });
    const oneShot = await call(svc.url, 'POST', '/v1/executions?wait=60', {
      language: 'python',
      backend,
      template: FROM_BASE,
      code: 'import os\nprint(os.getcwd())',
    });
    expect(oneShot.body.result, JSON.stringify(oneShot.body)).toMatchObject({ stdout: '/work/app\n' });
    expect((await call(svc.url, 'DELETE', `/v1/sessions/${id}`)).status).toBe(200);
    if (backend === 'gvisor') {
      // Once the template's ready-made snapshot is made, its sessions are restored from it: still in the workdir.
      const restored = await openRestored(FROM_BASE);
      const cwd = await call(svc.url, 'POST', `/v1/sessions/${restored}/executions`, {
        code: 'import os\nos.getcwd()',
      });
      expect(cwd.body.result.value).toEqual({ 'text/plain': "'/work/app'" });
      expect((await call(svc.url, 'DELETE', `/v1/sessions/${restored}`)).status).toBe(200);
    }
  }, 300_000);
});

describe('refused session templates', () => {
  it('answers an unknown template and one not serving the language with 400 naming `template`', async () => {
    for (const [language, template, message] of [
      ['python', 'no-such', /no template named "no-such"/],
      ['python', 'bash', /does not serve python/],
      ['javascript', NAME, /does not serve javascript/],
    ] as const) {
      const response = await call(svc.url, 'POST', '/v1/sessions', { language, template });
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'invalid_request', field: 'template' });
      expect(response.body.error.message).toMatch(message);
    }
    const bad = await call(svc.url, 'POST', '/v1/sessions', { language: 'python', template: 'Bad;Name' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('template');
  });

  it('answers 503 template_unavailable with Retry-After for a template whose build failed', async () => {
    const response = await call(svc.url, 'POST', '/v1/sessions', { language: 'python', template: FAILED });
    expect(response.status).toBe(503);
    expect(response.body.error).toMatchObject({ code: 'template_unavailable', field: 'template' });
    expect(response.body.error.message).toMatch(/is failed: step from/);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('refuses a JavaScript (isolate) session with a template as an isolate execution with one is refused', async () => {
    const session = await call(svc.url, 'POST', '/v1/sessions', { language: 'javascript', template: 'node' });
    const execution = await call(svc.url, 'POST', '/v1/executions', {
      language: 'javascript',
      backend: 'isolate',
      template: 'node',
      code: '1',
    });
    expect(execution.body.error).toMatchObject({ code: 'backend_unavailable', field: 'backend' });
    expect(session.status).toBe(execution.status);
    expect(session.body.error).toMatchObject({ code: 'backend_unavailable', field: 'backend' });
    expect(session.body.error.code).toBe(execution.body.error.code);
    expect(session.body.error.message).toMatch(/template 'node' runs in containers/);
  });
});
