// The pull request an idle worker parks on the consumer it served last (job-consumer.ts): it is really waiting
// on the server, another tenant's job is still taken while it waits, the concurrency cap counts it, and a
// worker that closes withdraws it, so the next job goes to another worker instead of waiting out the ack wait.
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { HeldWorker, submitInput, successResult, until } from '../../testing/fixtures.ts';
import { freshNames, useQueueHarness } from '../../testing/jetstream-harness.ts';
import type { JobWorker } from '../job-queue.ts';
import { QueueNames } from './names.ts';

const harness = useQueueHarness('none');
/** Longer than any test may take: a job lost to a withdrawn request would only come back after it. */
const LONG_ACK_WAIT = { ackWaitMs: 600_000, heartbeatMs: 10_000 };

async function waitingRequests(names: ReturnType<typeof freshNames>, tenant: string): Promise<number> {
  const jsm = await jetstreamManager(await harness().connect());
  const queueNames = new QueueNames(names);
  return (await jsm.consumers.info(queueNames.jobStream, queueNames.consumer(tenant))).num_waiting;
}

/** A worker that succeeds at once and notes which executions it ran. */
function recordingWorker() {
  const ran: string[] = [];
  const run: JobWorker = async (job) => {
    ran.push(job.execution.id);
    return successResult();
  };
  return { ran, run };
}

describe('a parked pull request', () => {
  it('waits on the server for the tenant served last, while other tenants and the cap are served as before', async () => {
    const names = freshNames();
    const gateway = await harness().open(names);
    const queue = await harness().open(names, { concurrency: 2, ...LONG_ACK_WAIT });
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const first = await gateway.submit(submitInput('acme'));
    await worker.release(first.execution.id);
    expect((await gateway.wait('acme', first.execution.id, 60_000)).status).toBe('finished');
    await until(async () => (await waitingRequests(names, 'acme')) === 1);

    // Another tenant's job is taken with the slot the parked request leaves free.
    const other = await gateway.submit(submitInput('beta'));
    await worker.release(other.execution.id);
    expect((await gateway.wait('beta', other.execution.id, 60_000)).status).toBe('finished');

    // Three jobs of the parked tenant: never more than two run at once.
    const jobs = await Promise.all([1, 2, 3].map(() => gateway.submit(submitInput('acme'))));
    const ids = jobs.map((j) => j.execution.id);
    await until(() => worker.runningIds.length === 2);
    const [running, waiting] = [worker.runningIds, ids.filter((id) => !worker.runningIds.includes(id))];
    expect(waiting).toHaveLength(1);
    await worker.release(running[0]!);
    await worker.started(waiting[0]!);
    expect(worker.runningIds.length).toBeLessThanOrEqual(2);
    for (const id of worker.runningIds) await worker.release(id);
    for (const id of ids) expect((await gateway.wait('acme', id, 60_000)).status).toBe('finished');
  });

  it('is withdrawn when its worker closes: the next job runs on another worker', async () => {
    const names = freshNames();
    const gateway = await harness().open(names);
    const closing = await harness().open(names, { concurrency: 2, ...LONG_ACK_WAIT });
    const onClosing = recordingWorker();
    closing.consume(onClosing.run);
    const first = await gateway.submit(submitInput('acme'));
    expect((await gateway.wait('acme', first.execution.id, 60_000)).status).toBe('finished');
    await until(async () => (await waitingRequests(names, 'acme')) === 1);
    await closing.close();

    const other = await harness().open(names, { concurrency: 2, ...LONG_ACK_WAIT });
    const onOther = recordingWorker();
    other.consume(onOther.run);
    const next = await gateway.submit(submitInput('acme'));
    expect((await gateway.wait('acme', next.execution.id, 60_000)).status).toBe('finished');
    expect(onClosing.ran).toEqual([first.execution.id]);
    expect(onOther.ran).toEqual([next.execution.id]);
  });
});
