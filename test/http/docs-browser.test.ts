/**
 * /docs in a real browser (docs/behaviour.md §14.3): Debian's chromium driven by playwright-core (no browser
 * download; .ci/run installs chromium when it is missing). The page renders every API operation of the spec, the
 * event catalogue lists every event, and neither logs a console error or a CSP violation, nor asks another origin.
 * Set CHROMIUM_PATH to use another chromium binary.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startInProcess, type InProcessServer } from '../support/server.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const openapi = parseYaml(readFileSync(path.join(root, 'spec', 'openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, { 'x-static'?: boolean }>> };
/** every operation of the spec, the static routes included (the reference documents them too) */
const operations = Object.entries(openapi.paths).flatMap(([p, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${p}`));

const executablePath = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let server: InProcessServer;
let browser: Browser;

beforeAll(async () => {
  if (executablePath === undefined) throw new Error('no chromium: install it (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH');
  server = await startInProcess({ env: { MAESTRO_API_TOKEN: 'browser-test-token' } });
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(urlPath: string) {
  const page = await browser.newPage();
  const problems: string[] = [];
  const origins = new Set<string>();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => origins.add(new URL(r.url()).origin));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(`${server.baseUrl}${urlPath}`, { waitUntil: 'load' });
  return { page, problems, origins };
}

describe('/docs in chromium (no token; the server has one)', () => {
  it(`renders every operation (${operations.length}) with no console error, no CSP violation, nothing from another origin`, async () => {
    const { page, problems, origins } = await open('/docs');
    await page.waitForFunction((n) => document.querySelectorAll('.opblock').length >= n, operations.length, { timeout: 30_000 });
    const rendered = await page.$$eval('.opblock-summary', (els) =>
      els.map((e) => `${e.querySelector('.opblock-summary-method')?.textContent?.trim()} ${e.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`),
    );
    expect(rendered.sort()).toEqual([...operations].sort());
    expect(await page.locator('.info .title').innerText()).toContain('Maestro Server API');
    expect(problems).toEqual([]);
    expect([...origins]).toEqual([new URL(server.baseUrl).origin]);
    await page.close();
  }, 60_000);

  it('the event catalogue page lists all 23 events', async () => {
    const { page, problems } = await open('/docs/events.html');
    expect(await page.locator('main.events section h2').count()).toBe(23);
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  it('the /ui board loads with its style, links to /docs and asks for the token (the board itself: board-browser.test.ts)', async () => {
    const { page, problems } = await open('/ui');
    await page.locator('#token').waitFor();
    expect(await page.locator('a[href="/docs"]').count()).toBe(1);
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(245, 247, 250)');
    // the board learns that the server wants a token from its first call's 401 (which the browser logs); nothing else
    const probe = `${server.baseUrl}/api/projects`;
    expect(problems.filter((p) => p !== `401 ${probe}` && !/^console error: Failed to load resource: .* 401 /.test(p))).toEqual([]);
    await page.close();
  }, 30_000);
});
