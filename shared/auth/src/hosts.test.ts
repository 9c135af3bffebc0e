import { describe, expect, it } from 'vitest';
import { hostPatternCovers } from './hosts.ts';

describe('host patterns', () => {
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
