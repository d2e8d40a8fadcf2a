// What the public-tracker defences (src/limits/) show: the sources over budget as a /stats mode
// (`flooders`, text like opentracker's woodpeckers) and the limits' figures in /metrics (flood drops,
// bad-connection-ID bans, parameters ignored in announces, evictions, each worker's overload).

import { C, G, ROW, COUNTER_NAMES } from './counters.ts';
import type { CounterName } from './counters.ts';
import { TopSources } from '../limits/top-sources.ts';
import { LENIENT_NAMES } from '../protocol/query.ts';
import { addressText } from '../net/address.ts';
import { threadName } from './figures.ts';

/** Sources listed in /metrics (the /stats mode lists the whole table). */
const METRIC_SOURCES = 10;

/** The source as text: an IPv4 address, or an IPv6 /64. */
export function sourceText(family: number, address: Uint8Array): string {
  return family === 4 ? addressText(address, 0, 4) : `${addressText(address, 0, 6)}/64`;
}

/** /stats?mode=flooders: one line per source over budget, most refused first. */
export function floodersReport(topBuffer: SharedArrayBuffer, now = Date.now()): string {
  const list = new TopSources(topBuffer).list();
  let out = `Sources over their request budget (limits.*_per_source), most refused first; counts halve every minute:\n`;
  for (const e of list) {
    out += `${String(Math.round(e.count)).padStart(10)}  ${sourceText(e.family, e.address).padEnd(42)} last ${Math.max(0, Math.round((now - e.lastMs) / 1000))} s ago\n`;
  }
  return out + (list.length === 0 ? '(none)\n' : '');
}

type Type = 'counter' | 'gauge';

/** The limits' metric families: appended to METRICS (src/stats/prometheus.ts). */
export const LIMITS_METRICS: readonly { name: string; type: Type; help: string; labels: string }[] = [
  {
    name: 'swarmd_flood_refused_total',
    type: 'counter',
    help: 'Requests from a source over its budget (limits.*_per_source): UDP ones get no answer, HTTP ones a 429.',
    labels: 'protocol',
  },
  {
    name: 'swarmd_flood_top_source_refused',
    type: 'gauge',
    help: 'The sources refused most (an IPv4 address or an IPv6 /64) and their refusals, halved every minute.',
    labels: 'source',
  },
  {
    name: 'swarmd_udp_bad_connection_ids_total',
    type: 'counter',
    help: 'UDP requests with a bad or expired connection ID: answered with an error packet, or ignored (the source used up limits.bad_connection_ids).',
    labels: 'outcome',
  },
  {
    name: 'swarmd_udp_bad_connection_id_bans_total',
    type: 'counter',
    help: 'Sources whose bad connection IDs went unanswered for limits.bad_connection_id_ban.',
    labels: '',
  },
  {
    name: 'swarmd_lenient_parameters_total',
    type: 'counter',
    help: 'Malformed announce parameters ignored or defaulted instead of refusing the announce, by parameter.',
    labels: 'parameter',
  },
  {
    name: 'swarmd_store_evicted_total',
    type: 'counter',
    help: 'Torrents evicted to make room when the memory limit was reached (the least valuable first).',
    labels: '',
  },
  {
    name: 'swarmd_overload_episodes_total',
    type: 'counter',
    help: 'Times a worker fell behind (limits.overload_delay) and stretched its announce interval.',
    labels: '',
  },
  { name: 'swarmd_overload_factor', type: 'gauge', help: 'What each worker multiplies the announce interval by now (1: not behind).', labels: 'thread' },
];

/**
 * The families of LIMITS_METRICS as text. `head(name)` gives a family's HELP and TYPE lines,
 * `t` the summed counters, `rows` every thread's row (for the overload gauge).
 */
export function limitsMetricsText(head: (name: string) => string, t: Float64Array, counters: SharedArrayBuffer, topBuffer: SharedArrayBuffer | null): string {
  const c = (name: CounterName) => t[C[name]];
  let out = head('swarmd_flood_refused_total');
  out += `swarmd_flood_refused_total{protocol="udp"} ${c('udp_flood_dropped')}\nswarmd_flood_refused_total{protocol="http"} ${c('http_flood_refused')}\n`;
  out += head('swarmd_flood_top_source_refused');
  for (const e of topBuffer === null ? [] : new TopSources(topBuffer).list(METRIC_SOURCES)) {
    out += `swarmd_flood_top_source_refused{source="${sourceText(e.family, e.address)}"} ${Math.round(e.count)}\n`;
  }
  out += head('swarmd_udp_bad_connection_ids_total');
  out += `swarmd_udp_bad_connection_ids_total{outcome="answered"} ${c('udp_bad_connection_id')}\nswarmd_udp_bad_connection_ids_total{outcome="ignored"} ${c('udp_bad_connection_id_ignored')}\n`;
  out += head('swarmd_udp_bad_connection_id_bans_total') + `swarmd_udp_bad_connection_id_bans_total ${c('udp_bad_connection_id_bans')}\n`;
  out += head('swarmd_lenient_parameters_total');
  for (let i = 0; i < LENIENT_NAMES.length; i++) {
    out += `swarmd_lenient_parameters_total{parameter="${LENIENT_NAMES[i]}"} ${t[C.http_lenient_peer_id + i]}\n`;
  }
  out += head('swarmd_store_evicted_total') + `swarmd_store_evicted_total ${c('store_evicted')}\n`;
  out += head('swarmd_overload_episodes_total') + `swarmd_overload_episodes_total ${c('overload_episodes')}\n`;
  out += head('swarmd_overload_factor');
  const all = new Float64Array(counters);
  for (let r = 1; r < all.length / ROW; r++) out += `swarmd_overload_factor{thread="${threadName(r)}"} ${all[r * ROW + G.overload_factor] || 1}\n`;
  return out;
}

// The lenient counters must follow LENIENT_NAMES (limitsMetricsText and the HTTP announce count by offset).
LENIENT_NAMES.forEach((name, i) => {
  if (COUNTER_NAMES[C.http_lenient_peer_id + i] !== `http_lenient_${name}`) throw new Error(`counter http_lenient_${name} out of order`);
});
