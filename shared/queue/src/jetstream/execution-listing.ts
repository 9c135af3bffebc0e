// Listing a tenant's executions from the KV bucket, the same on every gateway: each record has a listing
// entry `ix.<tenant hash>.<created ms>.<id>` (empty value; it expires with the bucket's retention), so a page
// lists only that tenant's keys, orders them newest first, and reads records from the cursor on until the
// page is full. A filter that matches rarely reads more records; an entry whose record is gone is skipped.
// Must never read or return another tenant's record (the prefix and a tenant check on every record).

import { randomBytes } from 'node:crypto';
import type { Execution } from '@airlock/protocol';
import type { ExecutionPage, ListQuery } from '@airlock/store';
import { StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ExecutionRecords } from './execution-records.ts';
import { listingPrefix } from './names.ts';

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
    const prefix = listingPrefix(tenant);
    const after = query.createdAfter === undefined ? undefined : timeMs(query.createdAfter);
    const before = query.createdBefore === undefined ? undefined : timeMs(query.createdBefore);
    const entries: Array<{ ms: number; id: string; sort: string }> = [];
    for await (const key of await this.#kv.keys(`${prefix}.>`)) {
      const [ms, id] = key.slice(prefix.length + 1).split('.') as [string, string];
      const created = Number(ms);
      if (after !== undefined && created <= after) continue;
      if (before !== undefined && created >= before) continue;
      const sort = `${ms}.${id}`;
      if (query.cursor !== undefined && sort >= query.cursor) continue;
      entries.push({ ms: created, id, sort });
    }
    entries.sort((a, b) => (a.sort < b.sort ? 1 : a.sort > b.sort ? -1 : 0));
    const kept: Array<{ execution: Execution; sort: string }> = [];
    for (let i = 0; i < entries.length && kept.length <= query.limit; i += READ_AHEAD) {
      const batch = entries.slice(i, i + READ_AHEAD);
      const read = await Promise.all(batch.map((entry) => this.#records.find(tenant, entry.id)));
      read.forEach((found, k) => {
        if (found && matches(found.value.execution, query)) {
          kept.push({ execution: found.value.execution, sort: batch[k]!.sort });
        }
      });
    }
    const more = kept.length > query.limit;
    const page = kept.slice(0, query.limit);
    return {
      executions: page.map((entry) => entry.execution),
      nextCursor: more ? page.at(-1)!.sort : null,
    };
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
export async function sharedCursorKey(nc: NatsConnection, bucket: string): Promise<Buffer> {
  const kv = await new Kvm(nc).create(`${bucket}-meta`, { history: 1, storage: StorageType.File });
  const found = await kv.get('cursor-key');
  if (found?.operation === 'PUT') return Buffer.from(found.value);
  try {
    await kv.create('cursor-key', randomBytes(32));
  } catch {
    // Another gateway made it first: read theirs.
  }
  const made = await kv.get('cursor-key');
  if (made?.operation !== 'PUT') throw new Error('the shared cursor key could not be read back');
  return Buffer.from(made.value);
}
