// Jobs routed to the workers that have their template, in a NATS fleet whose workers differ: a real
// nats-server, a gateway and two real worker processes on runc, only the first with an operator template
// (AIRLOCK_TEMPLATES_DIR). Ten jobs for that template all run on the first worker and succeed, although the
// second is idle and pulling all along; ten jobs of a language's default image still spread over both; template
// jobs accepted before a nats-server SIGKILL and restart all run once, on the first worker. When
// the only worker with the template is killed with SIGKILL mid-job, the other settles the run as `worker lost`
// (it never runs it), as for any job.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AirlockProcess, NatsCluster, until } from './support/nats-cluster.ts';
import { call } from './support/service.ts';
import { removeTemplateImages, writeTemplate } from './support/templates.ts';

const TEMPLATE = `route-${process.pid}`;
const MARK = `routed-${process.pid}`;
let cluster: NatsCluster;
let gateway: AirlockProcess;
let withTemplate: AirlockProcess;
let without: AirlockProcess;
let dir: string;

/** Submits every request at once, then waits for each to finish; the finished executions in order. */
async function runAll(requests: Array<Record<string, unknown>>): Promise<Array<Record<string, any>>> {
  const ids = await Promise.all(
    requests.map(async (request) => {
      const response = await call(gateway.url, 'POST', '/v1/executions', request);
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      return response.body.id as string;
    }),
  );
  return Promise.all(
    ids.map(async (id) => {
      for (;;) {
        const response = await call(gateway.url, 'GET', `/v1/executions/${id}?wait=60`);
        if (response.body.status === 'finished') return response.body;
      }
    }),
  );
}

/** The executions among `ids` the worker started (its audit log's `started` records). */
async function startedBy(worker: AirlockProcess, ids: readonly string[]): Promise<string[]> {
  const started = (await worker.audit()).filter((r) => r.type === 'started').map((r) => r.execution_id);
  return ids.filter((id) => started.includes(id));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-route-templates-'));
  await writeTemplate(dir, TEMPLATE, {
    description: 'only on the first worker',
    from: 'template:bash',
    env: { ROUTE_MARK: MARK },
    languages: { bash: { source_file: 'main.sh', run: ['bash', 'main.sh'] } },
    smoke: [{ language: 'bash', code: 'echo "$ROUTE_MARK"', stdout: `${MARK}\n` }],
  });
  cluster = await NatsCluster.start({
    env: {
      AIRLOCK_WORKER_TTL_MS: '3000',
      AIRLOCK_BACKENDS: 'docker',
      AIRLOCK_POOL_SIZE: '0',
      AIRLOCK_CONCURRENCY: '2',
      AIRLOCK_NATS_ACK_WAIT_MS: '3000',
    },
  });
  [gateway, withTemplate, without] = await Promise.all([
    cluster.gateway({ AIRLOCK_MAX_WAIT_SECONDS: '300' }),
    cluster.worker({ AIRLOCK_TEMPLATES_DIR: dir }),
    cluster.worker({ AIRLOCK_TEMPLATES_BUILD: 'off' }),
  ]);
  // Built in the background by the first worker; the gateway re-reads the heartbeats every second.
  await until(async () => {
    const { templates } = (await call(gateway.url, 'GET', '/v1/templates')).body;
    return templates.some((t: { name: string; state: string }) => t.name === TEMPLATE && t.state === 'ready');
  }, 500);
}, 600_000);

afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
  await rm(dir, { recursive: true, force: true });
  removeTemplateImages(TEMPLATE);
}, 120_000);

