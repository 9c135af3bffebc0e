// What one submitted and awaited job asks of JetStream on the hot path, observed on a real nats-server by a
// spy connection subscribed to the JetStream API subjects (a core subscriber sees every request the queues
// send; nothing is faked): a worker whose parked pull brings the job makes no pull for that job's wake-up,
// and a wait() on the gateway that submitted the job answers from the result event without reading the
// record. A wake-up for a job the worker did not receive still makes it pull, and a wait() elsewhere reads.

import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { submitInput, successResult, until } from '../../testing/fixtures.ts';
import { freshNames, useQueueHarness } from '../../testing/jetstream-harness.ts';
import { executionKey, QueueNames } from './names.ts';

const harness = useQueueHarness('none');
/** No periodic listing of consumers (it pulls what it finds pending): only wake-ups and parked pulls act. */
const NO_DISCOVERY = { pollIntervalMs: 600_000, ackWaitMs: 600_000, heartbeatMs: 10_000 };

/** Every JetStream API request seen from now on: its subject and body. */
function spy(nc: NatsConnection): { seen: Array<{ subject: string; body: string }>; sub: Subscription } {
  const seen: Array<{ subject: string; body: string }> = [];
  const sub = nc.subscribe('$JS.API.>', {
    callback: (_error, message) => {
      seen.push({ subject: message.subject, body: message.string() });
    },
  });
  return { seen, sub };
}

describe('the hot path of a submitted and awaited job', () => {
  it('makes no pull for a job the parked request brought, and no read of the record for its waiter', async () => {
    const names = freshNames();
    const queueNames = new QueueNames(names);
    const gateway = await harness().open(names, NO_DISCOVERY);
    const worker = await harness().open(names, { concurrency: 2, ...NO_DISCOVERY });
    worker.consume(async () => successResult());
    // The first job is found through its wake-up; then a pull is parked on its consumer.
    const first = await gateway.submit(submitInput('acme'));
    expect((await gateway.wait('acme', first.execution.id, 60_000)).status).toBe('finished');
    const jsm = await (await import('@nats-io/jetstream')).jetstreamManager(await harness().connect());
    const waiting = async () =>
      (await jsm.consumers.info(queueNames.jobStream, queueNames.consumer('acme'))).num_waiting;
    await until(async () => (await waiting()) === 1);

    const spyConnection = await harness().connect();
    const { seen, sub } = spy(spyConnection);
    await spyConnection.flush();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { execution } = await gateway.submit(submitInput('acme'));
      ids.push(execution.id);
      expect((await gateway.wait('acme', execution.id, 60_000)).status).toBe('finished');
      await until(async () => (await waiting()) === 1); // parked again for the next one
    }
    await spyConnection.flush();
    sub.unsubscribe();
    const pulls = seen.filter((request) => request.subject.includes('.CONSUMER.MSG.NEXT.'));
    // Only parked requests (one per job), never a pull without waiting for a wake-up of a job it holds.
    expect(pulls.filter((pull) => pull.body.includes('no_wait'))).toEqual([]);
    expect(pulls.length).toBeGreaterThanOrEqual(ids.length);
    // No read of any of the records: the ticket stood in for the worker's, the result event for the waiter's.
    const reads = seen.filter(
      (request) =>
        (request.subject.includes('.DIRECT.GET.') || request.subject.includes('.MSG.GET.')) &&
        ids.some((id) => `${request.subject} ${request.body}`.includes(executionKey(id))),
    );
    expect(reads).toEqual([]);

    // A wait() on another instance (it did not submit the job) reads the record, as before.
    const other = await harness().open(names, NO_DISCOVERY);
    const { seen: later, sub: laterSub } = spy(spyConnection);
    await spyConnection.flush();
    expect((await other.wait('acme', ids[0]!, 60_000)).status).toBe('finished');
    await spyConnection.flush();
    laterSub.unsubscribe();
    expect(
      later.some((request) => `${request.subject} ${request.body}`.includes(executionKey(ids[0]!))),
    ).toBe(true);
  });

  it('still pulls for a wake-up of a job it did not receive: another tenant, no parked request there', async () => {
    const names = freshNames();
    const gateway = await harness().open(names, NO_DISCOVERY);
    const worker = await harness().open(names, { concurrency: 2, ...NO_DISCOVERY });
    worker.consume(async () => successResult());
    const first = await gateway.submit(submitInput('acme'));
    expect((await gateway.wait('acme', first.execution.id, 60_000)).status).toBe('finished');
    const other = await gateway.submit(submitInput('beta'));
    expect((await gateway.wait('beta', other.execution.id, 60_000)).status).toBe('finished');
  });
});
