// The output cap: stdout and stderr share one byte budget; nothing past it is kept or passed on, and a UTF-8
// character is never cut in half.

import { describe, expect, it } from 'vitest';
import { OutputBudget } from './output-budget.ts';

describe('OutputBudget', () => {
  it('passes output through, decoding characters split across chunks', () => {
    const seen: string[] = [];
    const budget = new OutputBudget(100, (stream, chunk) => seen.push(`${stream}:${chunk}`));
    const bytes = Buffer.from('héllo');
    expect(budget.add('stdout', bytes.subarray(0, 2))).toBe(true);
    expect(budget.add('stdout', bytes.subarray(2))).toBe(true);
    expect(budget.add('stderr', Buffer.from('warn'))).toBe(true);
    expect(budget.finish()).toEqual({ stdout: 'héllo', stderr: 'warn' });
    expect(seen.join('|')).toBe('stdout:h|stdout:éllo|stderr:warn');
    expect(budget.truncated).toEqual({ stdout: false, stderr: false });
  });

  it('counts both streams against one cap and cuts on a character boundary', () => {
    const seen: string[] = [];
    const budget = new OutputBudget(10, (_stream, chunk) => seen.push(chunk));
    expect(budget.add('stderr', Buffer.from('1234'))).toBe(true);
    expect(budget.add('stdout', Buffer.from('ab€€'))).toBe(false); // 2 + 3 + 3 bytes: the second € does not fit
    expect(budget.add('stdout', Buffer.from('more'))).toBe(false);
    expect(budget.finish()).toEqual({ stdout: 'ab€', stderr: '1234' });
    expect(budget.truncated).toEqual({ stdout: true, stderr: false });
    expect(seen.join('')).toBe('1234ab€');
  });

  it('accepts output of exactly the cap', () => {
    const budget = new OutputBudget(4, undefined);
    expect(budget.add('stdout', Buffer.from('abcd'))).toBe(true);
    expect(budget.exceeded).toBe(false);
  });
});
