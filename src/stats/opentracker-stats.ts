// opentracker's /stats?mode=... answers, in its formats, so MRTG configs and monitoring scripts
// keep working. Most modes are the four-line MRTG layout: value, value, uptime, title.
// Fixed on the way: `herr` labels match their counters, `fscr` really counts, `busy` answers,
// unknown modes get a clear 400 instead of an empty reply, and `woodpeckers` keys IPv4 clients by
// their own /28 rather than all under the IPv4-mapped prefix.

import type { SwarmStore } from '../store/swarm-store.ts';
import { TorrentRows, STRIPES } from '../store/swarm-store.ts';
import { snapshotCounters } from './counters.ts';
import type { CounterSnapshot } from './counters.ts';
import { floodersReport } from './limits-report.ts';
import type { Woodpeckers } from './woodpeckers.ts';

export interface StatsSource {
  counters: SharedArrayBuffer;
  store: SwarmStore;
  /** Unix time (ms) the tracker started. */
  startedAt: number;
  version: string;
  trackerId: number;
  woodpeckers: Woodpeckers;
  /** The top sources over budget (src/limits/), for mode=flooders. */
  limits: { top: SharedArrayBuffer };
}

interface StatsAnswer {
  status: number;
  body: string;
  contentType: string;
}

/** Modes answered from the store walk or the dump generators rather than here. */
export const STREAMED_MODES = new Set(['tpbs', 'statedump']);

const MODES = [
  'peer',
  'torr',
  'conn',
  'scrp',
  'udp4',
  'tcp4',
  'busy',
  'fscr',
  'completed',
  'syncs',
  'herr',
  'renew',
  'version',
  'top10',
  'top100',
  'everything',
  's24s',
  'woodpeckers',
  'flooders',
  'numwants',
  'fulllog',
  'tpbs',
  'statedump',
] as const;

const text = (body: string, status = 200): StatsAnswer => ({ status, body, contentType: 'text/plain' });

export async function opentrackerStats(mode: string, src: StatsSource): Promise<StatsAnswer> {
  const c = snapshotCounters(src.counters);
  const t = c.totals;
  const seconds = Math.max(1, Math.floor((Date.now() - src.startedAt) / 1000));
  const uptime = `${seconds} seconds (${Math.floor(seconds / 3600)} hours)`;
  const mrtg = (a: number, b: number, title: string) => text(`${a}\n${b}\n${uptime}\nswarmd ${title}`);
  const perSecond = (n: number) => Math.floor(n / seconds);
  switch (mode) {
    case 'peer': {
      const s = src.store.totals();
      return text(`${s.peers4 + s.peers6}\n${s.seeders}\nswarmd serving ${s.torrents} torrents\nswarmd`);
    }
    case 'torr': {
      const s = src.store.totals();
      return text(`${s.torrents}\n0\nswarmd serving ${s.torrents} torrents\nswarmd`);
    }
    case 'conn': {
      const conns = t.http_accepted + t.udp_received;
      const ok = t.http_announce + t.udp_announce + t.udp_connect;
      return mrtg(conns, ok, `connections, ${perSecond(conns)} conns/s :: ${perSecond(ok)} success/s.`);
    }
    case 'tcp4':
      return mrtg(t.http_accepted, t.http_announce, `tcp4 stats, ${perSecond(t.http_accepted)} conns/s :: ${perSecond(t.http_announce)} success/s.`);
    case 'udp4': {
      const ok = t.udp_announce + t.udp_connect;
      return mrtg(t.udp_received, ok, `udp4 stats, ${perSecond(t.udp_received)} conns/s :: ${perSecond(ok)} success/s.`);
    }
    case 'scrp':
      return mrtg(t.http_scrape, t.udp_scrape, `scrape stats, ${perSecond(t.http_scrape + t.udp_scrape)} scrape/s (tcp and udp)`);
    case 'fscr':
      return mrtg(
        t.http_full_scrape,
        t.http_full_scrape_bytes,
        `full scrape stats, ${perSecond(t.http_full_scrape)} conns/s :: ${perSecond(t.http_full_scrape_bytes)} bytes/s.`,
      );
    case 'completed':
      return mrtg(t.completed, 0, `, ${Math.floor(t.completed / Math.max(1, seconds / 3600))} completed/h.`);
    case 'syncs':
      return mrtg(0, 0, 'sync stats, 0 syncs/s (this node is not in a cluster)');
    case 'busy': {
      const open = c.gauges.reduce((n, g) => n + g.http_open_connections, 0);
      const p99 = Math.max(...c.gauges.map((g) => g.event_loop_p99_ms));
      return mrtg(open, Math.round(p99), 'busy stats: open HTTP connections, worst event-loop delay p99 (ms)');
    }
    case 'herr':
      return text(herrLines(c));
    case 'renew':
      return text(c.renew.map((n, i) => `${String(i).padStart(2, '0')} ${n}\n`).join(''));
    case 'numwants':
      return text(c.numwant.map((n, i) => `${String(i).padStart(3, '0')} => ${n}\n`).join(''));
    case 'version':
      return text(`swarmd ${src.version}\n`);
    case 'top10':
    case 'top100':
      return text(await topTorrents(src.store, mode === 'top10' ? 10 : 100));
    case 's24s':
      return text(await busyNetworks(src.store));
    case 'woodpeckers':
      return text(src.woodpeckers.report());
    case 'flooders':
      return text(floodersReport(src.limits.top));
    case 'everything':
      return { status: 200, body: everything(src, c, seconds), contentType: 'text/xml' };
    case 'fulllog':
      return text('fulllog is not available: capturing raw requests from any network is a privacy risk (opentracker lets anyone turn it on).\n', 400);
    default:
      return text(`unknown stats mode "${mode}"; modes: ${MODES.join(', ')}\n`, 400);
  }
}

