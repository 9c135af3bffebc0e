// The session fields a session host may add to a cell's result message (value, exception, session_end): kept
// when well-formed, copied field by field, and the whole message dropped when one is malformed.

import { describe, expect, it } from 'vitest';
import { parseHostMessage } from './host-messages.ts';
import { resultMessage } from './test-messages.ts';

const RESULT = resultMessage({
  id: 'ex_1#1',
  usage: { cpu_ms: 1, wall_ms: 2, memory_peak_bytes: null },
  chunks: [],
});

describe('session result messages', () => {
  it('keeps well-formed session fields and nothing else', () => {
    const parsed = parseHostMessage({
      ...RESULT,
      value: { 'text/plain': '42', extra: 'dropped' },
      exception: { name: 'TypeError', message: 'bad', traceback: 'TypeError: bad', more: 1 },
      session_end: 'cell_timeout',
    });
    expect(parsed).toEqual({
      ...RESULT,
      value: { 'text/plain': '42' },
      exception: { name: 'TypeError', message: 'bad', traceback: 'TypeError: bad' },
      session_end: 'cell_timeout',
    });
    expect(parseHostMessage({ ...RESULT, value: null, exception: null })).toEqual({
      ...RESULT,
      value: null,
      exception: null,
    });
    expect(parseHostMessage(RESULT)).toEqual(RESULT);
  });

  it('drops a result whose session fields are malformed', () => {
    for (const bad of [
      { value: { 'text/plain': 42 } },
      { value: 'text' },
      { exception: { name: 'E', message: 'm' } },
      { exception: 'boom' },
      { session_end: 'deleted' },
      { session_end: null },
    ]) {
      expect(parseHostMessage({ ...RESULT, ...bad }), JSON.stringify(bad)).toBeNull();
    }
  });
});
