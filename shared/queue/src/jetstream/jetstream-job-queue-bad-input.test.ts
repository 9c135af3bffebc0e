import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { REQUEST, submitInput, successResult, until } from '../../testing/fixtures.ts';
import { freshNames, useQueueHarness } from '../../testing/jetstream-harness.ts';
import { QueueNames } from './names.ts';

const harness = useQueueHarness('checked');

describe('JetStreamJobQueue with bad messages on its subjects', () => {
  it('drops them, reports them, and keeps running good jobs', async () => {
    const options = freshNames();
    const names = new QueueNames(options);
    const queue = await harness().open(options);
    const runs: string[] = [];
    queue.consume(async (job) => {
      runs.push(job.execution.id);
      return successResult('good');
    });
    // A job for acme, so its consumer exists; then garbage on acme's job subject.
    const first = await queue.submit(submitInput('acme'));
    await queue.wait('acme', first.execution.id, 60_000);
    const spoofTarget = submitInput('other');
    const raw = await harness().connect();
    const js = jetstream(raw);
    const subject = names.jobs('acme');
    await js.publish(subject, 'not json at all');
    await js.publish(subject, JSON.stringify({ id: 'ex_missing', tenant: 'acme', request: REQUEST }));
    await js.publish(subject, JSON.stringify({ id: first.execution.id, tenant: 'acme', request: 'wrong' }));
    await js.publish(subject, new Uint8Array(512 * 1024).fill(0x7b));
    raw.publish(names.cancel('ex_whatever'), 'garbage');
    raw.publish(`${options.subjectPrefix}.cancel.not.an.id`, 'garbage');
    raw.publish(`${options.subjectPrefix}.work.~zz`, 'garbage');
    raw.publish(names.stateEvents(first.execution.id), 'not an event');
    // A job message naming another tenant's queued execution: never run for the wrong tenant.
    await queue.submit(spoofTarget);
    await js.publish(
      subject,
      JSON.stringify({
        id: spoofTarget.execution.id,
        tenant: 'acme',
        request: { ...REQUEST, code: 'evil()' },
      }),
    );

    const good = await queue.submit(submitInput('acme'));
    expect((await queue.wait('acme', good.execution.id, 60_000)).result?.stdout).toBe('good');
    expect((await queue.wait('other', spoofTarget.execution.id, 60_000)).result?.stdout).toBe('good');
    await until(async () => (await queue.refreshStats()).queued === 0);
    expect(new Set(runs)).toEqual(new Set([first.execution.id, good.execution.id, spoofTarget.execution.id]));
    expect(runs.length).toBe(3);
    expect(await queue.get('acme', first.execution.id)).toMatchObject({ result: { stdout: 'good' } });
    const reported = harness().takeErrors();
    expect(reported.filter((line) => line.startsWith('reading a job message')).length).toBe(3);
  });

  it('lets no malformed or forged message end or replace a queued execution', async () => {
    const options = freshNames();
    const names = new QueueNames(options);
    const gateway = await harness().open(options);
    const input = submitInput('acme');
    // Messages naming the execution reach the tenant's subject before its own, accepted one.
    const raw = await harness().connect();
    const js = jetstream(raw);
    await js.publish(names.jobs('acme'), JSON.stringify({ id: input.execution.id, tenant: 'acme' }));
    const forged = { id: input.execution.id, tenant: 'acme', request: { ...REQUEST, code: 'forged()' } };
    await js.publish(names.jobs('acme'), JSON.stringify(forged));
    await gateway.submit(input);
    const worker = await harness().open(options);
    const runs: string[] = [];
    worker.consume(async (job) => {
      runs.push(job.request.code);
      return successResult();
    });
    const final = await gateway.wait('acme', input.execution.id, 60_000);
    expect(final.result?.outcome).toBe('success');
    expect(runs).toEqual([REQUEST.code]);
    expect(harness().takeErrors()).toEqual([
      'reading a job message: Error: job message carries an invalid request',
      'reading a job message: Error: job message does not match its execution',
    ]);
  });

  it('never runs a job message other than the one accepted for the execution', async () => {
    const options = freshNames();
    const names = new QueueNames(options);
    const gateway = await harness().open(options);
    const input = submitInput('acme');
    await gateway.submit(input);
    const raw = await harness().connect();
    await (await jetstreamManager(raw)).streams.purge(options.jobStream, { filter: names.jobs('acme') });
    const forged = { id: input.execution.id, tenant: 'acme', request: { ...REQUEST, code: 'forged()' } };
    await jetstream(raw).publish(names.jobs('acme'), JSON.stringify(forged));
    const worker = await harness().open(options);
    const runs: string[] = [];
    worker.consume(async (job) => {
      runs.push(job.request.code);
      return successResult();
    });
    await until(() => harness().errors.length > 0);
    await until(async () => (await gateway.refreshStats()).queued === 0);
    expect(runs).toEqual([]);
    expect((await gateway.get('acme', input.execution.id))?.status).toBe('queued');
    expect(harness().takeErrors()).toEqual([
      'reading a job message: Error: job message does not match its execution',
    ]);
  });

  it('refuses a request too large for one NATS message, leaving nothing behind', async () => {
    const queue = await harness().open(freshNames());
    const input = submitInput('acme', { key: 'big', hash: 'h' });
    input.request = { ...input.request, code: 'x'.repeat(1_000_000), stdin: 'y'.repeat(100_000) };
    await expect(queue.submit(input)).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
    expect(await queue.get('acme', input.execution.id)).toBeUndefined();
    const retry = submitInput('acme', { key: 'big', hash: 'h' });
    expect((await queue.submit(retry)).created).toBe(true);
  });

  it('refuses a second submit of an id it holds, and still lists that execution once', async () => {
    const queue = await harness().open(freshNames());
    const input = submitInput('acme');
    await queue.submit(input);
    // The same execution again, and another execution that reuses its id with another creation time.
    await expect(queue.submit(input)).rejects.toMatchObject({ code: 'internal_error' });
    const reused = submitInput('acme');
    reused.execution = { ...reused.execution, id: input.execution.id, created_at: new Date(0).toISOString() };
    await expect(queue.submit(reused)).rejects.toMatchObject({ code: 'internal_error' });
    const page = await queue.list('acme', { limit: 10 });
    expect(page.executions.map((execution) => execution.id)).toEqual([input.execution.id]);
    expect(page.executions[0]?.created_at).toBe(input.execution.created_at);
  });
});
