import { describe, expect, it } from 'vitest';
import { parseAbsoluteUrl, parseAuthority } from './target.ts';

describe('parseAuthority', () => {
  it.each([
    ['Example.COM.:443', 'example.com', false, 443],
    ['bücher.example:443', 'xn--bcher-kva.example', false, 443],
    ['2130706433:80', '127.0.0.1', true, 80],
    ['0x7f.1:80', '127.0.0.1', true, 80],
    ['127.1:80', '127.0.0.1', true, 80],
    ['0177.0.0.1:80', '127.0.0.1', true, 80],
    ['0xa9.0xfe.0xa9.0xfe:80', '169.254.169.254', true, 80],
    ['[::ffff:7f00:1]:443', '::ffff:7f00:1', true, 443],
    ['[::1]:8080', '::1', true, 8080],
  ])('canonicalises %s', (authority, host, literal, port) => {
    expect(parseAuthority(authority)).toEqual({ ok: true, target: { host, literal, port } });
  });

  it.each([
    ['user:pw@example.com:443', 'user-info'],
    ['example.com@evil.test:443', 'user-info'],
    ['exa%6dple.com:443', 'ambiguous'],
    ['::1:443', 'without brackets'],
    ['example.com', 'port is required'],
    ['example.com:0', 'out of range'],
    ['example.com:65536', 'out of range'],
    ['example.com:+80', 'bad port'],
    ['1.2.3.256:80', 'not a host name'],
    ['under_score.test:80', 'not a host name'],
    ['[::1:443', 'unterminated'],
    ['ex ample.com:80', 'ambiguous'],
    ['', 'empty'],
  ])('refuses %j (%s)', (authority, why) => {
    const parsed = parseAuthority(authority);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(why);
  });
});

describe('parseAbsoluteUrl', () => {
  it('takes http URLs with the default port and the path with its query', () => {
    expect(parseAbsoluteUrl('http://API.example.com./v1/x?y=1')).toEqual({
      ok: true,
      target: { host: 'api.example.com', literal: false, port: 80, path: '/v1/x?y=1', explicitPort: false },
    });
    expect(parseAbsoluteUrl('http://h.test:8080')).toEqual({
      ok: true,
      target: { host: 'h.test', literal: false, port: 8080, path: '/', explicitPort: true },
    });
  });

  it('refuses other schemes, origin form and user-info', () => {
    expect(parseAbsoluteUrl('https://example.com/').ok).toBe(false);
    expect(parseAbsoluteUrl('ftp://example.com/').ok).toBe(false);
    expect(parseAbsoluteUrl('/relative').ok).toBe(false);
    expect(parseAbsoluteUrl('http://a:b@example.com/').ok).toBe(false);
  });
});
