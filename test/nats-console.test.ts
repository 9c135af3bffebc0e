// The operator console on NATS as an operator runs it: a real nats-server, two gateways (A and B) and a real
// worker (isolate and runc, a warm pool of one container per image). A run submitted through A shows its audit
// records through B, over the API and on B's console page (A's `accepted`, the worker's `started` and `finished`,
// each as its own log holds it, and no secret; screenshot docs/screenshots/console-nats-audit.png); both gateways answer the same per-backend run figures and pool hit counts, from the worker's
// heartbeats; the Service page of A draws latency and throughput per backend from them (screenshot
// docs/screenshots/console-nats-service.png); and a worker told to stop (SIGTERM) with a job still running
// shows `draining` until the job ends, then leaves the list.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawnChartLegends, launchBrowser, screenshot, type TestBrowser } from './support/browser.ts';
import { type AirlockProcess, NatsCluster, until } from './support/nats-cluster.ts';
import { expectNothingLeft, stopWithSigterm } from './support/nats-egress.ts';
import { call, run, submitWaiting } from './support/service.ts';

const CANARY = 'canary-value-0c7d41e9';
const FLEET = [
  'airlock_executions_total',
  'airlock_execution_duration_seconds',
  'airlock_warm_pool_containers',
  'airlock_warm_pool_leases_total',
];

let cluster: NatsCluster;
let gatewayA: AirlockProcess;
let gatewayB: AirlockProcess;
let worker: AirlockProcess;
let browser: TestBrowser;

beforeAll(async () => {
  // A short TTL: the worker beats every 500 ms, so its figures reach the gateways soon after each run.
  cluster = await NatsCluster.start({ env: { AIRLOCK_WORKER_TTL_MS: '1500' } });
  const gatewayEnv = { AIRLOCK_BACKENDS: 'isolate,docker', AIRLOCK_MAX_WAIT_SECONDS: '120' };
  [gatewayA, gatewayB, worker] = await Promise.all([
    cluster.gateway(gatewayEnv),
    cluster.gateway(gatewayEnv),
    cluster.worker({
      AIRLOCK_BACKENDS: 'isolate,docker',
      AIRLOCK_POOL_SIZE: '1',
      AIRLOCK_TEMPLATES_BUILD: 'off',
      AIRLOCK_CONCURRENCY: '2',
      // Long enough that the drain outlasts the test's look at it: the job ends when the test cancels it.
      AIRLOCK_SHUTDOWN_GRACE_MS: '120000',
    }),
  ]);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.[Symbol.asyncDispose]();
  await stopWithSigterm([worker, gatewayA, gatewayB]);
  await expectNothingLeft('', [worker]);
  await cluster?.[Symbol.asyncDispose]();
}, 120_000);

const listWorkers = async (url: string): Promise<any[]> =>
  (await call(url, 'GET', '/v1/workers')).body.workers;

async function fleetStats(url: string): Promise<any> {
  const response = await call(url, 'GET', '/v1/stats');
  expect(response.status).toBe(200);
  return response.body;
}

/** The fleet's metrics of a /v1/stats answer, by name. */
const fleetOf = (stats: any) =>
  Object.fromEntries(
    stats.metrics.filter((m: any) => FLEET.includes(m.name)).map((m: any) => [m.name, m.samples]),
  );

