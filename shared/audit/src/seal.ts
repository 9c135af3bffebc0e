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
  // Each field is encoded once, as canonical JSON: the record's fields (a deep copy that drops undefined
  // members, applies toJSON, and is detached from objects the caller may mutate after append() returns), the
  // text its hash is taken of, and its line are all made of these members, in sorted order.
  const members: Member[] = [];
  for (const name of Object.keys(entry)) {
    const value = (entry as unknown as Record<string, unknown>)[name];
    if (value !== undefined) members.push(member(name, jsonValue(value, name)));
  }
  members.sort(byName);
  const fields = JSON.parse(joined(members)) as AuditEntry;
  const chain = {
    seq: position.seq,
    time: position.time.toISOString(),
    prev_hash: position.prevHash,
  };
  const unsealed = [...members, ...Object.entries(chain).map(([name, value]) => member(name, value))];
  unsealed.sort(byName);
  const hash = sha256Hex(joined(unsealed));
  const record: AuditRecord = { ...fields, ...chain, hash };
  const sealed = [...unsealed, member('hash', hash)].sort(byName);
  const line = Buffer.from(`${joined(sealed)}\n`, 'utf8');
  if (line.length > MAX_RECORD_BYTES) {
    throw new RangeError(
      `audit record for execution ${String(entry.execution_id)} is ${line.length} bytes; the limit is ${MAX_RECORD_BYTES}`,
    );
  }
  return { record, line };
}

/** One member of an object's canonical JSON: its name, and `"name":value` as canonicalJson writes it. */
interface Member {
  name: string;
  text: string;
}

function member(name: string, value: unknown): Member {
  return { name, text: `${JSON.stringify(name)}:${canonicalJson(value)}` };
}

/** A member's value as canonicalJson sees it inside its object: `toJSON` is called with the member's name. */
function jsonValue(value: unknown, name: string): unknown {
  const toJSON = (value as { toJSON?: unknown } | null)?.toJSON;
  return typeof toJSON === 'function' ? (toJSON as (key: string) => unknown).call(value, name) : value;
}

/** Object keys in canonicalJson's order (UTF-16 code units, as Array.prototype.sort compares strings). */
function byName(a: Member, b: Member): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function joined(members: readonly Member[]): string {
  return `{${members.map((m) => m.text).join(',')}}`;
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
