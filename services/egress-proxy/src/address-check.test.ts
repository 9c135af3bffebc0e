import { describe, expect, it } from 'vitest';
import { AddressCheck, specialRange } from './address-check.ts';

describe('specialRange', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '224.0.0.1',
    '0.0.0.0',
    '0.1.2.3',
    '198.18.0.1',
    '198.19.255.255',
    '240.0.0.1',
    '255.255.255.255',
    '192.0.2.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '::127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '2001:db8::1',
    '100::1',
  ])('refuses %s', (address) => {
    expect(specialRange(address)).toEqual(expect.any(String));
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '2a00:1450:4001::200e'])(
    'passes public %s',
    (a) => {
      expect(specialRange(a)).toBeUndefined();
    },
  );

  it('refuses non-canonical spellings a resolver might return', () => {
    expect(specialRange('0x7f.0.0.1')).toBe('not an IP address');
    expect(specialRange('2130706433')).toBe('not an IP address');
  });
});

describe('AddressCheck', () => {
  it('opens exactly the allowed address and port, and refuses its own addresses', () => {
    const check = new AddressCheck({
      allowances: [{ address: '127.0.0.1', port: 8080 }],
      ownAddresses: ['93.184.216.34'],
    });
    expect(check.check('127.0.0.1', 8080)).toEqual({ ok: true, allowance: true });
    expect(check.check('127.0.0.1', 8081)).toEqual({
      ok: false,
      reason: 'address 127.0.0.1 is in a blocked range (ipv4 loopback)',
    });
    expect(check.check('127.0.0.2', 8080).ok).toBe(false);
    expect(check.check('93.184.216.34', 443)).toEqual({
      ok: false,
      reason: 'address 93.184.216.34 is the proxy itself',
    });
    expect(check.check('8.8.8.8', 443)).toEqual({ ok: true, allowance: false });
    expect(check.allowancePorts()).toEqual([8080]);
  });
});
