import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SecretScrubber } from './scrubber.ts';

const SECRET = 'canary-Sk3+/q=v4lue ü';

async function scrubStream(scrubber: SecretScrubber, chunks: Buffer[]): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(scrubber.stream())) out.push(c as Buffer);
  return Buffer.concat(out).toString('utf8');
}

describe('SecretScrubber', () => {
  const scrubber = new SecretScrubber([SECRET]);

  it('removes raw, URL-encoded, JSON-escaped and base64 forms at every alignment', () => {
    const b64 = (prefix: string) => Buffer.from(`${prefix}${SECRET}`).toString('base64');
    const text = [
      SECRET,
      encodeURIComponent(SECRET),
      JSON.stringify({ a: SECRET }),
      b64(''),
      b64('x'),
      b64('xy'),
      b64('Bearer '),
      Buffer.from(SECRET).toString('base64url'),
    ].join('\n');
    const scrubbed = Buffer.from(
      scrubber.scrubText(Buffer.from(text).toString('latin1')),
      'latin1',
    ).toString();
    expect(scrubbed).not.toContain('Sk3');
    expect(scrubbed).not.toContain(Buffer.from(SECRET).toString('base64').slice(4, 20));
    expect(scrubbed.length).toBeGreaterThan(0);
    for (const prefix of ['', 'x', 'xy', 'Bearer ']) {
      const decoded = Buffer.from(
        scrubbed.split('\n')[prefix === '' ? 3 : prefix === 'x' ? 4 : prefix === 'xy' ? 5 : 6] ?? '',
        'base64',
      ).toString('latin1');
      expect(decoded).not.toContain('Sk3+/q=v4lue');
    }
  });

  it('keeps lengths, so Content-Length stays right', () => {
    const text = `a${SECRET}b`;
    const latin1 = Buffer.from(text).toString('latin1');
    expect(scrubber.scrubText(latin1).length).toBe(latin1.length);
  });

  it('finds a secret split across chunks, one byte at a time', async () => {
    const bytes = Buffer.from(`before ${SECRET} after`);
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    const out = await scrubStream(scrubber, chunks);
    expect(out).not.toContain('canary');
    expect(out.startsWith('before ')).toBe(true);
    expect(out.endsWith(' after')).toBe(true);
  });
});
