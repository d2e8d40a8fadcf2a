// The peer-state file at scale: fills a store with 5M torrents and 30M peers (4 in 5 IPv4),
// writes the peer state to a file and loads it into a second store, and prints the time, size
// and memory of each step as a markdown table row (bench/report.md's "Peer state" section).
//
//   node bench/peer-state.ts [--torrents 5000000] [--peers 30000000] [--dir /var/tmp]
//
// The store is filled through restorePeers (the announce path would take minutes to fill it and
// measures nothing here). The file goes through the page cache: a load right after the write
// reads from memory; the write includes fsync, so it measures the disk too.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PeerBatch, SwarmStore, createStoreShared, PEER_SEEDER } from '../src/store/swarm-store.ts';
import { writePeerState, loadPeerState } from '../src/state/peer-state.ts';
import type { PeerStateCounts } from '../src/state/peer-state.ts';

const { values } = parseArgs({
  options: {
    torrents: { type: 'string', default: '5000000' },
    peers: { type: 'string', default: '30000000' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const TORRENTS = Number(values.torrents);
const PEERS = Number(values.peers);
const SETTINGS = { peerTimeoutMinutes: 45, torrentTimeoutMinutes: 24 * 60 };
const MAX_BYTES = 8 * 1024 ** 3;

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`;
const rss = () => process.memoryUsage().rss;
/** CPU seconds (user + system) since `from`. */
const cpu = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return +((u.user + u.system) / 1e6).toFixed(2);
};

function fill(store: SwarmStore): void {
  const batch = new PeerBatch();
  const hash = new Uint8Array(20);
  const view = new DataView(hash.buffer);
  let peer = 0;
  for (let t = 0; t < TORRENTS; t++) {
    // A well-spread hash of t (the store's stripes are picked by its first bits).
    for (let w = 0; w < 5; w++) view.setUint32(w * 4, Math.imul(t + 1, 2654435761 + w * 40503) ^ (t >>> (w + 3)));
    const n = Math.round(((t + 1) * PEERS) / TORRENTS) - Math.round((t * PEERS) / TORRENTS);
    const n6 = Math.round(n / 5);
    if (t % 7 === 0) store.restoreTorrent(hash, 0, 1 + (t % 100), store.now - (t % 600));
    for (const [family, count] of [
      [4, n - n6],
      [6, n6],
    ] as const) {
      if (count === 0) continue;
      batch.reserve(count);
      batch.family = family;
      batch.count = count;
      const len = family === 4 ? 4 : 16;
      for (let i = 0; i < count; i++, peer++) {
        const o = i * len;
        batch.addresses.fill(0, o, o + len);
        batch.addresses[o] = family === 4 ? 10 + i : 0x20; // sorted within the torrent
        batch.addresses[o + len - 3] = peer >>> 16;
        batch.addresses[o + len - 2] = peer >>> 8;
        batch.addresses[o + len - 1] = peer;
        batch.ports[i] = 1024 + (peer % 60000);
        batch.flags[i] = peer % 3 === 0 ? PEER_SEEDER : 0;
        batch.minutes[i] = store.now - (peer % 40);
      }
      if (!store.restorePeers(hash, 0, batch)) throw new Error('store full');
    }
  }
}

const store = new SwarmStore(createStoreShared(MAX_BYTES), SETTINGS);
let t0 = performance.now();
fill(store);
const filled = store.totals();
console.error(
  `filled ${filled.torrents} torrents, ${filled.peers4}+${filled.peers6} peers in ${((performance.now() - t0) / 1000).toFixed(1)} s, rss ${mib(rss())}`,
);

const file = path.join(values.dir, `swarmd-peer-state-bench-${process.pid}`);
try {
  const rssBefore = rss();
  let peakWrite = rssBefore;
  const counts: PeerStateCounts = { records: 0, torrents: 0, peers4: 0, peers6: 0 };
  t0 = performance.now();
  let c0 = process.cpuUsage();
  const fh = await fsp.open(file, 'w');
  for await (const chunk of writePeerState(store, counts)) {
    for (let done = 0; done < chunk.length;) done += (await fh.write(chunk, done)).bytesWritten;
    peakWrite = Math.max(peakWrite, rss());
  }
  await fh.sync();
  await fh.close();
  const writeMs = performance.now() - t0;
  const writeCpu = cpu(c0);
  const size = fs.statSync(file).size;

  const copy = new SwarmStore(createStoreShared(MAX_BYTES), SETTINGS);
  copy.setClock(store.now);
  t0 = performance.now();
  c0 = process.cpuUsage();
  const load = await loadPeerState(copy, file);
  const loadMs = performance.now() - t0;
  const loadCpu = cpu(c0);
  if (!load.ok) throw new Error(load.error);
  const back = copy.totals();
  if (back.torrents !== filled.torrents || back.peers4 !== filled.peers4 || back.peers6 !== filled.peers6) throw new Error('the load differs from the store');
  const row = {
    torrents: filled.torrents,
    peers: filled.peers4 + filled.peers6,
    fileBytes: size,
    bytesPerPeer: +(size / (filled.peers4 + filled.peers6)).toFixed(2),
    writeSeconds: +(writeMs / 1000).toFixed(2),
    writeCpuSeconds: writeCpu,
    loadSeconds: +(loadMs / 1000).toFixed(2),
    checkSeconds: +(load.checkMs / 1000).toFixed(2),
    loadCpuSeconds: loadCpu,
    writeExtraRss: peakWrite - rssBefore,
    node: process.version,
    cpu: os.cpus()[0]?.model,
  };
  console.log(JSON.stringify(row));
  console.log(
    `| ${(row.torrents / 1e6).toFixed(1)}M torrents, ${(row.peers / 1e6).toFixed(1)}M peers | ${mib(size)} (${row.bytesPerPeer} B/peer) | write ${row.writeSeconds} s (${row.writeCpuSeconds} s CPU, fsync included, +${mib(row.writeExtraRss)} RSS) | load ${row.loadSeconds} s (${row.loadCpuSeconds} s CPU; the check pass ${row.checkSeconds} s) |`,
  );
} finally {
  fs.rmSync(file, { force: true });
}
