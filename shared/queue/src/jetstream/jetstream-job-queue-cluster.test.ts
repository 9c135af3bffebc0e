import type { Execution, ExecutionResult } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { collect, statusOf, submitInput, successResult, until } from '../../testing/fixtures.ts';
import { freshNames, useQueueHarness } from '../../testing/jetstream-harness.ts';
import { expectEachEndedOnce, mixedWorker, submitMixedWithCancels } from '../../testing/terminal-states.ts';

const harness = useQueueHarness('checked');

describe('JetStreamJobQueue across instances', () => {
  it('runs on a worker what a gateway accepted, visible from both; cancel from the gateway reaches it', async () => {
    const names = freshNames();
    const gateway = await harness().open(names);
    const worker = await harness().open(names);
    const ranOn: string[] = [];
    worker.consume(async (job, context) => {
      ranOn.push(job.execution.id);
      context.output('stdout', 'from the worker');
      if (job.execution.metadata.hold !== 'yes') return successResult('done');
      return new Promise<ExecutionResult>((resolve) => {
        context.signal.addEventListener('abort', () => resolve(successResult('stopped')), { once: true });
      });
    });
    const { execution } = await gateway.submit(submitInput('acme'));
    const done = await gateway.wait('acme', execution.id, 60_000);
    expect(done.result?.stdout).toBe('done');
    expect(await worker.get('acme', execution.id)).toEqual(done);
    const events = await collect(await gateway.watch('acme', execution.id, new AbortController().signal));
    expect(events.map((e) => (e.type === 'output' ? e.data : e.type))).toEqual([
      'state',
      'state',
      'from the worker',
      'result',
    ]);

    const held = submitInput('acme');
    held.execution.metadata = { hold: 'yes' };
    await gateway.submit(held);
    await until(async () => (await statusOf(gateway, held.execution)) === 'running');
    const canceled = await gateway.cancel('acme', held.execution.id);
    expect(canceled.result).toMatchObject({
      outcome: 'canceled',
      reason: 'canceled while running',
      stdout: 'stopped',
    });
    expect(ranOn).toEqual([execution.id, held.execution.id]);
    expect(harness().takeErrors()).toEqual([]);
  });

  it('gives one execution to submits of one key through two gateways', async () => {
    const names = freshNames();
    const [one, two] = [await harness().open(names), await harness().open(names)];
    const submits = [];
    for (let i = 0; i < 6; i++) {
      submits.push((i % 2 === 0 ? one : two).submit(submitInput('acme', { key: 'same', hash: 'h' })));
    }
    const outcomes = await Promise.all(submits);
    expect(outcomes.filter((o) => o.created).length).toBe(1);
    expect(new Set(outcomes.map((o) => o.execution.id)).size).toBe(1);
    expect(await two.submit(submitInput('acme', { key: 'same', hash: 'other' })).catch((e) => e.code)).toBe(
      'idempotency_conflict',
    );
    const worker = await harness().open(names);
    let runs = 0;
    worker.consume(async () => {
      runs++;
      return successResult();
    });
    await one.wait('acme', outcomes[0]!.execution.id, 60_000);
    expect(runs).toBe(1);
    expect(harness().takeErrors()).toEqual([]);
  });

  it('brings 200 mixed jobs on two workers, with random cancels, each to exactly one terminal state', async () => {
    const names = freshNames();
    const finishedCount = new Map<string, number>();
    const onFinished = (e: Execution) => finishedCount.set(e.id, (finishedCount.get(e.id) ?? 0) + 1);
    const gateway = await harness().open(names, { cancelGraceMs: 200 });
    gateway.onFinished(onFinished);
    const runs = new Map<string, number>();
    const run = mixedWorker(() => new Promise((resolve) => setTimeout(resolve, 1)));
    for (let w = 0; w < 2; w++) {
      const worker = await harness().open(names, { concurrency: 4, cancelGraceMs: 200 });
      worker.onFinished(onFinished);
      worker.consume((job, context) => {
        runs.set(job.execution.id, (runs.get(job.execution.id) ?? 0) + 1);
        return run(job, context);
      });
    }
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const { submitted, cancels: cancelResults } = await submitMixedWithCancels(gateway, 200, random);
    const finals = await Promise.all(submitted.map((e) => gateway.wait(e.tenant, e.id, 120_000)));
    // The listeners are told in the instance that made the terminal write, after the write: a waiter on
    // another instance can read the finished record a moment before they are, so wait for all 200.
    await until(() => finishedCount.size === 200);
    for (const final of finals) expect(runs.get(final.id) ?? 0).toBeLessThanOrEqual(1);
    expectEachEndedOnce(finals, cancelResults, finishedCount);
    expect(finishedCount.size).toBe(200);
    expect(harness().takeErrors()).toEqual([]);
  });
});
