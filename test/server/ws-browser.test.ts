// WebTorrent in a real browser: two headless Chromium pages (Debian's chromium driven by
// playwright-core) run WebTorrent's browser build, served by this test; one seeds a file, the other
// downloads it over WebRTC, and the only way they can find each other is swarmd's WebSocket
// tracker on loopback (no STUN servers, no DHT in browsers, no web seeds).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { startTestTracker } from '../helpers/tracker.ts';
import { CHROMIUM, CHROMIUM_FLAGS, chromiumSkip } from '../helpers/chromium.ts';

const FLAGS = [
  ...CHROMIUM_FLAGS,
  // WebRTC between two pages of one machine: real host candidates (not mDNS names) on loopback.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection',
];
const skip = chromiumSkip;
const WEBTORRENT = readFileSync(new URL('../../node_modules/webtorrent/dist/webtorrent.min.js', import.meta.url));

// The page: WebTorrent with the tracker as its only way to find peers.
const PAGE = `<!doctype html><meta charset="utf-8"><title>swarmd webtorrent test</title>
<script type="module">
import WebTorrent from '/webtorrent.min.js';
window.makeClient = () => new WebTorrent({ dht: false, lsd: false, utPex: false, tracker: { rtcConfig: { iceServers: [] } } });
window.ready = true;
</script>`;

/** Serves the page and WebTorrent's browser build; nothing else. */
function serve(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else if (req.url === '/webtorrent.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(WEBTORRENT);
    else res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('two Chromium pages transfer a file, finding each other only through swarmd over WebSocket', { skip, timeout: 120_000 }, async () => {
  const tracker = await startTestTracker();
  const site = await serve();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30_000 });
  const problems: string[] = [];
  try {
    const origin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    const announce = `ws://127.0.0.1:${tracker.tcp4}`;
    const open = async (): Promise<Page> => {
      const page = await (await browser.newContext()).newPage();
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => {
        if (!r.url().startsWith(origin)) problems.push(`request off the test: ${r.url()}`);
      });
      await page.goto(origin, { waitUntil: 'load' });
      await page.waitForFunction('window.ready === true', undefined, { timeout: 15_000 });
      return page;
    };
    const [seeder, leecher] = [await open(), await open()];
    const content = randomBytes(200_000).toString('base64'); // a few pieces
    // (Page-side code as strings: the tests type-check without the DOM's types.)
    const magnet = (await seeder.evaluate(`new Promise((resolve, reject) => {
      const client = window.makeClient();
      client.on('error', (e) => reject(String(e)));
      const file = new File([${JSON.stringify(content)}], 'hello.txt', { type: 'text/plain' });
      client.seed(file, { announce: [${JSON.stringify(announce)}] }, (t) => resolve(t.magnetURI));
    })`)) as string;
    assert.match(magnet, /^magnet:\?xt=urn:btih:/);
    assert.ok(magnet.includes(encodeURIComponent(announce)), 'the magnet names swarmd as its tracker');
    const received = (await leecher.evaluate(`new Promise((resolve, reject) => {
      const client = window.makeClient();
      client.on('error', (e) => reject(String(e)));
      client.add(${JSON.stringify(magnet)}, { announce: [${JSON.stringify(announce)}] }, (t) => {
        t.on('done', async () => resolve(new TextDecoder().decode(await t.files[0].arrayBuffer())));
      });
    })`)) as string;
    assert.equal(received.length, content.length);
    assert.ok(received === content, 'the downloaded file is the seeded one');
    const n = tracker.counters();
    assert.ok(n.ws_offers_relayed >= 1 && n.ws_answers_relayed >= 1, `offers ${n.ws_offers_relayed}, answers ${n.ws_answers_relayed}`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    site.close();
    await tracker.close();
  }
});
