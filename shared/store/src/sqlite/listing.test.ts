import type { Execution } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import type { ExecutionStore, ListQuery } from '../execution-store.ts';
import { finished, manualClock, queuedExecution, result, T0 } from '../test-fixtures.ts';
import { SqliteStore } from './sqlite-store.ts';

async function pages(executions: ExecutionStore, tenant: string, query: ListQuery): Promise<string[][]> {
  const all: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await executions.list(tenant, cursor === undefined ? query : { ...query, cursor });
    all.push(page.executions.map((e) => e.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return all;
}

describe('SqliteStore listing', () => {
  it('lists a tenant’s executions newest first, filtered, page by page', async () => {
    const clock = manualClock(T0 + 100_000);
    const store = SqliteStore.inMemory({ retentionMs: 3_600_000, now: clock.now });
    const { executions } = store;
    const made: Execution[] = [];
    for (let i = 0; i < 12; i++) {
      const execution = queuedExecution(i % 4 === 3 ? 'other' : 'acme', {
        // Two share each creation time, so the id breaks the tie.
        created_at: new Date(T0 + Math.floor(i / 2) * 1000).toISOString(),
        language: i % 2 === 0 ? 'javascript' : 'python',
        backend: i % 2 === 0 ? 'isolate' : 'docker',
        template: i % 4 === 1 ? 'python-data' : null,
        metadata: { team: i % 3 === 0 ? 'blue' : 'red', run: String(i) },
      });
      await executions.create({ execution, requestHash: 'h' });
      if (i < 8) {
        const outcome = result('', { outcome: i % 2 === 0 ? 'success' : 'error' });
        await executions.finish(finished(execution, clock.ms, outcome), []);
      }
      made.push(execution);
    }
    const acme = made.filter((e) => e.tenant === 'acme');
    const newestFirst = [...acme]
      .sort((a, b) => b.created_at.localeCompare(a.created_at) || (a.id < b.id ? 1 : -1))
      .map((e) => e.id);
    expect((await pages(executions, 'acme', { limit: 4 })).flat()).toEqual(newestFirst);
    expect((await pages(executions, 'acme', { limit: 4 })).map((p) => p.length)).toEqual([4, 4, 1]);
    const ids = (query: Omit<ListQuery, 'limit'>) =>
      pages(executions, 'acme', { ...query, limit: 100 }).then((p) => new Set(p.flat()));
    const where = (keep: (e: Execution, i: number) => boolean) =>
      new Set(made.flatMap((e, i) => (e.tenant === 'acme' && keep(e, i) ? [e.id] : [])));
    expect(await ids({ status: 'queued' })).toEqual(where((_, i) => i >= 8));
    expect(await ids({ status: 'finished', outcome: 'error' })).toEqual(
      where((_, i) => i < 8 && i % 2 === 1),
    );
    expect(await ids({ language: 'python', backend: 'docker' })).toEqual(where((_, i) => i % 2 === 1));
    // Finished (results kept apart in blobs) and queued records alike.
    expect(await ids({ template: 'python-data' })).toEqual(where((_, i) => i % 4 === 1));
    expect(await ids({ template: 'python' })).toEqual(new Set());
    expect(await ids({ labels: { team: 'blue' } })).toEqual(where((_, i) => i % 3 === 0));
    expect(await ids({ labels: { team: 'blue', run: '6' } })).toEqual(where((_, i) => i === 6));
    expect(await ids({ labels: { team: 'green' } })).toEqual(new Set());
    const after = new Date(T0 + 1000).toISOString();
    const before = new Date(T0 + 4000).toISOString();
    expect(await ids({ createdAfter: after, createdBefore: before })).toEqual(
      where((_, i) => Math.floor(i / 2) > 1 && Math.floor(i / 2) < 4),
    );
    expect((await executions.list('nobody', { limit: 10 })).executions).toEqual([]);
    // Finished executions past retention drop out of the listing.
    clock.advance(3_600_000);
    expect(await ids({})).toEqual(where((_, i) => i >= 8));
    store.close();
  });

  it('refuses a malformed cursor, limit or time with a TypeError naming it', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 60_000 });
    const { executions } = store;
    await expect(executions.list('acme', { limit: 10, cursor: 'not-a-cursor' })).rejects.toThrow(
      'Expected a cursor from an earlier page, got `not-a-cursor`',
    );
    await expect(executions.list('acme', { limit: 0 })).rejects.toThrow('Expected `limit` to be an integer');
    await expect(executions.list('acme', { limit: 1, createdAfter: 'yesterday' })).rejects.toThrow(
      'Expected `createdAfter` to be an ISO time, got `yesterday`',
    );
    store.close();
  });
});
