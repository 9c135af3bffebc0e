import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Execution, ExecutionRequest } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { HeldWorker, REQUEST, statusOf, submitInput, successResult, until } from '../../testing/fixtures.ts';
import { freshNames, useQueueHarness } from '../../testing/jetstream-harness.ts';
import type { QueueNameOptions } from './jetstream-options.ts';

const harness = useQueueHarness('checked');

/** Ack wait for the tests that lose a worker: short, so the redelivery comes soon; heartbeats keep live jobs. */
const SHORT_ACK = { ackWaitMs: 2_000, heartbeatMs: 200 };

/**
 * A gateway, and a worker on a connection of its own (with `options`) that takes `input` and holds it running;
 * then that connection is lost: no ack, no more heartbeats.
 */
async function loseRunningWorker(
  input: ReturnType<typeof submitInput>,
  options: Parameters<ReturnType<typeof harness>['open']>[1],
) {
  const names = freshNames();
  const gateway = await harness().open(names, SHORT_ACK);
  const lostConnection = await harness().connect();
  const lost = await harness().open(names, { ...SHORT_ACK, ...options }, lostConnection);
  const stuck = new HeldWorker();
  lost.consume(stuck.run);
  const { execution } = await gateway.submit(input);
  await stuck.started(execution.id);
  await until(async () => (await statusOf(gateway, execution)) === 'running');
  await lostConnection.close();
  return { names, gateway, stuck, execution };
}

