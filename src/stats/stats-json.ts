// /stats.json: the figures of /metrics as one JSON document (schema "swarmd-stats/1", documented
// in docs/observability.md), plus the torrents with the most peers and the last hour of history
// that the dashboard draws.
//
// Everything but the top list reads shared counters and per-stripe totals. The top list walks
// the store (a few stripes at a time, letting the worker answer announces in between) and is
// kept per worker for a second or 250 times as long as the walk took, whichever is longer, so
// however many dashboards are open the walks take at most 0.4% of a worker's time (a 20 ms walk
// every 5 s at 100k torrents), and on a small tracker the list is never more than a second old.

import { C } from './counters.ts';
import { REQUEST_CELLS, COUNTERS, sumCounters, requestCells, threadGauges, mainGauge, configuredWorkers, swarmFigures } from './figures.ts';
import { History, historyJson } from './history.ts';
import type { HistoryJson } from './history.ts';
import { TorrentRows, STRIPES } from '../store/swarm-store.ts';
import type { SwarmStore } from '../store/swarm-store.ts';

export const STATS_JSON_SCHEMA = 'swarmd-stats/1';
const DEFAULT_TOP = 10;
const MAX_TOP = 100;
const TOP_CACHE_MS = 1000;
/** The top list is kept at least this many times as long as its walk took. */
const TOP_CACHE_FACTOR = 250;

export interface StatsJsonSource {
  counters: SharedArrayBuffer;
  store: SwarmStore;
  startedAt: number;
  version: string;
  trackerId: number;
  /** The main thread's history ring (SharedState.history); without it `history` is null. */
  history?: SharedArrayBuffer | null;
}

interface StatsJsonOptions {
  /** Torrents in `top_torrents` (0..100). */
  top?: number;
  /** Include `history`; false leaves it null (smaller answers for scripts). */
  history?: boolean;
  /** Only history points after this Unix time (ms): the dashboard's incremental polls. */
  since?: number;
  now?: number;
}

export interface TopTorrent {
  info_hash: string;
  seeders: number;
  leechers: number;
  peers: number;
  completed: number;
}

type Requests = Record<string, Record<string, Record<string, number>>>;

export interface StatsJson {
  schema: string;
  version: string;
  tracker_id: number;
  time: number;
  started_at: number;
  uptime_seconds: number;
  torrents: number;
  peers: { total: number; ipv4: number; ipv6: number; seeders: number; leechers: number };
  completed: number;
  requests: Requests;
  bytes: { http: { in: number; out: number }; udp: { in: number; out: number } };
  udp: { received: number; sent: number; send_errors: number };
  http: { accepted: number; refused: number; timed_out: number; too_large: number; open_connections: number };
  full_scrape_bytes: number;
  /** Info hashes in scrapes that the access list refuses (answered as unknown torrents). */
  scrape_denied_hashes: { http: number; udp: number };
  store_full: number;
  woodpeckers: number;
  workers: { configured: number; running: number; restarts: number };
  threads: { thread: string; event_loop_ms: { p50: number; p99: number; max: number }; heap_used_bytes: number; http_open_connections: number }[];
  memory: { rss_bytes: number; heap_used_bytes: number };
  state_dump: { dumps: number; failures: number; last_success_at: number | null; age_seconds: number | null };
  log: { requests: number; requests_dropped: number };
  top_torrents: TopTorrent[];
  history: HistoryJson | null;
}

export async function statsJson(src: StatsJsonSource, options: StatsJsonOptions = {}): Promise<StatsJson> {
  const topN = Math.max(0, Math.min(MAX_TOP, Math.floor(options.top ?? DEFAULT_TOP)));
  const top = topN === 0 ? [] : await topTorrents(src.store, topN);
  const now = options.now ?? Date.now();
  const t = sumCounters(src.counters, new Float64Array(COUNTERS));
  const cells = requestCells(t);
  const c = (name: keyof typeof C) => t[C[name]];
  const requests: Requests = {};
  REQUEST_CELLS.forEach((cell, k) => {
    const byAction = (requests[cell.protocol] ??= {});
    (byAction[cell.action] ??= {})[cell.outcome] = cells[k];
  });
  const s = swarmFigures(src.store);
  const threads = threadGauges(src.counters);
  const dumpAt = mainGauge(src.counters, 'state_dump_at_ms');
  const ms = (v: number) => Math.round(v * 1000) / 1000;
  let history: HistoryJson | null = null;
  if (options.history !== false && src.history) history = historyJson(new History(src.history), options.since ?? 0);
  return {
    schema: STATS_JSON_SCHEMA,
    version: src.version,
    tracker_id: src.trackerId,
    time: now,
    started_at: src.startedAt,
    uptime_seconds: Math.max(0, Math.floor((now - src.startedAt) / 1000)),
    torrents: s.torrents,
    peers: { total: s.peers4 + s.peers6, ipv4: s.peers4, ipv6: s.peers6, seeders: s.seeders, leechers: s.leechers },
    completed: c('completed'),
    requests,
    bytes: { http: { in: c('http_bytes_in'), out: c('http_bytes_out') }, udp: { in: c('udp_bytes_in'), out: c('udp_bytes_out') } },
    udp: { received: c('udp_received'), sent: c('udp_sent'), send_errors: c('udp_send_errors') },
    http: {
      accepted: c('http_accepted'),
      refused: c('http_refused'),
      timed_out: c('http_timeouts'),
      too_large: c('http_too_large'),
      open_connections: threads.reduce((n, g) => n + g.httpOpenConnections, 0),
    },
    full_scrape_bytes: c('http_full_scrape_bytes'),
    scrape_denied_hashes: { http: c('http_scrape_denied'), udp: c('udp_scrape_denied') },
    store_full: c('store_full'),
    woodpeckers: c('woodpeckers'),
    workers: { configured: configuredWorkers(src.counters), running: mainGauge(src.counters, 'workers_running'), restarts: c('worker_restarts') },
    threads: threads.map((g) => ({
      thread: g.thread,
      event_loop_ms: { p50: ms(g.eventLoopP50Ms), p99: ms(g.eventLoopP99Ms), max: ms(g.eventLoopMaxMs) },
      heap_used_bytes: g.heapUsedBytes,
      http_open_connections: g.httpOpenConnections,
    })),
    memory: { rss_bytes: process.memoryUsage.rss(), heap_used_bytes: threads.reduce((n, g) => n + g.heapUsedBytes, 0) },
    state_dump: {
      dumps: c('state_dumps'),
      failures: c('state_dump_failures'),
      last_success_at: dumpAt > 0 ? dumpAt : null,
      age_seconds: dumpAt > 0 ? Math.max(0, Math.round((now - dumpAt) / 1000)) : null,
    },
    log: { requests: c('log_requests'), requests_dropped: c('log_requests_dropped') },
    top_torrents: top,
    history,
  };
}

