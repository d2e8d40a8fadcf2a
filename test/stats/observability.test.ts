// The observability endpoints as a real swarmd serves them (src/stats/observability.ts behind the
// HTTP server of every worker, the main thread's history sampler): /metrics, /stats.json, the
// stats path (the dashboard for browsers, its files, mode=json, mode=metrics, opentracker's modes)
// and access.stats, after known traffic over HTTP and UDP on IPv4 and IPv6.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { startTestTracker, infoHash, percentEncode } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { waitUntil } from '../helpers/process.ts';
import { UdpClient, announcePacket, scrapePacket } from '../helpers/udp-client.ts';
import { METRICS_CONTENT_TYPE } from '../../src/stats/prometheus.ts';
import type { StatsJson } from '../../src/stats/stats-json.ts';
import { parsePrometheusText, value, referenceParse, referenceParserAvailable } from './prom-text.ts';

const CI = process.env.CI === 'true';

describe('/metrics, /stats.json and the stats path of a running swarmd', () => {
  let tracker: TestTracker;
  const hot = infoHash('observed-hot');
  before(async () => {
    tracker = await startTestTracker({ historyInterval: 1 });
    for (let port = 1; port <= 4; port++) {
      const r = await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(hot)}&port=${port}&left=${port === 1 ? 0 : 5}`);
      assert.equal(r.status, 200);
    }
    await get('127.0.0.1', tracker.tcp4, `/scrape?info_hash=${percentEncode(hot)}`);
    await get('127.0.0.1', tracker.tcp4, '/nowhere');
    const udp = await UdpClient.open('127.0.0.1', tracker.udp4);
    const id = await udp.connect();
    await udp.request(announcePacket({ connectionId: id, transactionId: 1, infoHash: infoHash('observed-cold'), port: 7000 }));
    await udp.request(scrapePacket(id, 2, [hot]));
    await udp.request(announcePacket({ connectionId: Buffer.alloc(8, 1), transactionId: 3, infoHash: hot, port: 7001 })); // bad id
    udp.close();
    const udp6 = await UdpClient.open('::1', tracker.udp6);
    await udp6.request(announcePacket({ connectionId: await udp6.connect(), transactionId: 4, infoHash: hot, port: 7002, left: 0n }));
    udp6.close();
    // A datagram that is not a tracker packet gets no answer: wait until a worker has counted it.
    const junk = await UdpClient.open('127.0.0.1', tracker.udp4);
    junk.socket.send(Buffer.from('not a tracker packet'), tracker.udp4, '127.0.0.1');
    await waitUntil(
      () => tracker.counters().udp_malformed === 1,
      10_000,
      () => 'the junk datagram was never counted',
    );
    junk.close();
  });
  after(() => tracker.close());

  const metrics = async () => {
    const r = await get('127.0.0.1', tracker.tcp4, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), METRICS_CONTENT_TYPE);
    return { text: r.body.toString(), m: parsePrometheusText(r.body.toString()) };
  };

  const getJson = async (target: string, headers = '') => {
    const r = await get('127.0.0.1', tracker.tcp4, target, headers);
    assert.equal(r.status, 200, target);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    const gzipped = r.headers.get('content-encoding') === 'gzip';
    return { json: JSON.parse((gzipped ? gunzipSync(r.body) : r.body).toString()) as StatsJson, gzipped };
  };

  test('/metrics: the requests by outcome, the swarm, bytes and workers, as the workers counted them', async () => {
    const { m } = await metrics();
    const req = (protocol: string, action: string, outcome: string) => value(m, 'swarmd_requests_total', { protocol, action, outcome });
    assert.equal(req('http', 'announce', 'ok'), 4);
    assert.equal(req('http', 'scrape', 'ok'), 1);
    assert.equal(req('http', 'other', 'not_found'), 1);
    assert.equal(req('udp', 'connect', 'ok'), 2);
    assert.equal(req('udp', 'announce', 'ok'), 2);
    assert.equal(req('udp', 'scrape', 'ok'), 1);
    assert.equal(req('udp', 'announce', 'bad_connection_id'), 1);
    assert.equal(req('udp', 'other', 'malformed'), 1);
    assert.equal(value(m, 'swarmd_torrents'), 2);
    assert.equal(value(m, 'swarmd_peers', { family: 'ipv4' }), 5);
    assert.equal(value(m, 'swarmd_peers', { family: 'ipv6' }), 1);
    assert.equal(value(m, 'swarmd_seeders'), 2);
    assert.equal(value(m, 'swarmd_leechers'), 4);
    assert.equal(value(m, 'swarmd_peers_joined_total'), 6);
    assert.equal(value(m, 'swarmd_udp_datagrams_received_total'), 7);
    assert.ok(value(m, 'swarmd_http_connections_accepted_total') >= 7);
    assert.ok(value(m, 'swarmd_received_bytes_total', { protocol: 'http' }) > 0, 'HTTP bytes in are counted');
    assert.ok(value(m, 'swarmd_sent_bytes_total', { protocol: 'http' }) > 0, 'HTTP bytes out are counted');
    assert.ok(value(m, 'swarmd_received_bytes_total', { protocol: 'udp' }) >= 2 * 16 + 3 * 98 + (16 + 20) + 20, 'UDP bytes in are counted');
    assert.ok(value(m, 'swarmd_sent_bytes_total', { protocol: 'udp' }) >= 2 * 16 + 2 * 20, 'UDP bytes out are counted');
    assert.equal(value(m, 'swarmd_workers'), 2);
    assert.equal(value(m, 'swarmd_workers_running'), 2);
    for (const thread of ['main', 'worker-0', 'worker-1']) {
      assert.ok(
        m.get('swarmd_event_loop_delay_seconds')!.samples.some((s) => s.labels.thread === thread),
        `event-loop figures of ${thread}`,
      );
    }
  });

  test(
    'the official Prometheus client parser reads the real /metrics and agrees',
    { skip: !CI && !referenceParserAvailable() && 'python3-prometheus-client missing (scripts/test-setup.sh installs it)' },
    async () => {
      const { text } = await metrics();
      const ours = parsePrometheusText(text);
      const theirs = referenceParse(text);
      assert.equal(theirs.length, [...ours.values()].flatMap((f) => f.samples).length);
      for (const s of theirs.filter((x) => !x.name.startsWith('process_') && !x.name.startsWith('swarmd_event_loop') && !x.name.startsWith('swarmd_heap'))) {
        assert.equal(value(ours, s.name, s.labels), s.value, `${s.name}${JSON.stringify(s.labels)}`);
      }
    },
  );

  test("/stats.json after the traffic, with the main thread's history read by the workers", async () => {
    // The sampler takes one sample at start and one a second after: wait for the second.
    let json: StatsJson | undefined;
    await waitUntil(
      async () => ((json = (await getJson('/stats.json')).json).history?.time.length ?? 0) >= 2,
      15_000,
      () => `history: ${JSON.stringify(json?.history?.time)}`,
    );
    json = json!;
    assert.equal(json.schema, 'swarmd-stats/1');
    assert.equal(json.torrents, 2);
    assert.deepEqual([json.peers.ipv4, json.peers.ipv6, json.peers.seeders], [5, 1, 2]);
    assert.equal(json.requests.http.announce.ok, 4);
    assert.equal(json.requests.udp.announce.ok, 2);
    assert.deepEqual(json.workers, { configured: 2, running: 2, restarts: 0 });
    assert.deepEqual(
      json.threads.map((t) => t.thread),
      ['main', 'worker-0', 'worker-1'],
    );
    assert.equal(json.top_torrents[0].info_hash, hot.toString('hex'));
    assert.equal(json.top_torrents[0].peers, 5);
    assert.equal(json.history!.peers_ipv4.at(-1), 5);
    assert.equal(json.history!.peers_ipv6.at(-1), 1);
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
    const r = await get('127.0.0.1', tracker.tcp4, '/stats?mode=metrics');
    assert.equal(r.headers.get('content-type'), METRICS_CONTENT_TYPE);
    assert.match(r.body.toString(), /^# HELP swarmd_build_info /);
  });

  test("a browser asking for HTML gets the dashboard; scripts keep opentracker's modes", async () => {
    const page = await get('127.0.0.1', tracker.tcp4, '/stats', 'Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n');
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.body.toString(), /<script src="\?asset=uPlot\.min\.js"><\/script>/);
    // opentracker's default mode (peer): peers, then seeders, as MRTG reads them
    const curl = await get('127.0.0.1', tracker.tcp4, '/stats', 'Accept: */*\r\n');
    assert.deepEqual(curl.body.toString().split('\n').slice(0, 2), ['6', '2']);
    const withMode = await get('127.0.0.1', tracker.tcp4, '/stats?mode=peer', 'Accept: text/html\r\n');
    assert.equal(withMode.headers.get('content-type'), 'text/plain');
    assert.deepEqual(withMode.body.toString().split('\n').slice(0, 2), ['6', '2']);
  });

  test('the dashboard files, from swarmd itself (uPlot from node_modules)', async () => {
    const types: Record<string, string> = {
      'app.js': 'text/javascript',
      'style.css': 'text/css',
      'uPlot.min.js': 'text/javascript',
      'uPlot.min.css': 'text/css',
    };
    for (const [name, type] of Object.entries(types)) {
      const r = await get('127.0.0.1', tracker.tcp4, `/stats?asset=${name}`);
      assert.equal(r.status, 200, name);
      assert.ok(r.headers.get('content-type')!.startsWith(type), name);
      assert.ok(r.body.length > 500, name);
    }
    const uplot = await get('127.0.0.1', tracker.tcp4, '/stats?asset=uPlot.min.js');
    assert.match(uplot.body.toString(), /uPlot/);
    const gz = await get('127.0.0.1', tracker.tcp4, '/stats?asset=uPlot.min.js', 'Accept-Encoding: gzip, deflate\r\n');
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.deepEqual(gunzipSync(gz.body), uplot.body);
    for (const bad of ['../package.json', 'index.ts', '%2e%2e/x', 'constructor', '__proto__']) {
      assert.equal((await get('127.0.0.1', tracker.tcp4, `/stats?asset=${bad}`)).status, 404, bad);
    }
  });
});

test('access.stats covers /metrics, /stats.json, the dashboard and its files', async () => {
  const closed = await startTestTracker({ statsNetworks: ['192.0.2.0/24'] });
  try {
    for (const target of ['/metrics', '/stats.json', '/stats', '/stats?asset=app.js', '/stats?mode=json', '/stats?mode=metrics']) {
      assert.equal((await get('127.0.0.1', closed.tcp4, target, 'Accept: text/html\r\n')).status, 403, target);
    }
    assert.equal(closed.counters().http_forbidden, 6);
    // Announces are not stats: they are answered.
    assert.equal((await get('127.0.0.1', closed.tcp4, `/announce?info_hash=${percentEncode(infoHash('open'))}&port=1`)).status, 200);
  } finally {
    await closed.close();
  }
});
