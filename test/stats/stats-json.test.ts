// The /stats.json document from known counters and stores (src/stats/stats-json.ts); the endpoint
// itself, on a running swarmd, is tested in observability.test.ts.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { statsJson, statsJsonOptions, topTorrents, STATS_JSON_SCHEMA } from '../../src/stats/stats-json.ts';
import { History, takeSample } from '../../src/stats/history.ts';
import { createCounters, counterRow, C, G } from '../../src/stats/counters.ts';
import { newStore, fillStore, hashOf } from '../helpers/store.ts';

/** The top-level keys docs/observability.md documents, in its order. */
const KEYS = [
  'schema',
  'version',
  'tracker_id',
  'time',
  'started_at',
  'uptime_seconds',
  'torrents',
  'peers',
  'completed',
  'requests',
  'bytes',
  'udp',
  'http',
  'full_scrape_bytes',
  'scrape_denied_hashes',
  'store_full',
  'woodpeckers',
  'workers',
  'threads',
  'memory',
  'state_dump',
  'log',
  'top_torrents',
  'history',
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
    assert.deepEqual(
      j.threads.map((t) => t.thread),
      ['main', 'worker-0', 'worker-1'],
    );
    assert.equal(j.threads[2].event_loop_ms.p99, 3.25);
    assert.deepEqual(j.state_dump, { dumps: 0, failures: 0, last_success_at: 1_000_000, age_seconds: 60 });
    assert.equal(j.history, null, 'no ring: no history');
    // Top torrents: the three hot ones, most peers first.
    assert.equal(j.top_torrents.length, 10);
    assert.deepEqual(
      j.top_torrents.slice(0, 3).map((t) => t.info_hash),
      [0, 1, 2].map((i) => hashOf(i).toString('hex')),
    );
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
});
