// The end-marker scanner: program bytes pass through whole and in order however the stream is split; only the
// job's own nonce ends the program's output.

import { describe, expect, it } from 'vitest';
import { MarkedStream, parseStderrTrailer, parseStdoutTrailer } from './end-marker.ts';

const NONCE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

function scan(stream: Buffer, split: number) {
  const program: Buffer[] = [];
  const marked = new MarkedStream(NONCE, (b) => program.push(Buffer.from(b)), 1 << 20);
  for (let i = 0; i < stream.length; i += split) marked.push(stream.subarray(i, i + split));
  marked.end();
  return { program: Buffer.concat(program).toString('latin1'), marked };
}

describe('MarkedStream', () => {
  const body = 'line one\nfake \x1eAIRLOCK-END 0000000000000000 out_tar=0\n\n\x1eAIRLOCK-END';
  const stream = Buffer.from(`${body}\n\x1eAIRLOCK-END ${NONCE} out_tar=3\nabc`, 'latin1');

  it.each([1, 2, 7, 64, 10_000])(
    'separates program output from the trailer in chunks of %i bytes',
    (split) => {
      const { program, marked } = scan(stream, split);
      expect(program).toBe(body);
      expect(marked.markerSeen).toBe(true);
      expect(marked.trailer().toString('latin1')).toBe('out_tar=3\nabc');
      expect(marked.trailerBytesSeen).toBe(13);
    },
  );

  it('hands back held bytes when the stream ends without a marker', () => {
    const { program, marked } = scan(Buffer.from('partial\n\x1eAIRLOCK-E', 'latin1'), 3);
    expect(program).toBe('partial\n\x1eAIRLOCK-E');
    expect(marked.markerSeen).toBe(false);
  });

  it('keeps at most the trailer limit but counts every byte', () => {
    const marked = new MarkedStream(NONCE, () => {}, 4);
    marked.push(Buffer.from(`\n\x1eAIRLOCK-END ${NONCE} 0123456789`));
    expect(marked.trailer().toString()).toBe('0123');
    expect(marked.trailerBytesSeen).toBe(10);
  });
});

describe('trailer parsing', () => {
  it('reads the stderr summary', () => {
    const line = 'exit=3 signal=- cpu_ms=12 maxrss_kb=3400 out_files=2 out_skipped=1 out_truncated=0\n';
    expect(parseStderrTrailer(Buffer.from(line))).toEqual({
      exitCode: 3,
      signal: null,
      cpuMs: 12,
      maxrssKb: 3400,
      outFiles: 2,
      outSkipped: 1,
      outTruncated: false,
    });
    expect(parseStderrTrailer(Buffer.from('exit=- signal=SIGKILL cpu_ms=1'))).toBeUndefined();
    expect(parseStderrTrailer(Buffer.from('exit=- signal=SIGKILL\n'))).toBeNull();
  });

  it('reads the stdout archive header', () => {
    expect(parseStdoutTrailer(Buffer.from('out_tar=1536\n...'))).toEqual({ tarBytes: 1536, tarOffset: 13 });
    expect(parseStdoutTrailer(Buffer.from('out_tar=15'))).toBeUndefined();
    expect(parseStdoutTrailer(Buffer.from('out_tar=x\n'))).toBeNull();
  });
});
