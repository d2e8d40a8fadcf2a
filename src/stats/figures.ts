// The figures /metrics, /stats.json and the dashboard show, read from the shared counter rows and
// the store's per-stripe totals: nothing here walks torrents or peers, and nothing here is called
// on the hot path. Each reading adds the rows up once (a few hundred doubles per thread).
//
// Requests are counted by protocol, action and outcome. The servers count every request of an
// action first, then the ways it can go wrong; `ok` is what is left. See docs/observability.md.

import { COUNTER_NAMES, C, G, ROW } from './counters.ts';
import type { CounterName, GaugeName } from './counters.ts';
import type { SwarmStore } from '../store/swarm-store.ts';

// The label values of swarmd_requests_total (and the keys of /stats.json's requests): types only,
// since REQUEST_CELLS below is the one list of the combinations that exist.
type Protocol = 'http' | 'udp' | 'ws';
type Action = 'connect' | 'announce' | 'scrape' | 'full_scrape' | 'stats' | 'other';
type Outcome = 'ok' | 'denied' | 'malformed' | 'bad_connection_id' | 'rate_limited' | 'full' | 'not_found';

/** One cell of the requests matrix: how to get its value from the counter totals. */
interface RequestCell {
  protocol: Protocol;
  action: Action;
  outcome: Outcome;
  /** Counters added up ... */
  plus: readonly CounterName[];
  /** ... minus these (never below 0). */
  minus: readonly CounterName[];
}

const cell = (protocol: Protocol, action: Action, outcome: Outcome, plus: CounterName[], minus: CounterName[] = []): RequestCell => ({
  protocol,
  action,
  outcome,
  plus,
  minus,
});

/**
 * Every (protocol, action, outcome) that can happen, and its counters. `store_full` counts both
 * protocols' announces, `udp_store_full` the UDP ones; `http_invalid` counts every HTTP failure
 * reason, of which the announce and scrape ones are also counted on their own.
 */
export const REQUEST_CELLS: readonly RequestCell[] = [
  cell('http', 'announce', 'ok', ['http_announce', 'udp_store_full'], ['http_announce_invalid', 'http_announce_denied', 'http_announce_blocked', 'store_full']),
  // Refused by the access list or blocked by a takedown notice.
  cell('http', 'announce', 'denied', ['http_announce_denied', 'http_announce_blocked']),
  cell('http', 'announce', 'malformed', ['http_announce_invalid']),
  cell('http', 'announce', 'full', ['store_full'], ['udp_store_full']),
  // A scrape naming torrents the access list refuses is still answered (they scrape as unknown
  // torrents): http_scrape_denied and udp_scrape_denied count those info hashes, not requests
  // (swarmd_scrape_denied_hashes_total), so they take nothing from `ok`.
  cell('http', 'scrape', 'ok', ['http_scrape'], ['http_scrape_invalid', 'http_full_scrape', 'http_rate_limited', 'http_full_scrape_denied']),
  cell('http', 'scrape', 'malformed', ['http_scrape_invalid']),
  cell('http', 'full_scrape', 'ok', ['http_full_scrape']),
  cell('http', 'full_scrape', 'denied', ['http_full_scrape_denied']),
  cell('http', 'full_scrape', 'rate_limited', ['http_rate_limited']),
  cell('http', 'stats', 'ok', ['http_stats']),
  cell('http', 'stats', 'denied', ['http_forbidden']),
  cell('http', 'other', 'malformed', ['http_malformed', 'http_too_large', 'http_method']),
  cell('http', 'other', 'not_found', ['http_not_found']),
  cell('http', 'other', 'ok', ['http_redirect']),
  cell('udp', 'connect', 'ok', ['udp_connect']),
  cell('udp', 'announce', 'ok', ['udp_announce'], ['udp_invalid', 'udp_store_full', 'udp_announce_denied', 'udp_announce_blocked']),
  cell('udp', 'announce', 'denied', ['udp_announce_denied', 'udp_announce_blocked']),
  cell('udp', 'announce', 'malformed', ['udp_invalid']),
  cell('udp', 'announce', 'full', ['udp_store_full']),
  cell('udp', 'announce', 'bad_connection_id', ['udp_bad_connection_id'], ['udp_scrape_bad_connection_id']),
  cell('udp', 'scrape', 'ok', ['udp_scrape']),
  cell('udp', 'scrape', 'bad_connection_id', ['udp_scrape_bad_connection_id']),
  cell('udp', 'other', 'malformed', ['udp_malformed', 'udp_oversized']),
  // WebSocket (WebTorrent) messages: an announce refused for what it asks (too many offers, a
  // second peer_id, an answer to no offer) counts as malformed, as UDP's udp_invalid does.
  cell(
    'ws',
    'announce',
    'ok',
    ['ws_announce'],
    ['ws_announce_denied', 'ws_announce_blocked', 'ws_full', 'ws_too_many_offers', 'ws_peer_id_refused', 'ws_answers_refused'],
  ),
  cell('ws', 'announce', 'denied', ['ws_announce_denied', 'ws_announce_blocked']),
  cell('ws', 'announce', 'malformed', ['ws_too_many_offers', 'ws_peer_id_refused', 'ws_answers_refused']),
  cell('ws', 'announce', 'full', ['ws_full']),
  cell('ws', 'scrape', 'ok', ['ws_scrape']),
  cell('ws', 'other', 'malformed', ['ws_malformed']),
];

