// The dashboard in a real browser: Debian's chromium (installed by scripts/test-setup.sh, never
// downloaded by playwright) driven headless by playwright-core, loading the page from a running
// swarmd (its HTTP server and workers; the main thread samples the history every second). After a
// burst of announces over HTTP and UDP (IPv4 and IPv6, some with bad connection IDs), every chart
// must show non-zero data; each page must load without errors and only from swarmd; screenshots
// (desktop and phone) go to test-output/.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { rawExchange } from '../helpers/http-client.ts';
import { startTestTracker, percentEncode, infoHash } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { UdpClient, announcePacket } from '../helpers/udp-client.ts';
import { CHROMIUM, CHROMIUM_FLAGS, chromiumSkip } from '../helpers/chromium.ts';

const OUTPUT = path.resolve(fileURLToPath(new URL('../../test-output/', import.meta.url)));
const FLAGS = [...CHROMIUM_FLAGS];
const skip = chromiumSkip;

/** A burst: `n` HTTP announces on one keep-alive connection over `torrents` torrents. */
async function httpBurst(port: number, n: number, torrents: number): Promise<void> {
  let requests = '';
  for (let i = 0; i < n; i++) {
    const hash = percentEncode(infoHash(`dash-${i % torrents}`));
    requests += `GET /announce?info_hash=${hash}&port=${1000 + i}&left=${i % 4 === 0 ? 0 : 100} HTTP/1.1\r\nHost: x\r\n\r\n`;
  }
  const r = await rawExchange('127.0.0.1', port, requests, { untilResponses: n, timeoutMs: 10_000 });
  assert.equal(r.responses.length, n);
}

async function udpBurst(host: string, port: number, n: number, torrents: number): Promise<void> {
  const udp = await UdpClient.open(host, port);
  const id = await udp.connect();
  for (let i = 0; i < n; i++) {
    await udp.request(announcePacket({ connectionId: id, transactionId: i + 1, infoHash: infoHash(`dash-${i % torrents}`), port: 2000 + i }));
  }
  for (let i = 0; i < 5; i++) await udp.request(announcePacket({ connectionId: Buffer.alloc(8, 7), transactionId: 900 + i, infoHash: infoHash('x'), port: 1 }));
  udp.close();
}

/**
 * Waits until `expression` is true in the page. swarmd serves the dashboard with a Content
 * Security Policy that forbids eval, which playwright's waitForFunction needs; evaluate() goes
 * through the debugging protocol instead.
 */
