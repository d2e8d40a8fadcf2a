// Stores filled with known torrents, for the full-scrape and state-dump tests.

import { randomFillSync } from 'node:crypto';
import { Announce, SwarmStore, createStoreShared, ANNOUNCE_OK } from '../../src/store/swarm-store.ts';
import { EVENT_COMPLETED } from '../../src/protocol/events.ts';

export const SETTINGS = { peerTimeoutMinutes: 45, torrentTimeoutMinutes: 24 * 60 };

export function newStore(maxBytes = 256 * 1024 * 1024): SwarmStore {
  return new SwarmStore(createStoreShared(maxBytes), SETTINGS);
}

export function hex(hash: Uint8Array, off = 0): string {
  return Buffer.from(hash.subarray(off, off + 20)).toString('hex').toUpperCase();
}

/** Adds a peer (10.x.y.z:port) to the torrent; a seeder with `completed` counts a completion. */
export function addPeer(store: SwarmStore, hash: Uint8Array, peer: number, seeder: boolean, completed = false): void {
  const a = new Announce();
  a.hash = hash;
  a.family = 4;
  a.address = new Uint8Array(16);
  a.address.set([10, (peer >> 16) & 255, (peer >> 8) & 255, peer & 255]);
  a.port = 6881;
  a.seeder = seeder;
  a.event = completed ? EVENT_COMPLETED : 0;
  a.want = 0;
  a.out = new Uint8Array(0);
  if (store.announce(a) !== ANNOUNCE_OK) throw new Error('store full');
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
    for (let s = 0; s < seeders; s++) addPeer(store, hash, peer++, true, s === 0);
    for (let l = 0; l < leechers; l++) addPeer(store, hash, peer++, false);
    const downloaded = Math.max(restored, seeders + leechers === 0 ? 1 : 0) + (seeders > 0 ? 1 : 0);
    known.push({ hash, seeders, leechers, downloaded });
  }
  known.sort((a, b) => Buffer.compare(a.hash, b.hash));
  return { store, known };
}

/** Fills a store quickly with `n` peerless torrents (restored counts), for timing tests. */
export function bigStore(n: number, maxBytes = 2 * 1024 * 1024 * 1024): { store: SwarmStore; hashes: Uint8Array } {
  const store = new SwarmStore(createStoreShared(maxBytes), SETTINGS);
  const hashes = randomFillSync(new Uint8Array(n * 20));
  for (let i = 0; i < n; i++) {
    if (!store.restoreTorrent(hashes, i * 20, (i % 1000) + 1, store.now - (i % 600))) throw new Error('store full');
  }
  return { store, hashes };
}
