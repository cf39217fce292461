/// <reference lib="dom" />
// (DOM types for the callbacks that run in the page.)
/**
 * The `/topology` status page of a real `millrace run` instance (word count, two
 * partitions, records flowing), opened in a real browser: Debian's Chromium driven by
 * playwright-core. Checks the drawing (nodes named as in the topology), the task table
 * (tasks, partitions, state, lag, rates) and that it refreshes live without a reload.
 * Saves a screenshot to test-results/topology-page.png (MILLRACE_UPDATE_SCREENSHOT=1
 * also writes docs/img/topology-page.png, docs/operations/metrics.md's picture).
 *
 * Needs `chromium` (`bash deploy/local/ensure-tools.sh`, or `apt-get install -y
 * chromium`); without it the test fails and says so, unless MILLRACE_SKIP_BROWSER=1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startObservedInstance, type ObservedInstance } from '../support/observed-instance.js';
import { findExecutable, installHint } from '../support/tools.js';

const executable = findExecutable('chromium');
const optedOut = process.env.MILLRACE_SKIP_BROWSER === '1';
const SCREENSHOT = path.join('test-results', 'topology-page.png');

let instance: ObservedInstance | undefined;
let browser: Browser | undefined;
let page: Page;

/** Waits until the task table shows a task processing (a rate above 0). */
const someRateShown = () =>
  page.waitForFunction(
    () =>
      Array.from(document.querySelectorAll('#tasks tbody td[data-col="rate"]')).some(
        (td) => Number(td.textContent) > 0,
      ),
    undefined,
    { timeout: 30_000 },
  );

/** The task table as the page shows it: task id → column name → text. */
async function taskTable(): Promise<Record<string, Record<string, string>>> {
  return page.$$eval('#tasks tbody tr', (rows) =>
    Object.fromEntries(
      rows.map((tr) => [
        (tr as HTMLElement).dataset.task!,
        Object.fromEntries(
          Array.from(tr.querySelectorAll('td')).map((td) => [
            td.dataset.col!,
            td.textContent ?? '',
          ]),
        ),
      ]),
    ),
  );
}

const processedOnPage = async () =>
  Object.values(await taskTable()).reduce((n, t) => n + Number(t.processed), 0);

(optedOut && !executable ? describe.skip : describe)('the /topology page in a real browser', () => {
  beforeAll(async () => {
    if (!executable) throw new Error(installHint('chromium', 'chromium', 'MILLRACE_SKIP_BROWSER'));
    instance = await startObservedInstance(inject('kafkaBrokers'), { prefix: 'it-page' });
    instance.feeder.resume(10, 100); // ~100 records/s
    browser = await chromium.launch({
      executablePath: executable,
      // Chromium's sandbox refuses to run as root (CI runs as root).
      // Small /dev/shm in containers crashes tabs; use /tmp instead.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 440 } });
    await page.goto(`${instance.url}/topology`);
  });

  afterAll(async () => {
    await browser?.close();
    await instance?.stop();
  });

  it('draws the topology as SVG with the nodes named as in the topology', async () => {
    const texts = await page.$$eval('#topology svg text', (ts) => ts.map((t) => t.textContent));
    const drawn = texts.join('\n');
    for (const node of ['words', 'count', 'out'])
      expect(drawn).toMatch(new RegExp(`\\b${node}\\b`));
    expect(drawn).toContain(instance!.input);
    expect(drawn).toContain(instance!.output);
    expect(await page.title()).toContain(instance!.run);
  });

  it("lists the instance's tasks with partitions, state, lag and rates", async () => {
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('#tasks tbody td[data-col="state"]')).filter(
          (td) => td.textContent === 'running',
        ).length === 2,
      undefined,
      { timeout: 60_000 },
    );
    await someRateShown();
    const table = await taskTable();
    expect(Object.keys(table).sort()).toEqual(['0_0', '0_1']);
    for (const [id, row] of Object.entries(table)) {
      expect(row.partitions).toBe(`${instance!.input}[${id.split('_')[1]}]`);
      expect(row.state).toBe('running');
      expect(row.lag).toMatch(/^\d+$/);
      expect(Number(row.rate)).toBeGreaterThanOrEqual(0);
      expect(Number(row.rate)).toBeLessThan(1000);
    }
    expect(await page.textContent('#state')).toBe('running');
    expect(await page.textContent('#guarantee')).toBe('exactly_once');
  });

  it('refreshes live as records flow, without reloading', async () => {
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const before = await processedOnPage();
    await page.waitForFunction(
      (n) =>
        Array.from(document.querySelectorAll('#tasks tbody td[data-col="processed"]')).reduce(
          (sum, td) => sum + Number(td.textContent),
          0,
        ) > n,
      before,
      { timeout: 30_000 },
    );
    expect(await processedOnPage()).toBeGreaterThan(before);
    // Same document: the marker set before survives, so the values changed in place.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    // And the page's numbers end where the instance's are: stop the flow, wait for them to meet.
    const total = await instance!.feeder.pause();
    await page.waitForFunction(
      (n) =>
        Array.from(document.querySelectorAll('#tasks tbody td[data-col="processed"]')).reduce(
          (sum, td) => sum + Number(td.textContent),
          0,
        ) === n,
      total,
      { timeout: 30_000 },
    );
    instance!.feeder.resume(10, 100);
  });

  it('saves a screenshot', async () => {
    await someRateShown();
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    if (process.env.MILLRACE_UPDATE_SCREENSHOT === '1')
      fs.copyFileSync(SCREENSHOT, path.join('docs', 'img', 'topology-page.png'));
  });
});
