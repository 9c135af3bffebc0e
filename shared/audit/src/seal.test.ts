import { canonicalJson } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { type AuditEntry, GENESIS_HASH, hashRecord } from './record.ts';
import { sealRecord } from './seal.ts';

const position = { seq: 7, prevHash: GENESIS_HASH, time: new Date('2026-01-01T00:00:00.000Z') };

describe('sealRecord', () => {
  it('stores the canonical JSON of the record, whose hash covers every other field', () => {
    const detail = { b: [1, { y: true, x: null, z: undefined }], a: 2 ** 52, at: new Date(0), é: 'ü', Z: 1 };
    const entry = {
      type: 'finished',
      tenant: 'acme',
      execution_id: 'ex_1',
      usage: { wall_ms: -0.5e-7, cpu_ms: 1.5, memory_peak_bytes: null },
      reason: 'é "q" \u2028 😀',
      exit_code: undefined,
      detail,
    } as unknown as AuditEntry;
    const { record, line } = sealRecord(entry, position);
    expect(line.toString('utf8')).toBe(`${canonicalJson(record)}\n`);
    expect(record.hash).toBe(hashRecord(record));
    expect(record).toEqual({
      ...(JSON.parse(canonicalJson(entry)) as object),
      seq: 7,
      time: '2026-01-01T00:00:00.000Z',
      prev_hash: GENESIS_HASH,
      hash: record.hash,
    });
    expect('exit_code' in record).toBe(false);
    // Detached: what the caller changes afterwards is not in the record.
    detail.a = 1;
    expect((record.detail as { a: number }).a).toBe(2 ** 52);
  });

  it('gives the hash the chain has always had for an entry', () => {
    // The fields of record.test.ts's record with the fixed hash, given in another order: order never counts.
    const detail = { a: 2 ** 52, b: [1, { x: null, y: true }] };
    const usage = { memory_peak_bytes: null, wall_ms: -0.5e-7, cpu_ms: 1.5 };
    const entry = { detail, usage, reason: 'é "q" \u2028 😀', tenant: 'acme', execution_id: 'ex_1' };
    const { record } = sealRecord({ ...entry, type: 'finished' } as AuditEntry, position);
    expect(record.hash).toBe('fa321ef3ace35636d5a7fd19a44599a1ce2f3404488d2386e84989750d1f40a0');
  });

  it('refuses a value canonical JSON cannot carry, and an unknown field', () => {
    const base = { type: 'finished', execution_id: 'ex_1', tenant: 'acme' } as AuditEntry;
    expect(() => sealRecord({ ...base, detail: { n: Number.NaN } }, position)).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => sealRecord({ ...base, detail: cyclic }, position)).toThrow(/cycle/);
    expect(() => sealRecord({ ...base, token: 'x' } as AuditEntry, position)).toThrow(
      /unknown field 'token'/,
    );
  });
});
