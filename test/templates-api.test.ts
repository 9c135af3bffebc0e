// Templates through the REST surface of the real embedded service on runc: an operator template
// (AIRLOCK_TEMPLATES_DIR) built at start-up in the background and then served, with its warm pool; GET
// /v1/templates; and the errors a caller sees: unknown template or one not serving the language → 400 naming
// `template`, a template that failed its build → 503 template_unavailable with Retry-After. /v1/runtimes lists
// the compiled languages with the shipped template serving each.

import type { ContainerSandbox } from '@airlock/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefused } from './support/refusals.ts';
import { call, run, startService, type TestService } from './support/service.ts';
import { builtTemplate, useTemplatesDir, writeTemplate } from './support/templates.ts';

const NAME = `greet-${process.pid}`;
const FAILED = `nofrom-${process.pid}`;
let svc: TestService;
const dir = useTemplatesDir([NAME]);

async function templates(): Promise<Array<Record<string, any>>> {
  return (await call(svc.url, 'GET', '/v1/templates')).body.templates;
}

beforeAll(async () => {
  await writeTemplate(
    dir(),
    NAME,
    {
      description: 'bash with a greeting file',
      from: 'template:bash',
      files: [{ source: 'greeting.txt', target: '/opt/greet/greeting.txt' }],
      env: { GREETING_FILE: '/opt/greet/greeting.txt' },
      languages: { bash: { source_file: 'main.sh', run: ['bash', 'main.sh'] } },
      smoke: [{ language: 'bash', code: 'cat "$GREETING_FILE"', stdout: 'hello from the template\n' }],
    },
    { 'greeting.txt': 'hello from the template\n' },
  );
  await writeTemplate(dir(), FAILED, {
    from: `image:airlock-absent-${process.pid}:none`,
    languages: { bash: { source_file: 'main.sh', run: ['bash', 'main.sh'] } },
  });
  svc = await startService({
    AIRLOCK_BACKENDS: 'docker',
    AIRLOCK_POOL_SIZE: '0',
    AIRLOCK_TEMPLATES_DIR: dir(),
    AIRLOCK_TEMPLATES_BUILD: 'build',
    AIRLOCK_TEMPLATE_POOLS: `${NAME}=1`,
  });
}, 120_000);

afterAll(async () => {
  await svc?.close();
}, 120_000);

/** Submits `code` in `language` to run in `template`. */
const submitIn = (language: string, template: string, code: string) =>
  call(svc.url, 'POST', '/v1/executions', { language, template, code });

describe('templates over REST', () => {
  it('builds an operator template at start-up, lists it, warms its pool and runs jobs in it', async () => {
    const greet = await builtTemplate(svc.url, NAME);
    expect(greet).toMatchObject({
      name: NAME,
      description: 'bash with a greeting file',
      languages: ['bash'],
      state: 'ready',
      reason: null,
      builtin: false,
    });
    expect(greet?.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(greet?.size_bytes).toBeGreaterThan(0);
    const all = await templates();
    expect(all.filter((t) => t.builtin).map((t) => [t.name, t.state])).toEqual([
      ['bash', 'ready'],
      ['node', 'ready'],
      ['python', 'ready'],
    ]);
    expect(all.find((t) => t.name === FAILED)).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/step from/),
    });

    const sandbox = svc.service.registry.get('docker') as ContainerSandbox;
    for (let i = 0; i < 600; i++) {
      if (sandbox.stats().pools.some((p) => p.key.includes(`airlock-tmpl-${NAME}:`) && p.ready > 0)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(sandbox.stats().pools.find((p) => p.key.includes(`airlock-tmpl-${NAME}:`))?.ready).toBe(1);

    const execution = await run(svc.url, {
      language: 'bash',
      template: NAME,
      code: 'cat "$GREETING_FILE"; id -u',
    });
    expect(execution).toMatchObject({
      backend: 'docker',
      template: NAME,
      result: { outcome: 'success', stdout: 'hello from the template\n65534\n' },
    });
    const listed = await call(svc.url, 'GET', `/v1/executions?template=${NAME}`);
    expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual([execution.id]);
    expect(sandbox.stats().warmLeases).toBe(1);
  }, 600_000);

  it('refuses an unknown template and one that does not serve the language with 400 naming `template`', async () => {
    expectRefused(await submitIn('bash', 'no-such', 'true'), 400, {
      code: 'invalid_request',
      field: 'template',
    });
    const wrong = await submitIn('python', NAME, '1');
    expectRefused(wrong, 400, { code: 'invalid_request', field: 'template' });
    expect(wrong.body.error.message).toMatch(/does not serve python/);
    expectRefused(await submitIn('bash', 'Bad;Name', 'true'), 400, { field: 'template' });
  });

  it('answers 503 template_unavailable with Retry-After for a template whose build failed', async () => {
    const response = await submitIn('bash', FAILED, 'true');
    expectRefused(response, 503, { code: 'template_unavailable', field: 'template' });
    expect(response.body.error.message).toMatch(/is failed: step from/);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('lists each compiled language in /v1/runtimes with the template that serves it', async () => {
    expect(await builtTemplate(svc.url, 'gcc')).toMatchObject({ state: 'ready' });
    const response = await call(svc.url, 'GET', '/v1/runtimes?language=c');
    expect(response.body.runtimes).toEqual([
      {
        language: 'c',
        backend: 'docker',
        template: 'gcc',
        available: true,
        version: expect.stringMatching(/^g/),
      },
    ]);
    const all = (await call(svc.url, 'GET', '/v1/runtimes')).body.runtimes as Array<Record<string, unknown>>;
    expect(all.map((r) => r.language)).toEqual(
      expect.arrayContaining(['c', 'cpp', 'go', 'rust', 'java', 'ruby', 'php']),
    );
    for (const runtime of all.filter((r) => r.language === 'php' || r.language === 'java')) {
      expect(runtime.template).toBe(runtime.language);
    }
  }, 600_000);
});
