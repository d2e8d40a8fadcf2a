import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { statsJson, statsJsonOptions, topTorrents, walkTopTorrents, STATS_JSON_SCHEMA } from '../../src/stats/stats-json.ts';
import type { StatsJson } from '../../src/stats/stats-json.ts';
import { History, takeSample } from '../../src/stats/history.ts';
import { createCounters, counterRow, C, G } from '../../src/stats/counters.ts';
import { newStore, fillStore, hashOf } from './fill.ts';
import { startHarness } from './harness.ts';
import type { Harness } from './harness.ts';
import { get } from '../helpers/http-client.ts';
import { percentEncode, infoHash } from '../helpers/tracker.ts';
import { UdpClient, announcePacket } from '../helpers/udp-client.ts';

/** The top-level keys docs/observability.md documents, in its order. */
const KEYS = [
  'schema', 'version', 'tracker_id', 'time', 'started_at', 'uptime_seconds', 'torrents', 'peers', 'completed', 'requests', 'bytes',
  'udp', 'http', 'full_scrape_bytes', 'scrape_denied_hashes', 'store_full', 'woodpeckers', 'workers', 'threads', 'memory', 'state_dump', 'log',
  'top_torrents', 'history',
];

describe('/stats.json', () => {
  test('the documented document, with the figures of /metrics', async () => {
    const counters = createCounters(3);
    counterRow(counters, 1)[C.udp_connect] = 5;
    counterRow(counters, 2)[C.udp_connect] = 6;
    counterRow(counters, 1)[C.http_announce] = 10;
    counterRow(counters, 1)[C.http_announce_invalid] = 1;
    counterRow(counters, 1)[C.http_bytes_in] = 321;
    counterRow(counters, 0)[G.workers_running] = 2;
    counterRow(counters, 0)[G.state_dump_at_ms] = 1_000_000;
    counterRow(counters, 2)[G.event_loop_p99_ms] = 3.25;
    const store = newStore();
    fillStore(store, 30, 3);
    const j = await statsJson({ counters, store, startedAt: 990_000, version: '9.9', trackerId: 4 }, { now: 1_060_000 });
    assert.deepEqual(Object.keys(j), KEYS);
    assert.equal(j.schema, STATS_JSON_SCHEMA);
    assert.equal(j.uptime_seconds, 70);
    assert.equal(j.torrents, 30);
    assert.equal(j.peers.total, j.peers.ipv4 + j.peers.ipv6);
    assert.equal(j.peers.seeders, 30);
    assert.equal(j.peers.leechers, j.peers.total - 30);
    assert.equal(j.requests.udp.connect.ok, 11);
    assert.equal(j.requests.http.announce.ok, 9);
    assert.equal(j.requests.http.announce.malformed, 1);
    assert.equal(j.bytes.http.in, 321);
    assert.deepEqual(j.workers, { configured: 2, running: 2, restarts: 0 });
    assert.equal(j.threads.length, 3);
    assert.deepEqual(j.threads.map((t) => t.thread), ['main', 'worker-0', 'worker-1']);
    assert.equal(j.threads[2].event_loop_ms.p99, 3.25);
    assert.deepEqual(j.state_dump, { dumps: 0, failures: 0, last_success_at: 1_000_000, age_seconds: 60 });
    assert.equal(j.history, null, 'no ring: no history');
    // Top torrents: the three hot ones, most peers first.
    assert.equal(j.top_torrents.length, 10);
    assert.deepEqual(j.top_torrents.slice(0, 3).map((t) => t.info_hash), [0, 1, 2].map((i) => hashOf(i).toString('hex')));
    assert.deepEqual(j.top_torrents[0], { info_hash: hashOf(0).toString('hex'), seeders: 1, leechers: 109, peers: 110, completed: 0 });
    for (let i = 1; i < j.top_torrents.length; i++) assert.ok(j.top_torrents[i - 1].peers >= j.top_torrents[i].peers);
    JSON.parse(JSON.stringify(j)); // plain JSON all the way
  });

  test('options: top (0..100), history=0, since', () => {
    assert.deepEqual(statsJsonOptions(new URLSearchParams('top=3&history=0&since=123')), { top: 3, history: false, since: 123 });
    assert.deepEqual(statsJsonOptions(new URLSearchParams('top=x')), { top: undefined, history: true, since: undefined });
  });

  test('top=0 skips the walk; top is at most 100; the walk is cached and shared', async () => {
    const store = newStore();
    fillStore(store, 300, 150);
    const src = { counters: createCounters(2), store, startedAt: 0, version: 'v', trackerId: 1 };
    assert.deepEqual((await statsJson(src, { top: 0 })).top_torrents, []);
    assert.equal((await statsJson(src, { top: 1000 })).top_torrents.length, 100);
    const [a, b] = await Promise.all([topTorrents(store, 5, 60_000), topTorrents(store, 5, 60_000)]);
    assert.deepEqual(a, b);
    assert.equal(a.length, 5);
  });

  test('with a history ring: columns of the last hour', async () => {
    const counters = createCounters(2);
    const store = newStore();
    const history = History.create(1000, 60);
    const h = new History(history);
    const started = h.read().startedMs;
    h.append(takeSample({ counters, store }, undefined, started + 1000));
    counterRow(counters, 1)[C.udp_connect] = 30;
    fillStore(store, 10);
    h.append(takeSample({ counters, store }, undefined, started + 3000));
    const j = await statsJson({ counters, store, startedAt: started, version: 'v', trackerId: 1, history });
    assert.ok(j.history);
    assert.deepEqual(j.history.time, [started + 1000, started + 3000]);
    assert.deepEqual(j.history.torrents, [0, 10]);
    assert.deepEqual(j.history.requests_per_second.udp.ok, [0, 15]);
    const since = await statsJson({ counters, store, startedAt: started, version: 'v', trackerId: 1, history }, { since: started + 1000 });
    assert.deepEqual(since.history?.time, [started + 3000]);
    assert.equal((await statsJson({ counters, store, startedAt: 0, version: 'v', trackerId: 1, history }, { history: false })).history, null);
  });

  test('what the dashboard poll costs at 100k torrents (the top-10 walk)', async () => {
    const store = newStore();
    fillStore(store, 100_000, 10);
    const src = { counters: createCounters(9), store, startedAt: Date.now(), version: 'v', trackerId: 1, history: History.create(5000, 3600) };
    await statsJson(src, { top: 10 }); // warm up
    let t0 = performance.now();
    const walks = 5;
    for (let i = 0; i < walks; i++) await walkTopTorrents(store, 10);
    const walkMs = (performance.now() - t0) / walks;
    t0 = performance.now();
    const n = 200;
    for (let i = 0; i < n; i++) await statsJson(src, { top: 0 });
    const restUs = ((performance.now() - t0) / n) * 1000;
    console.log(`# stats.json at 100k torrents: top-10 walk ${walkMs.toFixed(1)} ms (kept 250 times as long), the rest ${restUs.toFixed(0)} µs`);
    assert.ok(walkMs < 2000);
  });
});

