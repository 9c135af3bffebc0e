import { describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, hashRecord, sha256Hex } from './record.ts';

describe('sha256Hex', () => {
  it('hashes strings as UTF-8 and bytes as given, in lower-case hex', () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256Hex('abc')).toBe(abc);
    expect(sha256Hex(new Uint8Array([0x61, 0x62, 0x63]))).toBe(abc);
    expect(sha256Hex('é')).toBe(sha256Hex(Buffer.from('é', 'utf8')));
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and leaves out whitespace and undefined members', () => {
    const value = { b: 1, a: { d: [3, { z: true, y: null }], c: 'x' }, u: undefined };
    expect(canonicalJson(value)).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('gives the same text for the same content whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: { p: 1, q: 2 } })).toBe(canonicalJson({ y: { q: 2, p: 1 }, x: 1 }));
  });

  it('refuses values JSON cannot carry faithfully', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/not a finite number/);
    expect(() => canonicalJson({ n: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => canonicalJson({ n: 10n })).toThrow(/bigint/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cycle/);
  });

  it('round-trips through JSON.parse to the same text', () => {
    const text = canonicalJson({ s: 'line\nbreak "quoted" \u2028 é', n: -0.5e-7, big: 2 ** 52, e: {} });
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });
});

describe('hashRecord', () => {
  it('is the sha256 of the canonical JSON of every field except hash', () => {
    const record = { seq: 1, time: '2026-01-01T00:00:00.000Z', prev_hash: GENESIS_HASH, tenant: 't' };
    const expected = sha256Hex(canonicalJson(record));
    expect(hashRecord(record)).toBe(expected);
    expect(hashRecord({ ...record, hash: 'anything' })).toBe(expected);
  });
});
