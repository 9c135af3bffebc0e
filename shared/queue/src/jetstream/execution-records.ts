// Execution records in the KV bucket: the Execution as every surface shows it, plus what the queue needs to
// run it exactly once (the request hash, the idempotency record's key, who runs it, a pending cancel).
// Every change is a compare-and-set on the KV revision, so concurrent gateways and workers cannot both win a
// transition. Must never write without a revision check once a record exists, and never return another
// tenant's record.

import { Execution } from '@airlock/protocol';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { ListingMarkers } from './listing-markers.ts';
import { executionKey, isStorableId, LISTING_HOUR_MS, listingHourKey, listingKey } from './names.ts';

export interface StoredExecution {
  execution: Execution;
  requestHash: string;
  /** Digest of the accepted job message; a worker runs only a message with this digest. */
  jobDigest?: string;
  /** KV key of the idempotency record pointing here, refreshed when the execution finishes. */
  idempotencyRecord?: string;
  /** The queue instance that moved it to running. */
  runner?: string;
  /** Stream sequence of the job message it runs from, to tell a redelivery from a duplicate message. */
  jobSeq?: number;
  /** Set by cancel() while it runs; the outcome will be `canceled` with this reason. */
  cancelReason?: string;
  /** Token of the finisher that made the terminal write (to recognise a write whose answer was lost). */
  finishedBy?: string;
  /** Earlier runs lost with their worker, for a request that opted in to a retry. */
  lostRuns?: number;
}

export interface IdempotencyRecord {
  id: string;
  requestHash: string;
  /** Set while the submit that claimed the key is still being accepted (admitted, published): a replay waits. */
  admitting?: true;
}

export interface Revisioned<T> {
  value: T;
  revision: number;
}

/** JetStream API error of a failed compare-and-set ("wrong last sequence"). */
const WRONG_LAST_SEQUENCE = 10071;

export function isRevisionConflict(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE;
}

export class ExecutionRecords {
  readonly #kv: KV;
  readonly #markers: ListingMarkers;

  /** `onError` hears a failed rewrite of a listing hour marker (listing-markers.ts). */
  constructor(kv: KV, onError: (error: unknown, during: string) => void = () => {}) {
    this.#kv = kv;
    this.#markers = new ListingMarkers(kv, onError);
  }

  /** The record with its revision, or undefined if there is none (or it is malformed). */
  async read(id: string): Promise<Revisioned<StoredExecution> | undefined> {
    if (!isStorableId(id)) return undefined;
    return this.#read(executionKey(id), parseStoredExecution);
  }

  /** The record if it exists and belongs to the tenant. */
  async find(tenant: string, id: string): Promise<Revisioned<StoredExecution> | undefined> {
    const found = await this.read(id);
    return found?.value.execution.tenant === tenant ? found : undefined;
  }

  /**
   * Writes a new record, its listing entry and its hour's marker (rewritten after the entries of the hour, so
   * it expires no sooner than they do: listing-markers.ts); false if one with this id exists.
   */
  async create(record: StoredExecution): Promise<boolean> {
    const created = (await this.createUnlisted(record)) !== undefined;
    if (created) await this.addListing(record);
    return created;
  }

  /**
   * As create(), without the listing entry and its marker (addListing() writes them): the new record's
   * revision (a claim ticket vouches for it, claim-tickets.ts), or undefined if one with this id exists.
   */
  async createUnlisted(record: StoredExecution): Promise<number | undefined> {
    try {
      return await this.#kv.create(executionKey(record.execution.id), JSON.stringify(record));
    } catch (error) {
      if (isRevisionConflict(error)) return undefined;
      throw error;
    }
  }

  /** Writes the listing entry of a created record and (at most once a second) its hour's marker. */
  async addListing(record: StoredExecution): Promise<void> {
    const { tenant } = record.execution;
    await Promise.all([
      this.#kv.put(listingEntry(record.execution), ''),
      this.#markers.touch(listingHourKey(tenant, Math.floor(createdMs(record.execution) / LISTING_HOUR_MS))),
    ]);
  }

  /** Writes the hour markers whose rewrite is due later now (at shutdown). */
  settleMarkers(): Promise<void> {
    return this.#markers.settle();
  }

  /**
   * Deletes the listing entry of an execution whose record was not created, unless the record stored under
   * its id is listed under the same entry (the same execution, submitted before). Its hour's marker expires.
   */
  async removeListing(execution: Execution): Promise<void> {
    const entry = listingEntry(execution);
    const stored = (await this.read(execution.id))?.value.execution;
    if (stored === undefined || listingEntry(stored) !== entry) await this.#kv.delete(entry);
  }

