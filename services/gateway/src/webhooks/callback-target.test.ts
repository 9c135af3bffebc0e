// Every callback URL form Airlock must refuse at submission, and the forms it accepts.
import { AddressCheck } from '@airlock/egress-proxy';
import { describe, expect, it } from 'vitest';
import { checkCallbackUrl, displayUrl } from './callback-target.ts';

const addresses = new AddressCheck({ allowances: [{ address: '127.0.0.1', port: 8125 }] });

const REFUSED: Array<[string, RegExp]> = [
  ['https://user:pass@example.com/hook', /user-info/],
  ['https://user@example.com/hook', /user-info/],
  ['https://example.com@127.0.0.1/hook', /user-info/],
  ['ftp://example.com/hook', /scheme 'ftp'/],
  ['javascript:alert(1)', /not an absolute/],
  ['//example.com/hook', /not an absolute/],
  ['http://example.com/hook', /plain http/],
  ['https://127.0.0.1/hook', /blocked range \(ipv4 loopback\)/],
  ['https://2130706433/hook', /127\.0\.0\.1 .*loopback/],
  ['https://0x7f.1/hook', /127\.0\.0\.1 .*loopback/],
  ['https://0177.0.0.1/hook', /127\.0\.0\.1 .*loopback/],
  ['https://127.1/hook', /127\.0\.0\.1 .*loopback/],
  ['https://[::1]/hook', /loopback/],
  ['https://[::ffff:127.0.0.1]/hook', /ipv4Mapped/],
  ['https://[::ffff:a9fe:a9fe]/hook', /ipv4Mapped/],
  ['https://169.254.169.254/latest/meta-data', /linkLocal/],
  ['https://0xa9fea9fe/latest/meta-data', /169\.254\.169\.254 .*linkLocal/],
  ['https://10.0.0.1/hook', /private/],
  ['https://192.168.1.1/hook', /private/],
  ['https://172.16.0.1/hook', /private/],
  ['https://100.64.0.1/hook', /carrierGradeNat/],
  ['https://0.0.0.0/hook', /unspecified/],
  ['https://[fe80::1]/hook', /linkLocal/],
  ['https://[fd00::1]/hook', /uniqueLocal/],
  ['https://localhost/hook', /this machine/],
  ['https://api.localhost/hook', /this machine/],
  ['https://exa%6dple.com/hook', /ambiguous/],
  ['https://example.com:0/hook', /port/],
  ['https://example.com:99999/hook', /port/],
  ['https://exam ple.com/hook', /whitespace/],
  ['https://example.com\\@127.0.0.1/', /backslash/],
  // An allowance admits exactly its address and port, in no other spelling.
  ['http://127.0.0.1:8126/hook', /loopback/],
  ['http://[::ffff:127.0.0.1]:8125/hook', /ipv4Mapped/],
];

describe('checkCallbackUrl', () => {
  it.each(REFUSED)('refuses %s', (url, reason) => {
    const checked = checkCallbackUrl(url, addresses);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toMatch(reason);
  });

  it('accepts an https name, keeping path and query and dropping the fragment', () => {
    const checked = checkCallbackUrl('https://Hooks.Example.com./in?t=1#frag', addresses);
    expect(checked).toEqual({
      ok: true,
      target: { scheme: 'https', host: 'hooks.example.com', literal: false, port: 443, path: '/in?t=1' },
    });
    if (checked.ok) expect(displayUrl(checked.target)).toBe('https://hooks.example.com:443/in');
  });

  it('accepts a public https address literal', () => {
    expect(checkCallbackUrl('https://93.184.215.14:8443', addresses)).toMatchObject({
      ok: true,
      target: { host: '93.184.215.14', literal: true, port: 8443, path: '/' },
    });
  });

  it('accepts plain http and loopback only for an allowance, spelled any IPv4 way', () => {
    expect(checkCallbackUrl('http://127.0.0.1:8125/hook', addresses)).toMatchObject({ ok: true });
    expect(checkCallbackUrl('http://2130706433:8125/hook', addresses)).toMatchObject({
      ok: true,
      target: { host: '127.0.0.1' },
    });
  });
});
