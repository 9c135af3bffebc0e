// The Docker limiter: never more calls at once than its concurrency, and a queue that serves a job's cold start
// before refills and refills before removals, whatever order they came in.

import { describe, expect, it } from 'vitest';
import { DOCKER_PRIORITY, DockerLimiter } from './docker-limiter.ts';

describe('DockerLimiter', () => {
  it('runs at most its concurrency at once, cold starts first, removals last', async () => {
    const limiter = new DockerLimiter(2);
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const call = (name: string) => () =>
      new Promise<string>((resolve) => {
        running++;
        most = Math.max(most, running);
        order.push(name);
        releases.push(() => {
          running--;
          resolve(name);
        });
      });
    const all = [
      limiter.run(DOCKER_PRIORITY.refill, call('busy-1')),
      limiter.run(DOCKER_PRIORITY.refill, call('busy-2')),
      limiter.run(DOCKER_PRIORITY.removal, call('remove')),
      limiter.run(DOCKER_PRIORITY.refill, call('refill')),
      limiter.run(DOCKER_PRIORITY.coldStart, call('cold')),
    ];
    expect(limiter).toMatchObject({ running: 2, queued: 3 });
    while (order.length < 5 || releases.length > 0) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(all)).toEqual(['busy-1', 'busy-2', 'remove', 'refill', 'cold']);
    expect(order).toEqual(['busy-1', 'busy-2', 'cold', 'refill', 'remove']);
    expect(most).toBe(2);
  });

  it('refuses a concurrency below 1', () => {
    expect(() => new DockerLimiter(0)).toThrow(RangeError);
  });
});
