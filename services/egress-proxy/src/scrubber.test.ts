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

describe('SecretScrubber, forms of a value with a non-ASCII character', () => {
  const scrubber = new SecretScrubber([SECRET]);
  const scrub = (text: string, encoding: BufferEncoding = 'utf8') =>
    scrubber.scrubText(Buffer.from(text, encoding).toString('latin1'));

  it('finds ü as UTF-8, as its one latin1 byte (what Node puts in a header), as \\u00fc, %C3%BC and %FC', () => {
    expect(scrub(`<${SECRET}>`)).toBe(`<${'*'.repeat(Buffer.byteLength(SECRET))}>`);
    expect(scrub(`<${SECRET}>`, 'latin1')).toBe(`<${'*'.repeat(SECRET.length)}>`);
    const escaped = JSON.stringify(SECRET).slice(1, -1).replace('ü', '\\u00FC');
    expect(scrub(escaped)).toBe('*'.repeat(escaped.length));
    expect(scrub(encodeURIComponent(SECRET))).toBe('*'.repeat(encodeURIComponent(SECRET).length));
    const latin1Percent = encodeURIComponent(SECRET).replace('%C3%BC', '%FC');
    expect(scrub(latin1Percent)).toBe('*'.repeat(latin1Percent.length));
  });
});

describe('SecretScrubber, streams', () => {
  const scrubber = new SecretScrubber(['canary-Zq+/=']);

  /** Writes each chunk, then reports what had come out after it (without ending the stream). */
  async function outputs(chunks: string[]): Promise<string[]> {
    const stream = scrubber.stream();
    let out = '';
    stream.on('data', (c: Buffer) => {
      out += c.toString('latin1');
    });
    const seen: string[] = [];
    for (const chunk of chunks) {
      stream.write(Buffer.from(chunk, 'latin1'));
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(out);
    }
    stream.end();
    await new Promise((resolve) => stream.on('end', resolve));
    seen.push(out);
    return seen;
  }

  it('holds back only what could still begin a form, and passes the rest on at once', async () => {
    expect(
      await outputs(['{"event":1}\n\n', 'data: can', 'opy\n', 'data: \\u00', '63anary-Zq+\\/=!']),
    ).toEqual([
      '{"event":1}\n\n',
      '{"event":1}\n\ndata: ',
      '{"event":1}\n\ndata: canopy\n',
      '{"event":1}\n\ndata: canopy\ndata: ',
      `{"event":1}\n\ndata: canopy\ndata: ${'*'.repeat('\\u0063anary-Zq+\\/='.length)}!`,
      `{"event":1}\n\ndata: canopy\ndata: ${'*'.repeat('\\u0063anary-Zq+\\/='.length)}!`,
    ]);
  });

  it('never holds back more than the longest form', async () => {
    // Every character of this text could begin a hex form of a value made of one repeated byte.
    const repeated = new SecretScrubber(['aaaa']);
    const stream = repeated.stream();
    let out = 0;
    stream.on('data', (c: Buffer) => {
      out += c.length;
    });
    const text = '61'.repeat(3).repeat(1000);
    stream.write(Buffer.from(`${text}6`, 'latin1'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(text.length + 1 - out).toBeLessThan(repeated.maxLength);
    stream.destroy();
  });
});

describe('SecretScrubber, odd values', () => {
  it('finds a value that itself looks like escapes, written raw or escaped', () => {
    const odd = 'a&amp;b%41c\\u0041d';
    const scrubber = new SecretScrubber([odd]);
    expect(scrubber.scrubText(`<${odd}>`)).toBe(`<${'*'.repeat(odd.length)}>`);
    const html = odd.replaceAll('&', '&amp;');
    expect(scrubber.scrubText(`<${html}>`)).toBe(`<${'*'.repeat(html.length)}>`);
  });

  it('scrubs header names in any case, header values only as they are spelled', () => {
    const scrubber = new SecretScrubber(['Tok3n-Q7vX9']);
    expect(scrubber.scrubHeaderName('x-tok3n-q7vx9')).toBe(`x-${'*'.repeat(11)}`);
    expect(scrubber.scrubHeaderName('X-TOK3N-Q7VX9')).toBe(`X-${'*'.repeat(11)}`);
    expect(scrubber.scrubText('Tok3n-Q7vX9')).toBe('*'.repeat(11));
  });

  it('handles a 2 KiB token (a long JWT) in the body and split across chunks', async () => {
    const token = `eyJ${'x'.repeat(2045)}`.replace(/x/g, (_, i: number) => 'AbC9-_'[i % 6] as string);
    const scrubber = new SecretScrubber([token]);
    expect(scrubber.scrubText(`"${token}"`)).toBe(`"${'*'.repeat(token.length)}"`);
    const bytes = Buffer.from(`before ${token} after`);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 100) }, (_, i) =>
      bytes.subarray(i * 100, i * 100 + 100),
    );
    expect(await scrubStream(scrubber, chunks)).toBe(`before ${'*'.repeat(token.length)} after`);
  });

  it('an empty value scrubs nothing', () => {
    const scrubber = new SecretScrubber(['']);
    expect(scrubber.empty).toBe(true);
    expect(scrubber.scrubText('anything')).toBe('anything');
  });
});
