// Canonical JSON: the one text a JSON value hashes as, whoever hashes it (the audit chain, the request hash
// that tells an Idempotency-Key replay from a conflicting reuse). Object keys sorted, no whitespace.
// Must never depend on key order, and never write a value JSON cannot carry faithfully: a non-finite number,
// a bigint, a function or a symbol is refused (JSON.stringify would write NaN as null, so NaN and null would
// hash alike), and so is a cycle.

/**
 * JSON with object keys sorted (by UTF-16 code units, recursively) and no whitespace. Undefined object
 * members are left out, an undefined array item is written as null, and `toJSON` is honoured, as in
 * JSON.stringify. Throws a TypeError for values JSON cannot carry faithfully (NaN, Infinity, bigint,
 * functions, symbols, cycles).
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '', new Set());
}

function encode(input: unknown, key: string, ancestors: Set<object>): string {
  let value = input;
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    value = (value as { toJSON: (key: string) => unknown }).toJSON(key);
  }
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonicalJson: ${value} at '${key}' is not a finite number`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} at '${key}' cannot be encoded as JSON`);
  }
  if (ancestors.has(value)) throw new TypeError(`canonicalJson: a cycle (circular reference) at '${key}'`);
  ancestors.add(value);
  let out: string;
  if (Array.isArray(value)) {
    const items = value.map((item, index) =>
      item === undefined ? 'null' : encode(item, String(index), ancestors),
    );
    out = `[${items.join(',')}]`;
  } else {
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    for (const name of Object.keys(record).sort()) {
      const member = record[name];
      if (member === undefined) continue;
      members.push(`${JSON.stringify(name)}:${encode(member, name, ancestors)}`);
    }
    out = `{${members.join(',')}}`;
  }
  ancestors.delete(value);
  return out;
}
