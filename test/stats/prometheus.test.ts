// The Prometheus text of /metrics from known counters and stores (src/stats/prometheus.ts); the
// endpoint itself, on a running swarmd, is tested in observability.test.ts.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createCounters, counterRow, C, G } from '../../src/stats/counters.ts';
import type { CounterName } from '../../src/stats/counters.ts';
import { metricsText, METRICS, escapeLabel, escapeHelp, formatValue, METRICS_CONTENT_TYPE } from '../../src/stats/prometheus.ts';
import { REQUEST_CELLS } from '../../src/stats/figures.ts';
import { parsePrometheusText, value, referenceParse, referenceParserAvailable } from './prom-text.ts';
import { newStore, fillStore, addPeer, hashOf } from '../helpers/store.ts';

const CI = process.env.CI === 'true';

/** A counters buffer of two workers with `values` split over their rows (and the main row). */
function countersWith(values: Partial<Record<CounterName, number>>): SharedArrayBuffer {
  const buffer = createCounters(3);
  for (const [name, v] of Object.entries(values) as [CounterName, number][]) {
    // Spread each total over three rows, as threads would count it.
    const a = Math.floor(v / 3);
    counterRow(buffer, 0)[C[name]] += v - 2 * a;
    counterRow(buffer, 1)[C[name]] += a;
    counterRow(buffer, 2)[C[name]] += a;
  }
  return buffer;
}

