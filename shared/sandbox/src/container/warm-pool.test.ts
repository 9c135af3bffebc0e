// The warm pool's bookkeeping: filling, leasing once, refilling, replacing containers that die while waiting,
// backing off when creation fails (as while dockerd restarts), and draining. The containers here are stand-ins
// for AttachedContainer (Airlock's own interface); the real ones are exercised in container-sandbox.test.ts.

import { describe, expect, it, vi } from 'vitest';
import type { AttachedContainer } from './attached-container.ts';
import { WarmPool } from './warm-pool.ts';

interface StandIn extends AttachedContainer {
  die(): void;
}

let nextId = 0;
function standIn(): StandIn {
  let die = () => {};
  let ended = false;
  const endedPromise = new Promise<void>((resolve) => {
    die = () => {
      ended = true;
      resolve();
    };
  });
  return {
    id: `c${++nextId}`,
    container: {} as AttachedContainer['container'],
    ended: endedPromise,
    get isEnded() {
      return ended;
    },
    listen() {},
    write: async () => {},
    kill: async () => {},
    die: () => die(),
  };
}

function pool(create: () => Promise<AttachedContainer>, size = 2, refillDelayMs = 1) {
  const discarded: string[] = [];
  const warm = new WarmPool({
    key: 'test',
    size,
    create,
    discard: (c) => discarded.push(c.id),
    initialBackoffMs: 1,
    maxBackoffMs: 4,
    refillDelayMs,
  });
  return { warm, discarded };
}

describe('WarmPool', () => {
  it('fills, leases each container once, and refills after a lease', async () => {
    const { warm } = pool(async () => standIn());
    warm.start();
    await warm.whenFull();
    const a = warm.take();
    const b = warm.take();
    expect(a && b && a.id !== b.id).toBe(true);
    await warm.whenFull();
    const c = warm.take();
    expect([a?.id, b?.id]).not.toContain(c?.id);
    expect(warm.stats()).toMatchObject({ hits: 3, misses: 0, created: 4 });
    await warm.drain();
  });

  it('holds the refill back while the leasing job runs, and refills when it ends', async () => {
    const { warm } = pool(async () => standIn(), 1, 3_600_000);
    warm.start();
    await warm.whenFull();
    expect(warm.take()).toBeDefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(warm.stats()).toMatchObject({ ready: 0, created: 1 });
    warm.refill();
    await warm.whenFull();
    expect(warm.stats()).toMatchObject({ ready: 1, created: 2 });
    await warm.drain();
  });

  it('answers at once when empty, even while a creation hangs', async () => {
    const { warm } = pool(() => new Promise<AttachedContainer>(() => {}));
    warm.start();
    expect(warm.take()).toBeUndefined();
    expect(warm.stats()).toMatchObject({ misses: 1, ready: 0 });
  });

  it('backs off after failed creations and recovers', async () => {
    let calls = 0;
    const { warm } = pool(async () => {
      calls++;
      if (calls <= 3) throw new Error('dockerd is restarting');
      return standIn();
    });
    warm.start();
    await warm.whenFull();
    expect(warm.stats()).toMatchObject({ createFailures: 3, ready: 2 });
    await warm.drain();
  });

  it('drops a waiting container that dies, and never hands one out', async () => {
    const made: StandIn[] = [];
    const { warm, discarded } = pool(async () => {
      const c = standIn();
      made.push(c);
      return c;
    });
    warm.start();
    await warm.whenFull();
    made[0]!.die();
    made[1]!.die();
    await vi.waitFor(() => expect(warm.stats()).toMatchObject({ died: 2, ready: 2 }));
    expect(discarded).toEqual([made[0]!.id, made[1]!.id]);
    const leased = warm.take();
    expect(leased?.isEnded).toBe(false);
    await warm.drain();
  });

  it('drains: discards waiting containers and one still being created', async () => {
    let release: (c: AttachedContainer) => void = () => {};
    let creations = 0;
    const { warm, discarded } = pool(() => {
      creations++;
      if (creations === 1) return Promise.resolve(standIn());
      return new Promise<AttachedContainer>((resolve) => {
        release = resolve;
      });
    });
    warm.start();
    await vi.waitFor(() => expect(creations).toBe(2));
    const draining = warm.drain();
    const late = standIn();
    release(late);
    await draining;
    expect(discarded).toHaveLength(2);
    expect(discarded).toContain(late.id);
    expect(warm.take()).toBeUndefined();
  });
});
