import { describe, expect, it } from 'vitest';
import { TenantRateLimiter } from './rate-limiter.ts';

describe('TenantRateLimiter', () => {
  it('allows a burst of the per-minute allowance, then refuses with Retry-After until it refills', () => {
    let clock = 0;
    const limiter = new TenantRateLimiter({ submissionsPerMinute: () => 6, now: () => clock });
    for (let i = 0; i < 6; i++) expect(limiter.take('acme')).toEqual({ ok: true });
    expect(limiter.take('acme')).toEqual({ ok: false, retryAfterSeconds: 10 });
    clock += 4_000;
    expect(limiter.take('acme')).toEqual({ ok: false, retryAfterSeconds: 6 });
    clock += 6_000;
    expect(limiter.take('acme')).toEqual({ ok: true });
    expect(limiter.take('acme')).toEqual({ ok: false, retryAfterSeconds: 10 });
  });

  it('keeps tenants apart and follows each tenant policy', () => {
    const rates: Record<string, number> = { acme: 1, big: 100 };
    const limiter = new TenantRateLimiter({ submissionsPerMinute: (t) => rates[t] ?? 0, now: () => 0 });
    expect(limiter.take('acme')).toEqual({ ok: true });
    expect(limiter.take('acme')).toEqual({ ok: false, retryAfterSeconds: 60 });
    for (let i = 0; i < 100; i++) expect(limiter.take('big').ok).toBe(true);
    expect(limiter.take('big').ok).toBe(false);
    expect(limiter.take('nobody')).toEqual({ ok: false, retryAfterSeconds: 60 });
  });

  it('does not charge refused submissions', () => {
    let clock = 0;
    const limiter = new TenantRateLimiter({ submissionsPerMinute: () => 60, now: () => clock });
    for (let i = 0; i < 60; i++) limiter.take('acme');
    for (let i = 0; i < 1000; i++) expect(limiter.take('acme').ok).toBe(false);
    clock += 1_000;
    expect(limiter.take('acme')).toEqual({ ok: true });
  });

  it('refund() gives back one allowance taken for a submission refused later, never above the allowance', () => {
    const limiter = new TenantRateLimiter({ submissionsPerMinute: () => 2, now: () => 0 });
    expect(limiter.take('acme')).toEqual({ ok: true });
    expect(limiter.take('acme')).toEqual({ ok: true });
    expect(limiter.take('acme').ok).toBe(false);
    limiter.refund('acme');
    expect(limiter.take('acme')).toEqual({ ok: true });
    limiter.refund('acme');
    limiter.refund('acme');
    limiter.refund('acme');
    expect(limiter.take('acme')).toEqual({ ok: true });
    expect(limiter.take('acme')).toEqual({ ok: true });
    expect(limiter.take('acme').ok).toBe(false);
    limiter.refund('nobody');
    expect(limiter.take('nobody').ok).toBe(true);
  });
});
