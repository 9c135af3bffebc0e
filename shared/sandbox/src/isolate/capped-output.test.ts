// The host-side output cap: bytes are counted as UTF-8, the first bytes are kept, characters are never split,
// and what is kept reaches the parent in batches in the order it was written.

import { describe, expect, it } from 'vitest';
import { BATCH_BYTES, CappedOutput, utf8Prefix } from './capped-output.ts';
import type { OutputChunk } from './host-messages.ts';

describe('utf8Prefix', () => {
  it('keeps whole characters only', () => {
    expect(utf8Prefix('abc', 10)).toBe('abc');
    expect(utf8Prefix('aé', 2)).toBe('a');
    expect(utf8Prefix('a€', 3)).toBe('a');
    expect(utf8Prefix('😀x', 4)).toBe('😀');
    expect(utf8Prefix('😀x', 3)).toBe('');
    expect(utf8Prefix('abc', 0)).toBe('');
  });
});

describe('CappedOutput', () => {
  it('keeps the first bytes across both streams, flags the cut stream, and refuses more', () => {
    const sent: OutputChunk[] = [];
    const output = new CappedOutput(11, (chunks) => sent.push(...chunks));
    expect(output.write('stderr', 'err\n')).toBe(true);
    expect(output.write('stdout', 'out\n')).toBe(true);
    expect(output.write('stdout', '€€')).toBe(false);
    expect(output.write('stderr', 'late')).toBe(false);
    output.close();
    expect(sent).toEqual([
      { stream: 'stderr', text: 'err\n' },
      { stream: 'stdout', text: 'out\n€' },
    ]);
    expect(output.truncated).toEqual({ stdout: true, stderr: false });
  });

  it('treats output exactly at the cap as complete', () => {
    const sent: OutputChunk[] = [];
    const output = new CappedOutput(4, (chunks) => sent.push(...chunks));
    expect(output.write('stdout', 'abcd')).toBe(true);
    expect(output.write('stdout', '')).toBe(true);
    output.close();
    expect(output.overflowed).toBe(false);
    expect(sent).toEqual([{ stream: 'stdout', text: 'abcd' }]);
  });

  it('sends a batch as soon as it reaches the batch size, and the rest after a short delay', async () => {
    const batches: OutputChunk[][] = [];
    const output = new CappedOutput(1_000_000, (chunks) => batches.push(chunks));
    output.write('stdout', 'x'.repeat(BATCH_BYTES));
    expect(batches).toHaveLength(1);
    output.write('stdout', 'tail');
    expect(batches).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(batches).toEqual([
      [{ stream: 'stdout', text: 'x'.repeat(BATCH_BYTES) }],
      [{ stream: 'stdout', text: 'tail' }],
    ]);
    output.close();
  });
});

describe('CappedOutput.drain', () => {
  it('hands back what is pending instead of sending it, and takes nothing more', async () => {
    const batches: OutputChunk[][] = [];
    const output = new CappedOutput(100, (chunks) => batches.push(chunks));
    output.write('stdout', 'a');
    output.write('stderr', 'b');
    expect(output.drain()).toEqual([
      { stream: 'stdout', text: 'a' },
      { stream: 'stderr', text: 'b' },
    ]);
    expect(output.write('stdout', 'late')).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(batches).toEqual([]);
  });
});
