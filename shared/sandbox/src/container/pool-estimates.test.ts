// The supply scheduler's estimates and decisions, on an injected clock: the lease rate (RateEstimate, and
// LeaseRate's response to a step in demand and to a pause), the measured durations (DurationEstimate), the pool target (poolTarget, surplus) and whether an empty pool's job
// waits or goes cold (leaseWait).

import { describe, expect, it } from 'vitest';
import { DurationEstimate } from './duration-estimate.ts';
import { LeaseRate } from './lease-rate.ts';
import { leaseWait } from './lease-wait.ts';
import { BURST_MARGIN, poolTarget, surplus } from './pool-target.ts';
import { RateEstimate } from './rate-estimate.ts';

describe('RateEstimate', () => {
  it('reads a steady rate as that rate, and decays once events stop', () => {
    let now = 0;
    const rate = new RateEstimate(1000, () => now);
    expect(rate.perSecond()).toBe(0);
    // 10 events a second for 20 windows.
    for (let i = 0; i < 200; i++) {
      now += 100;
      rate.record();
    }
    expect(rate.perSecond()).toBeGreaterThan(9);
    expect(rate.perSecond()).toBeLessThan(11);
    now += 1000;
    const afterOneWindow = rate.perSecond();
    now += 4000;
    expect(rate.perSecond()).toBeCloseTo(afterOneWindow * Math.exp(-4), 6);
  });

  it('rises with a burst', () => {
    const now = 0;
    const rate = new RateEstimate(10_000, () => now);
    for (let i = 0; i < 20; i++) rate.record();
    // Twenty leases at one instant, over a 10 s window: 2 a second.
    expect(rate.perSecond()).toBeCloseTo(2, 10);
  });

  it('reads a steady rate as that rate whatever its window, which may change between events', () => {
    let now = 0;
    let windowMs = 500;
    const rate = new RateEstimate(
      () => windowMs,
      () => now,
    );
    for (let i = 0; i < 100; i++) {
      now += 100;
      rate.record();
    }
    // Read just after an event a short window reads high: 10 · 0.2 / (1 − e^(−0.2)) ≈ 11.03.
    expect(rate.perSecond()).toBeGreaterThan(9);
    expect(rate.perSecond()).toBeLessThan(11.1);
    windowMs = 5000;
    for (let i = 0; i < 600; i++) {
      now += 100;
      rate.record();
    }
    expect(rate.perSecond()).toBeGreaterThan(9);
    expect(rate.perSecond()).toBeLessThan(11);
    expect(
      () =>
        new RateEstimate(
          () => 0,
          () => now,
        ),
    ).toThrow(RangeError);
  });
});

describe('LeaseRate', () => {
  /** Leases every `gapMs` of the clock for `forMs`, from an idle start. */
  function step(refillMs: number | undefined, gapMs: number, forMs: number) {
    const clock = { now: 0 };
    const rate = new LeaseRate(
      10_000,
      () => refillMs,
      () => clock.now,
    );
    while (clock.now < forMs) {
      clock.now += gapMs;
      rate.record();
    }
    return { rate, clock };
  }

  it('follows a step in demand within two refill times', () => {
    // 0 → 4 leases a second, refill 700 ms: after 2 refills it reads ≥ 1 − e^(−2) of the step (the slow
    // estimate alone: 1 − e^(−0.14), 13%).
    const { rate } = step(700, 250, 1400);
    expect(rate.perSecond()).toBeGreaterThan(4 * 0.85);
    expect(rate.perSecond()).toBeLessThan(4 * 1.3);
    // So the target covers the step at once: m = 2.8 → 2.8 + 3·√2.8 → 8 of max 8.
    expect(poolTarget({ ratePerSecond: rate.perSecond(), refillMs: 700, min: 2, max: 8, idle: false })).toBe(
      8,
    );
  });

  it('follows a step at the slow window until a refill is measured', () => {
    const { rate } = step(undefined, 250, 1400);
    // 4 × (1 − e^(−0.14)) ≈ 0.52.
    expect(rate.perSecond()).toBeCloseTo(4 * (1 - Math.exp(-0.14)), 1);
  });

  it('shrinks after a pause at the slow window’s pace, not the refill’s, and falls towards 0', () => {
    const { rate, clock } = step(700, 250, 60_000);
    expect(rate.perSecond()).toBeGreaterThan(3.8);
    // Two refill times of quiet: the fast estimate alone would read 4 · e^(−2) ≈ 0.54; the slow one holds
    // 4 · e^(−0.14) ≈ 3.5.
    clock.now += 1400;
    expect(rate.perSecond()).toBeGreaterThan(4 * 0.8);
    clock.now += 60_000;
    expect(rate.perSecond()).toBeLessThan(0.01);
  });
});

