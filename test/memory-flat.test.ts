// The embedded service's memory does not grow with what it has run: 2,000 JavaScript jobs of 64 KiB output each
// (125 MiB in all, every output distinct) through REST into a store bounded at 8 MiB, the service's resident
// memory read from outside (/proc) every 200 jobs, each time after a full garbage collection (asked for over the
// inspector: without it, the reading is mostly how far V8 lets its heap grow before collecting, which depends
// on the allocation rate, not on what is kept). What it keeps goes to disk: after warm-up, the mean of the
// last four readings stays within a bound of the mean of the four before them. The bound is on memory, not on
// time: the jobs may run as slowly as the machine needs.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from './support/service.ts';
import { rssAfterGc, startServiceChild, stopAll } from './support/service-child.ts';

const JOBS = 2000;
const WARM_UP = 400;
const EVERY = 200;
const CLIENTS = 8;
const OUTPUT_BYTES = 64 * 1024;
const MIB = 1024 * 1024;
/**
 * Allowed rise of the mean resident memory (after a full GC) from readings 600–1,200 to readings 1,400–2,000.
 * Before the store, each finished job held its output twice (result and replay), about 130 KiB: 800 more jobs
 * would add ~100 MiB. Single readings move by up to ~35 MiB here (jobs keep running while one is taken); the
 * allowance covers that noise in a mean of four.
 */
const ALLOWED_RISE = 32 * MIB;

const dirs: string[] = [];
afterAll(async () => {
  await stopAll();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('memory of the embedded service', () => {
  it('stays flat across 2,000 output-heavy jobs while the store forgets the oldest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-flat-'));
    dirs.push(dir);
    const service = startServiceChild(
      {
        AIRLOCK_PORT: '0',
        AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
        AIRLOCK_DATA_DIR: join(dir, 'data'),
        AIRLOCK_BACKENDS: 'isolate',
        AIRLOCK_RETAINED_BYTES: String(8 * MIB),
        AIRLOCK_AUDIT_FSYNC: 'never',
      },
      { inspect: true },
    );
    const url = await service.listening();
    const code = `console.log(airlock.args[0].padEnd(${OUTPUT_BYTES - 1}, '.'))`;
    const samples = new Map<number, number>();
    const ids: string[] = [];
    let next = 0;
    let done = 0;
    let sampling = Promise.resolve();
    const client = async () => {
      while (next < JOBS) {
        const n = next++;
        const response = await call(url, 'POST', '/v1/executions?wait=60', {
          language: 'javascript',
          code,
          args: [`job ${n}`],
          limits: { output_bytes: OUTPUT_BYTES * 2 },
        });
        expect(response.status).toBe(201);
        expect(response.body.result.outcome).toBe('success');
        expect(response.body.result.stdout.length).toBe(OUTPUT_BYTES);
        ids[n] = response.body.id;
        done++;
        if (done % EVERY === 0) {
          const at = done;
          sampling = sampling.then(async () => {
            samples.set(at, await rssAfterGc(service));
          });
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    await sampling;
    const after = [...samples].sort(([a], [b]) => a - b).filter(([n]) => n > WARM_UP);
    const report = after.map(([n, rss]) => `${n}: ${(rss / MIB).toFixed(0)} MiB`).join(', ');
    expect(after.length, report).toBe((JOBS - WARM_UP) / EVERY);
    const mean = (part: Array<[number, number]>) => part.reduce((sum, [, rss]) => sum + rss, 0) / part.length;
    const half = after.length / 2;
    expect(mean(after.slice(half)) - mean(after.slice(0, half)), report).toBeLessThanOrEqual(ALLOWED_RISE);
    // The store kept the newest within its bound and forgot the oldest.
    expect((await call(url, 'GET', `/v1/executions/${ids[0]}`)).status).toBe(404);
    const newest = await call(url, 'GET', `/v1/executions/${ids[JOBS - 1]}`);
    expect(newest.body.result.stdout).toBe(`${`job ${JOBS - 1}`.padEnd(OUTPUT_BYTES - 1, '.')}\n`);
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  }, 600_000);
});
