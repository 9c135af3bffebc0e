// The IPC checks: well-formed messages pass through unchanged, anything else is dropped.

import { describe, expect, it } from 'vitest';
import { parseHostMessage, parseParentMessage } from './host-messages.ts';
import { resultMessage } from './test-messages.ts';

const limits = { wall_time_ms: 1000, cpu_time_ms: 1000, memory_mb: 64, output_bytes: 1024 };
const job = {
  id: 'exe_1#1',
  language: 'javascript',
  code: 'console.log(1)',
  files: [{ path: 'a.bin', content: new Uint8Array([1]) }],
  stdin: '',
  args: ['x'],
  env: { K: 'v' },
  limits,
};
const result = resultMessage({
  id: 'exe_1#1',
  usage: { cpu_ms: 1.5, wall_ms: 3, memory_peak_bytes: null },
  chunks: [{ stream: 'stdout', text: 'last\n' }],
});

describe('parseParentMessage', () => {
  it('accepts a run and a cancel', () => {
    expect(parseParentMessage({ type: 'run', job })).toEqual({ type: 'run', job });
    expect(parseParentMessage({ type: 'cancel', id: 'x' })).toEqual({ type: 'cancel', id: 'x' });
    const egress = { ...job, egressProxy: 'http://exe_1:secret@192.168.0.1:3128' };
    expect(parseParentMessage({ type: 'run', job: egress })).toEqual({ type: 'run', job: egress });
  });

  it.each([
    ['no type', { job }],
    ['an unknown language', { type: 'run', job: { ...job, language: 'python' } }],
    ['an egress proxy that is not a string', { type: 'run', job: { ...job, egressProxy: 42 } }],
    [
      'file content that is not bytes',
      { type: 'run', job: { ...job, files: [{ path: 'a', content: 'text' }] } },
    ],
    ['a non-string env value', { type: 'run', job: { ...job, env: { K: 1 } } }],
    ['a zero wall time', { type: 'run', job: { ...job, limits: { ...limits, wall_time_ms: 0 } } }],
    ['a string', 'run'],
    ['null', null],
  ])('drops a message with %s', (_name, raw) => {
    expect(parseParentMessage(raw)).toBeNull();
  });
});

describe('parseHostMessage', () => {
  it('accepts ready, output and result, and copies only known result fields', () => {
    expect(parseHostMessage({ type: 'ready', v8: '13.6' })).toEqual({ type: 'ready', v8: '13.6' });
    const output = { type: 'output', id: 'x', chunks: [{ stream: 'stderr', text: 'e' }] };
    expect(parseHostMessage(output)).toEqual(output);
    expect(parseHostMessage({ ...result, extra: 'dropped' })).toEqual(result);
  });

  it.each([
    ['an unknown outcome', { ...result, outcome: 'exploded' }],
    ['a fractional exit code', { ...result, exit_code: 1.5 }],
    ['a negative wall time', { ...result, usage: { ...result.usage, wall_ms: -1 } }],
    ['an unknown stream', { type: 'output', id: 'x', chunks: [{ stream: 'stdin', text: 'e' }] }],
    ['non-string output', { type: 'output', id: 'x', chunks: [{ stream: 'stdout', text: 1 }] }],
    ['a result without its last output', { ...result, chunks: undefined }],
    ['a result with bad last output', { ...result, chunks: [{ stream: 'stdout' }] }],
  ])('drops a message with %s', (_name, raw) => {
    expect(parseHostMessage(raw)).toBeNull();
  });
});
