// The last hour of figures, for the dashboard's charts: a ring of samples in a SharedArrayBuffer.
// The main thread creates it (with the other shared state) and samples into it every few seconds;
// any worker answering /stats.json reads it. One writer, many readers: the writer bumps a sequence
// word before and after each sample (a seqlock), and a reader copies what it needs and tries again
// if the sequence moved meanwhile, so nobody ever waits on a lock.
//
// A sample holds the time, the store's gauges and the *cumulative* request, byte and completion
// counts; per-second rates are worked out when read (counters never go down, so a rate is the
// difference of two samples over their time apart).

import { REQUEST_CELLS, sumCounters, requestCells, threadGauges, swarmFigures, COUNTERS } from './figures.ts';
import { C } from './counters.ts';
import type { SwarmStore } from '../store/swarm-store.ts';

/** Columns of a sample. `counter` columns are cumulative; the others are readings. */
export const HISTORY_COLUMNS: readonly { name: string; counter: boolean }[] = [
  { name: 'time_ms', counter: false },
  { name: 'torrents', counter: false },
  { name: 'peers_ipv4', counter: false },
  { name: 'peers_ipv6', counter: false },
  { name: 'seeders', counter: false },
  ...REQUEST_CELLS.map((c) => ({ name: `requests.${c.protocol}.${c.action}.${c.outcome}`, counter: true })),
  { name: 'bytes.http.in', counter: true },
  { name: 'bytes.http.out', counter: true },
  { name: 'bytes.udp.in', counter: true },
  { name: 'bytes.udp.out', counter: true },
  { name: 'completed', counter: true },
  { name: 'event_loop_p99_ms', counter: false }, // the worst thread's
  { name: 'heap_used_bytes', counter: false }, // every thread's
  { name: 'rss_bytes', counter: false },
];
const WIDTH = HISTORY_COLUMNS.length;
const COL_CELLS = 5;
const COL_BYTES = COL_CELLS + REQUEST_CELLS.length;
const COL_COMPLETED = COL_BYTES + 4;
const COL_LOOP = COL_COMPLETED + 1;

// Header words.
const H_SEQ = 0; // odd while a sample is being written
const H_COUNT = 1; // samples written since the start
const H_CAPACITY = 2;
const H_WIDTH = 3;
const H_INTERVAL_MS = 4;
const H_STARTED_S = 5; // Unix time (s) the history started: the baseline of the first rates
const HEADER_BYTES = 64;
const MAX_READ_ATTEMPTS = 10_000;

export const DEFAULT_HISTORY_INTERVAL_MS = 5000;
export const DEFAULT_HISTORY_SECONDS = 3600;

/** Rows read from the ring, oldest first. */
export interface HistoryRows {
  intervalMs: number;
  /** Rows, each WIDTH values in HISTORY_COLUMNS order. */
  rows: Float64Array[];
  /** The row before the first one returned (for the first rates), or null. */
  before: Float64Array | null;
  /** Unix time (ms) the history started; counters were zero then. */
  startedMs: number;
}

export class History {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly data: Float64Array;
  readonly capacity: number;
  readonly intervalMs: number;

  /** Room for `seconds` of samples taken every `intervalMs`. */
  static create(intervalMs: number = DEFAULT_HISTORY_INTERVAL_MS, seconds: number = DEFAULT_HISTORY_SECONDS): SharedArrayBuffer {
    if (!(intervalMs >= 100) || !(seconds >= 1)) throw new RangeError('history: interval >= 100 ms and seconds >= 1');
    const capacity = Math.max(2, Math.ceil((seconds * 1000) / intervalMs) + 1);
    const buffer = new SharedArrayBuffer(HEADER_BYTES + capacity * WIDTH * 8);
    const h = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    h[H_CAPACITY] = capacity;
    h[H_WIDTH] = WIDTH;
    h[H_INTERVAL_MS] = intervalMs;
    h[H_STARTED_S] = Math.floor(Date.now() / 1000);
    return buffer;
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    if (this.header[H_WIDTH] !== WIDTH) throw new Error('history: a ring of another layout');
    this.capacity = this.header[H_CAPACITY];
    this.intervalMs = this.header[H_INTERVAL_MS];
    this.data = new Float64Array(buffer, HEADER_BYTES, this.capacity * WIDTH);
  }

  /** Samples written since the start. */
  get count(): number {
    return Atomics.load(this.header, H_COUNT);
  }

  /** Appends one sample (the single writer: the main thread). */
  append(values: Float64Array): void {
    const h = this.header;
    const n = h[H_COUNT];
    Atomics.add(h, H_SEQ, 1);
    this.data.set(values.subarray(0, WIDTH), (n % this.capacity) * WIDTH);
    Atomics.store(h, H_COUNT, n + 1);
    Atomics.add(h, H_SEQ, 1);
  }

  /**
   * The samples taken after `sinceMs` (all of them for 0), oldest first. Never a torn sample: a
   * read that overlapped a write is retried; one that keeps losing the race (only a writer far
   * faster than one sample a second could cause it) returns no rows rather than mixed ones.
   */
  read(sinceMs = 0): HistoryRows {
    const h = this.header;
    const startedMs = h[H_STARTED_S] * 1000;
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      const seq = Atomics.load(h, H_SEQ);
      if ((seq & 1) === 1) continue; // a sample is being written: a few µs
      const count = Atomics.load(h, H_COUNT);
      const first = Math.max(0, count - this.capacity + 1); // keep one spare: the slot being overwritten next
      // Samples are in time order: walk back from the newest to the first one not after `sinceMs`,
      // so an incremental read copies only the new rows.
      let start = count;
      while (start > first && this.data[((start - 1) % this.capacity) * WIDTH] > sinceMs) start--;
      const rows: Float64Array[] = [];
      for (let i = start; i < count; i++) {
        const o = (i % this.capacity) * WIDTH;
        rows.push(this.data.slice(o, o + WIDTH));
      }
      let before: Float64Array | null = null;
      if (start > first) {
        const o = ((start - 1) % this.capacity) * WIDTH;
        before = this.data.slice(o, o + WIDTH);
      }
      if (Atomics.load(h, H_SEQ) === seq) return { intervalMs: this.intervalMs, rows, before, startedMs };
    }
    return { intervalMs: this.intervalMs, rows: [], before: null, startedMs };
  }
}

