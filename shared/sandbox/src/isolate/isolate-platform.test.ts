// The web-platform globals the guest runtime provides (TextEncoder/TextDecoder, URL, URLSearchParams,
// structuredClone, crypto, atob/btoa) behave like Node's own. Each program prints results and the test
// compares them with what Node computes for the same calls. Real isolate host processes.

import { describe, expect, it } from 'vitest';
import { runJob, useIsolateSandbox } from './test-jobs.ts';

const sandbox = useIsolateSandbox(1);

/** Runs `body` (which must build a JSON-able `out`) in the guest and returns the parsed `out`. */
async function guestOut(body: string): Promise<unknown> {
  const { result } = await runJob(sandbox(), {
    code: `const out = {};\n${body}\nconsole.log(JSON.stringify(out));`,
  });
  expect(result.stderr).toBe('');
  expect(result.outcome).toBe('success');
  return JSON.parse(result.stdout);
}

describe('guest platform globals', () => {
  it('installs them on first use, and lets a program replace or delete them before that', async () => {
    const out = await guestOut(`
      globalThis.TextEncoder = 'mine';
      out.deleted = delete globalThis.atob;
      out.url = new URL('https://example.test/a?b=1').searchParams.get('b');
      out.kinds = [TextEncoder, typeof TextDecoder, typeof atob, typeof btoa, typeof URLSearchParams];
      out.later = [typeof structuredClone({ a: 1 }), typeof crypto.randomUUID(), typeof performance.now()];
      out.assigned = (globalThis.URL = 2, URL);
    `);
    expect(out).toEqual({
      deleted: true,
      url: '1',
      kinds: ['mine', 'function', 'undefined', 'function', 'function'],
      later: ['object', 'string', 'number'],
      assigned: 2,
    });
  });

  it('encodes and decodes UTF-8 like Node, replacing invalid bytes', async () => {
    const samples = ['plain', 'héllo €', '😀 emoji', 'lone \ud800 surrogate'];
    const broken = [0xff, 0x41, 0xe2, 0x82, 0xc3, 0x28, 0xf0, 0x9f, 0x98];
    const out = await guestOut(`
      const samples = ${JSON.stringify(samples)};
      out.encoded = samples.map((s) => Array.from(new TextEncoder().encode(s)));
      out.roundTrip = samples.map((s) => new TextDecoder().decode(new TextEncoder().encode(s)));
      out.broken = new TextDecoder().decode(new Uint8Array(${JSON.stringify(broken)}));
      try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])) } catch (e) { out.fatal = e.name }
      const d = new TextDecoder();
      out.streamed = d.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + d.decode(new Uint8Array([0xac]));
      out.bom = new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]));
      out.base64 = [btoa('hi there'), atob('aGkgdGhlcmU=')];
    `);
    expect(out).toEqual({
      encoded: samples.map((s) => Array.from(new TextEncoder().encode(s))),
      roundTrip: samples.map((s) => new TextDecoder().decode(new TextEncoder().encode(s))),
      broken: new TextDecoder().decode(new Uint8Array(broken)),
      fatal: 'TypeError',
      streamed: '€',
      bom: 'A',
      base64: [btoa('hi there'), atob('aGkgdGhlcmU=')],
    });
  });

  it('parses and edits URLs like Node, and keeps searchParams in step', async () => {
    const out = await guestOut(`
      const u = new URL('../b/c?x=1&y=two words#frag', 'https://user:pw@Example.COM:8443/a/z');
      out.parts = [u.href, u.origin, u.protocol, u.username, u.host, u.hostname, u.port, u.pathname, u.search, u.hash];
      u.searchParams.append('z', 'ä&=');
      u.pathname = '/new path';
      out.edited = u.href;
      out.params = [...new URLSearchParams('a=1&b=%20x+y&a=3').entries()];
      out.getAll = new URLSearchParams({ k: 'v', n: 2 }).toString();
      try { new URL('not a url') } catch (e) { out.invalid = [e.name, e.code] }
      out.canParse = [URL.canParse('https://x'), URL.canParse('nope')];
    `);
    const u = new URL('../b/c?x=1&y=two words#frag', 'https://user:pw@Example.COM:8443/a/z');
    const parts = [
      u.href,
      u.origin,
      u.protocol,
      u.username,
      u.host,
      u.hostname,
      u.port,
      u.pathname,
      u.search,
      u.hash,
    ];
    u.searchParams.append('z', 'ä&=');
    u.pathname = '/new path';
    expect(out).toEqual({
      parts,
      edited: u.href,
      params: [...new URLSearchParams('a=1&b=%20x+y&a=3').entries()],
      getAll: new URLSearchParams({ k: 'v', n: '2' }).toString(),
      invalid: ['TypeError', 'ERR_INVALID_URL'],
      canParse: [true, false],
    });
  });

  it('clones structured data, keeps cycles, and refuses functions', async () => {
    const out = await guestOut(`
      const source = { when: new Date(0), map: new Map([['k', new Set([1, 2])]]), bytes: new Uint8Array([1, 2]), re: /x/g };
      source.self = source;
      const copy = structuredClone(source);
      out.shape = [copy !== source, copy.self === copy, copy.when instanceof Date, copy.when.getTime(),
        [...copy.map.get('k')], Array.from(copy.bytes), copy.re.flags, copy.map !== source.map];
      try { structuredClone({ f() {} }) } catch (e) { out.refused = e.name }
    `);
    expect(out).toEqual({
      shape: [true, true, true, 0, [1, 2], [1, 2], 'g', true],
      refused: 'DataCloneError',
    });
  });

  it('gives random values and version-4 UUIDs from crypto', async () => {
    const out = (await guestOut(`
      out.uuids = [crypto.randomUUID(), crypto.randomUUID()];
      const words = crypto.getRandomValues(new Uint32Array(64));
      out.distinct = new Set(words).size;
      try { crypto.getRandomValues(new Uint8Array(65537)) } catch (e) { out.tooBig = e.name }
      try { crypto.getRandomValues(new Float64Array(2)) } catch (e) { out.wrongType = e.name }
    `)) as { uuids: string[]; distinct: number; tooBig: string; wrongType: string };
    for (const uuid of out.uuids)
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(out.uuids[0]).not.toBe(out.uuids[1]);
    expect(out.distinct).toBeGreaterThan(60);
    expect(out.tooBig).toBe('QuotaExceededError');
    expect(out.wrongType).toBe('TypeMismatchError');
  });
});