describe('/metrics: the Prometheus text format', () => {
  test('every requests_total cell follows its counters (ok is what the failures leave)', () => {
    const counters = countersWith({
      http_announce: 1000,
      http_announce_invalid: 10,
      http_announce_denied: 5,
      store_full: 7,
      udp_store_full: 3,
      http_scrape: 500,
      http_scrape_invalid: 4,
      http_scrape_denied: 2,
      http_full_scrape: 6,
      http_rate_limited: 8,
      http_full_scrape_denied: 9,
      http_stats: 11,
      http_forbidden: 12,
      http_malformed: 13,
      http_too_large: 14,
      http_method: 15,
      http_not_found: 16,
      http_redirect: 17,
      udp_connect: 2000,
      udp_announce: 1500,
      udp_invalid: 21,
      udp_announce_denied: 22,
      udp_bad_connection_id: 30,
      udp_scrape_bad_connection_id: 12,
      udp_scrape: 300,
      udp_scrape_denied: 23,
      udp_malformed: 24,
      udp_oversized: 25,
    });
    const m = parsePrometheusText(metricsText({ counters, store: newStore(), startedAt: 1_700_000_000_000, version: '1.2.3' }));
    const r = (protocol: string, action: string, outcome: string) => value(m, 'swarmd_requests_total', { protocol, action, outcome });
    assert.equal(r('http', 'announce', 'ok'), 1000 - 10 - 5 - (7 - 3));
    assert.equal(r('http', 'announce', 'denied'), 5);
    assert.equal(r('http', 'announce', 'malformed'), 10);
    assert.equal(r('http', 'announce', 'full'), 4);
    assert.equal(r('http', 'scrape', 'ok'), 500 - 4 - 6 - 8 - 9, 'refused hashes are answered: the scrape is ok');
    assert.equal(r('http', 'scrape', 'malformed'), 4);
    assert.equal(r('http', 'full_scrape', 'ok'), 6);
    assert.equal(r('http', 'full_scrape', 'denied'), 9);
    assert.equal(r('http', 'full_scrape', 'rate_limited'), 8);
    assert.equal(r('http', 'stats', 'ok'), 11);
    assert.equal(r('http', 'stats', 'denied'), 12);
    assert.equal(r('http', 'other', 'malformed'), 13 + 14 + 15);
    assert.equal(r('http', 'other', 'not_found'), 16);
    assert.equal(r('http', 'other', 'ok'), 17);
    assert.equal(r('udp', 'connect', 'ok'), 2000);
    assert.equal(r('udp', 'announce', 'ok'), 1500 - 21 - 3 - 22);
    assert.equal(r('udp', 'announce', 'denied'), 22);
    assert.equal(r('udp', 'announce', 'malformed'), 21);
    assert.equal(r('udp', 'announce', 'full'), 3);
    assert.equal(r('udp', 'announce', 'bad_connection_id'), 30 - 12);
    assert.equal(r('udp', 'scrape', 'ok'), 300);
    assert.equal(value(m, 'swarmd_scrape_denied_hashes_total', { protocol: 'http' }), 2);
    assert.equal(value(m, 'swarmd_scrape_denied_hashes_total', { protocol: 'udp' }), 23);
    assert.equal(r('udp', 'scrape', 'bad_connection_id'), 12);
    assert.equal(r('udp', 'other', 'malformed'), 24 + 25);
    assert.equal(m.get('swarmd_requests_total')!.samples.length, REQUEST_CELLS.length);
  });

  test('swarm, byte, worker, memory and state-dump figures', () => {
    const counters = countersWith({
      completed: 42,
      peers_new: 9,
      peers_stopped: 4,
      http_bytes_in: 1000,
      http_bytes_out: 2000,
      udp_bytes_in: 3000,
      udp_bytes_out: 4000,
      udp_received: 50,
      udp_sent: 49,
      udp_send_errors: 1,
      http_accepted: 60,
      http_refused: 2,
      http_timeouts: 3,
      http_full_scrape_bytes: 777,
      woodpeckers: 5,
      worker_restarts: 1,
      state_dumps: 3,
      state_dump_failures: 1,
      log_requests: 8,
      log_requests_dropped: 2,
    });
    const main = counterRow(counters, 0);
    main[G.workers_running] = 2;
    main[G.state_dump_at_ms] = 1_700_000_100_000;
    main[G.event_loop_p99_ms] = 1.5;
    counterRow(counters, 1)[G.event_loop_p50_ms] = 0.25;
    counterRow(counters, 2)[G.heap_used_bytes] = 12345;
    counterRow(counters, 1)[G.http_open_connections] = 3;
    counterRow(counters, 2)[G.http_open_connections] = 4;
    const store = newStore();
    const hash = hashOf(1);
    addPeer(store, hash, 1, { seeder: true });
    addPeer(store, hash, 2);
    addPeer(store, hash, 3, { v6: true });
    addPeer(store, hashOf(2), 4);
    const now = 1_700_000_160_000;
    const m = parsePrometheusText(metricsText({ counters, store, startedAt: 1_700_000_000_000, version: '1.2.3' }, now));
    assert.equal(value(m, 'swarmd_build_info', { version: '1.2.3', node: process.versions.node }), 1);
    assert.equal(value(m, 'process_start_time_seconds'), 1_700_000_000);
    assert.equal(value(m, 'swarmd_torrents'), 2);
    assert.equal(value(m, 'swarmd_peers', { family: 'ipv4' }), 3);
    assert.equal(value(m, 'swarmd_peers', { family: 'ipv6' }), 1);
    assert.equal(value(m, 'swarmd_seeders'), 1);
    assert.equal(value(m, 'swarmd_leechers'), 3);
    assert.equal(value(m, 'swarmd_completed_total'), 42);
    assert.equal(value(m, 'swarmd_peers_joined_total'), 9);
    assert.equal(value(m, 'swarmd_received_bytes_total', { protocol: 'http' }), 1000);
    assert.equal(value(m, 'swarmd_sent_bytes_total', { protocol: 'http' }), 2000);
    assert.equal(value(m, 'swarmd_received_bytes_total', { protocol: 'udp' }), 3000);
    assert.equal(value(m, 'swarmd_sent_bytes_total', { protocol: 'udp' }), 4000);
    assert.equal(value(m, 'swarmd_udp_send_errors_total'), 1);
    assert.equal(value(m, 'swarmd_http_open_connections'), 7);
    assert.equal(value(m, 'swarmd_full_scrape_sent_bytes_total'), 777);
    assert.equal(value(m, 'swarmd_workers'), 2);
    assert.equal(value(m, 'swarmd_workers_running'), 2);
    assert.equal(value(m, 'swarmd_worker_restarts_total'), 1);
    assert.equal(value(m, 'swarmd_event_loop_delay_seconds', { thread: 'main', quantile: '0.99' }), 0.0015);
    assert.equal(value(m, 'swarmd_event_loop_delay_seconds', { thread: 'worker-0', quantile: '0.5' }), 0.00025);
    assert.equal(value(m, 'swarmd_heap_used_bytes', { thread: 'worker-1' }), 12345);
    assert.ok(value(m, 'process_resident_memory_bytes') > 1e6);
    assert.equal(value(m, 'swarmd_state_dumps_total'), 3);
    assert.equal(value(m, 'swarmd_state_dump_last_success_timestamp_seconds'), 1_700_000_100);
    assert.equal(value(m, 'swarmd_state_dump_age_seconds'), 60);
    assert.equal(value(m, 'swarmd_log_requests_dropped_total'), 2);
  });

  test('no state dump yet: the age has HELP and TYPE but no sample', () => {
    const m = parsePrometheusText(metricsText({ counters: createCounters(2), store: newStore(), startedAt: 0, version: 'x' }));
    assert.equal(m.get('swarmd_state_dump_age_seconds')?.samples.length, 0);
    assert.equal(value(m, 'swarmd_state_dump_last_success_timestamp_seconds'), 0);
  });

  test('every family has HELP and TYPE, counters end in _total, names and labels are valid', () => {
    const text = metricsText({ counters: createCounters(3), store: newStore(), startedAt: Date.now(), version: 'v' });
    const m = parsePrometheusText(text); // throws on any breach of the format's rules
    for (const def of METRICS) {
      const f = m.get(def.name);
      assert.ok(f, `${def.name} is exposed`);
      assert.equal(f.type, def.type, def.name);
      assert.equal(f.help, def.help, def.name);
      if (def.type === 'counter') assert.match(def.name, /_total$/);
      else assert.doesNotMatch(def.name, /_total$/);
    }
    assert.equal(m.size, METRICS.length);
    assert.match(METRICS_CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
  });

  test('docs/observability.md lists every metric with its type', () => {
    const doc = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');
    for (const def of METRICS) assert.ok(doc.includes(`| \`${def.name}\` | ${def.type} |`), `${def.name} in the docs' table`);
    for (const cell of REQUEST_CELLS) {
      assert.ok(doc.includes(`| ${cell.protocol} | ${cell.action} | ${cell.outcome} |`), `${cell.protocol}/${cell.action}/${cell.outcome} in the docs`);
    }
  });

  test('label values and help texts are escaped', () => {
    assert.equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    assert.equal(escapeHelp('a\\b"c\nd'), 'a\\\\b"c\\nd');
    assert.equal(formatValue(NaN), 'NaN');
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue(-Infinity), '-Inf');
    assert.equal(formatValue(1e21), '1e+21');
    const version = 'weird "1.0"\\build\nline';
    const text = metricsText({ counters: createCounters(2), store: newStore(), startedAt: 0, version });
    assert.equal(value(parsePrometheusText(text), 'swarmd_build_info', { version, node: process.versions.node }), 1);
  });

  test(
    'the official Prometheus client parser reads it and agrees',
    { skip: !CI && !referenceParserAvailable() && 'python3-prometheus-client missing (scripts/test-setup.sh installs it)' },
    () => {
      const counters = countersWith({ http_announce: 10, udp_connect: 5, udp_announce: 4, completed: 2 });
      const store = newStore();
      fillStore(store, 50);
      const text = metricsText({ counters, store, startedAt: Date.now() - 5000, version: 'quote " and \\ back' });
      const ours = parsePrometheusText(text);
      const theirs = referenceParse(text);
      const flat = [...ours.values()].flatMap((f) => f.samples);
      assert.equal(theirs.length, flat.length);
      for (const s of theirs) {
        assert.equal(value(ours, s.name, s.labels), s.value, `${s.name}${JSON.stringify(s.labels)}`);
        const def = METRICS.find((d) => d.name === s.name || d.name === `${s.family}_total` || d.name === s.family);
        assert.ok(def, s.name);
        assert.equal(s.type, def.type, s.name);
      }
    },
  );
});