describe('DurationEstimate', () => {
  it('is unknown until measured, then follows samples with its weight', () => {
    const d = new DurationEstimate(0.5);
    expect(d.ms).toBeUndefined();
    d.record(100);
    expect(d.ms).toBe(100);
    d.record(200);
    expect(d.ms).toBe(150);
    d.record(Number.NaN);
    d.record(-1);
    expect(d).toMatchObject({ ms: 150, samples: 2 });
  });
});

describe('poolTarget', () => {
  const base = { min: 2, max: 8, idle: false };
  it('holds the min without demand or before the first refill', () => {
    expect(poolTarget({ ...base, ratePerSecond: 0, refillMs: 500 })).toBe(2);
    expect(poolTarget({ ...base, ratePerSecond: 50, refillMs: undefined })).toBe(2);
  });

  it('is rate × refill time plus BURST_MARGIN times its square root, clamped to max', () => {
    expect(BURST_MARGIN).toBe(3);
    // 2.5 leases/s × 0.4 s = 1 in refill, + 3·1 = 4.
    expect(poolTarget({ ...base, ratePerSecond: 2.5, refillMs: 400 })).toBe(4);
    // 10 leases/s × 0.4 s = 4 in refill, + 3·2 = 10 → max 8; with max 12, 10.
    expect(poolTarget({ ...base, ratePerSecond: 10, refillMs: 400 })).toBe(8);
    expect(poolTarget({ ...base, max: 12, ratePerSecond: 10, refillMs: 400 })).toBe(10);
    // The margin given: k = 1 is the mean plus one deviation (4 + 2 = 6), k = 0 the mean alone.
    expect(poolTarget({ ...base, margin: 1, ratePerSecond: 10, refillMs: 400 })).toBe(6);
    expect(poolTarget({ ...base, margin: 0, ratePerSecond: 10, refillMs: 400 })).toBe(4);
    expect(poolTarget({ ...base, ratePerSecond: 100, refillMs: 400 })).toBe(8);
    // A min-0 pool with any demand keeps one.
    expect(poolTarget({ ...base, min: 0, ratePerSecond: 0.1, refillMs: 300 })).toBe(1);
    // A max below the min is the min.
    expect(poolTarget({ ...base, min: 3, max: 1, ratePerSecond: 100, refillMs: 400 })).toBe(3);
  });

  it('falls to the min when idle, and only an idle pool retires its surplus', () => {
    expect(poolTarget({ ...base, idle: true, ratePerSecond: 10, refillMs: 400 })).toBe(2);
    expect(surplus(6, 2, false)).toBe(0);
    expect(surplus(6, 2, true)).toBe(4);
    expect(surplus(1, 2, true)).toBe(0);
  });
});

describe('leaseWait', () => {
  const base = { now: 1000, waiting: 0, coldMs: 400 };
  it('goes cold at once before anything was measured or with no creation in flight', () => {
    expect(leaseWait({ ...base, creationsStartedAt: [900], refillMs: undefined })).toBeUndefined();
    expect(leaseWait({ ...base, creationsStartedAt: [], refillMs: 300 })).toBeUndefined();
  });

  it('waits, for at most the cold estimate, when a creation is expected sooner than a cold start', () => {
    // Began 100 ms ago, takes 300: due in 200 < 400.
    expect(leaseWait({ ...base, creationsStartedAt: [900], refillMs: 300 })).toBe(400);
    // Just begun, takes 500: due in 500 > 400.
    expect(leaseWait({ ...base, creationsStartedAt: [1000], refillMs: 500 })).toBeUndefined();
    // Without a measured cold start, the refill time stands in: due in 200 < 300.
    expect(leaseWait({ ...base, coldMs: undefined, creationsStartedAt: [900], refillMs: 300 })).toBe(300);
  });

  it('does not count on a creation already promised to an earlier waiter', () => {
    const input = { ...base, creationsStartedAt: [1000, 700], refillMs: 500 };
    // The oldest (due in 200) goes to the first waiter; the next is due in 500.
    expect(leaseWait({ ...input, waiting: 0 })).toBe(400);
    expect(leaseWait({ ...input, waiting: 1 })).toBeUndefined();
    expect(leaseWait({ ...input, waiting: 2 })).toBeUndefined();
  });
});
