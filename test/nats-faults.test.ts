// Fault semantics scaled out on NATS, with real processes: a worker killed with SIGKILL mid-job leaves its
// execution ending `internal_error` / `worker lost` (never run twice) unless the request opted in to a
// retry; a nats-server restart under load loses no accepted execution; a gateway killed and replaced loses
// nothing it accepted.

import { describe, expect, it } from 'vitest';
import { type AirlockProcess, NatsCluster, until } from './support/nats-cluster.ts';
import { call } from './support/service.ts';

/** Short, so a lost worker's job is redelivered soon; live jobs keep heartbeating every third of it. */
const ACK_WAIT = { AIRLOCK_NATS_ACK_WAIT_MS: '3000' };

const sleepCode = (ms: number, text: string) =>
  `await new Promise((r) => setTimeout(r, ${ms})); console.log(${JSON.stringify(text)})`;

async function runnerOf(workers: AirlockProcess[], id: string): Promise<AirlockProcess> {
  let runner: AirlockProcess | undefined;
  await until(async () => {
    for (const worker of workers) {
      if ((await worker.audit()).some((r) => r.type === 'started' && r.execution_id === id)) runner = worker;
    }
    return runner !== undefined;
  });
  return runner!;
}

describe('scaled out on NATS: faults', () => {
  it('ends a job whose worker was killed with SIGKILL as worker lost, run once; an opted-in job runs again', async () => {
    await using cluster = await NatsCluster.start({ env: ACK_WAIT });
    const [gateway, ...workers] = await Promise.all([cluster.gateway(), cluster.worker(), cluster.worker()]);

    const lost = await call(gateway.url, 'POST', '/v1/executions', {
      language: 'javascript',
      code: sleepCode(30_000, 'never'),
      limits: { wall_time_ms: 60_000 },
    });
    expect(lost.status).toBe(201);
    const victim = await runnerOf(workers, lost.body.id);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const survivor = workers.find((w) => w !== victim)!;
    const final = await call(gateway.url, 'POST', '/v1/executions?wait=60', {
      language: 'javascript',
      code: 'console.log("after")',
    });
    expect(final.body.result.stdout).toBe('after\n');
    await until(
      async () =>
        (await call(gateway.url, 'GET', `/v1/executions/${lost.body.id}`)).body.status === 'finished',
    );
    const ended = (await call(gateway.url, 'GET', `/v1/executions/${lost.body.id}`)).body;
    expect(ended.result).toMatchObject({ outcome: 'internal_error', reason: 'worker lost', exit_code: null });
    // Never run twice: only the killed worker ever started it; the survivor recorded the verdict.
    // The record's status is written before the worker's audit append lands; wait for the audit, then compare.
    await until(async () =>
      (await survivor.audit()).some((r) => r.type === 'finished' && r.execution_id === lost.body.id),
    );
    const records = await cluster.allAudit();
    expect(records.filter((r) => r.type === 'started' && r.execution_id === lost.body.id)).toHaveLength(1);
    expect(
      (await survivor.audit()).filter((r) => r.type === 'finished' && r.execution_id === lost.body.id),
    ).toEqual([expect.objectContaining({ outcome: 'internal_error', reason: 'worker lost' })]);

    // The same with retry_on_worker_loss: the survivor runs it again, to success.
    const third = await cluster.worker();
    const retried = await call(gateway.url, 'POST', '/v1/executions', {
      language: 'javascript',
      code: sleepCode(4_000, 'second run'),
      retry_on_worker_loss: true,
    });
    expect(retried.status).toBe(201);
    const victim2 = await runnerOf([survivor, third], retried.body.id);
    victim2.child.kill('SIGKILL');
    await victim2.exited;
    const rescuer = victim2 === survivor ? third : survivor;
    await until(
      async () =>
        (await call(gateway.url, 'GET', `/v1/executions/${retried.body.id}`)).body.status === 'finished',
      200,
    );
    const done = (await call(gateway.url, 'GET', `/v1/executions/${retried.body.id}`)).body;
    expect(done.result).toMatchObject({ outcome: 'success', stdout: 'second run\n' });
    await until(async () =>
      (await rescuer.audit()).some((r) => r.type === 'finished' && r.execution_id === retried.body.id),
    );
    expect(
      (await rescuer.audit()).filter((r) => r.execution_id === retried.body.id).map((r) => r.type),
    ).toEqual(['started', 'finished']);
  }, 240_000);

  it('loses no accepted execution when nats-server is killed and restarted under load', async () => {
    await using cluster = await NatsCluster.start({ env: { AIRLOCK_NATS_ACK_WAIT_MS: '15000' } });
    const [gateway] = await Promise.all([cluster.gateway(), cluster.worker(), cluster.worker()]);
    const accepted: string[] = [];
    const refused: number[] = [];
    let submitting = true;
    const submitter = async (lane: number) => {
      for (let i = 0; submitting; i++) {
        try {
          const response = await call(gateway.url, 'POST', '/v1/executions', {
            language: 'javascript',
            code: sleepCode(50, `lane ${lane} job ${i}`),
          });
          if (response.status === 201) accepted.push(response.body.id);
          else refused.push(response.status);
        } catch {
          refused.push(0);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const lanes = [0, 1, 2, 3].map(submitter);
    await until(() => accepted.length >= 20);
    await cluster.nats.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await cluster.nats.restart();
    const afterRestart = accepted.length;
    await until(() => accepted.length >= afterRestart + 20, 100);
    submitting = false;
    await Promise.all(lanes);

    for (const id of accepted) {
      await until(
        async () => (await call(gateway.url, 'GET', `/v1/executions/${id}`)).body.status === 'finished',
        200,
      );
    }
    const results = await Promise.all(
      accepted.map(async (id) => (await call(gateway.url, 'GET', `/v1/executions/${id}`)).body.result),
    );
    expect(results.filter((r) => r.outcome !== 'success').map((r) => `${r.outcome}: ${r.reason}`)).toEqual(
      [],
    );
    // Every accepted execution finished exactly once, cluster-wide.
    await until(
      async () => (await cluster.allAudit()).filter((r) => r.type === 'finished').length >= accepted.length,
    );
    const finished = (await cluster.allAudit())
      .filter((r) => r.type === 'finished')
      .map((r) => r.execution_id);
    expect(finished.sort()).toEqual([...accepted].sort());
    // Refusals while the server was away were coded answers (503/500/429), never a hang.
    for (const status of refused) expect([0, 429, 500, 503]).toContain(status);
  }, 240_000);

  it('loses nothing a gateway accepted when that gateway is killed and another takes over', async () => {
    await using cluster = await NatsCluster.start();
    const first = await cluster.gateway();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await call(first.url, 'POST', '/v1/executions', {
        language: 'javascript',
        code: `console.log("kept ${i}")`,
      });
      expect(response.status).toBe(201);
      ids.push(response.body.id);
    }
    first.child.kill('SIGKILL'); // no worker yet: all three are queued in JetStream
    await first.exited;
    const second = await cluster.gateway();
    for (const id of ids) {
      expect((await call(second.url, 'GET', `/v1/executions/${id}`)).body.status).toBe('queued');
    }
    await cluster.worker();
    for (const [i, id] of ids.entries()) {
      await until(
        async () => (await call(second.url, 'GET', `/v1/executions/${id}`)).body.status === 'finished',
      );
      const final = (await call(second.url, 'GET', `/v1/executions/${id}`)).body;
      expect(final.result).toMatchObject({ outcome: 'success', stdout: `kept ${i}\n` });
    }
  }, 240_000);
});