  /** Replaces the record if it is still at `revision`; false if someone changed it first. */
  async replace(record: StoredExecution, revision: number): Promise<boolean> {
    return (await this.update(record, revision)) !== undefined;
  }

  /**
   * As replace(), but answers the record's new revision (undefined on a conflict): a writer that changes the
   * record again later can compare-and-set against it without reading the record first.
   */
  async update(record: StoredExecution, revision: number): Promise<number | undefined> {
    try {
      return await this.#kv.update(executionKey(record.execution.id), JSON.stringify(record), revision);
    } catch (error) {
      if (isRevisionConflict(error)) return undefined;
      throw error;
    }
  }

  async remove(id: string): Promise<void> {
    const found = await this.read(id);
    await this.#kv.delete(executionKey(id));
    if (found) await this.#kv.delete(listingEntry(found.value.execution));
  }

  async readKey(key: string): Promise<Revisioned<IdempotencyRecord> | undefined> {
    return this.#read(key, parseIdempotencyRecord);
  }

  /** Claims a client key for an execution: the claim's revision, or undefined if the key is taken. */
  async claimKey(key: string, record: IdempotencyRecord): Promise<number | undefined> {
    try {
      return await this.#kv.create(key, JSON.stringify(record));
    } catch (error) {
      if (isRevisionConflict(error)) return undefined;
      throw error;
    }
  }

  /** Replaces a key's record if it is still at `revision`; false if someone changed it first. */
  async replaceKey(key: string, record: IdempotencyRecord, revision: number): Promise<boolean> {
    try {
      await this.#kv.update(key, JSON.stringify(record), revision);
      return true;
    } catch (error) {
      if (isRevisionConflict(error)) return false;
      throw error;
    }
  }

  /** Releases a claim, only if it is still the one at `revision`. */
  async releaseKey(key: string, revision: number): Promise<void> {
    await this.#kv.delete(key, { previousSeq: revision });
  }

  /** Rewrites a key's record unchanged, so it is kept for a full retention period from now. */
  async touchKey(key: string): Promise<void> {
    const found = await this.readKey(key);
    if (found) await this.#kv.update(key, JSON.stringify(found.value), found.revision);
  }

  async #read<T>(key: string, parse: (json: unknown) => T | undefined): Promise<Revisioned<T> | undefined> {
    const entry = await this.#kv.get(key);
    if (entry?.operation !== 'PUT') return undefined;
    let json: unknown;
    try {
      json = entry.json();
    } catch {
      return undefined;
    }
    const value = parse(json);
    return value === undefined ? undefined : { value, revision: entry.revision };
  }
}

function createdMs(execution: Execution): number {
  return Math.max(0, Date.parse(execution.created_at) || 0);
}

function listingEntry(execution: Execution): string {
  return listingKey(execution.tenant, createdMs(execution), execution.id);
}

/** A stored record from its JSON, or undefined if it is not one (the read path and claim tickets share it). */
export function parseStoredExecution(json: unknown): StoredExecution | undefined {
  if (!isObject(json) || typeof json.requestHash !== 'string') return undefined;
  const execution = Execution.safeParse(json.execution);
  if (!execution.success) return undefined;
  const record: StoredExecution = { execution: execution.data, requestHash: json.requestHash };
  if (typeof json.jobDigest === 'string') record.jobDigest = json.jobDigest;
  if (typeof json.idempotencyRecord === 'string') record.idempotencyRecord = json.idempotencyRecord;
  if (typeof json.runner === 'string') record.runner = json.runner;
  if (Number.isSafeInteger(json.jobSeq)) record.jobSeq = json.jobSeq as number;
  if (typeof json.cancelReason === 'string') record.cancelReason = json.cancelReason;
  if (typeof json.finishedBy === 'string') record.finishedBy = json.finishedBy;
  if (Number.isSafeInteger(json.lostRuns)) record.lostRuns = json.lostRuns as number;
  return record;
}

function parseIdempotencyRecord(json: unknown): IdempotencyRecord | undefined {
  if (!isObject(json) || typeof json.id !== 'string' || typeof json.requestHash !== 'string')
    return undefined;
  const record: IdempotencyRecord = { id: json.id, requestHash: json.requestHash };
  if (json.admitting === true) record.admitting = true;
  return record;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
