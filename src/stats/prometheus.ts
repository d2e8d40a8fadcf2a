// /metrics in the Prometheus text exposition format (version 0.0.4), written directly: every
// figure comes from the shared counter rows and the store's per-stripe totals, read when scraped
// and never touched on the hot path (the servers only bump their own Float64Array row). A scrape
// costs tens of microseconds whatever the number of torrents (see docs/observability.md).
//
// prom-client is not used: its registry keeps its own counters, which the workers could only feed
// by messages or by copying ours at every scrape; writing the format is a page of code.

import { C } from './counters.ts';
import type { CounterName } from './counters.ts';
import {
  REQUEST_CELLS, COUNTERS, sumCounters, requestCells, threadGauges, mainGauge, configuredWorkers, swarmFigures,
} from './figures.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { LIMITS_METRICS, limitsMetricsText } from './limits-report.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What /metrics reads (the HTTP server's StatsSource has all of it). */
export interface MetricsSource {
  counters: SharedArrayBuffer;
  store: SwarmStore;
  /** Unix time (ms) the tracker started. */
  startedAt: number;
  version: string;
  /** The top sources over budget (src/limits/); absent: none listed. */
  limits?: { top: SharedArrayBuffer };
}

type Type = 'counter' | 'gauge';

/** Metric names, types and help texts: the table in docs/observability.md. */
export const METRICS: readonly { name: string; type: Type; help: string; labels: string }[] = [
  { name: 'swarmd_info', type: 'gauge', help: 'Always 1; the version label names the running swarmd.', labels: 'version' },
  { name: 'process_start_time_seconds', type: 'gauge', help: 'Unix time the tracker started, in seconds.', labels: '' },
  { name: 'swarmd_requests_total', type: 'counter', help: 'Requests answered or dropped, by protocol, action and outcome.', labels: 'protocol, action, outcome' },
  { name: 'swarmd_torrents', type: 'gauge', help: 'Torrents in the store.', labels: '' },
  { name: 'swarmd_peers', type: 'gauge', help: 'Peers in the store, by address family.', labels: 'family' },
  { name: 'swarmd_seeders', type: 'gauge', help: 'Peers that have the whole torrent.', labels: '' },
  { name: 'swarmd_leechers', type: 'gauge', help: 'Peers still downloading.', labels: '' },
  { name: 'swarmd_completed_total', type: 'counter', help: 'Downloads completed (counted once per peer).', labels: '' },
  { name: 'swarmd_peers_joined_total', type: 'counter', help: 'Peers that announced for the first time.', labels: '' },
  { name: 'swarmd_peers_stopped_total', type: 'counter', help: 'Peers that announced stopped.', labels: '' },
  { name: 'swarmd_received_bytes_total', type: 'counter', help: 'Bytes received, by protocol.', labels: 'protocol' },
  { name: 'swarmd_sent_bytes_total', type: 'counter', help: 'Bytes sent, by protocol.', labels: 'protocol' },
  { name: 'swarmd_scrape_denied_hashes_total', type: 'counter', help: 'Info hashes in scrapes that the access list refuses (answered as unknown torrents).', labels: 'protocol' },
  { name: 'swarmd_takedown_blocked_total', type: 'counter', help: 'Requests refused because a takedown notice blocks the info hash: announces, and info hashes in scrapes (answered as unknown torrents).', labels: 'protocol, action' },
  { name: 'swarmd_takedown_notices', type: 'gauge', help: 'Takedown notices filed.', labels: '' },
  { name: 'swarmd_takedown_hashes_blocked', type: 'gauge', help: 'Info hashes blocked by takedown notices now.', labels: '' },
  { name: 'swarmd_takedown_torrents_removed_total', type: 'counter', help: 'Torrents dropped (with their peers, WebSocket ones included) when a notice blocked them.', labels: '' },
  { name: 'swarmd_admin_requests_total', type: 'counter', help: 'Admin API requests answered; refused: wrong or missing token, or an address outside admin.networks.', labels: 'outcome' },
  { name: 'swarmd_udp_datagrams_received_total', type: 'counter', help: 'UDP datagrams received.', labels: '' },
  { name: 'swarmd_udp_datagrams_sent_total', type: 'counter', help: 'UDP datagrams sent.', labels: '' },
  { name: 'swarmd_udp_send_errors_total', type: 'counter', help: 'UDP datagrams the kernel refused to send.', labels: '' },
  { name: 'swarmd_http_connections_accepted_total', type: 'counter', help: 'TCP connections accepted (refused ones included).', labels: '' },
  { name: 'swarmd_http_connections_refused_total', type: 'counter', help: 'TCP connections closed at once: over the connection cap.', labels: '' },
  { name: 'swarmd_http_connections_timed_out_total', type: 'counter', help: 'TCP connections closed for idleness or a slow request head.', labels: '' },
  { name: 'swarmd_http_requests_too_large_total', type: 'counter', help: 'HTTP requests refused for their size (413/431).', labels: '' },
  { name: 'swarmd_http_open_connections', type: 'gauge', help: 'TCP connections open now.', labels: '' },
  { name: 'swarmd_full_scrape_sent_bytes_total', type: 'counter', help: 'Bytes of full scrape answers.', labels: '' },
  { name: 'swarmd_store_full_total', type: 'counter', help: 'Announces not stored because the memory limit was reached.', labels: '' },
  { name: 'swarmd_woodpeckers_total', type: 'counter', help: 'Re-announces far sooner than the interval asks.', labels: '' },
  { name: 'swarmd_workers', type: 'gauge', help: 'Worker threads configured.', labels: '' },
  { name: 'swarmd_workers_running', type: 'gauge', help: 'Worker threads up now.', labels: '' },
  { name: 'swarmd_worker_restarts_total', type: 'counter', help: 'Workers restarted after dying.', labels: '' },
  { name: 'swarmd_event_loop_delay_seconds', type: 'gauge', help: 'Event-loop delay over the last ten seconds, by thread (quantile 1 is the maximum).', labels: 'thread, quantile' },
  { name: 'swarmd_heap_used_bytes', type: 'gauge', help: 'V8 heap in use, by thread.', labels: 'thread' },
  { name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory of the whole process (every thread and the shared store).', labels: '' },
  { name: 'swarmd_state_dumps_total', type: 'counter', help: 'State dumps written.', labels: '' },
  { name: 'swarmd_state_dump_failures_total', type: 'counter', help: 'State dumps that failed (the previous file was kept).', labels: '' },
  { name: 'swarmd_state_dump_last_success_timestamp_seconds', type: 'gauge', help: 'Unix time of the last good state dump; 0 when none was written yet.', labels: '' },
  { name: 'swarmd_state_dump_age_seconds', type: 'gauge', help: 'Seconds since the last good state dump (absent until one was written).', labels: '' },
  { name: 'swarmd_ws_connections_accepted_total', type: 'counter', help: 'WebSocket upgrades accepted.', labels: '' },
  { name: 'swarmd_ws_open_connections', type: 'gauge', help: 'WebSocket connections open now.', labels: '' },
  { name: 'swarmd_ws_connections_closed_total', type: 'counter', help: 'WebSocket connections closed or refused by swarmd, by reason.', labels: 'reason' },
  { name: 'swarmd_ws_offers_total', type: 'counter', help: 'WebRTC offers by what became of them: relayed to a peer, forwarded to another worker, or with no peer to take them.', labels: 'outcome' },
  { name: 'swarmd_ws_answers_total', type: 'counter', help: 'WebRTC answers: relayed to their offerer, or refused (no such offer relayed, expired, offerer gone).', labels: 'outcome' },
  { name: 'swarmd_tls_handshake_errors_total', type: 'counter', help: 'TLS connections that failed before a request.', labels: '' },
  { name: 'swarmd_tls_reloads_total', type: 'counter', help: 'TLS certificate reloads (SIGHUP), by result.', labels: 'result' },
  { name: 'swarmd_log_requests_total', type: 'counter', help: 'Sampled request-log lines written.', labels: '' },
  { name: 'swarmd_log_requests_dropped_total', type: 'counter', help: 'Sampled request-log lines dropped by the per-second cap.', labels: '' },
  { name: 'swarmd_cluster_connected', type: 'gauge', help: '1 while this node is connected to NATS (0 also without a cluster).', labels: '' },
  { name: 'swarmd_cluster_batches_total', type: 'counter', help: 'Cluster batches published to and applied from other nodes.', labels: 'direction' },
  { name: 'swarmd_cluster_records_total', type: 'counter', help: 'Cluster records (peer changes, counts, control records) published and applied.', labels: 'direction' },
  { name: 'swarmd_cluster_bytes_total', type: 'counter', help: 'Bytes of cluster batches published and applied.', labels: 'direction' },
  { name: 'swarmd_cluster_dropped_total', type: 'counter', help: 'Changes not published: a worker ring was full, or NATS was down and the reconnect buffer full (batches).', labels: 'reason' },
  { name: 'swarmd_cluster_parse_failures_total', type: 'counter', help: 'Cluster messages that failed to parse: dropped, never applied.', labels: '' },
  { name: 'swarmd_cluster_outages_total', type: 'counter', help: 'Times NATS became unreachable.', labels: '' },
  { name: 'swarmd_cluster_snapshots_total', type: 'counter', help: 'Snapshots of the swarms served to joining nodes and loaded from another node.', labels: 'role' },
  ...LIMITS_METRICS,
];

const HEAD = new Map(METRICS.map((m) => [m.name, `# HELP ${m.name} ${escapeHelp(m.help)}\n# TYPE ${m.name} ${m.type}\n`]));

/** HELP text: backslash and newline escaped. */
export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, double quote and newline escaped. */
export function escapeLabel(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as the format wants it (Go's ParseFloat syntax, +Inf/-Inf/NaN). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

// Label strings of the request cells, built once.
const CELL_LABELS = REQUEST_CELLS.map((c) => `{protocol="${c.protocol}",action="${c.action}",outcome="${c.outcome}"}`);
const QUANTILES: readonly ['0.5' | '0.99' | '1', 'eventLoopP50Ms' | 'eventLoopP99Ms' | 'eventLoopMaxMs'][] = [
  ['0.5', 'eventLoopP50Ms'],
  ['0.99', 'eventLoopP99Ms'],
  ['1', 'eventLoopMaxMs'],
];

const totalsScratch = new Float64Array(COUNTERS);
const cellsScratch = new Float64Array(REQUEST_CELLS.length);

/** The whole /metrics answer. */
export function metricsText(src: MetricsSource, now = Date.now()): string {
  const t = sumCounters(src.counters, totalsScratch);
  const cells = requestCells(t, cellsScratch);
  const s = swarmFigures(src.store);
  const threads = threadGauges(src.counters);
  const c = (name: CounterName) => t[C[name]];
  let out = '';
  const family = (name: string, body: string) => {
    out += HEAD.get(name)! + body;
  };
  const one = (name: string, v: number) => family(name, `${name} ${formatValue(v)}\n`);

  family('swarmd_info', `swarmd_info{version="${escapeLabel(src.version)}"} 1\n`);
  one('process_start_time_seconds', Math.floor(src.startedAt / 1000));
  let req = '';
  for (let k = 0; k < cells.length; k++) req += `swarmd_requests_total${CELL_LABELS[k]} ${formatValue(cells[k])}\n`;
  family('swarmd_requests_total', req);
  one('swarmd_torrents', s.torrents);
  family('swarmd_peers', `swarmd_peers{family="ipv4"} ${s.peers4}\nswarmd_peers{family="ipv6"} ${s.peers6}\n`);
  one('swarmd_seeders', s.seeders);
  one('swarmd_leechers', s.leechers);
  one('swarmd_completed_total', c('completed'));
  one('swarmd_peers_joined_total', c('peers_new'));
  one('swarmd_peers_stopped_total', c('peers_stopped'));
  const byLabel = (name: string, label: string, values: [string, CounterName][]) =>
    family(name, values.map(([v, counter]) => `${name}{${label}="${v}"} ${c(counter)}\n`).join(''));
  byLabel('swarmd_received_bytes_total', 'protocol', [['http', 'http_bytes_in'], ['udp', 'udp_bytes_in'], ['ws', 'ws_bytes_in']]);
  byLabel('swarmd_sent_bytes_total', 'protocol', [['http', 'http_bytes_out'], ['udp', 'udp_bytes_out'], ['ws', 'ws_bytes_out']]);
  byLabel('swarmd_scrape_denied_hashes_total', 'protocol', [['http', 'http_scrape_denied'], ['udp', 'udp_scrape_denied'], ['ws', 'ws_scrape_denied']]);
  family('swarmd_takedown_blocked_total',
    `swarmd_takedown_blocked_total{protocol="http",action="announce"} ${c('http_announce_blocked')}\n` +
    `swarmd_takedown_blocked_total{protocol="http",action="scrape"} ${c('http_scrape_blocked')}\n` +
    `swarmd_takedown_blocked_total{protocol="udp",action="announce"} ${c('udp_announce_blocked')}\n` +
    `swarmd_takedown_blocked_total{protocol="udp",action="scrape"} ${c('udp_scrape_blocked')}\n` +
    `swarmd_takedown_blocked_total{protocol="ws",action="announce"} ${c('ws_announce_blocked')}\n` +
    `swarmd_takedown_blocked_total{protocol="ws",action="scrape"} ${c('ws_scrape_blocked')}\n`);
  one('swarmd_takedown_notices', mainGauge(src.counters, 'notices'));
  one('swarmd_takedown_hashes_blocked', mainGauge(src.counters, 'hashes_blocked'));
  one('swarmd_takedown_torrents_removed_total', c('notice_torrents_removed'));
  family('swarmd_admin_requests_total',
    `swarmd_admin_requests_total{outcome="answered"} ${c('admin_requests') - c('admin_refused')}\nswarmd_admin_requests_total{outcome="refused"} ${c('admin_refused')}\n`);
  one('swarmd_udp_datagrams_received_total', c('udp_received'));
  one('swarmd_udp_datagrams_sent_total', c('udp_sent'));
  one('swarmd_udp_send_errors_total', c('udp_send_errors'));
  one('swarmd_http_connections_accepted_total', c('http_accepted'));
  one('swarmd_http_connections_refused_total', c('http_refused'));
  one('swarmd_http_connections_timed_out_total', c('http_timeouts'));
  one('swarmd_http_requests_too_large_total', c('http_too_large'));
  let open = 0;
  for (const g of threads) open += g.httpOpenConnections;
  one('swarmd_http_open_connections', open);
  one('swarmd_full_scrape_sent_bytes_total', c('http_full_scrape_bytes'));
  one('swarmd_store_full_total', c('store_full'));
  one('swarmd_woodpeckers_total', c('woodpeckers'));
  one('swarmd_workers', configuredWorkers(src.counters));
  one('swarmd_workers_running', mainGauge(src.counters, 'workers_running'));
  one('swarmd_worker_restarts_total', c('worker_restarts'));
  let loop = '';
  let heap = '';
  for (const g of threads) {
    const thread = `thread="${g.thread}"`;
    for (const [q, key] of QUANTILES) loop += `swarmd_event_loop_delay_seconds{${thread},quantile="${q}"} ${formatValue(g[key] / 1000)}\n`;
    heap += `swarmd_heap_used_bytes{${thread}} ${formatValue(g.heapUsedBytes)}\n`;
  }
  family('swarmd_event_loop_delay_seconds', loop);
  family('swarmd_heap_used_bytes', heap);
  one('process_resident_memory_bytes', process.memoryUsage.rss());
  one('swarmd_state_dumps_total', c('state_dumps'));
  one('swarmd_state_dump_failures_total', c('state_dump_failures'));
  const dumpAt = mainGauge(src.counters, 'state_dump_at_ms');
  one('swarmd_state_dump_last_success_timestamp_seconds', Math.floor(dumpAt / 1000));
  if (dumpAt > 0) one('swarmd_state_dump_age_seconds', Math.max(0, Math.round((now - dumpAt) / 1000)));
  else out += HEAD.get('swarmd_state_dump_age_seconds')!;
  one('swarmd_ws_connections_accepted_total', c('ws_connections'));
  let wsOpen = 0;
  for (const g of threads) wsOpen += g.wsOpenConnections;
  one('swarmd_ws_open_connections', wsOpen);
  byLabel('swarmd_ws_connections_closed_total', 'reason', [
    ['refused', 'ws_refused'], ['too_large', 'ws_too_large'], ['idle', 'ws_idle_timeouts'], ['ping_timeout', 'ws_ping_timeouts'], ['slow', 'ws_slow_dropped'],
  ]);
  byLabel('swarmd_ws_offers_total', 'outcome', [['relayed', 'ws_offers_relayed'], ['forwarded', 'ws_offers_forwarded'], ['unplaced', 'ws_offers_unplaced']]);
  byLabel('swarmd_ws_answers_total', 'outcome', [['relayed', 'ws_answers_relayed'], ['refused', 'ws_answers_refused']]);
  one('swarmd_tls_handshake_errors_total', c('tls_handshake_errors'));
  byLabel('swarmd_tls_reloads_total', 'result', [['ok', 'tls_reloads'], ['failed', 'tls_reload_failures']]);
  one('swarmd_log_requests_total', c('log_requests'));
  one('swarmd_log_requests_dropped_total', c('log_requests_dropped'));
  one('swarmd_cluster_connected', mainGauge(src.counters, 'cluster_connected'));
  const directions = (name: string, published: CounterName, applied: CounterName) =>
    family(name, `${name}{direction="published"} ${c(published)}\n${name}{direction="applied"} ${c(applied)}\n`);
  directions('swarmd_cluster_batches_total', 'cluster_batches_published', 'cluster_batches_applied');
  directions('swarmd_cluster_records_total', 'cluster_records_published', 'cluster_records_applied');
  directions('swarmd_cluster_bytes_total', 'cluster_bytes_published', 'cluster_bytes_applied');
  family('swarmd_cluster_dropped_total',
    `swarmd_cluster_dropped_total{reason="ring_full"} ${c('cluster_ring_dropped')}\nswarmd_cluster_dropped_total{reason="outage"} ${c('cluster_outage_dropped')}\n`);
  one('swarmd_cluster_parse_failures_total', c('cluster_parse_failures'));
  one('swarmd_cluster_outages_total', c('cluster_outages'));
  family('swarmd_cluster_snapshots_total',
    `swarmd_cluster_snapshots_total{role="served"} ${c('cluster_snapshots_served')}\nswarmd_cluster_snapshots_total{role="loaded"} ${c('cluster_snapshots_loaded')}\n`);
  out += limitsMetricsText((name) => HEAD.get(name)!, t, src.counters, src.limits?.top ?? null);
  return out;
}
