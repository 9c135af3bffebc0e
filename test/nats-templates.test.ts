// Templates in NATS mode, as a user of a scaled-out gateway sees them: a real nats-server, a gateway and a
// real worker on runc. The worker announces its templates in its heartbeat; the gateway's GET /v1/templates
// lists them with the worker that has each ready, GET /v1/runtimes lists the compiled languages with their
// template, the MCP tool descriptions list them, and a C program named to `gcc` runs through the gateway.
// A template no worker knows is refused with 400 naming `template`; one the worker knows but has not built is
// 503 template_unavailable with Retry-After; with no worker left, the fleet lists none and refuses with 503.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectHttp } from './support/mcp.ts';
import { type AirlockProcess, NatsCluster, until } from './support/nats-cluster.ts';
import { call, run } from './support/service.ts';
import { refusedTemplate, writeTemplate } from './support/templates.ts';

/** An operator template the worker has but never builds (AIRLOCK_TEMPLATES_BUILD=off): `missing`. */
const UNBUILT = `unbuilt-${process.pid}`;
const C_HELLO = '#include <stdio.h>\nint main(void) { printf("hello from %s\\n", "nats"); return 0; }\n';
let cluster: NatsCluster;
let gateway: AirlockProcess;
let worker: AirlockProcess;
let workerId: string;
let dir: string;

async function templates(): Promise<Array<Record<string, any>>> {
  const response = await call(gateway.url, 'GET', '/v1/templates');
  expect(response.status).toBe(200);
  return response.body.templates;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-nats-templates-'));
  await writeTemplate(dir, UNBUILT, {
    description: 'never built in this test',
    from: 'template:bash',
    env: { UNBUILT_MARK: `${process.pid}-${Date.now()}` },
    languages: { bash: { source_file: 'main.sh', run: ['bash', 'main.sh'] } },
  });
  cluster = await NatsCluster.start({ env: { AIRLOCK_WORKER_TTL_MS: '3000', AIRLOCK_BACKENDS: 'docker' } });
  [gateway, worker] = await Promise.all([
    cluster.gateway({ AIRLOCK_MAX_WAIT_SECONDS: '300' }),
    cluster.worker({ AIRLOCK_POOL_SIZE: '0', AIRLOCK_TEMPLATES_DIR: dir, AIRLOCK_TEMPLATES_BUILD: 'off' }),
  ]);
  workerId = (await call(gateway.url, 'GET', '/v1/workers')).body.workers[0].id;
  // The gateway re-reads the workers' heartbeats every second.
  await until(async () => (await templates()).some((t) => t.name === 'gcc'), 200);
}, 180_000);

afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('templates on NATS', () => {
  it('lists the worker templates with the worker that has each ready', async () => {
    expect(workerId).toMatch(/^q_[0-9a-f]{16}$/);
    const listed = await templates();
    const gcc = listed.find((t) => t.name === 'gcc');
    expect(gcc).toMatchObject({
      languages: ['c', 'cpp'],
      state: 'ready',
      reason: null,
      builtin: false,
      workers: [workerId],
    });
    expect(gcc?.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(gcc?.size_bytes).toBeGreaterThan(0);
    expect(Object.keys(gcc?.packages ?? {})).toEqual(expect.arrayContaining(['gcc', 'g++']));
    expect(listed.find((t) => t.name === UNBUILT)).toMatchObject({
      description: 'never built in this test',
      state: 'missing',
      reason: expect.stringContaining('not built yet'),
      workers: [],
    });
    expect(listed.filter((t) => t.builtin).map((t) => [t.name, t.state])).toEqual([
      ['bash', 'ready'],
      ['node', 'ready'],
      ['python', 'ready'],
    ]);
    const c = await call(gateway.url, 'GET', '/v1/templates?language=c');
    expect(c.body.templates.map((t: { name: string }) => t.name)).toEqual(['gcc']);
  });

  it('lists the compiled languages in /v1/runtimes with the template that serves each', async () => {
    const { runtimes } = (await call(gateway.url, 'GET', '/v1/runtimes?backend=docker')).body;
    expect(runtimes.find((r: { language: string }) => r.language === 'c')).toMatchObject({
      backend: 'docker',
      template: 'gcc',
      available: true,
      version: expect.stringMatching(/^g(cc|\+\+) /),
    });
    expect(runtimes.find((r: { language: string }) => r.language === 'python')).toMatchObject({
      template: 'python',
      available: true,
    });
    expect(runtimes.map((r: { language: string }) => r.language)).toEqual(
      expect.arrayContaining(['c', 'cpp', 'go', 'rust', 'java', 'ruby', 'php']),
    );
  });

  it('runs a C program in the gcc template through the gateway', async () => {
    const execution = await run(
      gateway.url,
      { language: 'c', template: 'gcc', code: C_HELLO, limits: { wall_time_ms: 30_000 } },
      240,
    );
    expect(execution).toMatchObject({ status: 'finished', template: 'gcc' });
    expect(execution.result).toMatchObject({ outcome: 'success', exit_code: 0, stdout: 'hello from nats\n' });
    expect(execution.result.compile).toMatchObject({ exit_code: 0 });
  }, 300_000);

  it('refuses a template no worker knows with 400 naming the field', async () => {
    const response = await refusedTemplate(
      gateway.url,
      { language: 'bash', template: 'nowhere', code: 'echo hi' },
      400,
    );
    expect(response.body.error.message).toContain('nowhere');
    const language = await refusedTemplate(
      gateway.url,
      { language: 'python', template: 'gcc', code: '1' },
      400,
    );
    expect(language.body.error.message).toMatch(/does not serve python/);
  });

  it('answers 503 template_unavailable with Retry-After for a template the worker has not built', async () => {
    const response = await refusedTemplate(
      gateway.url,
      { language: 'bash', template: UNBUILT, code: 'echo hi' },
      503,
    );
    expect(response.body.error.message).toContain('missing');
    expect(response.headers.get('retry-after')).toBe('60');
  });

  it('lists the templates in the MCP tool descriptions of the gateway', async () => {
    await using mcp = await connectHttp(gateway.url);
    const { tools } = await mcp.client.listTools();
    const runCode = tools.find((t) => t.name === 'run_code');
    expect(runCode?.description).toMatch(/Templates on this server/);
    expect(runCode?.description).toContain('gcc (c, cpp');
  });

  it('lists none and refuses with 503 once no worker is left', async () => {
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await until(async () => (await templates()).length === 0, 200);
    await refusedTemplate(gateway.url, { language: 'c', code: C_HELLO }, 503);
    const response = await refusedTemplate(
      gateway.url,
      { language: 'c', template: 'gcc', code: C_HELLO },
      503,
    );
    expect(response.body.error.message).toContain('no worker is up');
    expect(response.headers.get('retry-after')).not.toBeNull();
  }, 60_000);
});
