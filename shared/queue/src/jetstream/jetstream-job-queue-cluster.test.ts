import type { Execution, ExecutionResult } from '@airlock/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, submitInput, successResult } from '../test-fixtures.ts';
import { freshNames, QueueHarness, statusOf, until } from './test-harness.ts';

let harness: QueueHarness;
beforeAll(async () => {
  harness = await QueueHarness.start();
});
afterEach(async () => {
  await harness.closeQueues();
  harness.takeErrors(); // each test checks its own; none may leak into the next
});
afterAll(async () => {
  await harness?.dispose();
});

describe('JetStreamJobQueue across instances', () => {
  it('runs on a worker what a gateway accepted, visible from both; cancel from the gateway reaches it', async () => {
    const names = freshNames();
    const gateway = await harness.open(names);
    const worker = await harness.open(names);
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
    expect(harness.takeErrors()).toEqual([]);
  });

  it('gives one execution to submits of one key through two gateways', async () => {
    const names = freshNames();
    const [one, two] = [await harness.open(names), await harness.open(names)];
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
    const worker = await harness.open(names);
    let runs = 0;
    worker.consume(async () => {
      runs++;
      return successResult();
    });
    await one.wait('acme', outcomes[0]!.execution.id, 60_000);
    expect(runs).toBe(1);
    expect(harness.takeErrors()).toEqual([]);
  });

  it('brings 200 mixed jobs on two workers, with random cancels, each to exactly one terminal state', async () => {
    const names = freshNames();
    const finishedCount = new Map<string, number>();
    const onFinished = (e: Execution) => finishedCount.set(e.id, (finishedCount.get(e.id) ?? 0) + 1);
    const gateway = await harness.open(names, { onFinished, cancelGraceMs: 200 });
    const kinds = ['normal', 'normal', 'normal', 'throws', 'garbage', 'stubborn'];
    const runs = new Map<string, number>();
    for (let w = 0; w < 2; w++) {
      const worker = await harness.open(names, { onFinished, concurrency: 4, cancelGraceMs: 200 });
      worker.consume(async (job, context) => {
        runs.set(job.execution.id, (runs.get(job.execution.id) ?? 0) + 1);
        const kind = job.execution.metadata.kind;
        for (let i = 0; i < Number(job.execution.metadata.ticks); i++) {
          if (context.signal.aborted && kind !== 'stubborn') break;
          context.output('stdout', `tick ${i}\n`);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        if (kind === 'throws') throw new Error('boom');
        if (kind === 'garbage') return { nonsense: true } as never;
        return successResult('ok');
      });
    }
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const submitted: Execution[] = [];
    const cancels: Array<Promise<Execution | string>> = [];
    for (let i = 0; i < 200; i++) {
      const input = submitInput(`tenant-${i % 5}`);
      input.execution.metadata = { kind: kinds[i % kinds.length]!, ticks: String(Math.floor(random() * 5)) };
      submitted.push((await gateway.submit(input)).execution);
      if (random() < 0.3) {
        const target = submitted[Math.floor(random() * submitted.length)]!;
        cancels.push(gateway.cancel(target.tenant, target.id).catch((e: { code: string }) => e.code));
      }
    }
    const cancelResults = await Promise.all(cancels);
    const finals = await Promise.all(submitted.map((e) => gateway.wait(e.tenant, e.id, 120_000)));
    // onFinished runs in the instance that made the terminal write, after the write: a waiter on another
    // instance can read the finished record a moment before that hook has run, so wait for all 200 hooks.
    await until(() => finishedCount.size === 200);
    for (const final of finals) {
      expect(final.status).toBe('finished');
      expect(finishedCount.get(final.id)).toBe(1);
      expect(runs.get(final.id) ?? 0).toBeLessThanOrEqual(1);
    }
    for (const result of cancelResults) {
      if (typeof result === 'string') expect(result).toBe('execution_finished');
      else expect(result.result?.outcome).toBe('canceled');
    }
    const canceled = new Set(finals.filter((f) => f.result?.outcome === 'canceled').map((f) => f.id));
    const cancelIds = new Set(cancelResults.flatMap((r) => (typeof r === 'string' ? [] : [r.id])));
    expect(canceled).toEqual(cancelIds);
    expect(finishedCount.size).toBe(200);
    expect(harness.takeErrors()).toEqual([]);
  });
});
