import { createHash } from 'node:crypto';
import { canonicalJson } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { requestHash } from './request-hash.ts';

describe('requestHash', () => {
  it('is the sha256 of canonical JSON with sorted keys at every depth', () => {
    const request = { b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } };
    expect(canonicalJson(request)).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
    expect(requestHash(request)).toBe(createHash('sha256').update(canonicalJson(request)).digest('hex'));
    expect(requestHash(request)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on key order, but does on values and array order', () => {
    const one = requestHash({ language: 'javascript', code: 'print(1)', args: ['a', 'b'] });
    expect(requestHash({ args: ['a', 'b'], code: 'print(1)', language: 'javascript' })).toBe(one);
    expect(requestHash({ language: 'javascript', code: 'print(2)', args: ['a', 'b'] })).not.toBe(one);
    expect(requestHash({ language: 'javascript', code: 'print(1)', args: ['b', 'a'] })).not.toBe(one);
  });

  it('treats an undefined field like a missing one, as JSON does', () => {
    expect(requestHash({ code: 'x', stdin: undefined })).toBe(requestHash({ code: 'x' }));
  });

  it('keeps strings exact, including unicode and quotes', () => {
    expect(canonicalJson({ s: 'é "q" \n' })).toBe(JSON.stringify({ s: 'é "q" \n' }));
    expect(requestHash({ s: 'é' })).not.toBe(requestHash({ s: 'e\u0301' }));
  });

  it('refuses a circular structure', () => {
    const looped: Record<string, unknown> = { a: 1 };
    looped.self = looped;
    expect(() => requestHash(looped)).toThrow(/circular/);
  });

  it('refuses a number JSON cannot carry, rather than hashing NaN as null', () => {
    expect(() => requestHash({ code: 'x', n: Number.NaN })).toThrow(/not a finite number/);
    expect(() => requestHash({ code: 'x', n: Number.NEGATIVE_INFINITY })).toThrow(/not a finite number/);
  });

  it('gives the hash an Idempotency-Key has always been checked against', () => {
    const request = {
      language: 'javascript',
      code: 'console.log(1)',
      args: ['a'],
      limits: { wall_time_ms: 1000 },
      metadata: { z: '1', a: '2' },
      stdin: undefined,
    };
    expect(requestHash(request)).toBe('afe7376ca9efeee4aedbcf34d6e76b2b104f07fbbf31dfc00b85094c2add22ec');
  });
});
