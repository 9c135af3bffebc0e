// Scaled out on NATS, end to end: two worker processes and two gateway processes on one nats-server. REST
// and the NATS `airlock` service reach the same workers; an Idempotency-Key holds across gateways; a cancel
// sent to one gateway stops a job another gateway accepted and a worker runs.

import { Svcm } from '@nats-io/services';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { type AirlockProcess, submitJavascript, until, useNatsCluster } from './support/nats-cluster.ts';
import { call } from './support/service.ts';

let gatewayA: AirlockProcess;
let gatewayB: AirlockProcess;
let workers: AirlockProcess[];

const cluster = useNatsCluster({}, async (started) => {
  [gatewayA, gatewayB, ...workers] = await Promise.all([
    started.gateway(),
    started.gateway(),
    started.worker({ AIRLOCK_CONCURRENCY: '2' }),
    started.worker({ AIRLOCK_CONCURRENCY: '2' }),
  ]);
});

const sleepCode = (ms: number, text: string) =>
  `await new Promise((r) => setTimeout(r, ${ms})); console.log(${JSON.stringify(text)})`;

describe('scaled out on NATS: two gateways, two workers', () => {
  it('runs REST submissions on the workers, spreading them over both, with the audit split by process', async () => {
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call(gatewayA.url, 'POST', '/v1/executions?wait=60', {
          language: 'javascript',
          code: sleepCode(400, `job ${i}`),
        }),
      ),
    );
    for (const [i, response] of responses.entries()) {
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ status: 'finished', backend: 'isolate' });
      expect(response.body.result).toMatchObject({ outcome: 'success', stdout: `job ${i}\n` });
    }
    const ids = responses.map((r) => r.body.id as string);
    // The gateway recorded the acceptances; the worker that ran each recorded start and finish.
    const gatewayRecords = (await gatewayA.audit()).filter((r) => ids.includes(r.execution_id));
    expect(gatewayRecords.map((r) => r.type)).toEqual(ids.map(() => 'accepted'));
    await until(async () => (await cluster().allAudit()).filter((r) => r.type === 'finished').length >= 8);
    const ranBy = await Promise.all(
      workers.map(async (w) =>
        (await w.audit()).filter((r) => r.type === 'started').map((r) => r.execution_id),
      ),
    );
    expect([...ranBy[0]!, ...ranBy[1]!].sort()).toEqual([...ids].sort());
    expect(ranBy[0]!.length).toBeGreaterThan(0);
    expect(ranBy[1]!.length).toBeGreaterThan(0);
    // Any gateway answers for any execution.
    const read = await call(gatewayB.url, 'GET', `/v1/executions/${ids[0]}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(responses[0]!.body);
  });

  it('answers the NATS execute endpoint with the finished execution, and is discoverable with stats', async () => {
    const nc = await cluster().connect();
    const reply = await nc.request(
      'airlock.execute',
      JSON.stringify({ language: 'typescript', code: 'const n: number = 6 * 7; console.log(n)' }),
      { timeout: 60_000 },
    );
    expect(reply.headers?.get('Nats-Service-Error-Code') ?? '').toBe('');
    const execution = reply.json<any>();
    expect(execution).toMatchObject({ status: 'finished', language: 'typescript', tenant: 'local' });
    expect(execution.result).toMatchObject({ outcome: 'success', stdout: '42\n' });
    const viaRest = await call(gatewayA.url, 'GET', `/v1/executions/${execution.id}`);
    expect(viaRest.body.result.stdout).toBe('42\n');

    // The services client's option type comes from its own nats-core copy; the value is what it expects.
    const client = new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).client({
      strategy: 'timer',
      maxWait: 2_000,
    } as unknown as Parameters<Svcm['client']>[0]);
    const pings = [];
    for await (const ping of await client.ping('airlock')) pings.push(ping);
    expect(pings.map((p) => p.name)).toEqual(['airlock', 'airlock']);
    const infos = [];
    for await (const info of await client.info('airlock')) infos.push(info);
    expect(infos[0]!.endpoints).toEqual([
      expect.objectContaining({ name: 'execute', subject: 'airlock.execute', queue_group: 'airlock' }),
    ]);
    let executions = 0;
    for await (const stats of await client.stats('airlock')) {
      const endpoint = stats.endpoints?.[0];
      expect(endpoint?.name).toBe('execute');
      executions += (endpoint?.data as { executions: number } | undefined)?.executions ?? 0;
    }
    expect(executions).toBe(1);
  });

  it('returns the same execution for one Idempotency-Key through both gateways (REST and NATS)', async () => {
    const body = { language: 'javascript', code: 'console.log("once")' };
    const key = { 'idempotency-key': `key-${Date.now()}` };
    const first = await call(gatewayA.url, 'POST', '/v1/executions?wait=60', body, key);
    expect(first.status).toBe(201);
    const second = await call(gatewayB.url, 'POST', '/v1/executions?wait=60', body, key);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    const nc = await cluster().connect();
    const h = natsHeaders();
    h.set('Idempotency-Key', key['idempotency-key']);
    const third = await nc.request('airlock.execute', JSON.stringify(body), { timeout: 60_000, headers: h });
    expect(third.json<any>().id).toBe(first.body.id);
    const conflict = await call(
      gatewayB.url,
      'POST',
      '/v1/executions',
      { ...body, code: 'console.log("other")' },
      key,
    );
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('idempotency_conflict');
    const started = (await cluster().allAudit()).filter(
      (r) => r.type === 'started' && r.execution_id === first.body.id,
    );
    expect(started).toHaveLength(1);
  });

  it('cancels through one gateway a job that the other accepted and a worker runs', async () => {
    const id = await submitJavascript(gatewayA.url, 'for (;;) {}');
    await until(
      async () => (await call(gatewayB.url, 'GET', `/v1/executions/${id}`)).body.status === 'running',
    );
    const canceled = await call(gatewayB.url, 'DELETE', `/v1/executions/${id}`);
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ id, status: 'finished' });
    expect(canceled.body.result.outcome).toBe('canceled');
    const again = await call(gatewayA.url, 'DELETE', `/v1/executions/${id}`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('execution_finished');
    // The cancel is in the audit of the gateway that received it; the finish in the worker's.
    expect((await gatewayB.audit()).filter((r) => r.execution_id === id).map((r) => r.type)).toEqual([
      'canceled',
    ]);
    await until(async () =>
      (await cluster().allAudit()).some((r) => r.type === 'finished' && r.execution_id === id),
    );
    const finished = (await cluster().allAudit()).filter(
      (r) => r.type === 'finished' && r.execution_id === id,
    );
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ outcome: 'canceled' });
  });

  it('stops a worker on SIGTERM after its running job finishes, exit code 0', async () => {
    const extra = await cluster().worker();
    const busy = Array.from({ length: 6 }, (_, i) =>
      call(gatewayA.url, 'POST', '/v1/executions?wait=60', {
        language: 'javascript',
        code: sleepCode(1500, `d${i}`),
      }),
    );
    await until(async () => (await extra.audit()).some((r) => r.type === 'started'));
    extra.child.kill('SIGTERM');
    expect(await extra.exited).toBe(0);
    for (const response of await Promise.all(busy)) {
      expect(response.body.result.outcome).toBe('success');
    }
    const records = await extra.audit();
    const started = records.filter((r) => r.type === 'started').map((r) => r.execution_id);
    const finished = records.filter((r) => r.type === 'finished').map((r) => r.execution_id);
    expect(finished.sort()).toEqual(started.sort());
  });
});
