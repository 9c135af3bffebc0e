// Warm container supply as a scheduler, against real dockerd (runc): a burst of python jobs raises the python
// pool's target above its min, /metrics shows every pool figure (containers by state, leases, waits, lease rate,
// refill/cold/teardown seconds), a job with another memory limit gets a pool made on demand, an idle period
// shrinks the target back to the min and retires the surplus, and after shutdown no container of the service is
// left (label check).

import type { ContainerSandbox, WarmPoolStats } from '@airlock/sandbox';
import { describe, expect, it } from 'vitest';
import { expectNoContainersLeft } from './support/containers.ts';
import { run, startService, type TestService } from './support/service.ts';

const MIN = 1;
const MAX = 4;

function pythonPool(sandbox: ContainerSandbox): WarmPoolStats {
  const pool = sandbox.pools().find((p) => p.key.includes('airlock-python') && p.key.endsWith('|mem=128'));
  if (!pool) throw new Error(`no python pool in ${JSON.stringify(sandbox.pools())}`);
  return pool;
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('warm container supply (runc)', () => {
  it('grows with a burst, shows in /metrics, shrinks when idle, and leaves nothing behind', async () => {
    let svc: TestService | undefined = await startService({
      AIRLOCK_BACKENDS: 'docker',
      AIRLOCK_POOL_SIZE: String(MIN),
      AIRLOCK_POOL_MAX: String(MAX),
      AIRLOCK_POOL_IDLE_SECONDS: '5',
      AIRLOCK_POOL_PROFILES: '1',
      AIRLOCK_CONCURRENCY: '4',
      AIRLOCK_MAX_WAIT_SECONDS: '300',
    });
    const sandbox = svc.service.registry.get('docker') as ContainerSandbox;
    try {
      await sandbox.whenWarm();
      expect(pythonPool(sandbox)).toMatchObject({ size: MIN, min: MIN, max: MAX, ready: MIN });
      // A burst: 24 jobs, 6 at a time, watching the pool's target as it runs.
      let highest = 0;
      const watching = setInterval(() => {
        highest = Math.max(highest, pythonPool(sandbox).size);
      }, 20);
      const job = () => run(svc!.url, { language: 'python', backend: 'docker', code: 'print("hi")' }, 120);
      let left = 24;
      const worker = async () => {
        while (left-- > 0) expect((await job()).result).toMatchObject({ outcome: 'success', stdout: 'hi\n' });
      };
      await Promise.all(Array.from({ length: 6 }, worker));
      clearInterval(watching);
      highest = Math.max(highest, pythonPool(sandbox).size);
      expect(highest).toBeGreaterThan(MIN);
      expect(highest).toBeLessThanOrEqual(MAX);
      const afterBurst = pythonPool(sandbox);
      console.log(
        `[figures] burst of 24 at c=6: highest target ${highest} (min ${MIN}, max ${MAX}); ` +
          `hits ${afterBurst.hits}, misses ${afterBurst.misses}, waits ${afterBurst.waits} (warm ${afterBurst.waitHits}); ` +
          `refill ${afterBurst.refillMs?.toFixed(0)} ms, cold ${afterBurst.coldMs?.toFixed(0)} ms, ` +
          `teardown ${afterBurst.teardownMs?.toFixed(0)} ms`,
      );
      expect(afterBurst.hits + afterBurst.misses).toBeGreaterThanOrEqual(24);
      expect(afterBurst.refillMs).toBeGreaterThan(0);

      // Another memory limit: its pool is made on demand (the first job goes cold).
      const other = await run(
        svc.url,
        { language: 'python', backend: 'docker', code: 'print(2)', limits: { memory_mb: 192 } },
        120,
      );
      expect(other.result).toMatchObject({ outcome: 'success', stdout: '2\n' });
      const onDemand = sandbox.pools().find((p) => p.key.endsWith('|mem=192'));
      expect(onDemand).toMatchObject({ min: 0, misses: 1 });

      const metrics = await (await fetch(`${svc.url}/metrics`)).text();
      const key = afterBurst.key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      for (const state of ['ready', 'creating', 'target', 'min', 'max'])
        expect(metrics).toMatch(
          new RegExp(`^airlock_warm_pool_containers\\{pool="${key}",state="${state}"\\} \\d+$`, 'm'),
        );
      for (const result of ['hit', 'miss'])
        expect(metrics).toMatch(
          new RegExp(`^airlock_warm_pool_leases_total\\{pool="${key}",result="${result}"\\} \\d+$`, 'm'),
        );
      for (const result of ['warm', 'cold'])
        expect(metrics).toMatch(
          new RegExp(`^airlock_warm_pool_waits_total\\{pool="${key}",result="${result}"\\} \\d+$`, 'm'),
        );
      for (const phase of ['refill', 'cold', 'teardown'])
        expect(metrics).toMatch(
          new RegExp(
            `^airlock_warm_pool_duration_seconds\\{pool="${key}",phase="${phase}"\\} [0-9.e-]+$`,
            'm',
          ),
        );
      expect(metrics).toMatch(new RegExp(`^airlock_warm_pool_lease_rate\\{pool="${key}"\\} [0-9.e-]+$`, 'm'));
      expect(metrics).toMatch(/^airlock_warm_pool_containers\{pool="[^"]+\|mem=192",state="min"\} 0$/m);

      // Idle: the target falls back to the min and the surplus goes.
      await until(() => {
        const pool = pythonPool(sandbox);
        return pool.size === MIN && pool.ready + pool.creating <= MIN;
      });
      await until(() => sandbox.pools().find((p) => p.key.endsWith('|mem=192'))?.size === 0);
      expect(pythonPool(sandbox).ready).toBeLessThanOrEqual(MIN);
    } finally {
      await svc.close();
      svc = undefined;
    }
    await expectNoContainersLeft(sandbox.instance);
  }, 300_000);
});