const CELL_PLUS = REQUEST_CELLS.map((c) => Int32Array.from(c.plus.map((n) => C[n])));
const CELL_MINUS = REQUEST_CELLS.map((c) => Int32Array.from(c.minus.map((n) => C[n])));

export const COUNTERS = COUNTER_NAMES.length;

/** Counter totals over every row, indexed like COUNTER_NAMES (reuse `into` to avoid allocating). */
export function sumCounters(buffer: SharedArrayBuffer, into: Float64Array = new Float64Array(COUNTERS)): Float64Array {
  const all = new Float64Array(buffer);
  const rows = all.length / ROW;
  into.fill(0);
  for (let r = 0; r < rows; r++) {
    const base = r * ROW;
    for (let i = 0; i < COUNTERS; i++) into[i] += all[base + i];
  }
  return into;
}

/** The value of each request cell, in REQUEST_CELLS order. */
export function requestCells(totals: Float64Array, into: Float64Array = new Float64Array(REQUEST_CELLS.length)): Float64Array {
  for (let k = 0; k < REQUEST_CELLS.length; k++) {
    const plus = CELL_PLUS[k];
    const minus = CELL_MINUS[k];
    let v = 0;
    for (let i = 0; i < plus.length; i++) v += totals[plus[i]];
    for (let i = 0; i < minus.length; i++) v -= totals[minus[i]];
    into[k] = v > 0 ? v : 0;
  }
  return into;
}

export interface ThreadGauges {
  /** 'main' or 'worker-N' (N as in the logs' `worker` field). */
  thread: string;
  eventLoopP50Ms: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  /** Delay added up over every sample since the thread started, and the samples (a summary's sum and count). */
  eventLoopSumMs: number;
  eventLoopSamples: number;
  heapUsedBytes: number;
  httpOpenConnections: number;
  wsOpenConnections: number;
}

export function threadName(row: number): string {
  return row === 0 ? 'main' : `worker-${row - 1}`;
}

/** Each row's gauges (row 0: the main thread). */
export function threadGauges(buffer: SharedArrayBuffer): ThreadGauges[] {
  const all = new Float64Array(buffer);
  const rows = all.length / ROW;
  const out: ThreadGauges[] = [];
  for (let r = 0; r < rows; r++) {
    const b = r * ROW;
    out.push({
      thread: threadName(r),
      eventLoopP50Ms: all[b + G.event_loop_p50_ms],
      eventLoopP99Ms: all[b + G.event_loop_p99_ms],
      eventLoopMaxMs: all[b + G.event_loop_max_ms],
      eventLoopSumMs: all[b + G.event_loop_delay_sum_ms],
      eventLoopSamples: all[b + G.event_loop_samples],
      heapUsedBytes: all[b + G.heap_used_bytes],
      httpOpenConnections: all[b + G.http_open_connections],
      wsOpenConnections: all[b + G.ws_open_connections],
    });
  }
  return out;
}

/** A gauge of row 0 (the main thread's). */
export function mainGauge(buffer: SharedArrayBuffer, name: GaugeName): number {
  return new Float64Array(buffer, 0, ROW)[G[name]];
}

/** Workers the counters have rows for (the configured number). */
export function configuredWorkers(buffer: SharedArrayBuffer): number {
  return buffer.byteLength / (ROW * 8) - 1;
}

/** Store totals with seeders and leechers. */
interface SwarmFigures {
  torrents: number;
  peers4: number;
  peers6: number;
  seeders: number;
  leechers: number;
}

export function swarmFigures(store: SwarmStore): SwarmFigures {
  const s = store.totals();
  const peers = s.peers4 + s.peers6;
  return { torrents: s.torrents, peers4: s.peers4, peers6: s.peers6, seeders: s.seeders, leechers: Math.max(0, peers - s.seeders) };
}
