// A body that is not JSON is refused saying where it broke (line and column), and an empty one is called empty;
// neither message quotes the body.

import { describe, expect, it } from 'vitest';
import { AirlockError } from './errors.ts';
import { parseJsonBody } from './json-body.ts';

function refusal(text: string): AirlockError {
  try {
    parseJsonBody(text);
  } catch (error) {
    if (error instanceof AirlockError) return error;
  }
  throw new Error('expected an AirlockError');
}

describe('parseJsonBody syntax errors', () => {
  it('calls an empty or blank body empty', () => {
    for (const text of ['', '  \n']) {
      expect(refusal(text)).toMatchObject({
        code: 'invalid_json',
        message: 'the request body is empty: send a JSON object',
      });
    }
  });

  it('says at which line and column the JSON broke', () => {
    expect(refusal('{"language": "python",\n "code": }').message).toBe(
      'the request body is not valid JSON: at line 2 column 10',
    );
    expect(refusal('{"a":1,}').message).toBe(
      'the request body is not valid JSON: Expected double-quoted property name at line 1 column 8',
    );
    expect(refusal('{"a":1}\n x').message).toBe(
      'the request body is not valid JSON: Unexpected non-whitespace character after JSON at line 2 column 2',
    );
    expect(refusal('secret-token-value').message).toBe(
      'the request body is not valid JSON: at line 1 column 1',
    );
    expect(refusal('{"code": "abc').message).toBe(
      'the request body is not valid JSON: Unterminated string at line 1 column 14',
    );
    expect(refusal('[1,2').message).toMatch(/at line 1 column 5$/);
  });
});
