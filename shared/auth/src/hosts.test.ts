import { describe, expect, it } from 'vitest';
import { canonicalHost, canonicalHostPattern, hostPatternCovers } from './hosts.ts';

describe('host names', () => {
  it('canonicalises case, trailing dots, IDN and IPv4 shorthands', () => {
    expect(canonicalHost('API.Example.COM.')).toBe('api.example.com');
    expect(canonicalHost('bücher.example')).toBe('xn--bcher-kva.example');
    expect(canonicalHost('0x7f.1')).toBe('127.0.0.1');
  });

  it('refuses anything that is not a plain host name', () => {
    for (const bad of [
      '',
      'a b',
      'x.test:80',
      'u@x.test',
      'x.test/path',
      '[::1]',
      '*',
      'a..b',
      '-a.test',
      `${'a'.repeat(64)}.test`,
    ]) {
      expect(canonicalHost(bad)).toBeUndefined();
    }
  });

  it('accepts *.domain patterns but not bare wildcards or wildcards over a top-level label', () => {
    expect(canonicalHostPattern('*.GitHub.com')).toBe('*.github.com');
    expect(canonicalHostPattern('*.com')).toBeUndefined();
    expect(canonicalHostPattern('*')).toBeUndefined();
    expect(canonicalHostPattern('a.*.com')).toBeUndefined();
  });

  it('a wildcard covers names below it and narrower wildcards, not its apex or look-alikes', () => {
    expect(hostPatternCovers('*.github.com', 'api.github.com')).toBe(true);
    expect(hostPatternCovers('*.github.com', 'a.b.github.com')).toBe(true);
    expect(hostPatternCovers('*.github.com', '*.api.github.com')).toBe(true);
    expect(hostPatternCovers('*.github.com', '*.github.com')).toBe(true);
    expect(hostPatternCovers('*.github.com', 'github.com')).toBe(false);
    expect(hostPatternCovers('*.github.com', 'evilgithub.com')).toBe(false);
    expect(hostPatternCovers('api.github.com', '*.api.github.com')).toBe(false);
    expect(hostPatternCovers('api.github.com', 'api.github.com')).toBe(true);
  });
});