function herrLines(c: CounterSnapshot): string {
  const t = c.totals;
  return (
    [
      `302 RED ${t.http_redirect}`,
      `400 ... ${t.http_malformed + t.http_too_large + t.http_method}`,
      `400 PAR ${t.http_invalid}`,
      '400 COM 0', // compact=0 is answered with the dictionary model, never refused
      `403 IP  ${t.http_forbidden}`,
      `404 INV ${t.http_not_found}`,
      `429 MOD ${t.http_rate_limited}`,
      '500 SRV 0',
    ].join('\n') + '\n'
  );
}

/** Walks every stripe, a few at a time, so the worker keeps answering announces meanwhile. */
async function walkStripes(visit: (index: number) => void): Promise<void> {
  for (let i = 0; i < STRIPES; i++) {
    visit(i);
    if ((i & 63) === 63) await new Promise((r) => setImmediate(r));
  }
}

class Top {
  readonly counts: number[] = [];
  readonly hashes: string[] = [];
  private readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
  offer(count: number, hash: () => string): void {
    if (count === 0 || (this.counts.length === this.n && count <= this.counts[this.n - 1])) return;
    let i = this.counts.length;
    while (i > 0 && this.counts[i - 1] < count) i--;
    this.counts.splice(i, 0, count);
    this.hashes.splice(i, 0, hash());
    if (this.counts.length > this.n) {
      this.counts.pop();
      this.hashes.pop();
    }
  }
  lines(): string {
    return this.counts.map((n, i) => `\t${n}\t${this.hashes[i]}\n`).join('');
  }
}

async function topTorrents(store: SwarmStore, n: number): Promise<string> {
  const rows = new TorrentRows();
  const peers = new Top(n);
  const seeds = new Top(n);
  const leechers = new Top(n);
  await walkStripes((i) => {
    store.snapshotStripe(i, rows);
    for (let r = 0; r < rows.count; r++) {
      const hex = () =>
        Buffer.from(rows.hashes.subarray(r * 20, r * 20 + 20))
          .toString('hex')
          .toUpperCase();
      peers.offer(rows.seeders[r] + rows.leechers[r], hex);
      seeds.offer(rows.seeders[r], hex);
      leechers.offer(rows.leechers[r], hex);
    }
  });
  return `Top ${n} torrents by peers:\n${peers.lines()}Top ${n} torrents by seeds:\n${seeds.lines()}Top ${n} torrents by leechers:\n${leechers.lines()}`;
}

/** IPv4 peers by /28 and by /24 network, the 128 busiest of each. */
async function busyNetworks(store: SwarmStore): Promise<string> {
  const by28 = new Map<number, number>();
  const by24 = new Map<number, number>();
  const out = { words: new Uint32Array(1024), count: 0 };
  await walkStripes((i) => {
    store.stripeAddresses4(i, out);
    for (let k = 0; k < out.count; k++) {
      const a = out.words[k];
      const n28 = (a & 0xfffffff0) >>> 0;
      const n24 = (a & 0xffffff00) >>> 0;
      by28.set(n28, (by28.get(n28) ?? 0) + 1);
      by24.set(n24, (by24.get(n24) ?? 0) + 1);
    }
  });
  const list = (m: Map<number, number>) =>
    [...m]
      .sort((x, y) => y[1] - x[1])
      .slice(0, 128)
      .map(([net, count]) => `${String(count).padStart(8, '0')}: ${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}\n`)
      .join('');
  return `Networks, limit /28:\n${list(by28)}\nNetworks, limit /24:\n${list(by24)}\n`;
}

function everything(src: StatsSource, c: CounterSnapshot, seconds: number): string {
  const t = c.totals;
  const s = src.store.totals();
  const renew = c.renew.map((n, i) => `      <count interval="${String(i).padStart(2, '0')}">${n}</count>`).join('\n');
  const herr = [
    ['302 Redirect', t.http_redirect],
    ['400 Parse Error', t.http_malformed + t.http_too_large + t.http_method],
    ['400 Invalid Parameter', t.http_invalid],
    ['400 Invalid Parameter (compact=0)', 0],
    ['403 Access Denied', t.http_forbidden],
    ['404 Not found', t.http_not_found],
    ['429 Too Many Requests', t.http_rate_limited],
    ['500 Internal Server Error', 0],
  ]
    .map(([code, n]) => `      <count code="${code}">${n}</count>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<stats>
  <tracker_id>${src.trackerId}</tracker_id>
  <version>
swarmd ${src.version}
  </version>
  <uptime>${seconds}</uptime>
  <torrents>
    <count_mutex>${s.torrents}</count_mutex>
    <count_iterator>${s.torrents}</count_iterator>
  </torrents>
  <peers>
    <count>${s.peers4 + s.peers6}</count>
  </peers>
  <seeds>
    <count>${s.seeders}</count>
  </seeds>
  <completed>
    <count>${t.completed}</count>
  </completed>
  <connections>
    <tcp>
      <accept>${t.http_accepted}</accept>
      <announce>${t.http_announce}</announce>
      <scrape>${t.http_scrape}</scrape>
    </tcp>
    <udp>
      <overall>${t.udp_received}</overall>
      <connect>${t.udp_connect}</connect>
      <announce>${t.udp_announce}</announce>
      <scrape>${t.udp_scrape}</scrape>
      <missmatch>${t.udp_bad_connection_id}</missmatch>
    </udp>
    <livesync>
      <count>0</count>
    </livesync>
  </connections>
  <debug>
    <renew>
${renew}
    </renew>
    <http_error>
${herr}
    </http_error>
    <mutex_stall>
      <count>0</count>
    </mutex_stall>
  </debug>
</stats>`;
}
