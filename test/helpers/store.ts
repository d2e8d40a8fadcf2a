// Swarm stores with known contents, for the tests of what reads a store (full scrapes, state
// dumps, stats) and for the store's own tests: one way to make a store and to add a peer.

import { createHash, randomFillSync } from 'node:crypto';
import { Announce, SwarmStore, createStoreShared, ANNOUNCE_OK } from '../../src/store/swarm-store.ts';
import { EVENT_COMPLETED } from '../../src/protocol/events.ts';

export const SETTINGS = { peerTimeoutMinutes: 45, torrentTimeoutMinutes: 24 * 60 };

export function newStore(maxBytes = 256 << 20): SwarmStore {
  return new SwarmStore(createStoreShared(maxBytes), SETTINGS);
}

/** A deterministic info hash for torrent `i`. */
export function hashOf(i: number): Buffer {
  return createHash('sha1').update(`torrent ${i}`).digest();
}

/** An info hash as opentracker's dumps write it: 40 upper-case hex digits. */
export function hex(hash: Uint8Array, off = 0): string {
  return Buffer.from(hash.subarray(off, off + 20))
    .toString('hex')
    .toUpperCase();
}

const announce = new Announce();

/**
 * Adds one peer: IPv4 10.x.y.z or IPv6 fd00::x:y:z, port 6881. A seeder with `completed` counts
 * a completion.
 */
export function addPeer(store: SwarmStore, hash: Uint8Array, peer: number, opts: { v6?: boolean; seeder?: boolean; completed?: boolean } = {}): void {
  const a = announce;
  a.hash = hash;
  a.hashOffset = 0;
  a.family = opts.v6 ? 6 : 4;
  const address = new Uint8Array(16);
  if (opts.v6) {
    address[0] = 0xfd;
    address[13] = (peer >> 16) & 255;
    address[14] = (peer >> 8) & 255;
    address[15] = peer & 255;
  } else address.set([10, (peer >> 16) & 255, (peer >> 8) & 255, peer & 255]);
  a.address = address;
  a.addressOffset = 0;
  a.port = 6881;
  a.seeder = opts.seeder ?? false;
  a.event = opts.completed ? EVENT_COMPLETED : 0;
  a.want = 0;
  a.families = 3;
  a.out = new Uint8Array(0);
  if (store.announce(a) !== ANNOUNCE_OK) throw new Error('store full');
}

/**
 * `n` torrents; torrent i has 1 + i % 3 peers (every fifth peer IPv6, the first of each torrent a
 * seeder), and torrent i < `hot` has 100 + 3 * (hot - i) more leechers: torrent 0 has the most
 * peers, then torrent 1, and so on.
 */
export function fillStore(store: SwarmStore, n: number, hot = 0): { peers: number; peers6: number; seeders: number } {
  let peer = 1;
  let peers6 = 0;
  for (let i = 0; i < n; i++) {
    const hash = hashOf(i);
    const count = 1 + (i % 3) + (i < hot ? 100 + 3 * (hot - i) : 0);
    for (let k = 0; k < count; k++) {
      const v6 = peer % 5 === 0;
      if (v6) peers6++;
      addPeer(store, hash, peer++, { v6, seeder: k === 0 });
    }
  }
  return { peers: peer - 1, peers6, seeders: n };
}

export interface Known {
  hash: Uint8Array;
  seeders: number;
  leechers: number;
  downloaded: number;
}

/**
 * A store holding `n` torrents with random hashes: torrent i has i % 4 seeders, i % 3 leechers
 * and (with restored counts) downloaded = i % 7 + seeders that completed. Returned sorted by hash.
 */
export function filledStore(n: number): { store: SwarmStore; known: Known[] } {
  const store = newStore();
  const known: Known[] = [];
  let peer = 1;
  for (let i = 0; i < n; i++) {
    const hash = randomFillSync(new Uint8Array(20));
    const seeders = i % 4;
    const leechers = i % 3;
    const restored = i % 7;
    if (restored > 0 || seeders + leechers === 0) store.restoreTorrent(hash, 0, Math.max(1, restored), store.now);
    for (let s = 0; s < seeders; s++) addPeer(store, hash, peer++, { seeder: true, completed: s === 0 });
    for (let l = 0; l < leechers; l++) addPeer(store, hash, peer++);
    const downloaded = Math.max(restored, seeders + leechers === 0 ? 1 : 0) + (seeders > 0 ? 1 : 0);
    known.push({ hash, seeders, leechers, downloaded });
  }
  known.sort((a, b) => Buffer.compare(a.hash, b.hash));
  return { store, known };
}

/** Fills a store quickly with `n` peerless torrents (restored counts), for the big walks. */
export function bigStore(n: number, maxBytes = 2 * 1024 * 1024 * 1024): { store: SwarmStore; hashes: Uint8Array } {
  const store = newStore(maxBytes);
  const hashes = randomFillSync(new Uint8Array(n * 20));
  for (let i = 0; i < n; i++) {
    if (!store.restoreTorrent(hashes, i * 20, (i % 1000) + 1, store.now - (i % 600))) throw new Error('store full');
  }
  return { store, hashes };
}
