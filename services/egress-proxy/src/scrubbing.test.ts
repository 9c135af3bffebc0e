// Scrubbing against a hostile upstream: a loopback TLS upstream receives the injected credential and sends it
// back in each form a reflecting server might choose — in the body, in header names and values, in the status
// line and trailers, split across TLS records. The sandbox must see `*` in place of every character of the
// form and never the value. (Codings: scrubbing-codings.test.ts.)

import { describe, expect, it } from 'vitest';
import {
  base64,
  chunked,
  hex,
  json,
  mixedCase,
  type ScrubbingFixture,
  SECRET,
  stars,
  TOKEN,
  upstreamHeaders,
  useScrubbingFixture,
  whole,
} from './scrubbing-fixture.ts';

const fixture = useScrubbingFixture();
const reflect: ScrubbingFixture['reflect'] = (respond, credential) => fixture.reflect(respond, credential);

const bodyForms: Array<[string, (v: string) => string]> = [
  ['raw', (v) => v],
  ['JSON with escaped slashes (PHP json_encode)', (v) => json(v).replaceAll('/', '\\/')],
  [
    'JSON, every character \\u with lower-case hex',
    (v) => [...v].map((c) => `\\u${hex(c.charCodeAt(0), 4)}`).join(''),
  ],
  [
    'JSON, every character \\u with upper-case hex',
    (v) => [...v].map((c) => `\\u${hex(c.charCodeAt(0), 4).toUpperCase()}`).join(''),
  ],
  [
    'JSON, \\u with mixed-case hex',
    (v) => [...v].map((c) => `\\u${mixedCase(hex(c.charCodeAt(0), 4))}`).join(''),
  ],
  [
    'JSON with <>& as \\u (Go encoding/json)',
    (v) => json(v).replace(/[<>&]/g, (c) => `\\u00${hex(c.charCodeAt(0), 2)}`),
  ],
  [
    'JavaScript \\x escapes of punctuation',
    (v) => v.replace(/[^A-Za-z0-9]/g, (c) => `\\x${hex(c.charCodeAt(0), 2)}`),
  ],
  [
    'HTML named entities',
    (v) =>
      v.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`),
  ],
  ['HTML decimal references, every character', (v) => [...v].map((c) => `&#${c.charCodeAt(0)};`).join('')],
  [
    'HTML hex references, upper-case X, zero-padded',
    (v) => [...v].map((c) => `&#X00${hex(c.charCodeAt(0), 2).toUpperCase()};`).join(''),
  ],
  [
    'HTML hex references on every other character',
    (v) => [...v].map((c, i) => (i % 2 ? `&#x${hex(c.charCodeAt(0), 2)};` : c)).join(''),
  ],
  ['percent-encoded (encodeURIComponent)', (v) => encodeURIComponent(v)],
  [
    'percent-encoded, lower-case hex',
    (v) => encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  ],
  [
    'percent-encoded, every byte',
    (v) => [...Buffer.from(v)].map((b) => `%${hex(b, 2).toUpperCase()}`).join(''),
  ],
  ['form-encoded (space as +)', (v) => new URLSearchParams({ t: v }).toString().slice(2)],
  ['hex, lower case', (v) => Buffer.from(v).toString('hex')],
  ['hex, upper case', (v) => Buffer.from(v).toString('hex').toUpperCase()],
  ['hex, mixed case', (v) => mixedCase(Buffer.from(v).toString('hex'))],
];

describe('forms of the value in a body', () => {
  it.each(bodyForms)('%s: every character of the form becomes *', async (name, encode) => {
    const form = encode(SECRET);
    expect(form === SECRET).toBe(name === 'raw');
    const { answer, record } = await reflect((v) =>
      whole(['Content-Type: text/plain'], `before:${encode(v)}:after`),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(`before:${stars(form)}:after`);
    expect(record).toMatchObject({ decision: 'allowed', status: 200, reason: null, credential: 'api' });
  });

  it('base64 and base64url at every alignment: every character made of the value’s bits alone becomes *', async () => {
    const cases = ['', 'x', 'xy', 'Bearer '].flatMap((prefix) =>
      [false, true].map((url) => ({ prefix, url })),
    );
    const { answer } = await reflect((v) =>
      whole([], cases.map((c) => base64(c.prefix + v, c.url)).join('\n')),
    );
    const expected = cases.map(({ prefix, url }) => {
      const encoded = base64(prefix + SECRET, url);
      const first = Math.ceil((prefix.length * 8) / 6);
      const last = Math.floor(((prefix.length + SECRET.length) * 8) / 6);
      return encoded.slice(0, first) + '*'.repeat(last - first) + encoded.slice(last);
    });
    expect(answer.body.split('\n')).toEqual(expected);
    for (const line of expected)
      expect(Buffer.from(line, 'base64').toString('latin1')).not.toContain('7Hq2Lx');
  });

  it('base64 inside JSON with escaped slashes (PHP json_encode of a base64 string)', async () => {
    const encoded = base64(`x${SECRET}`);
    expect(encoded).toContain('/');
    const { answer } = await reflect((v) => whole([], `{"t":"${base64(`x${v}`).replaceAll('/', '\\/')}"}`));
    const esc = (s: string) => s.replaceAll('/', '\\/');
    const last = Math.floor(((1 + SECRET.length) * 8) / 6);
    expect(answer.body).toBe(
      `{"t":"${esc(encoded.slice(0, 2))}${stars(esc(encoded.slice(2, last)))}${esc(encoded.slice(last))}"}`,
    );
  });

  it('finds the value and its \\u form split across chunks and TLS records, one byte each', async () => {
    const text = (v: string) =>
      `before ${v} mid ${[...v].map((c) => `\\u${hex(c.charCodeAt(0), 4)}`).join('')} after`;
    const { answer } = await reflect((v) => chunked(['Transfer-Encoding: chunked'], [...text(v)]));
    expect(answer.body).toBe(`before ${stars(SECRET)} mid ${'*'.repeat(6 * SECRET.length)} after`);
  });
});

describe('forms of the value in the head', () => {
  it('scrubs header values, also repeated headers, and never passes on the reason phrase', async () => {
    const { answer } = await reflect((v) =>
      whole(
        [
          `X-Echo: Bearer ${v}`,
          `X-Echo: ${json(v).replaceAll('/', '\\/')}`,
          `Set-Cookie: t=${encodeURIComponent(v)}`,
          `Set-Cookie: u=${base64(v)}`,
          `Location: /cb?t=${encodeURIComponent(v)}`,
        ],
        'ok',
        `200 ${v}`,
      ),
    );
    expect(answer.statusMessage).toBe('OK');
    expect(upstreamHeaders(answer)).toEqual([
      'X-Echo',
      `Bearer ${stars(SECRET)}`,
      'X-Echo',
      stars(json(SECRET).replaceAll('/', '\\/')),
      'Set-Cookie',
      `t=${stars(encodeURIComponent(SECRET))}`,
      'Set-Cookie',
      `u=${'*'.repeat(Math.floor((SECRET.length * 8) / 6))}${base64(SECRET).slice(Math.floor((SECRET.length * 8) / 6))}`,
      'Location',
      `/cb?t=${stars(encodeURIComponent(SECRET))}`,
      'Content-Length',
      '2',
    ]);
    expect(answer.body).toBe('ok');
  });

  it('scrubs header names, in any case', async () => {
    const { answer, seen } = await reflect(
      (v) => whole([`X-${v}: 1`, `x-${v.toLowerCase()}: 2`, `${v.toUpperCase()}: 3`], 'ok'),
      'names',
    );
    const names = upstreamHeaders(answer).filter((_, i) => i % 2 === 0);
    expect(names).toEqual([`X-${stars(TOKEN)}`, `x-${stars(TOKEN)}`, stars(TOKEN), 'Content-Length']);
    expect(seen.toLowerCase()).not.toContain(TOKEN.toLowerCase());
  });

  it('never passes on trailers of a chunked response', async () => {
    const { answer } = await reflect((v) =>
      chunked(['Transfer-Encoding: chunked', 'Trailer: X-Token'], [`a${v}`, 'b'], [`X-Token: ${v}`]),
    );
    expect(answer.rawTrailers).toEqual([]);
    expect(answer.body).toBe(`a${stars(SECRET)}b`);
  });

  it('never passes on a 1xx response (103 Early Hints)', async () => {
    const { answer } = await reflect((v) => [
      `HTTP/1.1 103 Early Hints\r\nLink: </${v}>; rel=preload\r\n\r\n`,
      ...whole([], 'ok'),
    ]);
    expect(answer.informational).toEqual([]);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
  });

  it('refuses a header folded over two lines (obs-fold)', async () => {
    const half = Math.floor(SECRET.length / 2);
    const { answer, record } = await reflect((v) =>
      whole([`X-Echo: ${v.slice(0, half)}\r\n ${v.slice(half)}`], 'ok'),
    );
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body).error.code).toBe('egress_upstream_failed');
    expect(record.reason).toBe('upstream failed: Parse Error: Unexpected whitespace after header value');
  });
});
