// A real browser for tests: Debian's chromium (installed by scripts/setup-host.sh) driven by playwright-core,
// which downloads no browser of its own. A missing chromium fails loudly with how to install it. Every page a
// test opens fails the test on a JavaScript error or a dialog (a hostile `alert` that ran). useBrowser() gives a
// test file one browser, closed after the file.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

/** Where screenshots go: the README's docs/screenshots with AIRLOCK_UPDATE_SCREENSHOTS=1, else a temp dir. */
const SCREENSHOTS =
  process.env.AIRLOCK_UPDATE_SCREENSHOTS === '1'
    ? new URL('../../docs/screenshots/', import.meta.url).pathname
    : join(tmpdir(), 'airlock-console-screenshots');

/** Waits until each of the Service page's three charts has points to draw, then answers their legends' text. */
export async function drawnChartLegends(page: Page): Promise<string[]> {
  const charts = page.locator('figure.chart');
  const points = (n: number) => charts.nth(n).getAttribute('data-points').then(Number);
  for (const n of [0, 1, 2]) await expect.poll(() => points(n), { timeout: 30_000 }).toBeGreaterThan(0);
  return page.locator('figure.chart .u-legend').allTextContents();
}

/** Saves a full-page screenshot as `<name>.png` and answers its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface TestBrowser extends AsyncDisposable {
  browser: Browser;
  /** A fresh page (own context: own sessionStorage); its errors and dialogs are collected in `problems`. */
  page(): Promise<Page>;
  /** Page errors, console errors and dialogs seen so far, as text. */
  problems: string[];
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: install it with 'apt-get install -y chromium' (or run scripts/setup-host.sh)`,
    );
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--disable-gpu'] });
  const problems: string[] = [];
  return {
    browser,
    problems,
    async page() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        // A refused fetch (404, 403) is logged by the browser too; the page handles those itself.
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
          problems.push(`console error: ${message.text()}`);
        }
      });
      page.on('dialog', (dialog) => {
        problems.push(`dialog: ${dialog.type()} ${dialog.message()}`);
        void dialog.dismiss();
      });
      return page;
    },
    [Symbol.asyncDispose]: () => browser.close(),
  };
}

/** Launches one browser for the calling test file (beforeAll) and closes it after the file; a getter. */
export function useBrowser(): () => TestBrowser {
  let browser: TestBrowser | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.[Symbol.asyncDispose]();
  });
  return () => {
    if (!browser) throw new Error('the browser is not launched (use it inside a test)');
    return browser;
  };
}
