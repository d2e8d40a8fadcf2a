// Event counters. Each thread counts into its own row of one shared Float64Array (no atomics and
// no shared cache lines on the hot path); readers add the rows up when someone asks.

export const COUNTER_NAMES = [
  'udp_received', // datagrams
  'udp_connect',
  'udp_announce',
  'udp_scrape',
  'udp_malformed', // dropped: unparseable
  'udp_oversized', // dropped: larger than a receive slot
  'udp_bad_connection_id', // answered with an error packet
  'udp_invalid', // well-formed but refused (port 0, ...): answered with an error packet
  'udp_sent',
  'udp_send_errors',
  'http_accepted', // TCP connections
  'http_requests',
  'http_announce',
  'http_scrape',
  'http_invalid', // announce or scrape refused with a failure reason (bad parameter)
  'http_malformed', // 400: unparseable request
  'http_too_large', // 413/431: request over the size limit
  'http_method', // 405
  'http_not_found', // 404
  'http_redirect', // 302
  'http_timeouts', // connections closed for idleness or a slow request head
  'http_refused', // connections refused over the connection cap
  'store_full', // announces that could not be stored (memory limit)
  'completed', // completion events counted
  'peers_new',
  'peers_stopped',
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];

/** Index of each counter in a row. */
export const C = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i])) as { readonly [K in CounterName]: number };

const ROW = 32; // padded so rows of different threads never share a cache line
if (COUNTER_NAMES.length > ROW) throw new Error('counter row too small');

export function createCounters(rows: number): SharedArrayBuffer {
  return new SharedArrayBuffer(rows * ROW * 8);
}

/** The row a thread writes to. */
export function counterRow(buffer: SharedArrayBuffer, row: number): Float64Array {
  return new Float64Array(buffer, row * ROW * 8, ROW);
}

/** Sums every row: counter name -> total. */
export function readCounters(buffer: SharedArrayBuffer): Record<CounterName, number> {
  const all = new Float64Array(buffer);
  const out = {} as Record<CounterName, number>;
  COUNTER_NAMES.forEach((name, i) => {
    let sum = 0;
    for (let r = i; r < all.length; r += ROW) sum += all[r];
    out[name] = sum;
  });
  return out;
}
