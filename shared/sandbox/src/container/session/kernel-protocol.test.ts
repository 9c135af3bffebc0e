// The host's side of the python session protocol on its own: frames are believed only with the session key's MAC,
// in their exact shape and within their bound, however the stream is split; a result is accepted only for the cell
// the host sent and only when every output byte, counted here, fits the cell's output_bytes.

import { describe, expect, it } from 'vitest';
import type { CellJob } from '../../sandbox.ts';
import { acceptResult, EXCEPTION_FIELD_BYTES } from './cell-result.ts';
import {
  encodeCell,
  encodeKernelFrame,
  type KernelFrame,
  KernelFrameReader,
  type KernelResult,
  keyLine,
  newSessionKey,
} from './kernel-protocol.ts';

const key = newSessionKey();
const b64 = (text: string) => Buffer.from(text).toString('base64');

const cell: CellJob = {
  executionId: 'ex_cell',
  code: 'print(1)',
  files: [{ path: 'a.txt', content: Buffer.from('file') }],
  stdin: '',
  limits: { wall_time_ms: 1000, cpu_time_ms: 1000, memory_mb: 128, output_bytes: 100 },
};

function result(fields: Partial<KernelResult> = {}): KernelResult {
  return {
    type: 'result',
    id: 'ex_cell',
    status: 'ok',
    exit_code: 0,
    stdout: b64('out\n'),
    stderr: '',
    truncated: { stdout: false, stderr: false },
    display: [],
    value: { 'text/plain': '42' },
    exception: null,
    out: false,
    ...fields,
  };
}

function read(stream: Buffer, split = stream.length, bound = 1 << 20): KernelFrame[] {
  const frames: KernelFrame[] = [];
  const reader = new KernelFrameReader(key, bound, (frame) => frames.push(frame));
  for (let i = 0; i < stream.length; i += split) reader.push(stream.subarray(i, i + split));
  return frames;
}

describe('KernelFrameReader', () => {
  const ready = { type: 'ready', protocol: 3, python: '3.11.2' };
  const stream = Buffer.concat([encodeKernelFrame(key, ready), encodeKernelFrame(key, result())]);

  it.each([1, 3, 64, 100_000])('passes on verified frames split into chunks of %i bytes', (split) => {
    expect(read(stream, split)).toEqual([ready, result()]);
  });

  it('refuses a frame under another key, a changed body, a bad header, a bound overrun, a wrong shape', () => {
    const body = JSON.stringify(ready);
    const other = encodeKernelFrame(newSessionKey(), ready);
    const changed = Buffer.from(encodeKernelFrame(key, ready).toString('latin1').replace('3.11.2', '3.11.3'));
    const cases: [Buffer, string][] = [
      [other, 'a frame that is not the kernel’s (its MAC does not verify)'],
      [changed, 'a frame that is not the kernel’s (its MAC does not verify)'],
      [Buffer.from(`${body.length}\n${body}`), 'a malformed frame header'],
      [Buffer.from('x'.repeat(81)), 'a malformed frame header'],
      [encodeKernelFrame(key, { ...ready, protocol: 1 }), 'a frame of the wrong shape'],
      [encodeKernelFrame(key, { ...result(), cpu_ms: 0 }), 'a frame of the wrong shape'],
      [encodeKernelFrame(key, { ...result(), stdout: 'not base64!' }), 'a frame of the wrong shape'],
    ];
    for (const [bytes, message] of cases) expect(() => read(bytes), message).toThrow(message);
    expect(() => read(encodeKernelFrame(key, result()), undefined, 100)).toThrow(
      /^a frame of \d+ bytes \(at most 100 allowed\)$/,
    );
  });

  it('passes nothing on after the first broken frame', () => {
    const frames: KernelFrame[] = [];
    const reader = new KernelFrameReader(key, 1 << 20, (frame) => frames.push(frame));
    expect(() => reader.push(Buffer.from('garbage\n'))).toThrow('a malformed frame header');
    reader.push(encodeKernelFrame(key, ready));
    expect(frames).toEqual([]);
  });

  it('keys frames by direction: a host frame sent back is not the kernel’s', () => {
    const line = keyLine(key).toString('latin1');
    expect(line).toBe(`${key.toString('hex')}\n`);
    expect(() => read(encodeCell(key, cell, 1))).toThrow('its MAC does not verify');
  });
});

describe('acceptResult', () => {
  it('accepts the cell’s result with every byte counted', () => {
    const display = [{ 'text/html': '<b>é</b>' }];
    const fits = result({ stdout: b64('o'.repeat(50)), stderr: b64('e'.repeat(20)), display });
    // 50 + 20 + (9 + 9) display + (10 + 2) value = 100
    expect(acceptResult(fits, cell)).toEqual({
      status: 'ok',
      exit_code: 0,
      stdout: 'o'.repeat(50),
      stderr: 'e'.repeat(20),
      truncated: { stdout: false, stderr: false },
      display,
      value: { 'text/plain': '42' },
      exception: null,
      outFolder: false,
    });
    expect(acceptResult({ ...fits, out: true }, cell).outFolder).toBe(true);
  });

  it('refuses a result for another cell, over the output cap, or with an oversized exception', () => {
    const over = result({
      stdout: b64('o'.repeat(51)),
      stderr: b64('e'.repeat(20)),
      display: [{ 'text/html': '<b>é</b>' }],
    });
    expect(() => acceptResult(over, cell)).toThrow("a result of 101 output bytes (the cell's limit is 100)");
    expect(() => acceptResult(result({ id: 'ex_other' }), cell)).toThrow('a result that names another cell');
    const flood = result({ stdout: b64('F'.repeat(100_000)), truncated: { stdout: false, stderr: false } });
    expect(() => acceptResult(flood, cell)).toThrow(
      "a result of 100012 output bytes (the cell's limit is 100)",
    );
    const exception = { name: 'E', message: 'm'.repeat(EXCEPTION_FIELD_BYTES + 1), traceback: '' };
    expect(() => acceptResult(result({ exception }), cell)).toThrow(
      'a result whose exception is over its bound',
    );
  });

  it('counts raw bytes, not decoded text', () => {
    const invalid = result({ stdout: Buffer.from([0xff, 0xfe]).toString('base64'), value: null });
    expect(acceptResult(invalid, { ...cell, limits: { ...cell.limits, output_bytes: 2 } }).stdout).toBe(
      '\ufffd\ufffd',
    );
  });
});