describe('JetStreamJobQueue faults', () => {
  it('ends a job whose worker lost its connection mid-run as worker lost, never running it again', async () => {
    const lostErrors: string[] = [];
    const { names, gateway, stuck, execution } = await loseRunningWorker(submitInput('acme'), {
      cancelGraceMs: 100,
      onError: (_e, during) => lostErrors.push(during),
    });

    const rescued = await startRescuer(names);
    const final = await gateway.wait('acme', execution.id, 60_000);
    expect(final.result).toMatchObject({ outcome: 'internal_error', reason: 'worker lost', exit_code: null });
    expect(final.started_at).not.toBeNull();
    expect(rescued).toEqual([]);
    expect(stuck.startOrder).toEqual([execution.id]);
    // The job left the work queue: nothing is waiting and nothing is held.
    await until(async () => (await gateway.refreshStats()).queued === 0);
    expect(harness().takeErrors()).toEqual([]);
    await stuck.release(execution.id);
  });

  it('runs an opted-in job again on another worker after its worker was lost, and the old one stops', async () => {
    const input = submitInput('acme');
    input.request = ExecutionRequest.parse({ ...REQUEST, retry_on_worker_loss: true });
    const { names, gateway, stuck, execution } = await loseRunningWorker(input, { onError: () => {} });

    const rescued = await startRescuer(names, 'second run');
    const final = await gateway.wait('acme', execution.id, 60_000);
    expect(final.result).toMatchObject({ outcome: 'success', stdout: 'second run' });
    expect(rescued).toEqual([execution.id]);
    await until(async () => (await gateway.refreshStats()).queued === 0);
    expect(harness().takeErrors()).toEqual([]);
    await stuck.release(execution.id);
  });

  it('ends a job whose worker process was killed with SIGKILL as worker lost', async () => {
    const names = freshNames();
    const gateway = await harness().open(names, SHORT_ACK);
    const child = startWorkerProcess(harness().server.url, names, SHORT_ACK.ackWaitMs);
    try {
      await child.line('ready');
      const { execution } = await gateway.submit(submitInput('acme'));
      await child.line(`started ${execution.id}`);
      child.process.kill('SIGKILL');
      await child.exited;

      const rescued = await startRescuer(names);
      const final = await gateway.wait('acme', execution.id, 60_000);
      expect(final.result).toMatchObject({ outcome: 'internal_error', reason: 'worker lost' });
      expect(rescued).toEqual([]);
      // Later jobs run normally on the surviving worker.
      const next = await gateway.submit(submitInput('acme'));
      expect((await gateway.wait('acme', next.execution.id, 60_000)).result?.outcome).toBe('success');
      expect(rescued).toEqual([next.execution.id]);
      expect(harness().takeErrors()).toEqual([]);
    } finally {
      child.process.kill('SIGKILL');
    }
  });

  it('loses no accepted execution across a nats-server restart, and every client reconnects', async () => {
    const names = freshNames();
    const finishedCount = new Map<string, number>();
    const onFinished = (e: Execution) => finishedCount.set(e.id, (finishedCount.get(e.id) ?? 0) + 1);
    const gateway = await harness().open(names);
    gateway.onFinished(onFinished);
    const workerQueue = await harness().open(names, { concurrency: 2 });
    workerQueue.onFinished(onFinished);
    const worker = new HeldWorker();
    workerQueue.consume(worker.run);
    const accepted: Execution[] = [];
    for (let i = 0; i < 6; i++) accepted.push((await gateway.submit(submitInput(`t${i % 2}`))).execution);
    await until(() => worker.runningIds.length === 2);

    // The harshest stop: no chance to flush anything. Submits keep coming while it is down and while the
    // clients reconnect; each is either accepted (and then must finish) or refused, never half.
    await harness().server.stop('SIGKILL');
    const refused: Execution[] = [];
    const during = Array.from({ length: 3 }, () => {
      const input = submitInput('t-during');
      return gateway.submit(input).then(
        ({ execution }) => accepted.push(execution),
        () => refused.push(input.execution),
      );
    });
    await harness().server.restart();
    await Promise.all(during);
    for (let i = 0; i < 3; i++) accepted.push((await gateway.submit(submitInput('t-after'))).execution);
    for (const id of worker.runningIds) await worker.release(id);
    while (finishedCount.size < accepted.length) {
      for (const id of worker.runningIds) await worker.release(id);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const execution of accepted) {
      const final = await gateway.wait(execution.tenant, execution.id, 60_000);
      expect(final.result?.outcome).toBe('success');
      expect(finishedCount.get(execution.id)).toBe(1);
    }
    expect(new Set(worker.startOrder).size).toBe(worker.startOrder.length);
    // A refused submit left nothing that waits forever.
    for (const execution of refused) {
      expect((await gateway.get(execution.tenant, execution.id))?.status ?? 'absent').toMatch(
        /absent|finished/,
      );
    }
    expect(accepted.length).toBeGreaterThanOrEqual(9);
    // Errors seen while the server was away were reported and recovered from; the queue still works.
    harness().takeErrors();
    const after = await gateway.submit(submitInput('acme'));
    await worker.release(after.execution.id);
    expect((await gateway.wait('acme', after.execution.id, 60_000)).result?.outcome).toBe('success');
  });
});

/** A second worker on the queue's names; returns the ids of the jobs it ran (each succeeds). */
async function startRescuer(names: QueueNameOptions, stdout = ''): Promise<string[]> {
  const rescuer = await harness().open(names, SHORT_ACK);
  const rescued: string[] = [];
  rescuer.consume(async (job) => {
    rescued.push(job.execution.id);
    return successResult(stdout);
  });
  return rescued;
}

interface WorkerProcess {
  process: ChildProcess;
  /** Resolves once the child printed this line. */
  line(text: string): Promise<void>;
  exited: Promise<void>;
}

function startWorkerProcess(url: string, names: object, ackWaitMs: number): WorkerProcess {
  const script = fileURLToPath(new URL('../../testing/worker-process.ts', import.meta.url));
  const child = spawn(process.execPath, [script, url, JSON.stringify(names), String(ackWaitMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const check = () => {
    const lines = output.split('\n');
    for (const waiter of [...waiters]) {
      if (lines.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    check();
  });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    exited,
    line: (text) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ text, resolve });
        check();
        void exited.then(() => reject(new Error(`worker process exited before "${text}":\n${errors}`)));
      }),
  };
}
