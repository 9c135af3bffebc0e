// The NATS listing's cost follows the page, not what is retained: on a real nats-server, with one tenant holding
// 1,000 executions over 50 hours and another holding 5, every KV key a page touches is counted through the real
// client (its keys() and get() calls wrapped, nothing faked). A page of the small tenant touches none of the big
// tenant's keys; a page of the big tenant reads one hour's entries and exactly the records of the page (plus one
// to know there is a next), and paging through it yields every execution once, newest first.

import { type Execution, newExecutionId } from '@airlock/protocol';
import { StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { newExecution } from '../../testing/fixtures.ts';
import { freshNames, useQueueHarness } from '../../testing/jetstream-harness.ts';
import { ExecutionListing, type KvListQuery } from './execution-listing.ts';
import { ExecutionRecords } from './execution-records.ts';
import { executionKey, LISTING_HOUR_MS, listingHourPrefix, listingHoursPrefix } from './names.ts';

const harness = useQueueHarness('none');

const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOURS = 50;
const PER_HOUR = 20;

/** The real KV, with every key its keys() yields and every get() recorded. */
function counted(kv: KV): { kv: KV; touched: string[] } {
  const touched: string[] = [];
  const proxy = new Proxy(kv, {
    get(target, property) {
      if (property === 'keys') {
        return async (filter?: string) => {
          const keys = await target.keys(filter);
          return (async function* () {
            for await (const key of keys) {
              touched.push(key);
              yield key;
            }
          })();
        };
      }
      if (property === 'get') {
        return (key: string) => {
          touched.push(key);
          return target.get(key);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { kv: proxy, touched };
}

function execution(tenant: string, createdMs: number, metadata: Record<string, string> = {}): Execution {
  return {
    ...newExecution(tenant),
    id: newExecutionId(),
    created_at: new Date(createdMs).toISOString(),
    metadata,
  };
}

async function setUp() {
  const kv = await new Kvm(await harness().connect()).create(freshNames().bucket!, {
    history: 1,
    storage: StorageType.Memory,
  });
  const records = new ExecutionRecords(kv);
  const big: Execution[] = [];
  for (let hour = 0; hour < HOURS; hour++) {
    for (let i = 0; i < PER_HOUR; i++) {
      big.push(execution('big', T0 + hour * LISTING_HOUR_MS + i * 1000, { parity: String(i % 2) }));
    }
  }
  const small = Array.from({ length: 5 }, (_, i) =>
    execution('small', T0 + (HOURS - 1) * LISTING_HOUR_MS + i),
  );
  for (let i = 0; i < big.length; i += 50) {
    await Promise.all(big.slice(i, i + 50).map((e) => records.create({ execution: e, requestHash: 'h' })));
  }
  await Promise.all(small.map((e) => records.create({ execution: e, requestHash: 'h' })));
  await records.settleMarkers(); // no hour marker rewrite left due while the pages are counted
  const watched = counted(kv);
  const listing = new ExecutionListing(watched.kv, new ExecutionRecords(watched.kv));
  const newestFirst = (list: Execution[]) =>
    [...list].sort((a, b) => b.created_at.localeCompare(a.created_at) || (a.id < b.id ? 1 : -1));
  return { listing, touched: watched.touched, big: newestFirst(big), small: newestFirst(small) };
}

/** The keys a page touched, by kind. */
function kinds(touched: readonly string[], tenant: string) {
  const hours = listingHoursPrefix(tenant);
  const entries = touched.filter((key) => key.startsWith('ix.'));
  return {
    markers: touched.filter((key) => key.startsWith(`${hours}.`)).length,
    entries: entries.length,
    records: touched.filter((key) => key.startsWith('ex.')).length,
    others: touched.filter(
      (key) => !key.startsWith('ex.') && !key.startsWith('ix.') && !key.startsWith('ih.'),
    ),
    entryHours: new Set(entries.map((key) => key.split('.').slice(0, 3).join('.'))),
  };
}

describe('ExecutionListing on NATS', () => {
  it("reads only the caller tenant's keys, and records only as far as the page", async () => {
    const { listing, touched, big, small } = await setUp();

    const smallPage = await listing.page('small', { limit: 10 });
    expect(smallPage.executions.map((e) => e.id)).toEqual(small.map((e) => e.id));
    expect(smallPage.nextCursor).toBeNull();
    const smallIds = new Set(small.map((e) => executionKey(e.id)));
    // Nothing of the big tenant: its markers, its entries and its records are never read.
    for (const key of touched) {
      expect(
        key.startsWith(`${listingHoursPrefix('small')}.`) ||
          key.startsWith(`${listingHourPrefix('small', HOURS - 1 + T0 / LISTING_HOUR_MS)}.`) ||
          smallIds.has(key),
        key,
      ).toBe(true);
    }
    expect(kinds(touched, 'small')).toMatchObject({ markers: 1, entries: 5, records: 5, others: [] });

    touched.length = 0;
    const first = await listing.page('big', { limit: 10 });
    expect(first.executions.map((e) => e.id)).toEqual(big.slice(0, 10).map((e) => e.id));
    // The tenant's hour markers, the newest hour's entries, and the page's records plus one.
    expect(kinds(touched, 'big')).toMatchObject({
      markers: HOURS,
      entries: PER_HOUR,
      records: 11,
      others: [],
    });

    // Paging through everything: each page reads at most two hours' entries and its records plus one.
    const seen: string[] = [...first.executions.map((e) => e.id)];
    let cursor = first.nextCursor;
    while (cursor !== null) {
      touched.length = 0;
      const page = await listing.page('big', { limit: 10, cursor });
      seen.push(...page.executions.map((e) => e.id));
      const read = kinds(touched, 'big');
      expect(read.entryHours.size).toBeLessThanOrEqual(2);
      expect(read.entries).toBeLessThanOrEqual(2 * PER_HOUR);
      expect(read.records).toBeLessThanOrEqual(11);
      expect(read.others).toEqual([]);
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(big.map((e) => e.id));
  }, 120_000);

  it('bounds the hours it reads by created_before, created_after and the cursor, and filters records', async () => {
    const { listing, touched, big } = await setUp();
    const before = big[PER_HOUR * 10]!.created_at; // ten hours from the newest
    const after = big[PER_HOUR * 12]!.created_at;
    const query: KvListQuery = { limit: 1000, createdBefore: before, createdAfter: after };
    touched.length = 0;
    const page = await listing.page('big', query);
    expect(page.executions.map((e) => e.id)).toEqual(
      big.filter((e) => e.created_at < before && e.created_at > after).map((e) => e.id),
    );
    // Only the entries of the hours between the bounds.
    expect(kinds(touched, 'big').entryHours.size).toBeLessThanOrEqual(3);

    const odd = await listing.page('big', { limit: 7, labels: { parity: '1' } });
    expect(odd.executions.map((e) => e.id)).toEqual(
      big
        .filter((e) => e.metadata.parity === '1')
        .slice(0, 7)
        .map((e) => e.id),
    );
    const next = await listing.page('big', { limit: 7, labels: { parity: '1' }, cursor: odd.nextCursor! });
    expect(next.executions.map((e) => e.id)).toEqual(
      big
        .filter((e) => e.metadata.parity === '1')
        .slice(7, 14)
        .map((e) => e.id),
    );
  }, 120_000);
});
