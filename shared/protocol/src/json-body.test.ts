import { describe, expect, it } from 'vitest';
import { AirlockError } from './errors.ts';
import { findDuplicateKey, parseJsonBody } from './json-body.ts';

describe('findDuplicateKey', () => {
  it.each([
    ['{"a":1,"a":2}', { key: 'a', path: 'a' }],
    ['{"a":1,"\\u0061":2}', { key: 'a', path: 'a' }],
    ['{"x":{"y":[1,{"z":1,"q":2,"z":3}]}}', { key: 'z', path: 'x.y[1].z' }],
    ['[{"a":1},{"b":1,"b":2}]', { key: 'b', path: '[1].b' }],
    ['{"a":{"a":{"a":1}},"b":1,"b":2}', { key: 'b', path: 'b' }],
    ['{"":1,"":2}', { key: '', path: '' }],
    ['{"a.b":1,"a.b":2}', { key: 'a.b', path: 'a.b' }],
    ['{"s":"\\"a\\":1,\\"a\\":2","a":1}', undefined],
    ['{"a":{"x":1},"b":{"x":2}}', undefined],
    ['[{"x":1},{"x":2}]', undefined],
    ['{"a":"a","b":"a"}', undefined],
    ['"just a string"', undefined],
  ])('%s → %j', (text, expected) => {
    expect(findDuplicateKey(text)).toEqual(expected);
  });
});

describe('parseJsonBody', () => {
  it('returns the value of a body without repeated keys', () => {
    expect(parseJsonBody('{"a":[1,{"b":2}],"c":null}')).toEqual({ a: [1, { b: 2 }], c: null });
  });

  it('refuses what JSON.parse refuses, with invalid_json', () => {
    for (const text of ['', '{"a":', "{'a':1}", '{"a":1,}', '{"a":1} // c', 'NaN']) {
      expect(() => parseJsonBody(text)).toThrow(expect.objectContaining({ code: 'invalid_json' }));
    }
  });

  it('refuses a repeated key naming it and its path, and cuts a long key', () => {
    const error = (() => {
      try {
        parseJsonBody('{"files":[{"path":"a","path":"b"}]}');
      } catch (e) {
        return e as AirlockError;
      }
    })();
    expect(error).toBeInstanceOf(AirlockError);
    expect(error?.toBody()).toEqual({
      error: {
        code: 'invalid_json',
        message: 'duplicate key "path" at files[0].path: a JSON object must not repeat a key',
        field: 'files[0].path',
      },
    });
    const long = 'k'.repeat(100);
    expect(() => parseJsonBody(`{"${long}":1,"${long}":2}`)).toThrow(`duplicate key "${'k'.repeat(64)}…"`);
  });
});
