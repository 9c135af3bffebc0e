// Listing a tenant's executions from the KV bucket, the same on every gateway, at a cost that follows the page
// and not what is retained: each record has a listing entry `ix.<tenant hash>.<created hour>.<created ms>.<id>`
// and its hour a marker `ih.<tenant hash>.<hour>` (empty values; they expire with the bucket's retention). A
// page reads the tenant's hour markers, then the entries of one hour at a time, newest hour first from the
// cursor's hour on, and reads records only until the page (and one more, to know there is a next) is full.
// A filter that matches rarely reads more records; an entry whose record is gone is skipped. Cursors are
// `<created ms>.<id>` of the page's last entry: newer inserts sort before it, so pages never repeat or skip.
// Must never read or return another tenant's record (the key prefixes and a tenant check on every record).

import type { Execution } from '@airlock/protocol';
import type { ExecutionPage, ListQuery } from '@airlock/store';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ExecutionRecords } from './execution-records.ts';
import { LISTING_HOUR_MS, listingHourPrefix, listingHoursPrefix } from './names.ts';
import { sharedKey } from './shared-keys.ts';

/** Filters of a listing and its page: the ExecutionStore's, so both modes list alike. */
export type KvListQuery = ListQuery;
export type KvExecutionPage = ExecutionPage;

/** Records read at once while filling a page. */
const READ_AHEAD = 32;

export class ExecutionListing {
  readonly #kv: KV;
  readonly #records: ExecutionRecords;

  constructor(kv: KV, records: ExecutionRecords) {
    this.#kv = kv;
    this.#records = records;
  }

  async page(tenant: string, query: KvListQuery): Promise<KvExecutionPage> {
    const after = query.createdAfter === undefined ? undefined : timeMs(query.createdAfter);
    const before = query.createdBefore === undefined ? undefined : timeMs(query.createdBefore);
    let newest = Number.POSITIVE_INFINITY;
    if (before !== undefined) newest = before;
    if (query.cursor !== undefined) newest = Math.min(newest, Number(query.cursor.split('.')[0]));
    const hours = (await this.#hours(tenant)).filter(
      (hour) =>
        hour <= Math.floor(newest / LISTING_HOUR_MS) &&
        (after === undefined || hour >= Math.floor(after / LISTING_HOUR_MS)),
    );
    const kept: Array<{ execution: Execution; sort: string }> = [];
    for (const hour of hours) {
      const entries = await this.#entries(tenant, hour, { after, before, cursor: query.cursor });
      for (let i = 0; i < entries.length && kept.length <= query.limit; ) {
        // No more reads than the page still lacks (one past it tells whether there is a next page).
        const batch = entries.slice(i, i + Math.min(READ_AHEAD, query.limit + 1 - kept.length));
        i += batch.length;
        const read = await Promise.all(batch.map((entry) => this.#records.find(tenant, entry.id)));
        read.forEach((found, k) => {
          if (found && matches(found.value.execution, query)) {
            kept.push({ execution: found.value.execution, sort: batch[k]!.sort });
          }
        });
      }
      if (kept.length > query.limit) break;
    }
    const more = kept.length > query.limit;
    const page = kept.slice(0, query.limit);
    return {
      executions: page.map((entry) => entry.execution),
      nextCursor: more ? page.at(-1)!.sort : null,
    };
  }

  /** The hours in which the tenant has listing entries, newest first. */
  async #hours(tenant: string): Promise<number[]> {
    const prefix = listingHoursPrefix(tenant);
    // A set: a marker rewritten while the keys are listed comes once more.
    const hours = new Set<number>();
    for await (const key of await this.#kv.keys(`${prefix}.*`)) {
      const hour = Number(key.slice(prefix.length + 1));
      if (Number.isSafeInteger(hour)) hours.add(hour);
    }
    return [...hours].sort((a, b) => b - a);
  }

  /** The tenant's entries of one hour inside the bounds and before the cursor, newest first. */
  async #entries(
    tenant: string,
    hour: number,
    bounds: { after: number | undefined; before: number | undefined; cursor: string | undefined },
  ): Promise<Array<{ id: string; sort: string }>> {
    const prefix = listingHourPrefix(tenant, hour);
    const entries: Array<{ id: string; sort: string }> = [];
    for await (const key of await this.#kv.keys(`${prefix}.>`)) {
      const [ms, id] = key.slice(prefix.length + 1).split('.') as [string, string];
      const created = Number(ms);
      if (id === undefined || !Number.isSafeInteger(created)) continue;
      if (bounds.after !== undefined && created <= bounds.after) continue;
      if (bounds.before !== undefined && created >= bounds.before) continue;
      const sort = `${ms}.${id}`;
      if (bounds.cursor !== undefined && sort >= bounds.cursor) continue;
      entries.push({ id, sort });
    }
    return entries.sort((a, b) => (a.sort < b.sort ? 1 : a.sort > b.sort ? -1 : 0));
  }
}

function matches(execution: Execution, query: KvListQuery): boolean {
  if (query.status !== undefined && execution.status !== query.status) return false;
  if (query.outcome !== undefined && execution.result?.outcome !== query.outcome) return false;
  if (query.language !== undefined && execution.language !== query.language) return false;
  if (query.backend !== undefined && execution.backend !== query.backend) return false;
  if (query.template !== undefined && (execution as { template?: unknown }).template !== query.template)
    return false;
  for (const [label, value] of Object.entries(query.labels ?? {})) {
    if (execution.metadata[label] !== value) return false;
  }
  return true;
}

function timeMs(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new TypeError(`Expected an ISO time, got \`${iso}\``);
  return ms;
}

/**
 * The key every gateway seals cursors with: 32 random bytes in a bucket of its own without expiry (`<bucket>-meta`),
 * made by whichever gateway comes first; the others read it.
 */
export function sharedCursorKey(nc: NatsConnection, bucket: string): Promise<Buffer> {
  return sharedKey(nc, bucket, 'cursor-key');
}
