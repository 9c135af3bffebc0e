import { describe, expect, it } from 'vitest';
import { maxExecutionsFor, ReplayGuard } from './replay-guard.ts';

const T0 = Date.UTC(2030, 0, 1);
const token = (jti: string, expiresInSeconds = 300, issuer = 'https://broker.test') => ({
  issuer,
  jti,
  expiresAt: new Date(T0 + expiresInSeconds * 1000),
});

describe('ReplayGuard', () => {
  it('lets a single-use token start one execution and refuses the replay', () => {
    const guard = new ReplayGuard({ now: () => T0 });
    expect(guard.use(token('j1'), 1)).toBe(true);
    expect(guard.use(token('j1'), 1)).toBe(false);
    expect(guard.use(token('j1'), 1)).toBe(false);
    expect(guard.use(token('j2'), 1)).toBe(true);
  });

  it('counts up to max_executions from the intent, else the configured default', () => {
    const guard = new ReplayGuard({ now: () => T0 });
    const principal = { ...token('j3'), intent: { max_executions: 3 } };
    const max = maxExecutionsFor(principal, 1);
    expect([1, 2, 3, 4].map(() => guard.use(principal, max))).toEqual([true, true, true, false]);
    expect(maxExecutionsFor({ intent: null }, 1)).toBe(1);
    expect(maxExecutionsFor({ intent: {} }, 2)).toBe(2);
  });

  it('keeps the same jti from different issuers apart', () => {
    const guard = new ReplayGuard({ now: () => T0 });
    expect(guard.use(token('bc', 300, 'a'), 1)).toBe(true);
    expect(guard.use(token('c', 300, 'ab'), 1)).toBe(true);
    expect(guard.use(token('bc', 300, 'a'), 1)).toBe(false);
  });

  it('remembers a token until exp plus the tolerance, then evicts it', () => {
    let clock = T0;
    const guard = new ReplayGuard({ clockToleranceSeconds: 30, sweepIntervalSeconds: 1, now: () => clock });
    guard.use(token('j', 60), 1);
    clock = T0 + 89_000;
    expect(guard.use(token('j', 60), 1)).toBe(false);
    expect(guard.size).toBe(1);
    clock = T0 + 91_000;
    guard.use(token('other', 300), 1);
    expect(guard.size).toBe(1);
  });

  it('when full of live tokens, refuses new ones instead of forgetting old ones', () => {
    let clock = T0;
    const guard = new ReplayGuard({ maxEntries: 2, now: () => clock });
    expect(guard.use(token('a', 10), 1)).toBe(true);
    expect(guard.use(token('b', 100), 1)).toBe(true);
    expect(guard.use(token('c', 100), 1)).toBe(false);
    expect(guard.use(token('a', 10), 1)).toBe(false);
    clock = T0 + 41_000;
    expect(guard.use(token('c', 100), 1)).toBe(true);
    expect(guard.use(token('b', 100), 1)).toBe(false);
  });
});
