import { canonicalJson } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, hashRecord, sha256Hex } from './record.ts';

describe('sha256Hex', () => {
  it('hashes strings as UTF-8 and bytes as given, in lower-case hex', () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256Hex('abc')).toBe(abc);
    expect(sha256Hex(new Uint8Array([0x61, 0x62, 0x63]))).toBe(abc);
    expect(sha256Hex('é')).toBe(sha256Hex(Buffer.from('é', 'utf8')));
  });
});

describe('hashRecord', () => {
  it('is the sha256 of the canonical JSON of every field except hash', () => {
    const record = { seq: 1, time: '2026-01-01T00:00:00.000Z', prev_hash: GENESIS_HASH, tenant: 't' };
    const expected = sha256Hex(canonicalJson(record));
    expect(hashRecord(record)).toBe(expected);
    expect(hashRecord({ ...record, hash: 'anything' })).toBe(expected);
  });

  it('gives the hash the chain has always had for a record (the canonical form never changes)', () => {
    const record = {
      seq: 7,
      time: '2026-01-01T00:00:00.000Z',
      prev_hash: GENESIS_HASH,
      type: 'finished',
      execution_id: 'ex_1',
      tenant: 'acme',
      usage: { cpu_ms: 1.5, wall_ms: -0.5e-7, memory_peak_bytes: null },
      reason: 'é "q" \u2028 😀',
      detail: { b: [1, { y: true, x: null }], a: 2 ** 52 },
    };
    expect(hashRecord(record)).toBe('fa321ef3ace35636d5a7fd19a44599a1ce2f3404488d2386e84989750d1f40a0');
  });
});
