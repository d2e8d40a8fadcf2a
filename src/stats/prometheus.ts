// /metrics in the Prometheus text exposition format (version 0.0.4), written directly: every
// figure comes from the shared counter rows and the store's per-stripe totals, read when scraped
// and never touched on the hot path (the servers only bump their own Float64Array row). A scrape
// costs tens of microseconds whatever the number of torrents (see docs/observability.md).
//
// prom-client is not used: its registry keeps its own counters, which the workers could only feed
// by messages or by copying ours at every scrape; writing the format is a page of code.

import { C } from './counters.ts';
import type { CounterName } from './counters.ts';
import { REQUEST_CELLS, COUNTERS, sumCounters, requestCells, threadGauges, mainGauge, configuredWorkers, swarmFigures } from './figures.ts';
import type { ThreadGauges } from './figures.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { processFigures } from './process-metrics.ts';
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

type Type = 'counter' | 'gauge' | 'summary';

/** Metric names, types and help texts: the table in docs/observability.md. */
export const METRICS: readonly { name: string; type: Type; help: string; labels: string }[] = [
  { name: 'swarmd_build_info', type: 'gauge', help: 'Always 1; the labels name the running swarmd and the Node.js it runs on.', labels: 'version, node' },
  { name: 'process_start_time_seconds', type: 'gauge', help: 'Unix time the tracker started, in seconds.', labels: '' },
  { name: 'process_cpu_seconds_total', type: 'counter', help: 'CPU time (user and system) of every thread, in seconds.', labels: '' },
  { name: 'process_open_fds', type: 'gauge', help: 'Open file descriptors, sockets included.', labels: '' },
  { name: 'process_max_fds', type: 'gauge', help: 'The limit on open file descriptors (the soft one: LimitNOFILE=, ulimit -n).', labels: '' },
  {
    name: 'swarmd_requests_total',
    type: 'counter',
    help: 'Requests answered or dropped, by protocol, action and outcome.',
    labels: 'protocol, action, outcome',
  },
  { name: 'swarmd_torrents', type: 'gauge', help: 'Torrents in the store.', labels: '' },
  { name: 'swarmd_peers', type: 'gauge', help: 'Peers in the store, by address family.', labels: 'family' },
  { name: 'swarmd_seeders', type: 'gauge', help: 'Peers that have the whole torrent.', labels: '' },
  { name: 'swarmd_leechers', type: 'gauge', help: 'Peers still downloading.', labels: '' },
  { name: 'swarmd_completed_total', type: 'counter', help: 'Downloads completed (counted once per peer).', labels: '' },
  { name: 'swarmd_peers_joined_total', type: 'counter', help: 'Peers that announced for the first time.', labels: '' },
  { name: 'swarmd_peers_stopped_total', type: 'counter', help: 'Peers that announced stopped.', labels: '' },
  { name: 'swarmd_received_bytes_total', type: 'counter', help: 'Bytes received, by protocol.', labels: 'protocol' },
  { name: 'swarmd_sent_bytes_total', type: 'counter', help: 'Bytes sent, by protocol.', labels: 'protocol' },
  {
    name: 'swarmd_scrape_denied_hashes_total',
    type: 'counter',
    help: 'Info hashes in scrapes that the access list refuses (answered as unknown torrents).',
    labels: 'protocol',
  },
  {
    name: 'swarmd_takedown_blocked_total',
    type: 'counter',
    help: 'Requests refused because a takedown notice blocks the info hash: announces, and info hashes in scrapes (answered as unknown torrents).',
    labels: 'protocol, action',
  },
  { name: 'swarmd_takedown_notices', type: 'gauge', help: 'Takedown notices filed.', labels: '' },
  { name: 'swarmd_takedown_hashes_blocked', type: 'gauge', help: 'Info hashes blocked by takedown notices now.', labels: '' },
  {
    name: 'swarmd_takedown_torrents_removed_total',
    type: 'counter',
    help: 'Torrents dropped (with their peers, WebSocket ones included) when a notice blocked them.',
    labels: '',
  },
  {
    name: 'swarmd_admin_requests_total',
    type: 'counter',
    help: 'Admin API requests answered; refused: wrong or missing token, or an address outside admin.networks.',
    labels: 'outcome',
  },
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
  { name: 'swarmd_store_used_bytes', type: 'gauge', help: 'Bytes of the swarm store in use (torrents and peers).', labels: '' },
  { name: 'swarmd_store_limit_bytes', type: 'gauge', help: 'The most the swarm store may use (tracker.memory_limit).', labels: '' },
  { name: 'swarmd_woodpeckers_total', type: 'counter', help: 'Re-announces far sooner than the interval asks.', labels: '' },
  { name: 'swarmd_workers', type: 'gauge', help: 'Worker threads configured.', labels: '' },
  { name: 'swarmd_workers_running', type: 'gauge', help: 'Worker threads up now.', labels: '' },
  { name: 'swarmd_worker_restarts_total', type: 'counter', help: 'Workers restarted after dying.', labels: '' },
  {
    name: 'swarmd_event_loop_delay_seconds',
    type: 'summary',
    help: 'Event-loop delay by thread: quantiles over the last ten seconds (quantile 1 is the maximum), sum and count since the thread started.',
    labels: 'thread, quantile',
  },
  { name: 'swarmd_heap_used_bytes', type: 'gauge', help: 'V8 heap in use, by thread.', labels: 'thread' },
  { name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory of the whole process (every thread and the shared store).', labels: '' },
  { name: 'swarmd_state_dumps_total', type: 'counter', help: 'State dumps written.', labels: '' },
  { name: 'swarmd_state_dump_failures_total', type: 'counter', help: 'State dumps that failed (the previous file was kept).', labels: '' },
  {
    name: 'swarmd_state_dump_last_success_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the last good state dump; 0 when none was written yet.',
    labels: '',
  },
  { name: 'swarmd_state_dump_age_seconds', type: 'gauge', help: 'Seconds since the last good state dump (absent until one was written).', labels: '' },
  { name: 'swarmd_ws_connections_accepted_total', type: 'counter', help: 'WebSocket upgrades accepted.', labels: '' },
  { name: 'swarmd_ws_open_connections', type: 'gauge', help: 'WebSocket connections open now.', labels: '' },
  { name: 'swarmd_ws_connections_closed_total', type: 'counter', help: 'WebSocket connections closed or refused by swarmd, by reason.', labels: 'reason' },
  {
    name: 'swarmd_ws_offers_total',
    type: 'counter',
    help: 'WebRTC offers by what became of them: relayed to a peer, forwarded to another worker, or with no peer to take them.',
    labels: 'outcome',
  },
  {
    name: 'swarmd_ws_answers_total',
    type: 'counter',
    help: 'WebRTC answers: relayed to their offerer, or refused (no such offer relayed, expired, offerer gone).',
    labels: 'outcome',
  },
  { name: 'swarmd_tls_handshake_errors_total', type: 'counter', help: 'TLS connections that failed before a request.', labels: '' },
  { name: 'swarmd_tls_reloads_total', type: 'counter', help: 'TLS certificate reloads (SIGHUP), by outcome.', labels: 'outcome' },
  { name: 'swarmd_log_requests_total', type: 'counter', help: 'Sampled request-log lines written.', labels: '' },
  { name: 'swarmd_log_requests_dropped_total', type: 'counter', help: 'Sampled request-log lines dropped by the per-second cap.', labels: '' },
  { name: 'swarmd_cluster_connected', type: 'gauge', help: '1 while this node is connected to NATS (0 also without a cluster).', labels: '' },
  { name: 'swarmd_cluster_batches_total', type: 'counter', help: 'Cluster batches published to and applied from other nodes.', labels: 'direction' },
  {
    name: 'swarmd_cluster_records_total',
    type: 'counter',
    help: 'Cluster records (peer changes, counts, control records) published and applied.',
    labels: 'direction',
  },
  { name: 'swarmd_cluster_bytes_total', type: 'counter', help: 'Bytes of cluster batches published and applied.', labels: 'direction' },
  {
    name: 'swarmd_cluster_dropped_total',
    type: 'counter',
    help: 'Changes not published: a worker ring was full, or NATS was down and the reconnect buffer full (batches).',
    labels: 'reason',
  },
  { name: 'swarmd_cluster_parse_failures_total', type: 'counter', help: 'Cluster messages that failed to parse: dropped, never applied.', labels: '' },
  { name: 'swarmd_cluster_outages_total', type: 'counter', help: 'Times NATS became unreachable.', labels: '' },
  {
    name: 'swarmd_cluster_snapshots_total',
    type: 'counter',
    help: 'Snapshots of the swarms served to joining nodes and loaded from another node.',
    labels: 'role',
  },
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

/** The text being written, with the counter totals of this scrape. */
class Exposition {
  text = '';
  readonly t: Float64Array;
  readonly src: MetricsSource;
  constructor(src: MetricsSource) {
    this.src = src;
    this.t = sumCounters(src.counters, totalsScratch);
  }

  c(name: CounterName): number {
    return this.t[C[name]];
  }

  /** HELP, TYPE and the family's sample lines. */
  family(name: string, body: string): void {
    this.text += HEAD.get(name)! + body;
  }

  one(name: string, v: number): void {
    this.family(name, `${name} ${formatValue(v)}\n`);
  }

  /** One sample per label value, each from its counter. */
  byLabel(name: string, label: string, values: readonly (readonly [string, CounterName])[]): void {
    this.family(name, values.map(([v, counter]) => `${name}{${label}="${v}"} ${formatValue(this.c(counter))}\n`).join(''));
  }
}

/** What runs: build info and the process_* figures. */
function processSection(x: Exposition): void {
  const p = processFigures();
  x.family('swarmd_build_info', `swarmd_build_info{version="${escapeLabel(x.src.version)}",node="${escapeLabel(process.versions.node)}"} 1\n`);
  x.one('process_start_time_seconds', Math.floor(x.src.startedAt / 1000));
  x.one('process_cpu_seconds_total', p.cpuSeconds);
  if (p.openFds !== null) x.one('process_open_fds', p.openFds);
  else x.text += HEAD.get('process_open_fds')!;
  if (p.maxFds !== null) x.one('process_max_fds', p.maxFds);
  else x.text += HEAD.get('process_max_fds')!;
}

/** Requests by outcome, the swarms, and the bytes each protocol moved. */
function requestSection(x: Exposition): void {
  const cells = requestCells(x.t, cellsScratch);
  const s = swarmFigures(x.src.store);
  let req = '';
  for (let k = 0; k < cells.length; k++) req += `swarmd_requests_total${CELL_LABELS[k]} ${formatValue(cells[k])}\n`;
  x.family('swarmd_requests_total', req);
  x.one('swarmd_torrents', s.torrents);
  x.family('swarmd_peers', `swarmd_peers{family="ipv4"} ${s.peers4}\nswarmd_peers{family="ipv6"} ${s.peers6}\n`);
  x.one('swarmd_seeders', s.seeders);
  x.one('swarmd_leechers', s.leechers);
  x.one('swarmd_completed_total', x.c('completed'));
  x.one('swarmd_peers_joined_total', x.c('peers_new'));
  x.one('swarmd_peers_stopped_total', x.c('peers_stopped'));
  x.byLabel('swarmd_received_bytes_total', 'protocol', [
    ['http', 'http_bytes_in'],
    ['udp', 'udp_bytes_in'],
    ['ws', 'ws_bytes_in'],
  ]);
  x.byLabel('swarmd_sent_bytes_total', 'protocol', [
    ['http', 'http_bytes_out'],
    ['udp', 'udp_bytes_out'],
    ['ws', 'ws_bytes_out'],
  ]);
  x.byLabel('swarmd_scrape_denied_hashes_total', 'protocol', [
    ['http', 'http_scrape_denied'],
    ['udp', 'udp_scrape_denied'],
    ['ws', 'ws_scrape_denied'],
  ]);
  let blocked = '';
  for (const protocol of ['http', 'udp', 'ws'] as const) {
    for (const action of ['announce', 'scrape'] as const) {
      blocked += `swarmd_takedown_blocked_total{protocol="${protocol}",action="${action}"} ${x.c(`${protocol}_${action}_blocked`)}\n`;
    }
  }
  x.family('swarmd_takedown_blocked_total', blocked);
  x.one('swarmd_takedown_notices', mainGauge(x.src.counters, 'notices'));
  x.one('swarmd_takedown_hashes_blocked', mainGauge(x.src.counters, 'hashes_blocked'));
  x.one('swarmd_takedown_torrents_removed_total', x.c('notice_torrents_removed'));
  x.family(
    'swarmd_admin_requests_total',
    `swarmd_admin_requests_total{outcome="answered"} ${x.c('admin_requests') - x.c('admin_refused')}\nswarmd_admin_requests_total{outcome="refused"} ${x.c('admin_refused')}\n`,
  );
}

/** Sockets, connections and the limits that refuse work. */
function connectionSection(x: Exposition, threads: readonly ThreadGauges[]): void {
  x.one('swarmd_udp_datagrams_received_total', x.c('udp_received'));
  x.one('swarmd_udp_datagrams_sent_total', x.c('udp_sent'));
  x.one('swarmd_udp_send_errors_total', x.c('udp_send_errors'));
  x.one('swarmd_http_connections_accepted_total', x.c('http_accepted'));
  x.one('swarmd_http_connections_refused_total', x.c('http_refused'));
  x.one('swarmd_http_connections_timed_out_total', x.c('http_timeouts'));
  x.one('swarmd_http_requests_too_large_total', x.c('http_too_large'));
  let open = 0;
  for (const g of threads) open += g.httpOpenConnections;
  x.one('swarmd_http_open_connections', open);
  x.one('swarmd_full_scrape_sent_bytes_total', x.c('http_full_scrape_bytes'));
  x.one('swarmd_store_full_total', x.c('store_full'));
  const arena = x.src.store.arena.stats();
  x.one('swarmd_store_used_bytes', arena.usedBytes);
  x.one('swarmd_store_limit_bytes', arena.limitBytes);
  x.one('swarmd_woodpeckers_total', x.c('woodpeckers'));
}

/** Worker threads: how many, their event loops and heaps, and the whole process's memory. */
function threadSection(x: Exposition, threads: readonly ThreadGauges[]): void {
  x.one('swarmd_workers', configuredWorkers(x.src.counters));
  x.one('swarmd_workers_running', mainGauge(x.src.counters, 'workers_running'));
  x.one('swarmd_worker_restarts_total', x.c('worker_restarts'));
  let loop = '';
  let heap = '';
  for (const g of threads) {
    const thread = `thread="${g.thread}"`;
    for (const [q, key] of QUANTILES) loop += `swarmd_event_loop_delay_seconds{${thread},quantile="${q}"} ${formatValue(g[key] / 1000)}\n`;
    loop += `swarmd_event_loop_delay_seconds_sum{${thread}} ${formatValue(g.eventLoopSumMs / 1000)}\n`;
    loop += `swarmd_event_loop_delay_seconds_count{${thread}} ${formatValue(g.eventLoopSamples)}\n`;
    heap += `swarmd_heap_used_bytes{${thread}} ${formatValue(g.heapUsedBytes)}\n`;
  }
  x.family('swarmd_event_loop_delay_seconds', loop);
  x.family('swarmd_heap_used_bytes', heap);
  x.one('process_resident_memory_bytes', process.memoryUsage.rss());
}

/** State dumps, WebSocket signalling, TLS and the request log. */
function serviceSection(x: Exposition, threads: readonly ThreadGauges[], now: number): void {
  x.one('swarmd_state_dumps_total', x.c('state_dumps'));
  x.one('swarmd_state_dump_failures_total', x.c('state_dump_failures'));
  const dumpAt = mainGauge(x.src.counters, 'state_dump_at_ms');
  x.one('swarmd_state_dump_last_success_timestamp_seconds', Math.floor(dumpAt / 1000));
  if (dumpAt > 0) x.one('swarmd_state_dump_age_seconds', Math.max(0, Math.round((now - dumpAt) / 1000)));
  else x.text += HEAD.get('swarmd_state_dump_age_seconds')!;
  x.one('swarmd_ws_connections_accepted_total', x.c('ws_connections'));
  let wsOpen = 0;
  for (const g of threads) wsOpen += g.wsOpenConnections;
  x.one('swarmd_ws_open_connections', wsOpen);
  x.byLabel('swarmd_ws_connections_closed_total', 'reason', [
    ['refused', 'ws_refused'],
    ['too_large', 'ws_too_large'],
    ['idle', 'ws_idle_timeouts'],
    ['ping_timeout', 'ws_ping_timeouts'],
    ['slow', 'ws_slow_dropped'],
  ]);
  x.byLabel('swarmd_ws_offers_total', 'outcome', [
    ['relayed', 'ws_offers_relayed'],
    ['forwarded', 'ws_offers_forwarded'],
    ['unplaced', 'ws_offers_unplaced'],
  ]);
  x.byLabel('swarmd_ws_answers_total', 'outcome', [
    ['relayed', 'ws_answers_relayed'],
    ['refused', 'ws_answers_refused'],
  ]);
  x.one('swarmd_tls_handshake_errors_total', x.c('tls_handshake_errors'));
  x.byLabel('swarmd_tls_reloads_total', 'outcome', [
    ['ok', 'tls_reloads'],
    ['failed', 'tls_reload_failures'],
  ]);
  x.one('swarmd_log_requests_total', x.c('log_requests'));
  x.one('swarmd_log_requests_dropped_total', x.c('log_requests_dropped'));
}

/** The NATS link and what went over it. */
function clusterSection(x: Exposition): void {
  x.one('swarmd_cluster_connected', mainGauge(x.src.counters, 'cluster_connected'));
  x.byLabel('swarmd_cluster_batches_total', 'direction', [
    ['published', 'cluster_batches_published'],
    ['applied', 'cluster_batches_applied'],
  ]);
  x.byLabel('swarmd_cluster_records_total', 'direction', [
    ['published', 'cluster_records_published'],
    ['applied', 'cluster_records_applied'],
  ]);
  x.byLabel('swarmd_cluster_bytes_total', 'direction', [
    ['published', 'cluster_bytes_published'],
    ['applied', 'cluster_bytes_applied'],
  ]);
  x.byLabel('swarmd_cluster_dropped_total', 'reason', [
    ['ring_full', 'cluster_ring_dropped'],
    ['outage', 'cluster_outage_dropped'],
  ]);
  x.one('swarmd_cluster_parse_failures_total', x.c('cluster_parse_failures'));
  x.one('swarmd_cluster_outages_total', x.c('cluster_outages'));
  x.byLabel('swarmd_cluster_snapshots_total', 'role', [
    ['served', 'cluster_snapshots_served'],
    ['loaded', 'cluster_snapshots_loaded'],
  ]);
}

/** The whole /metrics answer, its families in the order of METRICS. */
export function metricsText(src: MetricsSource, now = Date.now()): string {
  const x = new Exposition(src);
  const threads = threadGauges(src.counters);
  processSection(x);
  requestSection(x);
  connectionSection(x, threads);
  threadSection(x, threads);
  serviceSection(x, threads, now);
  clusterSection(x);
  x.text += limitsMetricsText((name) => HEAD.get(name)!, x.t, src.counters, src.limits?.top ?? null);
  return x.text;
}
