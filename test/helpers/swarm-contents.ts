// Stores filled with peers of both families, every flag and many ages, and the whole content of a
// store as sorted lines, for the tests that move a store (peer-state files, the handover) and
// must find every torrent and peer back as it was.

import { Announce, ANNOUNCE_OK, STRIPES } from '../../src/store/swarm-store.ts';
import type { SwarmStore } from '../../src/store/swarm-store.ts';
import { EVENT_COMPLETED, EVENT_NONE, EVENT_STOPPED } from '../../src/protocol/events.ts';

import { hashOf } from './store.ts';

// One way to make a store and name a torrent, shared with the other store fixtures.
export { SETTINGS, newStore, hashOf } from './store.ts';

/** Sets the store's clock (the minute it takes for now). */
export function setMinute(store: SwarmStore, minute: number): void {
  store.setClock(minute);
}

export interface PeerSpec {
  v6?: boolean;
  /** Distinguishes peers: goes into the address. */
  id: number;
  port?: number;
  seeder?: boolean;
  completed?: boolean;
  synced?: boolean;
  stopped?: boolean;
}

const scratch = new Announce();

/**
 * Announces one peer as it would come in (a synced one as the cluster applies it); returns the
 * announce, valid until the next call.
 */
export function announcePeer(store: SwarmStore, hash: Uint8Array, p: PeerSpec): Announce {
  const a = scratch;
  a.hash = hash;
  a.hashOffset = 0;
  a.family = p.v6 ? 6 : 4;
  a.address = new Uint8Array(16);
  if (p.v6) {
    a.address.set([0x20, 0x01, 0x0d, 0xb8]);
    a.address[12] = p.id >>> 24;
    a.address[13] = p.id >>> 16;
    a.address[14] = p.id >>> 8;
    a.address[15] = p.id;
  } else a.address.set([10 + ((p.id >>> 24) & 7), p.id >>> 16, p.id >>> 8, p.id]);
  a.port = p.port ?? 6881;
  a.seeder = p.seeder ?? false;
  a.synced = p.synced ?? false;
  a.event = p.stopped ? EVENT_STOPPED : p.completed ? EVENT_COMPLETED : EVENT_NONE;
  a.want = 0;
  a.out = new Uint8Array(0);
  if (store.announce(a) !== ANNOUNCE_OK) throw new Error('store full');
  return a;
}

/**
 * Fills `store` with `torrents` torrents of torrent i having i % 9 IPv4 and i % 4 IPv6 peers, of
 * every flag, announced over the last `spread` minutes (ages 0 .. spread-1), some completed
 * counts restored. Returns the number of peers.
 */
export function fillSwarms(store: SwarmStore, torrents: number, spread = 40, first = 0): number {
  const now = store.now;
  let id = first * 16;
  let peers = 0;
  for (let i = first; i < first + torrents; i++) {
    const hash = hashOf(i);
    if (i % 5 === 0) store.restoreTorrent(hash, 0, 1 + (i % 11), now - (i % 300));
    // Oldest first: the store takes a peer announced "later" than its clock for an expired one.
    const order = Array.from({ length: (i % 9) + (i % 4) }, (_, k) => k).sort((x, y) => ((i + y * 7) % spread) - ((i + x * 7) % spread));
    for (const k of order) {
      setMinute(store, now - ((i + k * 7) % spread));
      announcePeer(store, hash, {
        v6: k >= i % 9,
        id: ++id,
        port: 1024 + ((i * 31 + k) % 60000),
        seeder: k % 3 === 0,
        completed: k % 6 === 0,
        synced: k % 5 === 4,
      });
      peers++;
    }
  }
  setMinute(store, now);
  return peers;
}

/** Every torrent (hash, completed count) and peer (family, address, port, flags, minute), as sorted lines. */
export function swarmContents(store: SwarmStore, withMinutes = true): string[] {
  const lines: string[] = [];
  const hex = (b: Uint8Array, o: number, n: number) => Buffer.from(b.subarray(o, o + n)).toString('hex');
  for (let i = 0; i < STRIPES; i++) {
    store.visitStripe(
      i,
      (hash, ho, completed) => lines.push(`${hex(hash, ho, 20)} completed ${completed}`),
      (hash, ho, family, address, port, _s, _y, flags, minute) =>
        lines.push(`${hex(hash, ho, 20)} ${family} ${hex(address, 0, family === 4 ? 4 : 16)}:${port} flags ${flags}${withMinutes ? ` at ${minute}` : ''}`),
    );
  }
  return lines.sort();
}
