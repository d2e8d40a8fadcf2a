// Stores and counter rows with known contents, for the stats tests and the cost measurements.

import { createHash } from 'node:crypto';
import { Announce, SwarmStore, createStoreShared, ANNOUNCE_OK } from '../../src/store/swarm-store.ts';
import { EVENT_COMPLETED } from '../../src/protocol/events.ts';

export const SETTINGS = { peerTimeoutMinutes: 45, torrentTimeoutMinutes: 24 * 60 };

export function newStore(maxBytes = 512 << 20): SwarmStore {
  return new SwarmStore(createStoreShared(maxBytes), SETTINGS);
}

/** A deterministic info hash for torrent `i`. */
export function hashOf(i: number): Buffer {
  return createHash('sha1').update(`torrent ${i}`).digest();
}

const announce = new Announce();

/** Adds one peer: IPv4 10.x.y.z or IPv6 fd00::x:y:z, port 6881. */
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