describe('the console on NATS: what any gateway shows of the fleet', () => {
  it("shows a run's audit records through another gateway than the one that accepted it", async () => {
    const ran = await run(gatewayA.url, {
      language: 'javascript',
      code: 'console.log(airlock.env.TOKEN.length)',
      env: { TOKEN: CANARY },
    });
    expect(ran.result).toMatchObject({ outcome: 'success', stdout: `${CANARY.length}\n` });
    const id = ran.id as string;
    // The worker's `finished` record is copied once its file has it: read through B until it is there.
    let body = '';
    await until(async () => {
      const response = await call(gatewayB.url, 'GET', `/v1/executions/${id}/audit`);
      expect(response.status).toBe(200);
      body = JSON.stringify(response.body);
      return response.body.data.length === 3;
    }, 100);
    const { data } = JSON.parse(body);
    expect(data.map((r: any) => r.type)).toEqual(['accepted', 'started', 'finished']);
    expect(body).not.toContain(CANARY);
    // Each record is the one its process's hash-chained file holds, named by that process.
    const [workerId] = (await listWorkers(gatewayB.url)).map((w) => w.id);
    const inA = (await gatewayA.audit()).filter((r) => r.execution_id === id);
    const inWorker = (await worker.audit()).filter((r) => r.execution_id === id);
    expect(inA.map((r) => r.type)).toEqual(['accepted']);
    expect(inWorker.map((r) => r.type)).toEqual(['started', 'finished']);
    expect(data.map(({ source: _, ...record }: any) => record)).toEqual([...inA, ...inWorker]);
    expect(data[1].source).toBe(workerId);
    expect(data[2].source).toBe(workerId);
    expect(data[0].source).not.toBe(workerId);
    expect((await gatewayB.audit()).some((r) => r.execution_id === id)).toBe(false);
    expect(`${gatewayA.output()}${gatewayB.output()}${worker.output()}`).not.toContain(CANARY);
    // The same through A; an execution that does not exist is 404 on both.
    expect((await call(gatewayA.url, 'GET', `/v1/executions/${id}/audit`)).body).toEqual({ data });
    const missing = await call(gatewayB.url, 'GET', '/v1/executions/exe_missing0000000000000000/audit');
    expect(missing.status).toBe(404);
    // B's console shows them, each with the log it is in.
    const page = await browser.page();
    // The view reads the records once per visit: under load a visit may come before they are drawn, so the poll
    // reloads the page until the three rows are there.
    const rows = page.locator('.audit tbody tr');
    await page.goto(`${gatewayB.url}/console/#/executions/${id}`);
    let visits = 0;
    await expect
      .poll(
        async () => {
          if (visits++ > 0) await page.reload();
          await rows
            .nth(2)
            .waitFor({ timeout: 10_000 })
            .catch(() => {});
          return rows.count();
        },
        { timeout: 90_000, interval: 500 },
      )
      .toBe(3);
    const table = (await page.locator('.audit').textContent()) ?? '';
    expect(table).toMatch(
      new RegExp(`accepted.*${data[0].source}.*started.*${workerId}.*finished.*${workerId}`, 's'),
    );
    await screenshot(page, 'console-nats-audit');
    expect(browser.problems).toEqual([]);
  }, 120_000);

  it('answers the same per-backend run figures and pool leases through both gateways', async () => {
    await expect
      .poll(async () => (await listWorkers(gatewayA.url))[0]?.pools.map((p: any) => p.ready), {
        timeout: 120_000,
        interval: 200,
      })
      .toEqual([1, 1, 1]);
    const python = await run(
      gatewayB.url,
      { language: 'python', backend: 'docker', code: 'print(6 * 7)' },
      120,
    );
    expect(python.result).toMatchObject({ outcome: 'success', stdout: '42\n' });
    const js = await run(gatewayA.url, { language: 'javascript', code: 'console.log(1)' });
    expect(js.result).toMatchObject({ outcome: 'success' });
    const [workerId] = (await listWorkers(gatewayA.url)).map((w) => w.id);
    let a: any;
    let b: any;
    // Both read the same heartbeats: once the worker's beat carries the three runs, A and B agree.
    const counted = (stats: any) =>
      (fleetOf(stats).airlock_executions_total ?? []).reduce((n: number, s: any) => n + s.value, 0);
    await expect
      .poll(
        async () => {
          [a, b] = [await fleetStats(gatewayA.url), await fleetStats(gatewayB.url)];
          return { a: counted(a), same: JSON.stringify(fleetOf(a)) === JSON.stringify(fleetOf(b)) };
        },
        { timeout: 60_000, interval: 200 },
      )
      .toEqual({ a: 3, same: true });
    expect(a.scope).toBe('fleet');
    expect(b.scope).toBe('fleet');
    const runs = fleetOf(a).airlock_executions_total;
    const count = (backend: string) =>
      runs
        .filter((s: any) => s.labels.backend === backend && s.labels.worker === workerId)
        .reduce((n: number, s: any) => n + s.value, 0);
    expect(count('isolate')).toBe(2);
    expect(count('docker')).toBe(1);
    const buckets = fleetOf(a).airlock_execution_duration_seconds.filter(
      (s: any) => s.name === 'airlock_execution_duration_seconds_bucket' && s.labels.phase === 'total',
    );
    const inf = (backend: string) =>
      buckets.find((s: any) => s.labels.backend === backend && s.labels.le === '+Inf')?.value;
    expect(inf('isolate')).toBe(2);
    expect(inf('docker')).toBe(1);
    // The python run took the warm container: a hit on the worker's python pool.
    const leases = fleetOf(a).airlock_warm_pool_leases_total.filter(
      (s: any) => s.labels.worker === workerId && String(s.labels.pool).includes('airlock-python'),
    );
    expect(leases.find((s: any) => s.labels.result === 'hit')?.value).toBe(1);
  }, 240_000);

  it("draws latency and throughput per backend from the workers' figures on the Service page", async () => {
    const page = await browser.page();
    await page.goto(`${gatewayA.url}/console/#/service`);
    await page.locator('figure.chart canvas').first().waitFor({ timeout: 30_000 });
    // Runs on both backends, through both gateways, while the page polls.
    for (let round = 0; round < 4; round++) {
      const gateway = round % 2 === 0 ? gatewayA : gatewayB;
      await run(gateway.url, { language: 'javascript', code: `console.log(${round})` });
      await run(gateway.url, { language: 'python', backend: 'docker', code: `print(${round})` }, 120);
      await page.waitForTimeout(2500);
    }
    const legends = await drawnChartLegends(page);
    expect(legends[0]).toContain('isolate p50');
    expect(legends[0]).toContain('docker p95');
    expect(legends[1]).toContain('isolate');
    expect(legends[1]).toContain('docker');
    const [workerId] = (await listWorkers(gatewayA.url)).map((w) => w.id);
    expect(legends[2]).toContain(`on ${workerId}`);
    expect(await page.locator('.summary').textContent()).toContain("the workers' heartbeats");
    await screenshot(page, 'console-nats-service');
    expect(browser.problems).toEqual([]);
  }, 300_000);

  it('shows a worker told to stop as draining while its job runs, then not at all', async () => {
    const waiting = await submitWaiting(gatewayA.url);
    expect(waiting.status).toBe(201);
    await until(async () => (await listWorkers(gatewayB.url))[0]?.running === 1, 100);
    expect((await listWorkers(gatewayB.url))[0].state).toBe('running');
    worker.child.kill('SIGTERM');
    await until(async () => (await listWorkers(gatewayB.url))[0]?.state === 'draining', 100);
    const page = await browser.page();
    await page.goto(`${gatewayB.url}/console/#/workers`);
    await expect
      .poll(() => page.locator('.workers tbody').textContent(), { timeout: 30_000 })
      .toContain('draining');
    expect(await page.locator('.summary').textContent()).toContain('(1 draining)');
    await screenshot(page, 'console-nats-draining');
    // Still draining while the job runs; the cancel ends it, and the worker leaves.
    expect(worker.child.exitCode).toBe(null);
    expect((await call(gatewayA.url, 'DELETE', `/v1/executions/${waiting.body.id}`)).status).toBe(200);
    expect(await worker.exited).toBe(0);
    expect(await listWorkers(gatewayB.url)).toEqual([]);
    await expect
      .poll(() => page.locator('.workers').textContent(), { timeout: 30_000 })
      .toContain('No worker is up');
    expect(browser.problems).toEqual([]);
  }, 240_000);
});