/** What a sample reads. */
export interface HistorySource {
  counters: SharedArrayBuffer;
  store: SwarmStore;
}

/** Takes one sample of the figures into `into` (WIDTH values). */
export function takeSample(src: HistorySource, into: Float64Array = new Float64Array(WIDTH), now = Date.now()): Float64Array {
  const totals = sumCounters(src.counters, new Float64Array(COUNTERS));
  const s = swarmFigures(src.store);
  into[0] = now;
  into[1] = s.torrents;
  into[2] = s.peers4;
  into[3] = s.peers6;
  into[4] = s.seeders;
  into.set(requestCells(totals), COL_CELLS);
  into[COL_BYTES] = totals[C.http_bytes_in];
  into[COL_BYTES + 1] = totals[C.http_bytes_out];
  into[COL_BYTES + 2] = totals[C.udp_bytes_in];
  into[COL_BYTES + 3] = totals[C.udp_bytes_out];
  into[COL_COMPLETED] = totals[C.completed];
  let p99 = 0;
  let heap = 0;
  for (const g of threadGauges(src.counters)) {
    if (g.eventLoopP99Ms > p99) p99 = g.eventLoopP99Ms;
    heap += g.heapUsedBytes;
  }
  into[COL_LOOP] = p99;
  into[COL_LOOP + 1] = heap;
  into[COL_LOOP + 2] = process.memoryUsage.rss();
  return into;
}

/**
 * Samples into the ring now and then every `history.intervalMs` (main thread; the timer is
 * unref'd). Returns the function that stops it.
 */
export function startHistorySampler(buffer: SharedArrayBuffer, src: HistorySource): () => void {
  const history = new History(buffer);
  const row = new Float64Array(WIDTH);
  const sample = () => history.append(takeSample(src, row));
  sample();
  const timer = setInterval(sample, history.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** History as the JSON the dashboard reads: columns of numbers, rates per second for counters. */
export interface HistoryJson {
  interval_seconds: number;
  /** Unix time (ms) of each point. */
  time: number[];
  torrents: number[];
  peers_ipv4: number[];
  peers_ipv6: number[];
  seeders: number[];
  leechers: number[];
  /** Requests answered per second, by protocol then outcome (every action added up). */
  requests_per_second: Record<string, Record<string, number[]>>;
  /** Bytes per second, by protocol then direction. */
  bytes_per_second: Record<string, { in: number[]; out: number[] }>;
  completed_per_second: number[];
  event_loop_p99_ms: number[];
  heap_used_bytes: number[];
  rss_bytes: number[];
}

export function historyJson(history: History, sinceMs = 0): HistoryJson {
  const r = history.read(sinceMs);
  const n = r.rows.length;
  const col = (c: number) => r.rows.map((row) => row[c]);
  const rate = (c: number): number[] => {
    const out = new Array<number>(n);
    let prevT = r.before?.[0] ?? r.startedMs;
    let prevV = r.before?.[c] ?? 0;
    for (let i = 0; i < n; i++) {
      const row = r.rows[i];
      const dt = (row[0] - prevT) / 1000;
      out[i] = dt > 0 ? Math.max(0, row[c] - prevV) / dt : 0;
      prevT = row[0];
      prevV = row[c];
    }
    return out;
  };
  const requests: Record<string, Record<string, number[]>> = {};
  REQUEST_CELLS.forEach((cell, k) => {
    const byOutcome = (requests[cell.protocol] ??= {});
    const series = rate(COL_CELLS + k);
    const sum = byOutcome[cell.outcome];
    if (sum === undefined) byOutcome[cell.outcome] = series;
    else for (let i = 0; i < n; i++) sum[i] += series[i];
  });
  const round = (a: number[]) => a.map((v) => Math.round(v * 100) / 100);
  for (const p of Object.values(requests)) for (const o of Object.keys(p)) p[o] = round(p[o]);
  const peers4 = col(2);
  const peers6 = col(3);
  const seeders = col(4);
  return {
    interval_seconds: history.intervalMs / 1000,
    time: col(0),
    torrents: col(1),
    peers_ipv4: peers4,
    peers_ipv6: peers6,
    seeders,
    leechers: seeders.map((s, i) => Math.max(0, peers4[i] + peers6[i] - s)),
    requests_per_second: requests,
    bytes_per_second: {
      http: { in: round(rate(COL_BYTES)), out: round(rate(COL_BYTES + 1)) },
      udp: { in: round(rate(COL_BYTES + 2)), out: round(rate(COL_BYTES + 3)) },
    },
    completed_per_second: round(rate(COL_COMPLETED)),
    event_loop_p99_ms: col(COL_LOOP).map((v) => Math.round(v * 1000) / 1000),
    heap_used_bytes: col(COL_LOOP + 1),
    rss_bytes: col(COL_LOOP + 2),
  };
}
