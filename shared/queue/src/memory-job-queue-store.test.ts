import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutionRequest } from '@airlock/protocol';
import { type ExecutionStore, SqliteStore } from '@airlock/store';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, HeldWorker, submitInput, successResult } from '../testing/fixtures.ts';
import { MemoryJobQueue } from './memory-job-queue.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fileStore(): Promise<{ path: string; open: () => SqliteStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-queue-store-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'airlock.db');
  return { path, open: () => SqliteStore.open({ path, retentionMs: 60_000 }) };
}

/** The store with some of its operations replaced (a slow or failing disk). */
function changed(base: ExecutionStore, overrides: Partial<ExecutionStore>): ExecutionStore {
  return {
    create: (entry) => base.create(entry),
    update: (execution, changes) => base.update(execution, changes),
    finish: (execution, events) => base.finish(execution, events),
    remove: (tenant, id) => base.remove(tenant, id),
    get: (tenant, id) => base.get(tenant, id),
    findByKey: (tenant, key) => base.findByKey(tenant, key),
    events: (tenant, id) => base.events(tenant, id),
    list: (tenant, query) => base.list(tenant, query),
    unfinished: () => base.unfinished(),
    sweep: () => base.sweep(),
    stats: () => base.stats(),
    ...overrides,
  };
}

function queueOn(
  store: ExecutionStore,
  extra: Partial<ConstructorParameters<typeof MemoryJobQueue>[0]> = {},
) {
  const queue = new MemoryJobQueue({ concurrency: 2, maxQueued: 100, store, ...extra });
  cleanups.push(() => queue.close());
  return queue;
}

describe('MemoryJobQueue on a store', () => {
  it('keeps only live executions in memory; a finished one is read back from the store, also after a restart', async () => {
    const files = await fileStore();
    const store = files.open();
    const queue = queueOn(store.executions);
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const { execution } = await queue.submit(submitInput('acme', { key: 'k', hash: 'h' }));
    const held = await worker.started(execution.id);
    expect(queue.liveCount()).toBe(1);
    held.context.output('stdout', 'out ');
    held.context.output('stdout', 'put');
    await worker.release(execution.id, successResult('out put'));
    const done = await queue.wait('acme', execution.id, 60_000);
    expect(queue.liveCount()).toBe(0);
    expect(await queue.get('acme', execution.id)).toEqual(done);
    await queue.close();
    store.close();

    const reopened = files.open();
    cleanups.push(async () => reopened.close());
    const next = queueOn(reopened.executions);
    expect(await next.get('acme', execution.id)).toEqual(done);
    expect(await next.wait('acme', execution.id, 60_000)).toEqual(done);
    expect(await collect(await next.watch('acme', execution.id, new AbortController().signal))).toEqual([
      { type: 'state', status: 'queued' },
      { type: 'state', status: 'running' },
      { type: 'output', stream: 'stdout', data: 'out ' },
      { type: 'output', stream: 'stdout', data: 'put' },
      { type: 'result', execution: done },
    ]);
    const replay = await next.submit(submitInput('acme', { key: 'k', hash: 'h' }));
    expect(replay).toEqual({ execution: done, created: false });
    await expect(next.cancel('acme', execution.id)).rejects.toMatchObject({ code: 'execution_finished' });
    await expect(next.get('other', execution.id)).resolves.toBeUndefined();
  });

  it('runs a restored execution again, counting its runs, and drops its kept request when it finishes', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 60_000 });
    cleanups.push(async () => store.close());
    const request = ExecutionRequest.parse({ language: 'javascript', code: '1', retry_on_worker_loss: true });
    const input = { ...submitInput('acme'), request };
    await store.executions.create({ execution: input.execution, requestHash: 'h', request });
    const [stored] = await store.executions.unfinished();
    expect(stored).toMatchObject({ request, runs: 0 });
    const queue = queueOn(store.executions);
    const worker = new HeldWorker();
    queue.consume(worker.run);
    await queue.restore({ ...stored!, runs: 1, request });
    const held = await worker.started(input.execution.id);
    expect(held.job.request).toEqual(request);
    const [running] = await store.executions.unfinished();
    expect(running).toMatchObject({ execution: { status: 'running' }, runs: 2, request });
    await worker.release(input.execution.id, successResult('again'));
    const done = await queue.wait('acme', input.execution.id, 60_000);
    expect(done.result).toMatchObject({ outcome: 'success', stdout: 'again' });
    expect(await store.executions.unfinished()).toEqual([]);
  });

  it('forgets a submission that the store recorded while the queue closed', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 60_000 });
    cleanups.push(async () => store.close());
    const gate = Promise.withResolvers<void>();
    const slow = changed(store.executions, {
      create: async (entry) => {
        const outcome = await store.executions.create(entry);
        await gate.promise;
        return outcome;
      },
    });
    const queue = queueOn(slow);
    const input = submitInput('acme');
    const submitted = queue.submit(input);
    const closed = queue.close();
    gate.resolve();
    await expect(submitted).rejects.toMatchObject({ code: 'shutting_down' });
    await closed;
    expect(await store.executions.get('acme', input.execution.id)).toBeUndefined();
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
  });

  it('reports a store that fails, and still ends the execution once', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 60_000 });
    cleanups.push(async () => store.close());
    const failing = changed(store.executions, {
      finish: async () => {
        throw new Error('disk full');
      },
    });
    const failures: string[] = [];
    const finished: string[] = [];
    const queue = queueOn(failing, {
      onStoreError: (error, during) => failures.push(`${during}: ${(error as Error).message}`),
    });
    queue.onFinished((execution) => finished.push(execution.id));
    queue.consume(async () => successResult('fine'));
    const { execution } = await queue.submit(submitInput('acme'));
    expect((await queue.wait('acme', execution.id, 60_000)).result?.stdout).toBe('fine');
    await queue.close();
    expect(failures).toEqual(['finish: disk full']);
    expect(finished).toEqual([execution.id]);
  });
});
