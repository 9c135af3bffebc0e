// A stable hash of a request body, so an Idempotency-Key replay can be told from a conflicting reuse.
// Canonical JSON (object keys sorted, JSON's own rules for everything else), then sha256 in hex.
// Must never depend on key order, and never accept a structure JSON cannot express (cycles, BigInt).

import { createHash } from 'node:crypto';

export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** JSON with object keys in sorted order; otherwise what JSON.stringify would write. */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(value: unknown, ancestors: Set<object>): string {
  if (value === null || typeof value !== 'object') {
    // Top-level or array-item undefined, functions and symbols become null, as JSON.stringify does in arrays.
    return JSON.stringify(value) ?? 'null';
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write(toJSON.call(value), ancestors);
  if (ancestors.has(value)) throw new TypeError('requestHash: the request contains a circular reference');
  ancestors.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = `[${value.map((item) => write(item, ancestors)).join(',')}]`;
  } else {
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const item = record[key];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      parts.push(`${JSON.stringify(key)}:${write(item, ancestors)}`);
    }
    out = `{${parts.join(',')}}`;
  }
  ancestors.delete(value);
  return out;
}
