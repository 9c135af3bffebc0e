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

  it('counts a reserved use at once: a second reservation of a single-use token is refused while it is pending', () => {
    const guard = new ReplayGuard({ now: () => T0 });
    const first = guard.reserve(token('r1'), 1);
    if (!first.ok) throw new Error('the first reservation was refused');
    expect(guard.reserve(token('r1'), 1)).toEqual({ ok: false, reason: 'pending' });
    first.use.commit();
    expect(guard.reserve(token('r1'), 1)).toEqual({ ok: false, reason: 'spent' });
    expect(guard.use(token('r1'), 1)).toBe(false);
  });

  it('a released reservation gives the use back, and settling twice changes nothing', () => {
    const guard = new ReplayGuard({ now: () => T0 });
    const first = guard.reserve(token('r2'), 1);
    if (!first.ok) throw new Error('the first reservation was refused');
    first.use.release();
    first.use.release();
    first.use.commit();
    expect(guard.size).toBe(0);
    const again = guard.reserve(token('r2'), 1);
    if (!again.ok) throw new Error('the released use was not given back');
    again.use.commit();
    again.use.release();
    expect(guard.use(token('r2'), 1)).toBe(false);
  });

  it('with max_executions 2, two reservations succeed and a third waits on them', () => {
    const guard = new ReplayGuard({ now: () => T0 });
    const a = guard.reserve(token('r3'), 2);
    const b = guard.reserve(token('r3'), 2);
    expect([a.ok, b.ok]).toEqual([true, true]);
    expect(guard.reserve(token('r3'), 2)).toEqual({ ok: false, reason: 'pending' });
    if (a.ok) a.use.release();
    expect(guard.reserve(token('r3'), 2).ok).toBe(true);
  });

  it('never evicts an entry with a pending reservation', () => {
    let clock = T0;
    const guard = new ReplayGuard({ clockToleranceSeconds: 0, sweepIntervalSeconds: 1, now: () => clock });
    const held = guard.reserve(token('r4', 10), 1);
    clock = T0 + 60_000;
    guard.reserve(token('other', 300), 1);
    expect(guard.size).toBe(2);
    if (held.ok) held.use.commit();
    clock = T0 + 120_000;
    guard.reserve(token('third', 300), 1);
    expect(guard.size).toBe(2);
  });
});
