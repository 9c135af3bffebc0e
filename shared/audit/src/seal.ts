// Turns a caller's AuditEntry into a sealed AuditRecord and the exact line the log stores for it.
// Must never copy anything into a record that is not one of the AuditEntry fields the caller passed: an
// unknown field is refused rather than stored, so a wider object (one carrying a token, say) cannot leak in.

import { canonicalJson } from '@airlock/protocol';
import {
  AUDIT_EVENT_TYPES,
  type AuditEntry,
  type AuditRecord,
  MAX_RECORD_BYTES,
  sha256Hex,
} from './record.ts';

type FieldKind = 'string' | 'string?null' | 'number?null' | 'object';

const OPTIONAL_FIELDS: Record<string, FieldKind> = {
  subject: 'string?null',
  language: 'string',
  backend: 'string',
  limits: 'object',
  code_sha256: 'string',
  output_sha256: 'object',
  outcome: 'string',
  exit_code: 'number?null',
  usage: 'object',
  reason: 'string?null',
  metadata: 'object',
  detail: 'object',
};

const EVENT_TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

export interface SealedRecord {
  record: AuditRecord;
  /** canonicalJson(record) followed by '\n', as UTF-8. */
  line: Buffer;
}

/** The chain position a new record takes. */
export interface ChainPosition {
  seq: number;
  prevHash: string;
  time: Date;
}

/**
 * Checks an entry and seals it at the given chain position. Throws a TypeError naming the field for a
 * malformed or unknown field, and a RangeError for a record longer than MAX_RECORD_BYTES.
 */
export function sealRecord(entry: AuditEntry, position: ChainPosition): SealedRecord {
  checkEntry(entry);
  // A deep copy through canonical JSON: drops undefined members, applies toJSON, and detaches the record
  // from objects the caller may mutate after append() returns.
  const fields = JSON.parse(canonicalJson(entry)) as AuditEntry;
  const unsealed = {
    ...fields,
    seq: position.seq,
    time: position.time.toISOString(),
    prev_hash: position.prevHash,
  };
  const hash = sha256Hex(canonicalJson(unsealed));
  const record: AuditRecord = { ...unsealed, hash };
  const line = Buffer.from(`${canonicalJson(record)}\n`, 'utf8');
  if (line.length > MAX_RECORD_BYTES) {
    throw new RangeError(
      `audit record for execution ${String(entry.execution_id)} is ${line.length} bytes; the limit is ${MAX_RECORD_BYTES}`,
    );
  }
  return { record, line };
}

function checkEntry(entry: AuditEntry): void {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new TypeError(`audit entry must be an object, got ${describe(entry)}`);
  }
  if (!EVENT_TYPES.has(entry.type)) {
    throw new TypeError(
      `audit entry field 'type' must be one of ${AUDIT_EVENT_TYPES.join(', ')}, got ${describe(entry.type)}`,
    );
  }
  if (entry.execution_id !== null && typeof entry.execution_id !== 'string') {
    throw new TypeError(
      `audit entry field 'execution_id' must be a string or null, got ${describe(entry.execution_id)}`,
    );
  }
  if (typeof entry.tenant !== 'string') {
    throw new TypeError(`audit entry field 'tenant' must be a string, got ${describe(entry.tenant)}`);
  }
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'type' || name === 'execution_id' || name === 'tenant' || value === undefined) continue;
    const kind = OPTIONAL_FIELDS[name];
    if (kind === undefined) throw new TypeError(`audit entry has unknown field '${name}'; it is not stored`);
    if (!fits(kind, value))
      throw new TypeError(`audit entry field '${name}' must be ${kind}, got ${describe(value)}`);
  }
}

function fits(kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'string?null':
      return value === null || typeof value === 'string';
    case 'number?null':
      return value === null || typeof value === 'number';
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `a ${typeof value}`;
}