async function waitInPage(page: Page, expression: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > until) throw new Error(`not true in the page within ${timeoutMs} ms: ${expression}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the live dashboard in headless chromium', { skip }, () => {
  let tracker: TestTracker;
  let context: BrowserContext;
  let profile: string;

  before(async () => {
    tracker = await startTestTracker({ historyInterval: 1 });
    profile = mkdtempSync(path.join(tmpdir(), 'swarmd-chromium-'));
    // launchPersistentContext is how playwright takes a --user-data-dir: a fresh one per run.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 900 },
      timeout: 30_000,
    });
  });
  after(async () => {
    await context?.close();
    await tracker?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** A new page of the dashboard, and what went wrong in it (checked at the end of each test). */
  const open = async (viewport: { width: number; height: number }): Promise<{ page: Page; problems: string[] }> => {
    const page = await context.newPage();
    const problems: string[] = [];
    await page.setViewportSize(viewport);
    page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && problems.push(`console ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(`http://127.0.0.1:${tracker.tcp4}/`)) problems.push(`request off the tracker: ${r.url()}`);
    });
    const response = await page.goto(`http://127.0.0.1:${tracker.tcp4}/stats`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-type'] ?? '', /^text\/html/);
    return { page, problems };
  };

  test('after a burst of announces the charts show non-zero data', async () => {
    const { page, problems } = await open({ width: 1280, height: 900 });
    await waitInPage(page, 'Number(document.body.dataset.updates) >= 1', 15_000);
    await Promise.all([httpBurst(tracker.tcp4, 300, 12), udpBurst('127.0.0.1', tracker.udp4, 120, 12), udpBurst('::1', tracker.udp6, 60, 12)]);
    const charts = ['answers', 'swarm', 'families', 'errors', 'bytes'];
    // (Page-side code as strings: the tests type-check without the DOM's types.)
    await waitInPage(page, `${JSON.stringify(charts)}.every((n) => Number(document.querySelector('[data-chart="' + n + '"]')?.dataset.max) > 0)`, 30_000);
    for (const name of charts) {
      const el = page.locator(`[data-chart="${name}"]`);
      assert.ok(Number(await el.getAttribute('data-points')) >= 2, `${name}: points`);
      assert.equal(await el.locator('canvas').count(), 1, `${name}: drawn by uPlot`);
    }
    const families = (await page.evaluate('({ v4: swarmdDashboard.state.ipv4.at(-1), v6: swarmdDashboard.state.ipv6.at(-1) })')) as { v4: number; v6: number };
    assert.ok(families.v4 > 0 && families.v6 > 0, JSON.stringify(families));
    await waitInPage(page, "document.querySelectorAll('#top tbody td.hash').length === 10", 15_000);
    assert.match(await page.locator('#top tbody td.hash').first().innerText(), /^[0-9a-f]{40}$/);
    assert.notEqual(await page.locator('#t-torrents').innerText(), '–');
    assert.match(await page.locator('#status').innerText(), /^updated /);
    // Every y axis leaves room for its widest tick label (in the axis's own font), so none is cut.
    const axes = (await page.evaluate(`Object.entries(swarmdDashboard.charts).flatMap(([name, c]) =>
      c.u.axes.slice(1).map((a) => {
        c.u.ctx.font = a.font[0];
        const widest = Math.max(0, ...(a._values || []).map((v) => c.u.ctx.measureText(v).width)) / uPlot.pxRatio;
        return { name, labels: a._values, room: a._size - a.ticks.size - a.gap, widest };
      }))`)) as { name: string; labels: string[]; room: number; widest: number }[];
    assert.ok(axes.length >= charts.length);
    for (const a of axes) assert.ok(a.room >= a.widest, `${a.name}: ${a.widest.toFixed(1)}px of label (${a.labels.join(', ')}) in ${a.room}px`);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard.png'), fullPage: true });
    console.log(`# screenshot: ${path.join(OUTPUT, 'dashboard.png')}`);
    await page.close();
    assert.deepEqual(problems, [], 'no errors in the page, and nothing loaded from anywhere but swarmd');
  });

  test('reads well on a phone: one column, nothing wider than the screen', async () => {
    const { page, problems } = await open({ width: 390, height: 844 });
    await waitInPage(page, `Number(document.querySelector('[data-chart="answers"]')?.dataset.max) > 0`, 15_000);
    const layout = (await page.evaluate(`({
      scroll: document.documentElement.scrollWidth,
      width: window.innerWidth,
      charts: [...document.querySelectorAll('.chart')].map((c) => c.getBoundingClientRect().width),
      lefts: [...document.querySelectorAll('.charts .card')].map((c) => Math.round(c.getBoundingClientRect().left)),
    })`)) as { scroll: number; width: number; charts: number[]; lefts: number[] };
    assert.ok(layout.scroll <= layout.width, `page ${layout.scroll}px wide in a ${layout.width}px screen`);
    assert.equal(new Set(layout.lefts).size, 1, 'charts stacked in one column');
    for (const w of layout.charts) assert.ok(w > 300 && w <= layout.width, `chart ${w}px`);
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-phone.png'), fullPage: true });
    await page.close();
    assert.deepEqual(problems, [], 'no errors in the page, and nothing loaded from anywhere but swarmd');
  });
});
