// Claim tickets: what lets a worker claim a fresh job without reading its record first (latency: one round
// trip to nats-server fewer between a job's delivery and its run). The submitting gateway, once its create of
// the record is answered, puts into the job message's `Airlock-Claim-Ticket` header the record as it wrote it
// and the revision the create answered, sealed with an HMAC under a key every queue instance on this NATS
// shares (`claim-key` in `<bucket>-meta`, made by whichever instance comes first, like the cursor key). A worker
// takes a ticket whose seal holds for the record as a read would have found it at that revision, and makes
// the same checks (tenant, job digest, status) and the same compare-and-set to running at that revision; the
// compare-and-set fails if anything changed the record since (a cancel, a requeue, a takeover, an expiry),
// and the worker then reads the record as before. A revision is a stream sequence, so it is guessable: the
// seal is what makes a ticket worth anything. A message without a ticket, or with one whose seal does not
// hold (forged, another cluster's, a key that could not be loaded), takes the read path, whose digest check
// is unchanged.
// Must never vouch for a record its seal does not cover, nor for another execution's record.

import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { parseStoredExecution, type Revisioned, type StoredExecution } from './execution-records.ts';
import { sharedKey } from './shared-keys.ts';

export const TICKET_HEADER = 'Airlock-Claim-Ticket';
const KEY_NAME = 'claim-key';

export class ClaimTickets {
  /** A KeyObject: an HMAC from it costs a few microseconds, from the raw bytes about 25 (the key's import). */
  readonly #key: KeyObject | undefined;

  constructor(key: Buffer | undefined) {
    this.#key = key === undefined ? undefined : createSecretKey(key);
  }

  /**
   * The tickets of the queue instances on this NATS. Without the shared key (unreadable bucket, lost
   * connection) it seals nothing and vouches for nothing: every job takes the read path, as before tickets.
   */
  static async open(
    nc: NatsConnection,
    bucket: string,
    onError: (error: unknown, during: string) => void,
  ): Promise<ClaimTickets> {
    try {
      return new ClaimTickets(await sharedKey(nc, bucket, KEY_NAME));
    } catch (error) {
      onError(error, 'loading the claim ticket key');
      return new ClaimTickets(undefined);
    }
  }

  /** The ticket for a record just created at `revision` (its JSON as written), or undefined without a key. */
  seal(id: string, revision: number, recordJson: string): string | undefined {
    if (this.#key === undefined) return undefined;
    const body = Buffer.from(recordJson, 'utf8').toString('base64url');
    return `${revision}.${this.#mac(id, revision, body)}.${body}`;
  }

  /** The record a message's ticket vouches for, with its revision; undefined if none does. */
  open(id: string, headers: MsgHdrs | undefined): Revisioned<StoredExecution> | undefined {
    const ticket = headers?.get(TICKET_HEADER);
    if (this.#key === undefined || !ticket) return undefined;
    const [revisionText, mac, body, extra] = ticket.split('.');
    const revision = Number(revisionText);
    if (extra !== undefined || mac === undefined || body === undefined) return undefined;
    if (!Number.isSafeInteger(revision) || revision <= 0 || String(revision) !== revisionText)
      return undefined;
    const expected = Buffer.from(this.#mac(id, revision, body), 'base64url');
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const value = parseStoredExecution(json);
    return value?.execution.id === id ? { value, revision } : undefined;
  }

  #mac(id: string, revision: number, body: string): string {
    return createHmac('sha256', this.#key!).update(`${id}.${revision}.${body}`).digest('base64url');
  }
}
