// The operator console in a real browser (Debian's chromium through playwright-core) against the real
// service in local development mode: a run submitted here is followed live on its page, its hostile output
// (markup, ANSI escapes, a bidirectional override) shows as text and runs nothing, its audit records are
// listed, the executions page lists it (or says the listing is not served), and the service page draws its
// charts from the service's own metrics. Screenshots: test/support/browser.ts.

import { describe, expect, it } from 'vitest';
import { drawnChartLegends, screenshot, useBrowser } from './support/browser.ts';
import { call, run, useService } from './support/service.ts';

const svc = useService({ AIRLOCK_BACKENDS: 'isolate,docker', AIRLOCK_POOL_SIZE: '1' });
const browser = useBrowser();

// Prints hostile lines, then waits until the test cancels it, so the page shows them while the run still runs.
const HOSTILE = String.raw`
console.log('<script>alert(1)</script>');
console.log('<img src=x onerror="alert(2)">');
console.error('\x1b[31mred\x1b[0m and \u202Eevil');
await new Promise((resolve) => setTimeout(resolve, 50000));
console.log('not reached');
`;

async function submit(body: Record<string, unknown>): Promise<string> {
  const response = await call(svc().url, 'POST', '/v1/executions', body);
  expect(response.status).toBe(201);
  return response.body.id as string;
}

describe('the console in local development mode', () => {
  it('follows a run live and shows its hostile output as text, with its audit records', async () => {
    const id = await submit({
      language: 'javascript',
      code: HOSTILE,
      limits: { wall_time_ms: 60_000 },
      metadata: { label: '<b>bold</b>' },
    });
    const page = await browser().page();
    await page.goto(`${svc().url}/console/#/executions/${id}`);
    const output = page.locator('pre.output');
    await expect.poll(() => output.textContent(), { timeout: 30_000 }).toContain('<script>alert(1)</script>');
    // The first lines arrived while the run still ran: the page follows the live stream to its end.
    expect((await call(svc().url, 'GET', `/v1/executions/${id}`)).body.status).toBe('running');
    expect(await page.locator('.live').textContent()).toBe('live');
    expect((await call(svc().url, 'DELETE', `/v1/executions/${id}`)).status).toBe(200);
    await expect.poll(() => page.locator('.live').textContent(), { timeout: 30_000 }).toBe('ended');
    const text = (await output.textContent()) ?? '';
    expect(text).toContain('<img src=x onerror="alert(2)">');
    expect(text).toContain(String.raw`\x1b[31mred\x1b[0m and \u202eevil`);
    expect(await page.locator('pre.output .ctl').allTextContents()).toEqual([
      String.raw`\x1b`,
      String.raw`\x1b`,
      String.raw`\u202e`,
    ]);
    expect(text).not.toContain('\x1b');
    expect(await page.locator('pre.output *:not(span)').count()).toBe(0); // no element but the page's own
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.locator('img').count()).toBe(0);
    expect(text).not.toContain('not reached');
    await expect.poll(() => page.locator('.facts').textContent()).toContain('canceled');
    expect(await page.locator('.facts').textContent()).toContain('label=<b>bold</b>');
    await expect
      .poll(() => page.locator('.audit tbody tr').count(), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(3);
    expect(await page.locator('.audit tbody').textContent()).toMatch(
      /accepted.*started.*(canceled|finished)/s,
    );
    await screenshot(page, 'console-execution');
    expect(browser().problems).toEqual([]);
  });

  it('lists a submitted run and opens it, or says plainly that listing is not served', async () => {
    const { id } = await run(svc().url, { language: 'javascript', code: 'console.log("listed")' });
    const page = await browser().page();
    await page.goto(`${svc().url}/console/`);
    const listing = await call(svc().url, 'GET', '/v1/executions?limit=5');
    if (listing.status === 404) {
      await expect
        .poll(() => page.locator('.listing-status').textContent(), { timeout: 30_000 })
        .toContain('Listing not available');
      await page.fill('input[name=id]', id);
      await page.click('.open-by-id button');
    } else {
      expect(listing.status).toBe(200);
      const row = page.locator(`tr[data-id="${id}"]`);
      await row.waitFor({ timeout: 30_000 });
      expect(await row.textContent()).toContain('success');
      await row.locator('a').click();
    }
    await expect
      .poll(() => page.locator('pre.output').textContent(), { timeout: 30_000 })
      .toContain('listed');
    expect(browser().problems).toEqual([]);
  });

  it('draws latency, throughput and warm-pool hit rate from the service metrics', async () => {
    const page = await browser().page();
    await page.goto(`${svc().url}/console/#/service`);
    await page.locator('figure.chart canvas').first().waitFor({ timeout: 30_000 });
    // Runs on both backends while the page polls: each poll sees more finished, and the pool lease some.
    for (let round = 0; round < 4; round++) {
      await run(svc().url, { language: 'javascript', code: `console.log(${round})` });
      await run(svc().url, { language: 'python', backend: 'docker', code: `print(${round})` }, 60);
      await page.waitForTimeout(2500);
    }
    const legends = await drawnChartLegends(page);
    expect(legends[0]).toContain('docker p95');
    expect(legends[0]).toContain('isolate p50');
    expect(await page.locator('.pools tbody').textContent()).toContain('airlock-python');
    // The templates this server has, with their state (the built-in ones are ready).
    await expect
      .poll(() => page.locator('.templates tbody').textContent(), { timeout: 30_000 })
      .toContain('python');
    expect(await page.locator('.templates tbody').textContent()).toContain('ready');
    await screenshot(page, 'console-service');

    // The executions page filters what it lists (where the listing is served).
    if ((await call(svc().url, 'GET', '/v1/executions?limit=1')).status === 200) {
      await page.goto(`${svc().url}/console/#/executions`);
      await page.locator('tr[data-id]').first().waitFor({ timeout: 30_000 });
      await page.selectOption('select[name=backend]', 'docker');
      const backends = () => page.locator('tr[data-id] td:nth-child(5)').allTextContents();
      await expect.poll(backends, { timeout: 30_000 }).toEqual(['docker', 'docker', 'docker', 'docker']);
      await screenshot(page, 'console-executions');
    }
    expect(browser().problems).toEqual([]);
  }, 300_000);
});
