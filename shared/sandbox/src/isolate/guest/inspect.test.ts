// The guest's console formatting must read like Node's: this runs the guest inspect/format parts in plain Node
// and compares it with util.inspect and util.format on the same values.

import { readFileSync } from 'node:fs';
import { format as nodeFormat, inspect as nodeInspect } from 'node:util';
import { runInThisContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

interface GuestFormatting {
  inspect(value: unknown, options?: { depth?: number }): string;
  format(args: unknown[]): string;
}

function loadGuestFormatting(): GuestFormatting {
  const runtime = {};
  for (const part of ['inspect-layout.js', 'inspect.js', 'format.js']) {
    const source = readFileSync(new URL(`./${part}`, import.meta.url), 'utf8');
    const install = runInThisContext(source) as (runtime: object) => void;
    install(runtime);
  }
  return runtime as GuestFormatting;
}

const guest = loadGuestFormatting();

class Point {
  x = 1;
  y = 2;
}

function sampleValues(): Array<[string, unknown]> {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;
  const sparse = [1, 2, 3];
  delete sparse[1];
  const nullProto = Object.assign(Object.create(null), { a: 1 });
  return [
    ['strings in objects', { a: 'x', b: "it's", c: 'line\nbreak' }],
    ['numbers', [0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 10n]],
    ['nested past depth 2', { a: { b: { c: { d: 1 } } } }],
    ['array of 7 numbers', [1, 2, 3, 4, 5, 6, 7]],
    ['array of 30 numbers', Array.from({ length: 30 }, (_, i) => i * 37)],
    ['array of 120 items', Array.from({ length: 120 }, (_, i) => i)],
    ['array of words', ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']],
    ['long object', { first: 'a'.repeat(30), second: 'b'.repeat(30), third: 'c'.repeat(30) }],
    [
      'map and set',
      [
        new Map<unknown, unknown>([
          ['k', 1],
          [{ o: 1 }, [2]],
        ]),
        new Set([1, 'two']),
      ],
    ],
    ['class instance', new Point()],
    ['null prototype', nullProto],
    [
      'getters and setters',
      {
        get g() {
          return 1;
        },
        set s(_v: number) {},
        get gs() {
          return 1;
        },
        set gs(_v: number) {},
      },
    ],
    ['symbols', { [Symbol('k')]: Symbol('v'), 'needs-quotes': true }],
    ['circular', circular],
    [
      'functions',
      [function named() {}, () => {}, class A {}, class B extends Point {}, async function af() {}],
    ],
    ['dates and regexps', [new Date(0), /a+b/gi]],
    ['boxed primitives', [Object(1), Object('s'), Object(true)]],
    ['sparse array', sparse],
    ['typed array', new Uint8Array([1, 2, 3])],
    ['empty containers', [{}, [], new Map(), new Set()]],
    ['array with a property', Object.assign([1, 2], { extra: true })],
  ];
}

describe('guest inspect', () => {
  it.each(sampleValues())('matches util.inspect for %s', (_name, value) => {
    expect(guest.inspect(value)).toBe(nodeInspect(value));
  });

  it('formats an Error as its stack, like Node', () => {
    const error = new RangeError('out of range');
    expect(guest.inspect(error)).toBe(nodeInspect(error));
  });
});

describe('guest format', () => {
  const cases: unknown[][] = [
    ['plain %s and %d', 'text', 42],
    ['%i|%f|%j|%%|%c.', '42.9', '1.5', { a: [1] }, 'color: red'],
    ['no specifiers', { a: 1 }, [2], 'three'],
    ['missing %s %s', 'one'],
    [{ first: 'object' }, 'then string'],
    ['%s of an object', { a: { b: { c: 1 } } }],
    ['%d of a bigint and %s of a symbol', 5n, Symbol('s')],
    ['100%'],
    [],
  ];
  it.each(
    cases.map((args) => [
      JSON.stringify(args, (_k, v) => (typeof v === 'bigint' || typeof v === 'symbol' ? String(v) : v)),
      args,
    ]),
  )('matches util.format for %s', (_label, args) => {
    expect(guest.format(args as unknown[])).toBe(nodeFormat(...(args as unknown[])));
  });
});