/** statsJson's options from a query string: `top`, `history=0`, `since`. */
export function statsJsonOptions(params: URLSearchParams): StatsJsonOptions {
  const num = (name: string) => {
    const v = params.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const h = params.get('history');
  return { top: num('top'), since: num('since'), history: h === null ? true : h !== '0' && h !== 'false' };
}

// --- top torrents --------------------------------------------------------------------------

interface TopCache {
  at: number;
  n: number;
  /** How long the walk took (ms); 0 until it is over. */
  took: number;
  result: Promise<TopTorrent[]>;
}
const topCaches = new WeakMap<SwarmStore, TopCache>();

/**
 * The `n` torrents with the most peers. Cached for `maxAgeMs` or TOP_CACHE_FACTOR times the
 * walk's own time (the time spent walking, not the pauses between stripes, which a busy worker
 * stretches), whichever is longer; concurrent callers share a walk.
 */
export function topTorrents(store: SwarmStore, n: number, maxAgeMs = TOP_CACHE_MS): Promise<TopTorrent[]> {
  const now = Date.now();
  const cached = topCaches.get(store);
  if (cached !== undefined && cached.n >= n && (cached.took === 0 || now - cached.at < Math.max(maxAgeMs, cached.took * TOP_CACHE_FACTOR))) {
    return cached.result.then((list) => list.slice(0, n));
  }
  const size = Math.max(n, cached?.n ?? 0);
  const timing = { busyMs: 0 };
  const result = walkTopTorrents(store, size, timing);
  const entry: TopCache = { at: now, n: size, took: 0, result };
  topCaches.set(store, entry);
  result.then(
    () => (entry.took = Math.max(0.001, timing.busyMs)),
    () => topCaches.delete(store),
  );
  return result.then((list) => list.slice(0, n));
}

/** Stripe snapshots left in table order: the top list needs no hash order (sorting was 3/4 of the walk). */
class UnsortedRows extends TorrentRows {
  override sort(): void {}
}

/**
 * One walk of the whole store for the `n` torrents with the most peers (uncached). `timing.busyMs`
 * gets the time spent walking, without the pauses that let the worker answer in between.
 */
export async function walkTopTorrents(store: SwarmStore, n: number, timing: { busyMs: number } = { busyMs: 0 }): Promise<TopTorrent[]> {
  const rows = new UnsortedRows();
  // Kept sorted by peers, descending.
  const top: TopTorrent[] = [];
  let t0 = performance.now();
  for (let i = 0; i < STRIPES; i++) {
    store.snapshotStripe(i, rows);
    for (let r = 0; r < rows.count; r++) {
      const peers = rows.seeders[r] + rows.leechers[r];
      if (peers === 0 || (top.length === n && peers <= top[n - 1].peers)) continue;
      let k = top.length;
      while (k > 0 && top[k - 1].peers < peers) k--;
      top.splice(k, 0, {
        info_hash: Buffer.from(rows.hashes.buffer, rows.hashes.byteOffset + r * 20, 20).toString('hex'),
        seeders: rows.seeders[r],
        leechers: rows.leechers[r],
        peers,
        completed: rows.downloaded[r],
      });
      if (top.length > n) top.pop();
    }
    if ((i & 63) === 63) {
      timing.busyMs += performance.now() - t0;
      await new Promise((resolve) => setImmediate(resolve));
      t0 = performance.now();
    }
  }
  timing.busyMs += performance.now() - t0;
  return top;
}
