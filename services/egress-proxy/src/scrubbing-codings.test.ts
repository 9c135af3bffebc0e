// Codings against a hostile upstream that sends the injected credential back: content codings the proxy can
// read (gzip, x-gzip, deflate, br) are decoded and scrubbed; any other content coding, stacked codings, and any
// transfer coding but exactly `chunked` are refused with 502 and an egress record saying why, and nothing of
// the body reaches the sandbox. Bodies that will not decode and decompression bombs end the response too.

import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BUDGET,
  chunked,
  json,
  SECRET,
  stars,
  upstreamHeaders,
  useScrubbingFixture,
  whole,
} from './scrubbing-fixture.ts';

const fixture = useScrubbingFixture();

const document = (v: string) => `{"token":"${json(v).replaceAll('/', '\\/')}"}`;
const scrubbedDocument = `{"token":"${stars(json(SECRET).replaceAll('/', '\\/'))}"}`;
const refusal = (coding: string) => `content coding '${coding}' cannot be scrubbed of the credential`;
const transferRefusal = (coding: string) =>
  `transfer coding '${coding}' is refused: only chunked can be scrubbed of the credential`;

describe('content codings the proxy reads', () => {
  it.each([
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
    ['GZip', gzipSync],
  ] as const)('%s: decoded, scrubbed, passed on without Content-Encoding', async (coding, compress) => {
    const { answer, record } = await fixture.reflect((v) =>
      whole([`Content-Encoding: ${coding}`, 'Content-Type: application/json'], compress(document(v))),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(scrubbedDocument);
    expect(upstreamHeaders(answer)).toEqual(['Content-Type', 'application/json']);
    expect(record).toMatchObject({ status: 200, reason: null, credential: 'api' });
  });

  it('identity, spelled out, is no coding at all', async () => {
    const { answer } = await fixture.reflect((v) => whole(['Content-Encoding: identity'], document(v)));
    expect(answer.body).toBe(scrubbedDocument);
  });

  it('a gzip stream cut into one chunk per byte still decodes and is scrubbed', async () => {
    const { answer } = await fixture.reflect((v) =>
      chunked(
        ['Content-Encoding: gzip', 'Transfer-Encoding: chunked'],
        [...gzipSync(document(v))].map((b) => Buffer.of(b)),
      ),
    );
    expect(answer.body).toBe(scrubbedDocument);
  });

  it('a body that is not what its coding says is answered 502', async () => {
    const { answer, record } = await fixture.reflect((v) => whole(['Content-Encoding: gzip'], document(v)));
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body).error.code).toBe('egress_upstream_failed');
    expect(record).toMatchObject({
      status: 502,
      reason: 'the gzip body could not be decoded: incorrect header check',
    });
  });

  it('a decompression bomb is cut at the run’s byte budget', async () => {
    const bomb = gzipSync(Buffer.alloc(4 * BUDGET));
    expect(bomb.length).toBeLessThan(BUDGET / 16);
    const record = await fixture.reflectCut(() => whole(['Content-Encoding: gzip'], bomb));
    expect(record).toMatchObject({ status: 200, reason: 'byte budget exhausted' });
  });
});

describe('codings the proxy refuses', () => {
  it.each([
    ['compress', 'compress'],
    ['zstd', 'zstd'],
    ['zstd, GZIP', 'zstd, gzip'],
    ['gzip, br', 'gzip, br'],
    ['identity, deflate, gzip', 'identity, deflate, gzip'],
  ])('Content-Encoding: %s', async (header, quoted) => {
    const { answer, record } = await fixture.reflect((v) =>
      whole([`Content-Encoding: ${header}`], document(v)),
    );
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body).error).toMatchObject({ code: 'egress_upstream_failed' });
    expect(JSON.parse(answer.body).error.message).toContain(refusal(quoted));
    expect(record).toMatchObject({ status: 502, reason: refusal(quoted) });
  });

  it('two Content-Encoding headers are stacked codings', async () => {
    const { record } = await fixture.reflect((v) =>
      whole(['Content-Encoding: gzip', 'Content-Encoding: br'], brotliCompressSync(gzipSync(document(v)))),
    );
    expect(record).toMatchObject({ status: 502, reason: refusal('gzip, br') });
  });

  it.each([
    ['x-unknown', 'x-unknown'],
    ['the value itself', SECRET],
    ['gzip and the value', `gzip, ${SECRET}`],
  ])('an unregistered coding (%s) is refused without being named', async (_name, coding) => {
    const { answer, record } = await fixture.reflect((v) =>
      whole([`Content-Encoding: ${coding.replace(SECRET, v)}`], document(v)),
    );
    const reason = 'an unregistered content coding cannot be scrubbed of the credential';
    expect(record).toMatchObject({ status: 502, reason });
    expect(JSON.parse(answer.body).error.message).toContain(reason);
  });

  it('an unregistered transfer coding is refused without being named', async () => {
    const { record } = await fixture.reflect((v) => [
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: ${v.replace(/[^A-Za-z0-9-]/g, '')}, chunked\r\n\r\n`,
      '0\r\n\r\n',
    ]);
    expect(record).toMatchObject({
      status: 502,
      reason: 'an unregistered transfer coding is refused: only chunked can be scrubbed of the credential',
    });
  });

  it.each([
    ['gzip, chunked', true],
    ['deflate, chunked', true],
    ['chunked, gzip', false],
    ['gzip', false],
    ['identity', false],
  ])('Transfer-Encoding: %s', async (coding, chunkedLast) => {
    const body = (v: string) => gzipSync(document(v));
    const { answer, record } = await fixture.reflect((v) =>
      chunkedLast
        ? chunked([`Transfer-Encoding: ${coding}`], [body(v)])
        : [`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${coding}\r\n\r\n`, body(v)],
    );
    expect(answer.status).toBe(502);
    expect(record).toMatchObject({ status: 502, reason: transferRefusal(coding) });
  });

  it('Transfer-Encoding: chunked twice is refused too', async () => {
    const { record } = await fixture.reflect((v) =>
      chunked(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], [document(v)]),
    );
    expect(record).toMatchObject({ status: 502, reason: transferRefusal('chunked, chunked') });
  });

  it('Transfer-Encoding: Chunked (any case) is chunked, and scrubbed', async () => {
    const { answer } = await fixture.reflect((v) => chunked(['Transfer-Encoding: Chunked'], [document(v)]));
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(scrubbedDocument);
  });
});
