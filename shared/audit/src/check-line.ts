// Checks one stored line on its own: valid JSON, the chain fields present, exactly the canonical form the log
// writes, and a hash that matches the content. Whether the record fits the chain is decided by the caller.
// Must never trust any field of a line before these checks pass.

import { canonicalJson } from '@airlock/protocol';
import { GENESIS_HASH, hashRecord, isHashHex } from './record.ts';

/** The chain fields of a line that passed checkLine. */
export interface ChainLink {
  seq: number;
  prev_hash: string;
  hash: string;
}

export type LineCheck = { ok: true; link: ChainLink } | { ok: false; seq: number | null; problem: string };

export function checkLine(text: string): LineCheck {
  if (text.length === 0) return { ok: false, seq: null, problem: 'empty line: not a record' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, seq: null, problem: `invalid JSON: ${(error as Error).message}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, seq: null, problem: 'not an audit record: the line is not a JSON object' };
  }
  const record = parsed as Record<string, unknown>;
  const seq = Number.isSafeInteger(record.seq) && (record.seq as number) >= 1 ? (record.seq as number) : null;
  const missing = shapeProblem(record, seq);
  if (missing !== null) return { ok: false, seq, problem: `not an audit record: ${missing}` };
  let computed: string;
  let canonical: string;
  try {
    computed = hashRecord(record);
    canonical = canonicalJson(record);
  } catch (error) {
    return { ok: false, seq, problem: `not an audit record: ${(error as Error).message}` };
  }
  const stored = record.hash as string;
  if (computed !== stored) {
    return {
      ok: false,
      seq,
      problem: `record content was edited: its hash does not match its fields (stored ${short(stored)}, computed ${short(computed)})`,
    };
  }
  if (canonical !== text) {
    return {
      ok: false,
      seq,
      problem:
        'line was edited: its fields hash correctly but the text is not the canonical form the log writes (whitespace, key order, escapes or duplicate keys changed)',
    };
  }
  return { ok: true, link: { seq: seq as number, prev_hash: record.prev_hash as string, hash: stored } };
}

function shapeProblem(record: Record<string, unknown>, seq: number | null): string | null {
  if (seq === null) return "field 'seq' is missing or not a positive integer";
  if (typeof record.time !== 'string') return "field 'time' is missing or not a string";
  if (!isHashHex(record.prev_hash)) return "field 'prev_hash' is missing or not 64 lower-case hex digits";
  if (!isHashHex(record.hash)) return "field 'hash' is missing or not 64 lower-case hex digits";
  return null;
}

/** A hash shortened for messages. */
export function short(hash: string): string {
  return hash === GENESIS_HASH ? 'the genesis hash (64 zeros)' : `${hash.slice(0, 12)}…`;
}
