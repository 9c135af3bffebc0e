// Docker's multiplexed attach stream, split at every possible place.

import { describe, expect, it } from 'vitest';
import { AttachFrameParser } from './attach-frames.ts';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('AttachFrameParser', () => {
  const wire = Buffer.concat([
    frame(1, 'out one '),
    frame(2, 'err'),
    frame(0, 'ignored'),
    frame(1, 'out two'),
  ]);

  it.each([1, 3, 8, 9, wire.length])('demultiplexes frames delivered in %i-byte pieces', (size) => {
    const got = { stdout: '', stderr: '' };
    const parser = new AttachFrameParser((stream, payload) => {
      got[stream] += payload.toString();
    });
    for (let i = 0; i < wire.length; i += size) parser.push(wire.subarray(i, i + size));
    expect(got).toEqual({ stdout: 'out one out two', stderr: 'err' });
  });
});
