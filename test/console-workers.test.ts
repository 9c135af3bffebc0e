// The operator console's Workers page in a real browser (Debian's chromium through playwright-core) against a
// scaled-out Airlock: a real nats-server, a gateway and two worker processes with the isolate and docker
// backends and a warm pool of one container per image. The page lists both workers (host, backends, running
// against capacity, pools, templates, last seen, age) as GET /v1/workers answers them, and the warm-pool
// tables of the Workers and Service pages are fed from the workers (the gateway has no pool of its own).
// Screenshot: docs/screenshots/console-workers.png (test/support/browser.ts).

import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type TestBrowser } from './support/browser.ts';
import { type AirlockProcess, NatsCluster, until } from './support/nats-cluster.ts';
import { expectNothingLeft, stopWithSigterm } from './support/nats-egress.ts';
import { call, run, submitWaiting } from './support/service.ts';

let cluster: NatsCluster;
let gateway: AirlockProcess;
let workers: AirlockProcess[];
let browser: TestBrowser;

const WORKER_ENV = {
  AIRLOCK_BACKENDS: 'isolate,docker',
  AIRLOCK_POOL_SIZE: '1',
  AIRLOCK_TEMPLATES_BUILD: 'off',
};

beforeAll(async () => {
  cluster = await NatsCluster.start();
  [gateway, ...workers] = await Promise.all([
    cluster.gateway({ AIRLOCK_BACKENDS: 'isolate,docker', AIRLOCK_MAX_WAIT_SECONDS: '120' }),
    cluster.worker({ ...WORKER_ENV, AIRLOCK_CONCURRENCY: '2' }),
    cluster.worker({ ...WORKER_ENV, AIRLOCK_CONCURRENCY: '4' }),
  ]);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.[Symbol.asyncDispose]();
  // SIGTERM, so each worker removes its warm containers; then nothing of theirs is left.
  await stopWithSigterm([...(workers ?? []), gateway]);
  await expectNothingLeft('', workers ?? []);
  await cluster?.[Symbol.asyncDispose]();
}, 120_000);

const listWorkers = async (): Promise<any[]> => (await call(gateway.url, 'GET', '/v1/workers')).body.workers;

describe('the console on NATS: workers and their warm pools', () => {
  it('lists both workers with their pools, and feeds the pool tables from them', async () => {
    // Both workers' pools are warm (three images, one container each), then one python run is served warm.
    await until(async () => {
      const listed = await listWorkers();
      return (
        listed.length === 2 &&
        listed.every((w) => w.pools.length === 3 && w.pools.every((p: any) => p.ready === 1))
      );
    }, 500);
    const ran = await run(gateway.url, { language: 'python', backend: 'docker', code: 'print(6 * 7)' }, 120);
    expect(ran.result).toMatchObject({ outcome: 'success', stdout: '42\n' });
    // A run that waits until it is canceled: its worker shows it running.
    const waiting = await submitWaiting(gateway.url);
    expect(waiting.status).toBe(201);
    await until(async () => (await listWorkers()).some((w) => w.running === 1), 200);
    const listed = await listWorkers();

    const page = await browser.page();
    await page.goto(`${gateway.url}/console/#/workers`);
    const rows = page.locator('.workers tbody tr');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    for (const worker of listed) {
      const row = page.locator(`.workers tr[data-worker="${worker.id}"]`);
      const text = (await row.textContent()) ?? '';
      expect(text).toContain(worker.host);
      expect(text).toContain(`pid ${worker.pid}`);
      expect(text).toContain('docker, isolate');
      expect(text).toContain(`${worker.running} / ${worker.capacity}`);
      expect(text).toContain('3 pools');
      expect(text).toMatch(/\d+ s ago/);
    }
    expect(await page.locator('.summary').textContent()).toContain('2 workers up, running 1 of 6');
    // The warm pools of both workers, one row each, and the warm lease the python run took.
    const poolRows = page.locator('.pools tbody tr');
    await expect.poll(() => poolRows.count(), { timeout: 30_000 }).toBe(6);
    await expect
      .poll(() => page.locator('.pools tbody').textContent(), { timeout: 30_000 })
      .toMatch(/airlock-python[\s\S]*100 %/);
    await screenshot(page, 'console-workers');
    expect((await call(gateway.url, 'DELETE', `/v1/executions/${waiting.body.id}`)).status).toBe(200);
    await expect
      .poll(() => page.locator('.summary').textContent(), { timeout: 30_000 })
      .toContain('running 0 of 6');

    await page.goto(`${gateway.url}/console/#/service`);
    await expect.poll(() => page.locator('.pools tbody tr').count(), { timeout: 30_000 }).toBe(6);
    for (const worker of listed)
      expect(await page.locator('.pools tbody').textContent()).toContain(worker.id);
    expect(browser.problems).toEqual([]);
  }, 300_000);

  it('shows a hostile entry of the workers bucket as text', async () => {
    // Whoever may write to the bucket could put markup or escapes in it: they print, never run.
    const nc = await cluster.connect();
    const kv = await new Kvm(nc).open('airlock-workers');
    const { last_seen: _, ...status } = (await listWorkers())[0];
    await kv.put(
      'q_hostile',
      JSON.stringify({
        ...status,
        id: 'q_hostile',
        host: '<img src=x onerror="alert(1)">',
        version: '\u001b[31mred',
        templates: [{ name: '<script>alert(2)</script>', state: 'failed', reason: '\u202eevil' }],
        ttl_ms: 60_000,
      }),
    );
    try {
      const page = await browser.page();
      await page.goto(`${gateway.url}/console/#/workers`);
      const row = page.locator('.workers tr[data-worker="q_hostile"]');
      await row.waitFor({ timeout: 30_000 });
      const text = (await row.textContent()) ?? '';
      expect(text).toContain('<img src=x onerror="alert(1)">');
      expect(text).toContain('<script>alert(2)</script>');
      expect(text).toContain(String.raw`v\x1b[31mred`);
      expect(text).not.toContain('\u001b');
      expect(await page.locator('.workers img, .workers script').count()).toBe(0);
      expect(browser.problems).toEqual([]);
    } finally {
      await kv.purge('q_hostile');
    }
  }, 120_000);
});
