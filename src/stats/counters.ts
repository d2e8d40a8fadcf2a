// Event counters, histograms and gauges. Each thread writes only its own row of one shared
// Float64Array (no atomics, no shared cache lines on the hot path); readers add the rows up when
// someone asks. Row 0 is the main thread's, row i the i-th worker's.
//
// Counters are listed by protocol. Their indexes hold for one build only, and nothing keeps them
// longer: the rows live in shared memory for one run, and every reader (/stats, /metrics,
// /stats.json, the history, the dashboard, the logs) reads counters by name.

export const COUNTER_NAMES = [
  // Every protocol's announces (src/requests/), and the store.
  'completed', // completion events counted
  'peers_new',
  'peers_stopped',
  'woodpeckers', // re-announces far sooner than the interval asks
  'store_full', // announces that could not be stored (memory limit)
  'notice_torrents_removed', // torrents dropped from the store because a notice blocked them
  // UDP (BEP 15).
  'udp_received', // datagrams
  'udp_sent',
  'udp_send_errors',
  'udp_bytes_in', // datagram payload bytes received
  'udp_bytes_out', // datagram payload bytes sent
  'udp_malformed', // dropped: unparseable
  'udp_oversized', // dropped: larger than a receive slot
  'udp_connect',
  'udp_bad_connection_id', // answered with an error packet
  'udp_scrape_bad_connection_id', // the scrapes among udp_bad_connection_id
  'udp_announce',
  'udp_invalid', // well-formed but refused (port 0, ...): answered with an error packet
  'udp_announce_denied', // announces refused by the access list
  'udp_announce_blocked', // announces refused: the info hash is blocked by a takedown notice
  'udp_store_full', // the UDP announces among store_full
  'udp_scrape',
  'udp_scrape_denied', // info hashes in scrapes that the access list refuses (answered as unknown torrents)
  'udp_scrape_blocked', // info hashes in scrapes blocked by a takedown notice (answered as unknown torrents)
  // HTTP (and HTTPS).
  'http_accepted', // TCP connections
  'http_refused', // connections refused over the connection cap
  'http_timeouts', // connections closed for idleness or a slow request head
  'http_bytes_in', // bytes read from HTTP connections
  'http_bytes_out', // bytes written to HTTP connections (answers, errors, full scrapes)
  'http_requests',
  'http_malformed', // 400: unparseable request
  'http_too_large', // 413/431: request over the size limit
  'http_method', // 405
  'http_not_found', // 404
  'http_redirect', // 302
  'http_invalid', // announce or scrape refused with a failure reason (bad parameter)
  'http_announce',
  'http_announce_invalid', // announces refused with a failure reason (a subset of http_invalid)
  'http_announce_denied', // announces refused by the access list
  'http_announce_blocked', // announces refused: the info hash is blocked by a takedown notice
  'http_scrape',
  'http_scrape_invalid', // scrapes refused with a failure reason (a subset of http_invalid)
  'http_scrape_denied', // info hashes in scrapes that the access list refuses (answered as unknown torrents)
  'http_scrape_blocked', // info hashes in scrapes blocked by a takedown notice (answered as unknown torrents)
  'http_full_scrape', // full scrapes answered
  'http_full_scrape_bytes',
  'http_full_scrape_denied', // full scrapes asked for while tracker.full_scrape is off
  'http_rate_limited', // full scrapes refused by the per-address limit
  'http_stats', // /stats requests answered
  'http_forbidden', // 403: stats from an address not allowed to see them
  // WebSocket signalling (WebTorrent).
  'ws_connections', // WebSocket upgrades accepted
  'ws_refused', // upgrades refused: over ws.max_connections, or WebSocket turned off
  'ws_too_large', // connections closed for a message over ws.max_message_size
  'ws_idle_timeouts', // connections closed after ws.idle_timeout without a message
  'ws_ping_timeouts', // connections closed for not answering a ping
  'ws_slow_dropped', // connections dropped with more than ws.max_queue_size queued
  'ws_bytes_in', // message bytes received
  'ws_bytes_out', // message bytes sent
  'ws_malformed', // messages refused: not JSON, no known action, a bad field
  'ws_announce', // announce messages (with offers, answers or neither)
  'ws_announce_denied', // announces refused by the access list
  'ws_announce_blocked', // announces refused: the info hash is blocked by a takedown notice
  'ws_full', // announces refused: the shared table of WebSocket swarms is full (ws.max_swarms)
  'ws_too_many_offers', // announces refused: more offers than ws.max_offers
  'ws_peer_id_refused', // announces refused: a second peer_id for a torrent on one connection, or a peer_id another connection holds
  'ws_offers_relayed', // offers delivered to a peer
  'ws_offers_forwarded', // offers handed to another worker (counted again there when delivered)
  'ws_offers_unplaced', // offers with no peer left to take them
  'ws_answers_relayed', // answers delivered to their offerer
  'ws_answers_refused', // answers to offers never relayed to that peer (or expired, or whose offerer left)
  'ws_scrape', // scrape messages
  'ws_scrape_denied', // info hashes in scrapes that the access list refuses (answered as unknown torrents)
  'ws_scrape_blocked', // info hashes in scrapes blocked by a takedown notice (answered as unknown torrents)
  // TLS.
  'tls_handshake_errors', // TLS connections that failed before a request
  'tls_reloads', // main thread: certificates reloaded (SIGHUP)
  'tls_reload_failures', // main thread: reloads that kept the old certificate
  // The main thread: workers, state dumps, the request log, the admin API.
  'worker_restarts', // main thread: workers restarted after dying
  'state_dumps', // main thread: state dumps written
  'state_dump_failures', // main thread: state dumps that failed
  'log_requests', // request-log lines written (log.requests sampling)
  'log_requests_dropped', // sampled request-log lines dropped by the per-second cap
  'admin_requests', // main thread: admin API requests answered (any status)
  'admin_refused', // main thread: admin API requests refused: wrong or missing token, or an address outside admin.networks
  // The cluster (src/cluster/): workers count ring drops, the main thread the rest.
  'cluster_batches_published',
  'cluster_records_published',
  'cluster_bytes_published',
  'cluster_batches_applied', // other nodes' batches applied here (live and snapshot chunks)
  'cluster_records_applied',
  'cluster_bytes_applied',
  'cluster_ring_dropped', // changes lost because a worker's ring was full
  'cluster_outage_dropped', // batches not published: NATS down and the reconnect buffer full
  'cluster_parse_failures', // messages that failed to parse: dropped, never applied
  'cluster_outages', // times NATS became unreachable (or was at start)
  'cluster_snapshots_served',
  'cluster_snapshots_loaded',
] as const;

