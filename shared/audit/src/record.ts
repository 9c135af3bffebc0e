// The audit record: what callers append, what the log stores, and how a record is hashed into the chain.
// Must never add anything to a record beyond the caller's entry and the chain fields (seq, time, prev_hash,
// hash): no environment, host or credential data comes from here.

import { createHash } from 'node:crypto';
import { canonicalJson } from '@airlock/protocol';

export const AUDIT_EVENT_TYPES = [
  'accepted',
  'started',
  'finished',
  'rejected',
  'canceled',
  'repaired',
  'file',
  'snapshot',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** What a caller appends. Identities, decisions and hashes only — never secret values or raw code. */
export interface AuditEntry {
  type: AuditEventType;
  execution_id: string | null;
  tenant: string;
  subject?: string | null;
  language?: string;
  backend?: string;
  limits?: Record<string, number>;
  /** sha256Hex of the submitted code. */
  code_sha256?: string;
  /** sha256Hex of the captured outputs. */
  output_sha256?: { stdout: string; stderr: string };
  outcome?: string;
  exit_code?: number | null;
  usage?: Record<string, number | null>;
  reason?: string | null;
  metadata?: Record<string, string>;
  detail?: Record<string, unknown>;
}

/** An entry as stored: numbered, timestamped and chained to the record before it. */
export type AuditRecord = AuditEntry & {
  /** 1 for the first record of a log, then +1 per record (so seq equals the line number of an intact log). */
  seq: number;
  /** ISO 8601 time at which append() was called. */
  time: string;
  /** `hash` of the previous record; GENESIS_HASH for the first. */
  prev_hash: string;
  /** sha256 hex of canonicalJson(record without `hash`). */
  hash: string;
};

/** The prev_hash of the first record of every log. */
export const GENESIS_HASH = '0'.repeat(64);

/** Longest line (record JSON plus newline, in bytes) the log writes and the verifier accepts. */
export const MAX_RECORD_BYTES = 1024 * 1024;

const HASH_PATTERN = /^[0-9a-f]{64}$/;

export function isHashHex(value: unknown): value is string {
  return typeof value === 'string' && HASH_PATTERN.test(value);
}

/** Lower-case hex sha256 of a string (as UTF-8) or of raw bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The hash a record must carry: sha256 of the canonical JSON of every field except `hash`. */
export function hashRecord(record: Omit<AuditRecord, 'hash'> | Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = record as Record<string, unknown>;
  return sha256Hex(canonicalJson(rest));
}
