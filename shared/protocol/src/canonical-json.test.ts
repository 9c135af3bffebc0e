import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.ts';

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

  it('refuses NaN and ±Infinity wherever they stand, where JSON.stringify would write null', () => {
    // Written as null, {n: NaN} and {n: null} would hash alike: one would pass for the other.
    expect(JSON.stringify({ n: Number.NaN })).toBe('{"n":null}');
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => canonicalJson(n)).toThrow(`canonicalJson: ${n} at '' is not a finite number`);
      expect(() => canonicalJson({ a: { b: n } })).toThrow(
        `canonicalJson: ${n} at 'b' is not a finite number`,
      );
      expect(() => canonicalJson([1, n])).toThrow(`canonicalJson: ${n} at '1' is not a finite number`);
    }
    expect(canonicalJson({ n: null })).toBe('{"n":null}');
  });

  it('refuses functions and symbols, also as object members (JSON.stringify would drop them silently)', () => {
    expect(() => canonicalJson({ f: () => 1 })).toThrow("canonicalJson: a function at 'f' cannot be encoded");
    expect(() => canonicalJson({ s: Symbol('s') })).toThrow(
      "canonicalJson: a symbol at 's' cannot be encoded",
    );
  });

  it('writes an undefined array item as null and honours toJSON, as JSON.stringify does', () => {
    expect(canonicalJson([1, undefined, 2])).toBe('[1,null,2]');
    expect(canonicalJson({ at: new Date(Date.UTC(2026, 0, 1)) })).toBe('{"at":"2026-01-01T00:00:00.000Z"}');
  });

  it('keeps strings exact, including unicode and quotes', () => {
    expect(canonicalJson({ s: 'é "q" \n' })).toBe(JSON.stringify({ s: 'é "q" \n' }));
  });

  it('accepts the same object twice in different branches', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('round-trips through JSON.parse to the same text', () => {
    const text = canonicalJson({ s: 'line\nbreak "quoted" \u2028 é', n: -0.5e-7, big: 2 ** 52, e: {} });
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });
});