/** Per-thread values that are not added up: the latest reading of each thread. */
export const GAUGE_NAMES = [
  'event_loop_p50_ms',
  'event_loop_p99_ms',
  'event_loop_max_ms',
  'heap_used_bytes',
  'http_open_connections',
  // Appended (row 0, the main thread's, only):
  'workers_running', // workers that are up now
  'state_dump_at_ms', // Unix time (ms) the last good state dump finished; 0: none yet
  'cluster_connected', // 1 while connected to NATS (0 also when no cluster is configured)
  'ws_open_connections', // each worker's, like http_open_connections
  'notices', // takedown notices filed
  'hashes_blocked', // info hashes blocked by takedown notices now
  'event_loop_delay_sum_ms', // each thread's: event-loop delay added up over every sample since it started
  'event_loop_samples', // each thread's: samples taken since it started (the summary's _count)
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];
export type GaugeName = (typeof GAUGE_NAMES)[number];

/** Index of each counter in a row. */
export const C = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i])) as { readonly [K in CounterName]: number };

const GAUGES = 128;
export const G = Object.fromEntries(GAUGE_NAMES.map((n, i) => [n, GAUGES + i])) as { readonly [K in GaugeName]: number };
/** Re-announces by minutes since the previous announce (0..44), as opentracker's `renew`. */
export const RENEW = 144;
export const RENEW_BUCKETS = 45;
/** HTTP numwant values after clamping (0..200, more counted at 200), as opentracker's `numwants`. */
export const NUMWANT = RENEW + RENEW_BUCKETS;
export const NUMWANT_BUCKETS = 201;
export const ROW = 392; // a multiple of 8 doubles: rows of different threads never share a cache line
if (COUNTER_NAMES.length > GAUGES || GAUGES + GAUGE_NAMES.length > RENEW || NUMWANT + NUMWANT_BUCKETS > ROW) {
  throw new Error('counter row layout');
}

export function createCounters(rows: number): SharedArrayBuffer {
  return new SharedArrayBuffer(rows * ROW * 8);
}

/** The row a thread writes to. */
export function counterRow(buffer: SharedArrayBuffer, row: number): Float64Array {
  return new Float64Array(buffer, row * ROW * 8, ROW);
}

export type CounterTotals = Record<CounterName, number>;

export interface CounterSnapshot {
  totals: CounterTotals;
  renew: number[];
  numwant: number[];
  /** Gauges of each row (row 0: the main thread). */
  gauges: Record<GaugeName, number>[];
}

/** Adds every row up. */
export function readCounters(buffer: SharedArrayBuffer): CounterTotals {
  return snapshotCounters(buffer).totals;
}

export function snapshotCounters(buffer: SharedArrayBuffer): CounterSnapshot {
  const all = new Float64Array(buffer);
  const rows = all.length / ROW;
  const sum = (i: number) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += all[r * ROW + i];
    return s;
  };
  const totals = {} as CounterTotals;
  COUNTER_NAMES.forEach((name, i) => (totals[name] = sum(i)));
  const gauges: Record<GaugeName, number>[] = [];
  for (let r = 0; r < rows; r++) {
    const g = {} as Record<GaugeName, number>;
    for (const name of GAUGE_NAMES) g[name] = all[r * ROW + G[name]];
    gauges.push(g);
  }
  return {
    totals,
    renew: Array.from({ length: RENEW_BUCKETS }, (_, i) => sum(RENEW + i)),
    numwant: Array.from({ length: NUMWANT_BUCKETS }, (_, i) => sum(NUMWANT + i)),
    gauges,
  };
}
