// The warm pool as a scheduler, on an injected clock: its target follows the lease rate × the measured refill
// time between min and max and falls back once idle (retiring the surplus); a job that finds it empty waits for
// a creation in flight when that is due before a cold start, gets that very container (and no one else does),
// and goes cold at once when there is none or it fails. Stand-in containers as in warm-pool.test.ts.

import { describe, expect, it, vi } from 'vitest';
import type { AttachedContainer } from './attached-container.ts';
import { WarmPool } from './warm-pool.ts';

let nextId = 0;
function standIn(): AttachedContainer {
  return {
    id: `s${++nextId}`,
    container: {} as AttachedContainer['container'],
    ended: new Promise<void>(() => {}),
    isEnded: false,
    listen() {},
    write: async () => {},
    kill: async () => {},
  };
}

/** A pool whose creations each take `refillMs` of the injected clock and finish when `finish()` is called. */
function scheduled(options: { min: number; max: number; refillMs: number }) {
  const clock = { now: 0 };
  const pending: Array<() => void> = [];
  const discarded: string[] = [];
  const pool = new WarmPool({
    key: 'sched',
    size: options.min,
    max: options.max,
    idleMs: 10_000,
    rateWindowMs: 10_000,
    tickMs: 0,
    refillDelayMs: 3_600_000,
    now: () => clock.now,
    create: () =>
      new Promise<AttachedContainer>((resolve) => {
        const began = clock.now;
        pending.push(() => {
          clock.now = Math.max(clock.now, began + options.refillMs);
          resolve(standIn());
        });
      }),
    discard: (c) => discarded.push(c.id),
  });
  /** Lets every creation in flight finish (each taking refillMs), and the pool settle. */
  const finish = async () => {
    while (pending.length > 0) {
      for (const done of pending.splice(0)) done();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { pool, clock, pending, discarded, finish };
}

/** A started pool of one, full, with its refill and cold start times measured as given. */
async function filledPool(refillMs: number, coldMs: number) {
  const made = scheduled({ min: 1, max: 1, refillMs });
  made.pool.start();
  await made.finish();
  made.pool.observeCold(coldMs);
  return made;
}

describe('WarmPool scheduling', () => {
  it('raises its target above min under a burst, fills to it, and shrinks back once idle', async () => {
    const { pool, clock, discarded, finish } = scheduled({ min: 1, max: 6, refillMs: 500 });
    pool.start();
    await finish();
    expect(pool.stats()).toMatchObject({ size: 1, ready: 1, refillMs: 500 });
    // 80 leases in 0.8 s over a 10 s window: ≈ 7.7 a second × 0.5 s in refill ≈ 3.9, + √3.9 → 6.
    for (let i = 0; i < 80; i++) {
      clock.now += 10;
      pool.take();
    }
    expect(pool.target()).toBe(6);
    pool.refill();
    await finish();
    expect(pool.stats()).toMatchObject({ size: 6, ready: 6 });
    // Not idle yet: the surplus stays.
    clock.now += 5000;
    pool.tick();
    expect(pool.stats()).toMatchObject({ ready: 6, retired: 0 });
    clock.now += 5000;
    pool.tick();
    expect(pool.stats()).toMatchObject({ size: 1, ready: 1, retired: 5 });
    expect(discarded).toHaveLength(5);
    await pool.drain();
  });

  it('an empty pool’s job waits for the creation in flight when it is due before a cold start, and gets it', async () => {
    const { pool, clock, pending } = await filledPool(100, 400);
    const first = pool.take();
    pool.refill();
    expect(pending).toHaveLength(1);
    clock.now += 10;
    const waiting = pool.lease();
    // Due in 90 ms of the clock, a cold start takes 400: it waits.
    pending.shift()?.();
    const leased = await waiting;
    expect(leased).toBeDefined();
    expect(leased?.id).not.toBe(first?.id);
    // Handed to the waiter only, never also kept ready.
    expect(pool.stats()).toMatchObject({ waits: 1, waitHits: 1, hits: 2, misses: 0, ready: 0 });
    expect(pool.take()).toBeUndefined();
    await pool.drain();
  });

  it('goes cold at once when no creation is in flight or it is due after a cold start', async () => {
    const { pool, clock, pending, finish } = await filledPool(1000, 300);
    pool.take();
    // Refills are held back while the leasing job runs: nothing in flight.
    expect(pending).toHaveLength(0);
    expect(await pool.lease()).toBeUndefined();
    pool.refill();
    expect(pending).toHaveLength(1);
    clock.now += 100;
    // Due in 900 ms, a cold start takes 300.
    expect(await pool.lease()).toBeUndefined();
    expect(pool.stats()).toMatchObject({ waits: 0, misses: 2 });
    await finish();
    await pool.drain();
  });

  it('a waiting job goes cold when its creation fails, when it is aborted, and at its bound', async () => {
    let fail = false;
    const clock = { now: 0 };
    const hanging: Array<(c: AttachedContainer) => void> = [];
    const failing: Array<(e: Error) => void> = [];
    const pool = new WarmPool({
      key: 'fails',
      size: 1,
      tickMs: 0,
      refillDelayMs: 3_600_000,
      initialBackoffMs: 3_600_000,
      now: () => clock.now,
      create: () =>
        new Promise<AttachedContainer>((resolve, reject) => {
          if (fail) failing.push(reject);
          else hanging.push(resolve);
        }),
      discard: () => {},
    });
    pool.start();
    clock.now = 50;
    hanging.shift()?.(standIn());
    await vi.waitFor(() => expect(pool.stats()).toMatchObject({ ready: 1, refillMs: 50 }));
    pool.observeCold(10);
    pool.take();
    pool.refill();
    // The creation began at 50 and takes 50: at 95 it is due in 5, before a cold start (10).
    clock.now = 95;
    const aborting = new AbortController();
    const aborted = pool.lease(aborting.signal);
    aborting.abort();
    expect(await aborted).toBeUndefined();
    // Nothing finishes it: the wait ends at its bound (the cold estimate, 10 ms).
    expect(await pool.lease()).toBeUndefined();
    expect(pool.stats()).toMatchObject({ waits: 2, waitHits: 0, hits: 1, misses: 2 });
    hanging.shift()?.(standIn());
    await vi.waitFor(() => expect(pool.stats().ready).toBe(1));
    pool.take();
    fail = true;
    pool.refill();
    clock.now = 140;
    const waiting = pool.lease();
    failing.shift()?.(new Error('dockerd is restarting'));
    expect(await waiting).toBeUndefined();
    expect(pool.stats()).toMatchObject({ waits: 3, waitHits: 0, createFailures: 1 });
    await pool.drain();
  });
});