describe('template routing on NATS', () => {
  it('lists the template on the first worker only', async () => {
    const workers = (await call(gateway.url, 'GET', '/v1/workers')).body.workers as Array<
      Record<string, any>
    >;
    const first = workers.find((w) => w.pid === withTemplate.child.pid);
    const { templates } = (await call(gateway.url, 'GET', '/v1/templates')).body;
    expect(templates.find((t: { name: string }) => t.name === TEMPLATE)).toMatchObject({
      state: 'ready',
      workers: [first?.id],
    });
  });

  it('runs every job for the template on the worker that has it, none failing on the other', async () => {
    const ended = await runAll(
      Array.from({ length: 10 }, (_, i) => ({
        language: 'bash',
        template: TEMPLATE,
        code: `echo "$ROUTE_MARK ${i}"; sleep 0.3`,
        limits: { wall_time_ms: 30_000 },
      })),
    );
    expect(ended.map((e) => [e.result.outcome, e.result.stdout])).toEqual(
      ended.map((_, i) => ['success', `${MARK} ${i}\n`]),
    );
    const ids = ended.map((e) => e.id as string);
    expect(await startedBy(withTemplate, ids)).toEqual(ids);
    expect(await startedBy(without, ids)).toEqual([]);
  }, 300_000);

  it('still spreads jobs of a language default over both workers', async () => {
    const ended = await runAll(
      Array.from({ length: 10 }, (_, i) => ({
        language: 'bash',
        code: `echo plain ${i}; sleep 1`,
        limits: { wall_time_ms: 30_000 },
      })),
    );
    expect(ended.every((e) => e.result.outcome === 'success')).toBe(true);
    const ids = ended.map((e) => e.id as string);
    const first = await startedBy(withTemplate, ids);
    const second = await startedBy(without, ids);
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    expect([...first, ...second].sort()).toEqual([...ids].sort());
  }, 300_000);

  it('runs the template jobs accepted before nats-server was killed and restarted, once each, where it is ready', async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const response = await call(gateway.url, 'POST', '/v1/executions', {
          language: 'bash',
          template: TEMPLATE,
          code: `echo "$ROUTE_MARK restart ${i}"; sleep 1`,
          limits: { wall_time_ms: 30_000 },
        });
        expect(response.status).toBe(201);
        return response.body.id as string;
      }),
    );
    await cluster.nats.stop('SIGKILL');
    await cluster.nats.restart();
    let ended: Array<Record<string, any>> = [];
    await until(async () => {
      ended = await Promise.all(
        ids.map(async (id) => (await call(gateway.url, 'GET', `/v1/executions/${id}`)).body),
      );
      return ended.every((e) => e.status === 'finished');
    }, 200);
    expect(ended.map((e) => [e.result.outcome, e.result.stdout])).toEqual(
      ids.map((_, i) => ['success', `${MARK} restart ${i}\n`]),
    );
    const started = (await withTemplate.audit())
      .filter((r) => r.type === 'started')
      .map((r) => r.execution_id);
    expect(started.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    expect(await startedBy(without, ids)).toEqual([]);
  }, 300_000);

  it('settles a run lost with the only worker that has the template as worker lost, never running it again', async () => {
    const submitted = await call(gateway.url, 'POST', '/v1/executions', {
      language: 'bash',
      template: TEMPLATE,
      code: 'echo started; sleep 50',
      limits: { wall_time_ms: 60_000 },
    });
    expect(submitted.status).toBe(201);
    const id = submitted.body.id as string;
    await until(async () => (await startedBy(withTemplate, [id])).length === 1, 200);
    withTemplate.child.kill('SIGKILL');
    await withTemplate.exited;
    let ended: Record<string, any> = {};
    await until(async () => {
      ended = (await call(gateway.url, 'GET', `/v1/executions/${id}?wait=30`)).body;
      return ended.status === 'finished';
    }, 200);
    expect(ended.result).toMatchObject({ outcome: 'internal_error', reason: 'worker lost' });
    expect(await startedBy(without, [id])).toEqual([]);
    expect((await without.audit()).filter((r) => r.type === 'finished' && r.execution_id === id)).toEqual([
      expect.objectContaining({ outcome: 'internal_error', reason: 'worker lost' }),
    ]);
  }, 300_000);
});