describe('/stats.json, the stats path and the dashboard files over HTTP', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ historyIntervalMs: 200 });
    const hash = infoHash('json-hot');
    for (let port = 1; port <= 3; port++) await get('127.0.0.1', h.tcp, `/announce?info_hash=${percentEncode(hash)}&port=${port}&left=${port - 1}`);
    const udp = await UdpClient.open('::1', h.udp6);
    await udp.request(announcePacket({ connectionId: await udp.connect(), transactionId: 1, infoHash: hash, port: 9 }));
    udp.close();
    await new Promise((r) => setTimeout(r, 450)); // two samples
  });
  after(() => h.close());

  const getJson = async (target: string, headers = '') => {
    const r = await get('127.0.0.1', h.stats, target, headers);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = r.headers.get('content-encoding') === 'gzip' ? gunzipSync(r.body) : r.body;
    return { json: JSON.parse(body.toString()) as StatsJson, gzipped: r.headers.get('content-encoding') === 'gzip' };
  };

  test('/stats.json after traffic', async () => {
    const { json } = await getJson('/stats.json');
    assert.equal(json.schema, 'swarmd-stats/1');
    assert.equal(json.torrents, 1);
    assert.deepEqual([json.peers.ipv4, json.peers.ipv6, json.peers.seeders], [3, 1, 1]);
    assert.equal(json.requests.http.announce.ok, 3);
    assert.equal(json.requests.udp.announce.ok, 1);
    assert.equal(json.top_torrents[0].info_hash, infoHash('json-hot').toString('hex'));
    assert.equal(json.top_torrents[0].peers, 4);
    assert.ok(json.history !== null && json.history.time.length >= 2);
    assert.equal(json.history.peers_ipv4.at(-1), 3);
  });

  test('?mode=json on the stats path is the same document; gzip when asked for', async () => {
    const plain = await getJson('/stats?mode=json&history=0');
    assert.equal(plain.json.history, null);
    assert.equal(plain.gzipped, false);
    const big = await getJson('/stats?mode=json', 'Accept-Encoding: gzip\r\n');
    assert.equal(big.gzipped, true, 'answers over 1400 bytes are compressed');
    assert.equal(big.json.schema, 'swarmd-stats/1');
  });

  test('?mode=metrics on the stats path is /metrics', async () => {
    const r = await get('127.0.0.1', h.stats, '/stats?mode=metrics');
    assert.match(r.body.toString(), /^# HELP swarmd_build_info /);
  });

  test('a browser asking for HTML gets the dashboard; scripts keep opentracker\'s modes', async () => {
    const page = await get('127.0.0.1', h.stats, '/stats', 'Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n');
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.body.toString(), /<script src="\?asset=uPlot\.min\.js"><\/script>/);
    const curl = await get('127.0.0.1', h.stats, '/stats', 'Accept: */*\r\n');
    assert.equal(curl.body.toString(), 'an opentracker mode\n');
    const withMode = await get('127.0.0.1', h.stats, '/stats?mode=peer', 'Accept: text/html\r\n');
    assert.equal(withMode.body.toString(), 'an opentracker mode\n');
  });

  test('the dashboard files, from swarmd itself (uPlot from node_modules)', async () => {
    const types: Record<string, string> = {
      'app.js': 'text/javascript', 'style.css': 'text/css', 'uPlot.min.js': 'text/javascript', 'uPlot.min.css': 'text/css',
    };
    for (const [name, type] of Object.entries(types)) {
      const r = await get('127.0.0.1', h.stats, `/stats?asset=${name}`);
      assert.equal(r.status, 200, name);
      assert.ok(r.headers.get('content-type')!.startsWith(type), name);
      assert.ok(r.body.length > 500, name);
    }
    const uplot = await get('127.0.0.1', h.stats, '/stats?asset=uPlot.min.js');
    assert.match(uplot.body.toString(), /uPlot/);
    const gz = await get('127.0.0.1', h.stats, '/stats?asset=uPlot.min.js', 'Accept-Encoding: gzip, deflate\r\n');
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.deepEqual(gunzipSync(gz.body), uplot.body);
    for (const bad of ['../package.json', 'index.ts', '%2e%2e/x', 'constructor', '__proto__']) {
      assert.equal((await get('127.0.0.1', h.stats, `/stats?asset=${bad}`)).status, 404, bad);
    }
  });
});
