// 1,000 mixed jobs through two gateways onto two worker processes (isolate backend, JavaScript): none lost,
// each terminal exactly once cluster-wide (one `finished` audit record across every process's log, at most
// one `started`), each with the outcome its kind implies, including cancels of running jobs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AirlockProcess, NatsCluster, until } from './support/nats-cluster.ts';
import { call } from './support/service.ts';

let cluster: NatsCluster;
let gateways: AirlockProcess[];

beforeAll(async () => {
  cluster = await NatsCluster.start({ env: { AIRLOCK_AUDIT_FSYNC: 'never', AIRLOCK_MAX_QUEUED: '5000' } });
  const started = await Promise.all([
    cluster.gateway(),
    cluster.gateway(),
    // As many isolate hosts as jobs per worker: a host that gets its next job while still disposing the last
    // one's isolate queues it (host-main.ts), so no spares are needed.
    cluster.worker({ AIRLOCK_CONCURRENCY: '3', AIRLOCK_ISOLATE_HOSTS: '3' }),
    cluster.worker({ AIRLOCK_CONCURRENCY: '3', AIRLOCK_ISOLATE_HOSTS: '3' }),
  ]);
  gateways = started.slice(0, 2);
}, 180_000);

afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
}, 60_000);

const KINDS = {
  success: { request: { code: 'console.log("ok")' }, outcome: 'success' },
  error: { request: { code: 'throw new Error("boom")' }, outcome: 'error' },
  timeout: {
    request: { code: 'for (;;) {}', limits: { wall_time_ms: 50, cpu_time_ms: 50 } },
    outcome: 'timeout',
  },
  output: {
    request: { code: 'console.log("x".repeat(5000))', limits: { output_bytes: 1000 } },
    outcome: 'output_limit',
  },
  cancel: {
    request: { code: 'await new Promise((r) => setTimeout(r, 30000))', limits: { wall_time_ms: 60_000 } },
    outcome: 'canceled',
  },
} as const;
type Kind = keyof typeof KINDS;

async function submit(kind: Kind, i: number): Promise<{ id: string; kind: Kind }> {
  const gateway = gateways[i % 2]!;
  const body = { language: 'javascript', ...KINDS[kind].request, metadata: { kind } };
  for (;;) {
    const response = await call(gateway.url, 'POST', '/v1/executions', body);
    if (response.status === 201) return { id: response.body.id, kind };
    // Only backpressure may refuse it, and then the client retries.
    expect(response.status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('scaled out on NATS under load', () => {
  it('brings 1,000 mixed jobs each to exactly one terminal state, none lost', async () => {
    const kinds: Kind[] = [];
    for (let i = 0; i < 1000; i++) {
      kinds.push(
        i % 50 === 7 ? 'cancel' : (['success', 'success', 'error', 'timeout', 'output'] as const)[i % 5]!,
      );
    }
    const submitted: Array<{ id: string; kind: Kind }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < kinds.length) {
          const i = next++;
          submitted.push(await submit(kinds[i]!, i));
        }
      }),
    );
    expect(new Set(submitted.map((s) => s.id)).size).toBe(1000);

    // Cancel the long ones through the other gateway once they run (or while still queued).
    const cancels = submitted.filter((s) => s.kind === 'cancel');
    for (const [i, { id }] of cancels.entries()) {
      const response = await call(gateways[(i + 1) % 2]!.url, 'DELETE', `/v1/executions/${id}`);
      expect(response.status).toBe(200);
      expect(response.body.result.outcome).toBe('canceled');
    }

    const finals = new Map<string, any>();
    await until(async () => {
      for (const { id } of submitted) {
        if (finals.has(id)) continue;
        const response = await call(gateways[0]!.url, 'GET', `/v1/executions/${id}`);
        if (response.body.status === 'finished') finals.set(id, response.body);
      }
      return finals.size === submitted.length;
    }, 500);
    for (const { id, kind } of submitted) {
      const { outcome, reason } = finals.get(id).result;
      expect(`${id} ${kind} ${outcome} (${reason})`).toBe(`${id} ${kind} ${KINDS[kind].outcome} (${reason})`);
    }

    // Exactly once, cluster-wide, read from the audit logs of every process.
    await until(
      async () => (await cluster.allAudit()).filter((r) => r.type === 'finished').length >= 1000,
      500,
    );
    const records = await cluster.allAudit();
    const count = (type: string) => {
      const counts = new Map<string, number>();
      for (const r of records)
        if (r.type === type) counts.set(r.execution_id, (counts.get(r.execution_id) ?? 0) + 1);
      return counts;
    };
    const finished = count('finished');
    const started = count('started');
    const accepted = count('accepted');
    expect(finished.size).toBe(1000);
    for (const { id } of submitted) {
      expect(finished.get(id)).toBe(1);
      expect(accepted.get(id)).toBe(1);
      expect(started.get(id) ?? 0).toBeLessThanOrEqual(1);
    }
  }, 600_000);
});
