// The operator console in token mode, in a real browser: the page asks for a token, refuses an ordinary tenant
// token (403 from the console's data routes, said on the page), and opens with an operator token (scope
// `airlock:operator` of a tenant whose policy has `operator: true`), kept in sessionStorage only. The data
// routes themselves refuse a missing token (401), a tenant token and a scoped token of a tenant not allowed
// operators (403).

import { describe, expect, it } from 'vitest';
import { screenshot, useBrowser } from './support/browser.ts';
import { call } from './support/service.ts';
import { useTokenService } from './support/token-service.ts';
import { bearer, tenantPolicy } from './support/tokens.ts';

const { service, issuer } = useTokenService({ acme: tenantPolicy(), ops: tenantPolicy({ operator: true }) });
const browser = useBrowser();

/** Submits a javascript run with `token` and waits for it. */
const submitWith = (token: string, code: string) =>
  call(service().url, 'POST', '/v1/executions?wait=30', { language: 'javascript', code }, bearer(token));

const operatorToken = () =>
  issuer().mint({ tenant: 'ops', scope: 'airlock:operator', intent: { max_executions: 5 } });

describe('the console in token mode', () => {
  it('refuses the data routes to anyone but an operator of a tenant allowed operators', async () => {
    const tenant = await issuer().mint({ tenant: 'acme' });
    const submitted = await submitWith(tenant, '1');
    expect(submitted.status).toBe(201);
    const audit = `/v1/executions/${submitted.body.id}/audit`;
    expect((await call(service().url, 'GET', '/v1/stats')).status).toBe(401);
    expect((await call(service().url, 'GET', '/v1/workers')).status).toBe(401);
    for (const path of ['/v1/stats', audit, '/v1/workers']) {
      const refused = await call(service().url, 'GET', path, undefined, bearer(tenant));
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toContain("no 'airlock:operator' scope");
    }
    const notAllowed = await issuer().mint({ tenant: 'acme', scope: 'airlock:operator' });
    const refused = await call(service().url, 'GET', '/v1/stats', undefined, bearer(notAllowed));
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('"operator": true');
    // An operator reads its own tenant's executions only: acme's run is not found for ops.
    const foreign = await call(service().url, 'GET', audit, undefined, bearer(await operatorToken()));
    expect(foreign.status).toBe(404);
    const stats = await call(service().url, 'GET', '/v1/stats', undefined, bearer(await operatorToken()));
    expect(stats.status).toBe(200);
    expect(stats.body.mode).toBe('token');
    // The embedded mode's one worker: this process, with the backends it runs.
    const workers = await call(service().url, 'GET', '/v1/workers', undefined, bearer(await operatorToken()));
    expect(workers.status).toBe(200);
    expect(workers.body.workers).toHaveLength(1);
    expect(workers.body.workers[0]).toMatchObject({ id: 'embedded', backends: ['isolate'], running: 0 });
  });

  it('asks for a token, refuses a tenant token on the page, and opens with an operator token', async () => {
    const page = await browser().page();
    await page.goto(`${service().url}/console/`);
    await page.locator('form.sign-in').waitFor({ timeout: 30_000 });
    expect(await page.locator('#nav').isHidden()).toBe(true);

    await page.fill('input[name=token]', await issuer().mint({ tenant: 'acme' }));
    await page.click('form.sign-in button');
    const problem = page.locator('form.sign-in .notice-error');
    await expect.poll(() => problem.textContent(), { timeout: 30_000 }).toContain('403');
    expect(await problem.textContent()).toContain("no 'airlock:operator' scope");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await screenshot(page, 'console-refused');

    const token = await operatorToken();
    const run = await submitWith(token, 'console.log("ops run")');
    expect(run.status).toBe(201);
    await page.fill('input[name=token]', token);
    await page.click('form.sign-in button');
    await page.locator('#nav').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await page.locator('#who').textContent()).toBe('operator token');
    expect(await page.evaluate(() => sessionStorage.getItem('airlock.console.token'))).toBe(token);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.goto(`${service().url}/console/#/executions/${run.body.id}`);
    await expect
      .poll(() => page.locator('pre.output').textContent(), { timeout: 30_000 })
      .toContain('ops run');
    await expect.poll(() => page.locator('.audit tbody tr').count(), { timeout: 30_000 }).toBe(3);
    await page.goto(`${service().url}/console/#/workers`);
    await expect
      .poll(() => page.locator('.workers tbody').textContent(), { timeout: 30_000 })
      .toContain('embedded');
    expect(await page.locator('.workers tbody tr').count()).toBe(1);
    expect(browser().problems).toEqual([]);
  });
});
