// The swarm store: every torrent and peer, in shared memory, with no JS object per torrent or peer.
//
// Torrents are split into 4096 stripes by the top 12 bits of the info hash. A stripe has a lock
// and an open-addressing table of fixed-size torrent records, probed linearly from a keyed hash
// of the info hash (HalfSipHash with a per-run key), so nobody can choose hashes that pile up.
// Walking the stripes in order visits the hashes in order, which full scrapes and state dumps use.
//
// A torrent record keeps one peer list per address family, sorted by (address, port), each a block
// of the arena. A peer is 8 bytes for IPv4 (address word; port, flags and minute word) and 20 for
// IPv6, as in opentracker. Peers are identified by address and port, never by peer_id.
//
// Expiry: a peer stores the minute of its last announce (13 bits, so ages up to 5.6 days read
// right) and its torrent stores the minute of its oldest peer. Cleaning a torrent whose oldest
// peer is younger than the timeout costs one comparison, so a cleaning pass over millions of
// torrents only walks the peer lists that really hold an expired peer.

import { Arena, createArenaShared, sizeClass } from './arena.ts';
import type { ArenaShared } from './arena.ts';
import { lock, unlock } from './lock.ts';
import { hashInfoHash } from '../protocol/siphash.ts';
import { EVENT_NONE, EVENT_COMPLETED, EVENT_STOPPED } from '../protocol/events.ts';
import { randomFillSync } from 'node:crypto';

export const STRIPE_BITS = 12;
export const STRIPES = 1 << STRIPE_BITS;

// Per-store header words, then one 16-word (64-byte, one cache line) block per stripe.
const G_K0 = 0;
const G_K1 = 1;
const G_EVICTING = 2; // 1 while a thread makes room (one at a time; the others wait for it)
const G_EVICTED = 3; // torrents evicted to make room, since start
const G_EVICT_PASSES = 4; // passes that made room
const HEADER_WORDS = 16;
const STRIPE_WORDS = 16;
const S_LOCK = 0;
const S_TABLE = 1; // arena offset of the table, 0 when the stripe is empty
const S_CAP = 2; // slots in the table
const S_LIVE = 3; // torrents
const S_TOMB = 4; // deleted slots not yet reused
const S_PEERS4 = 5;
const S_PEERS6 = 6;
const S_SEEDERS = 7;
const S_COMPLETED = 8; // completions counted in this stripe since start (never decreases)
const S_TCLASS = 9; // size class of the table's block

// Torrent record, 12 words (48 bytes), packed because millions of them live in the tables.
const TORRENT_WORDS = 12;
const T_HASH = 0; // 5 words, the info hash bytes as little-endian words
const T_DOWNLOADED = 5;
// Minutes mod 2^16: of the last announce (low half) and of the oldest peer's last announce, a
// lower bound (high half). Ages stay far below 2^16 minutes (45 days): timeouts are at most 24
// days and the cleaner visits every torrent every few minutes.
const T_TIMES = 6;
const T_LIST4 = 7; // peer list block offsets
const T_LIST6 = 9;
// Per family: peer count (24 bits) | the list block's size class << 24 (5 bits); the IPv4 word
// also holds the record's state << 29 (2 bits).
const T_META4 = 8;
const T_META6 = 10;
const T_SEEDERS = 11;
const COUNT_MASK = 0xffffff;
const MINUTES16 = 0xffff;
/** In T_META6 (whose top bits are free): a peer of this torrent has announced again (renewed). */
const RENEWED = 1 << 29;

const peerCount = (W: Uint32Array, meta: number): number => W[meta] & COUNT_MASK;
const setPeerCount = (W: Uint32Array, meta: number, n: number): void => {
  W[meta] = (W[meta] & ~COUNT_MASK) | n;
};
const klass = (W: Uint32Array, meta: number): number => (W[meta] >>> 24) & 31;
const setKlass = (W: Uint32Array, meta: number, c: number): void => {
  W[meta] = (W[meta] & ~(31 << 24)) | (c << 24);
};
const state = (W: Uint32Array, t: number): number => W[t + T_META4] >>> 29;
const setState = (W: Uint32Array, t: number, s: number): void => {
  W[t + T_META4] = (W[t + T_META4] & 0x1fffffff) | (s << 29);
};
const activeAge = (W: Uint32Array, t: number, now: number): number => (now - W[t + T_TIMES]) & MINUTES16;
const setActive = (W: Uint32Array, t: number, minute: number): void => {
  W[t + T_TIMES] = (W[t + T_TIMES] & ~MINUTES16) | (minute & MINUTES16);
};
const oldestPeerAge = (W: Uint32Array, t: number, now: number): number => (now - (W[t + T_TIMES] >>> 16)) & MINUTES16;
const setOldest = (W: Uint32Array, t: number, minute: number): void => {
  W[t + T_TIMES] = ((minute & MINUTES16) << 16) | (W[t + T_TIMES] & MINUTES16);
};

const EMPTY = 0;
const LIVE = 1;
const DELETED = 2;

/** Where a hash's stripe block starts: its top 12 bits pick the stripe. */
const stripeOf = (hash: Uint8Array, offset: number): number => HEADER_WORDS + ((hash[offset] << 4) | (hash[offset + 1] >> 4)) * STRIPE_WORDS;

/** Eviction ranks (see makeRoom) and the ages (minutes) its histogram tells apart. */
const EVICT_RANKS = 3;
const EVICT_AGES = 4096;

/** The smallest table: a 128-word block, 10 slots. */
const MIN_TABLE_CLASS = 7;
/** Slots of a table held by a block of size class `cls`: tables fill their blocks, whatever the record size. */
const slotsOf = (cls: number): number => Math.floor(2 ** cls / TORRENT_WORDS);
/** Where a hash starts probing: its 32 bits scaled to the table, so sizes need not be powers of two. */
const home = (hash: number, slots: number): number => Math.floor(((hash >>> 0) * slots) / 4294967296);

// Peer record: IPv4 = [address, meta], IPv6 = [address x4, meta]; meta = port << 16 | flags << 13 | minute.
const STRIDE4 = 2;
const STRIDE6 = 5;
export const PEER_SEEDER = 1;
export const PEER_COMPLETED = 2;
export const PEER_SYNCED = 4; // learnt from another node, not announced here
const MINUTE_MASK = 0x1fff;
/** Peer ages are kept modulo 2^13 minutes, so a timeout must stay well below that. */
export const MAX_PEER_TIMEOUT_MINUTES = 4 * 24 * 60;

/** The minute (Unix time / 60) of a time in milliseconds: the store's clock counts minutes. */
export function currentMinute(ms: number = Date.now()): number {
  return Math.floor(ms / 60000);
}

export const ANNOUNCE_OK = 0;
export const ANNOUNCE_FULL = 1; // the memory limit kept a new torrent or peer out

export interface StoreShared {
  readonly arena: ArenaShared;
  readonly stripes: SharedArrayBuffer;
}

export function createStoreShared(maxBytes: number): StoreShared {
  const stripes = new SharedArrayBuffer((HEADER_WORDS + STRIPES * STRIPE_WORDS) * 4);
  const header = new Int32Array(stripes, 0, HEADER_WORDS);
  const key = new Int32Array(2);
  randomFillSync(key);
  header[G_K0] = key[0];
  header[G_K1] = key[1];
  return { arena: createArenaShared(maxBytes), stripes };
}

export interface StoreSettings {
  /** Peers expire this many minutes after their last announce. */
  peerTimeoutMinutes: number;
  /** Peerless torrents with completions are kept this many minutes after their last announce. */
  torrentTimeoutMinutes: number;
}

/** One announce: the caller fills the inputs, `announce()` fills the outputs. Reused, never per request. */
export class Announce {
  hash: Uint8Array = new Uint8Array(20);
  hashOffset = 0;
  family = 4;
  /** The peer's address: 4 bytes (IPv4) or 16 bytes (IPv6) at `addressOffset`. */
  address: Uint8Array = new Uint8Array(16);
  addressOffset = 0;
  port = 0;
  event = EVENT_NONE;
  seeder = false;
  /** Set for peers learnt from another node. */
  synced = false;
  /** Peers wanted in the reply, over the families allowed by `families` (bit 1 IPv4, bit 2 IPv6). */
  want = 0;
  families = 3;
  /** Where compact peers go: 6 bytes per IPv4 peer from `out4Offset`, 18 per IPv6 peer from `out6Offset`. */
  out: Uint8Array = new Uint8Array(0);
  out4Offset = 0;
  out6Offset = 0;
  // Outputs
  seeders = 0;
  leechers = 0;
  downloaded = 0;
  peers4 = 0;
  peers6 = 0;
  /** The announcing peer was new to the swarm (not a renewal). */
  isNew = false;
  /** For a renewal: minutes since the peer's previous announce (-1 for a new peer). */
  renewAge = -1;
  /** This announce counted a completion. */
  completed = false;
  /** Torrents this announce evicted to make room for itself (memory limit). */
  evicted = 0;
}

/** Counts of one torrent, filled by `scrape()`. */
export class Counts {
  seeders = 0;
  leechers = 0;
  downloaded = 0;
  found = false;
}

/** A stripe's torrents, copied out by `snapshotStripe()`; reused from stripe to stripe. */
export class TorrentRows {
  count = 0;
  hashes = new Uint8Array(0);
  seeders = new Uint32Array(0);
  leechers = new Uint32Array(0);
  downloaded = new Uint32Array(0);
  /** Minute (Unix time / 60) of the last announce. */
  active = new Uint32Array(0);
  /** Row indexes in info-hash order, valid after a snapshot. */
  order = new Uint32Array(0);
  private keys = new Float64Array(0);

  reserve(n: number): void {
    if (n <= this.seeders.length) return;
    const cap = Math.max(n, this.seeders.length * 2, 64);
    this.hashes = new Uint8Array(cap * 20);
    this.seeders = new Uint32Array(cap);
    this.leechers = new Uint32Array(cap);
    this.downloaded = new Uint32Array(cap);
    this.active = new Uint32Array(cap);
    this.order = new Uint32Array(cap);
    this.keys = new Float64Array(cap);
  }

  /**
   * Orders the rows by hash: a native sort of number keys (the 32 hash bits after the stripe's
   * 12, then the row index), then insertion sort of the rare runs that share those 44 bits.
   * Several times faster than sorting with a comparator over 20-byte keys.
   */
  sort(): void {
    const n = this.count;
    const h = this.hashes;
    if (n > ROW_SPAN) {
      // Only a stripe stuffed with chosen hashes gets here: sort it the slow, general way.
      this.order.set(Array.from({ length: n }, (_, i) => i).sort((x, y) => compareHashes(h, x, y)));
      return;
    }
    if (this.keys.length < n) this.keys = new Float64Array(this.seeders.length);
    const keys = this.keys.subarray(0, n);
    for (let i = 0; i < n; i++) {
      const p = i * 20;
      const bits = (((h[p + 1] & 0x0f) << 28) | (h[p + 2] << 20) | (h[p + 3] << 12) | (h[p + 4] << 4) | (h[p + 5] >> 4)) >>> 0;
      keys[i] = bits * ROW_SPAN + i;
    }
    keys.sort();
    const order = this.order;
    for (let k = 0; k < n; k++) order[k] = keys[k] % ROW_SPAN;
    for (let k = 1; k < n; k++) {
      if (Math.floor(keys[k] / ROW_SPAN) !== Math.floor(keys[k - 1] / ROW_SPAN)) continue;
      // Same 44-bit prefix as the previous row: place it by the whole hash.
      const row = order[k];
      let j = k;
      while (j > 0 && Math.floor(keys[j - 1] / ROW_SPAN) === Math.floor(keys[k] / ROW_SPAN) && compareHashes(h, order[j - 1], row) > 0) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = row;
    }
  }
}

/** Whether the batch's live peers are in the store's order (address, then port), each once. */
function batchSorted(batch: PeerBatch, timeout: number, now: number): boolean {
  const len = batch.family === 4 ? 4 : 16;
  const a = batch.addresses;
  let prev = -1;
  for (let i = 0; i < batch.count; i++) {
    if (now - batch.minutes[i] >= timeout) continue;
    if (prev >= 0) {
      let d = 0;
      for (let k = 0; k < len && d === 0; k++) d = a[i * len + k] - a[prev * len + k];
      if (d === 0) d = batch.ports[i] - batch.ports[prev];
      if (d <= 0) return false;
    }
    prev = i;
  }
  return true;
}

/** Rows per stripe the sort keys can tell apart (2^21; the keys stay exact doubles). */
const ROW_SPAN = 2097152;

function compareHashes(h: Uint8Array, x: number, y: number): number {
  for (let i = 0; i < 20; i++) {
    const d = h[x * 20 + i] - h[y * 20 + i];
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * What `visitStripe()` calls; `hash`/`address` are views valid only during the call. `active` is
 * the minute of the torrent's last announce; `flags` (PEER_*) and `minute` (of its last announce)
 * are the peer's, for the peer-state file.
 */
export interface PeerVisitor {
  torrent(hash: Uint8Array, hashOffset: number, completed: number, active: number): void;
  peer(
    hash: Uint8Array,
    hashOffset: number,
    family: number,
    address: Uint8Array,
    port: number,
    seeder: boolean,
    synced: boolean,
    flags: number,
    minute: number,
  ): void;
}

/**
 * Peers of one torrent and one family to put back into the store (a peer-state file, a handover),
 * filled and reused by the caller: `restorePeers()` reads the inputs and fills the outputs.
 */
export class PeerBatch {
  family = 4;
  count = 0;
  /** 4 (IPv4) or 16 (IPv6) bytes per peer, network order. */
  addresses = new Uint8Array(0);
  ports = new Uint16Array(0);
  /** PEER_SEEDER | PEER_COMPLETED | PEER_SYNCED per peer. */
  flags = new Uint8Array(0);
  /** Minute (Unix time / 60) of each peer's last announce. */
  minutes = new Uint32Array(0);
  // Outputs
  /** Peers put in (new, or newer than the one the store had). */
  restored = 0;
  /** Peers whose timeout had passed: left out. */
  expired = 0;

  reserve(n: number): void {
    if (n <= this.ports.length) return;
    const cap = Math.max(n, this.ports.length * 2, 64);
    this.addresses = new Uint8Array(cap * 16);
    this.ports = new Uint16Array(cap);
    this.flags = new Uint8Array(cap);
    this.minutes = new Uint32Array(cap);
  }
}

export interface StoreTotals {
  torrents: number;
  peers4: number;
  peers6: number;
  seeders: number;
  completed: number;
}

export class SwarmStore {
  readonly shared: StoreShared;
  readonly arena: Arena;
  private readonly stripes: Int32Array;
  private readonly k0: number;
  private readonly k1: number;
  private readonly peerTimeout: number;
  private readonly torrentTimeout: number;
  /** The store's clock: the current minute (Unix time / 60), as setClock() last set it. */
  private minute = currentMinute();
  private readonly key = new Uint32Array(5); // the peer being looked up: address words, then port
  private readonly hashWords = new Uint32Array(5);
  private readonly peerAddress = new Uint8Array(16); // visitStripe's peer addresses
  private evictHist: Uint32Array | null = null; // makeRoom's histogram, made when first needed
  private evictScratch = new Uint32Array(0); // purgeTombstones' copy of a table
  private evictKeys = new Float64Array(0); // makeRoomInStripe's candidates
  private readonly evictKeep = new Uint32Array(5); // the hash words of the torrent that needs the room
  private readonly restoring = new Announce(); // restorePeers' peer, through the announce path

  constructor(shared: StoreShared, settings: StoreSettings) {
    this.shared = shared;
    this.arena = new Arena(shared.arena);
    this.stripes = new Int32Array(shared.stripes);
    this.k0 = this.stripes[G_K0];
    this.k1 = this.stripes[G_K1];
    if (settings.peerTimeoutMinutes >= MAX_PEER_TIMEOUT_MINUTES) throw new RangeError('peer timeout too long');
    this.peerTimeout = settings.peerTimeoutMinutes;
    this.torrentTimeout = settings.torrentTimeoutMinutes;
  }

  /** The store's clock, in minutes since the Unix epoch. */
  get now(): number {
    return this.minute;
  }

  /**
   * Sets the store's clock: the owner calls it before a request or a batch of them (the current
   * minute), tests and restores with the minute they mean.
   */
  setClock(minute: number = currentMinute()): void {
    this.minute = minute;
  }

  /**
   * Adds, renews or removes the announcing peer and samples peers for the reply. When the memory
   * limit keeps it out, the least valuable torrents make room (makeRoom) and it is tried again.
   */
  announce(a: Announce): number {
    a.evicted = 0;
    let status = this.announceOnce(a);
    if (status !== ANNOUNCE_FULL) return status;
    // room in the torrent's own table first, then memory for peer lists from everywhere, then again;
    // never by evicting the torrent being announced
    const keep = this.evictKeep;
    for (let i = 0; i < 5; i++)
      keep[i] =
        a.hash[a.hashOffset + 4 * i] |
        (a.hash[a.hashOffset + 4 * i + 1] << 8) |
        (a.hash[a.hashOffset + 4 * i + 2] << 16) |
        (a.hash[a.hashOffset + 4 * i + 3] << 24);
    for (let round = 0; round < 3 && status === ANNOUNCE_FULL; round++) {
      const evicted = round === 1 ? this.makeRoom() : this.makeRoomInStripe(a.hash, a.hashOffset);
      if (evicted === 0) continue;
      if (evicted > 0) a.evicted += evicted;
      status = this.announceOnce(a);
    }
    keep.fill(0);
    return status;
  }

  private announceOnce(a: Announce): number {
    const hash = a.hash;
    const ho = a.hashOffset;
    const stripe = stripeOf(hash, ho);
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      a.peers4 = 0;
      a.peers6 = 0;
      a.isNew = false;
      a.renewAge = -1;
      a.completed = false;
      const stopped = a.event === EVENT_STOPPED;
      let t = this.findTorrent(stripe, hash, ho);
      if (t < 0) {
        if (stopped) {
          a.seeders = a.leechers = a.downloaded = 0;
          return ANNOUNCE_OK;
        }
        t = this.insertTorrent(stripe, hash, ho);
        if (t < 0) {
          a.seeders = a.leechers = a.downloaded = 0;
          return ANNOUNCE_FULL;
        }
      } else {
        this.expirePeers(stripe, t);
      }
      let status = ANNOUNCE_OK;
      let self = -1;
      if (stopped) this.removePeer(stripe, t, a);
      else {
        self = this.upsertPeer(stripe, t, a);
        if (self < 0) status = ANNOUNCE_FULL;
        if (!a.synced) setActive(this.arena.words, t, this.minute);
      }
      const W = this.arena.words;
      const n4 = peerCount(W, t + T_META4);
      const n6 = peerCount(W, t + T_META6);
      const seeders = W[t + T_SEEDERS];
      a.seeders = seeders;
      a.leechers = n4 + n6 - seeders;
      a.downloaded = W[t + T_DOWNLOADED];
      if (!stopped && a.want > 0) this.samplePeers(t, a, self);
      if (n4 + n6 === 0 && W[t + T_DOWNLOADED] === 0) this.deleteTorrent(stripe, t);
      return status;
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  /** Fills `c` with the torrent's counts (zeros when unknown). */
  scrape(hash: Uint8Array, offset: number, c: Counts): void {
    const stripe = stripeOf(hash, offset);
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      const t = this.findTorrent(stripe, hash, offset);
      if (t < 0) {
        c.seeders = c.leechers = c.downloaded = 0;
        c.found = false;
        return;
      }
      this.expirePeers(stripe, t);
      const W = this.arena.words;
      c.seeders = W[t + T_SEEDERS];
      c.leechers = peerCount(W, t + T_META4) + peerCount(W, t + T_META6) - c.seeders;
      c.downloaded = W[t + T_DOWNLOADED];
      c.found = true;
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  /** Expires peers and drops dead torrents in one stripe (0 .. STRIPES-1). */
  cleanStripe(index: number): void {
    const stripe = HEADER_WORDS + index * STRIPE_WORDS;
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      const table = S[stripe + S_TABLE] >>> 0;
      if (table === 0) return;
      const cap = S[stripe + S_CAP];
      for (let i = 0; i < cap; i++) {
        const t = table + i * TORRENT_WORDS;
        if (state(this.arena.words, t) !== LIVE) continue;
        this.expirePeers(stripe, t);
        const W = this.arena.words;
        if (peerCount(W, t + T_META4) + peerCount(W, t + T_META6) !== 0) continue;
        const idle = activeAge(W, t, this.minute);
        if (W[t + T_DOWNLOADED] === 0 || idle >= this.torrentTimeout) this.deleteTorrent(stripe, t);
      }
      this.compactTable(stripe);
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  cleanAll(): void {
    for (let i = 0; i < STRIPES; i++) this.cleanStripe(i);
  }

  /**
   * Copies one stripe's torrents into `rows`, sorted by info hash, under the stripe's lock; the
   * caller then formats them without holding it. Walking stripes 0..STRIPES-1 visits every torrent
   * in info-hash order (full scrapes, state dumps, top lists), one short lock at a time.
   */
  snapshotStripe(index: number, rows: TorrentRows): number {
    const stripe = HEADER_WORDS + index * STRIPE_WORDS;
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    let n = 0;
    try {
      this.arena.refresh();
      const table = S[stripe + S_TABLE] >>> 0;
      if (table === 0) return (rows.count = 0);
      rows.reserve(S[stripe + S_LIVE]);
      const cap = S[stripe + S_CAP];
      for (let i = 0; i < cap; i++) {
        const t = table + i * TORRENT_WORDS;
        if (state(this.arena.words, t) !== LIVE) continue;
        this.expirePeers(stripe, t);
        const W = this.arena.words;
        rows.hashes.set(this.arena.bytes.subarray(t * 4, t * 4 + 20), n * 20);
        const seeders = W[t + T_SEEDERS];
        rows.seeders[n] = seeders;
        rows.leechers[n] = peerCount(W, t + T_META4) + peerCount(W, t + T_META6) - seeders;
        rows.downloaded[n] = W[t + T_DOWNLOADED];
        rows.active[n] = this.minute - activeAge(W, t, this.minute);
        n++;
      }
    } finally {
      unlock(S, stripe + S_LOCK);
    }
    rows.count = n;
    rows.sort();
    return n;
  }

  /** Copies the IPv4 addresses of one stripe's peers into `out.words` (grown as needed) and their number into `out.count`. */
  stripeAddresses4(index: number, out: { words: Uint32Array; count: number }): void {
    const stripe = HEADER_WORDS + index * STRIPE_WORDS;
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      out.count = 0;
      const table = S[stripe + S_TABLE] >>> 0;
      if (table === 0) return;
      if (out.words.length < S[stripe + S_PEERS4]) out.words = new Uint32Array(S[stripe + S_PEERS4] * 2);
      const W = this.arena.words;
      const cap = S[stripe + S_CAP];
      let n = 0;
      for (let i = 0; i < cap; i++) {
        const t = table + i * TORRENT_WORDS;
        if (state(W, t) !== LIVE) continue;
        const list = W[t + T_LIST4];
        const count = peerCount(W, t + T_META4);
        for (let k = 0; k < count && n < out.words.length; k++) out.words[n++] = W[list + k * STRIDE4];
      }
      out.count = n;
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  /**
   * Hands each torrent of one stripe to `torrent` (hash bytes at an offset, completed count) and
   * each of its live peers to `peer` (address bytes in `peerAddress`, reused), under the stripe's
   * lock: the callbacks must only copy. For the cluster's snapshots and resyncs.
   */
  visitStripe(index: number, torrent: PeerVisitor['torrent'], peer: PeerVisitor['peer']): void {
    const stripe = HEADER_WORDS + index * STRIPE_WORDS;
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      const table = S[stripe + S_TABLE] >>> 0;
      if (table === 0) return;
      const cap = S[stripe + S_CAP];
      const out = this.peerAddress;
      for (let i = 0; i < cap; i++) {
        const t = table + i * TORRENT_WORDS;
        if (state(this.arena.words, t) !== LIVE) continue;
        this.expirePeers(stripe, t);
        const W = this.arena.words;
        const bytes = this.arena.bytes;
        torrent(bytes, t * 4, W[t + T_DOWNLOADED], this.now - activeAge(W, t, this.now));
        for (let family = 4; family <= 6; family += 2) {
          const stride = family === 4 ? STRIDE4 : STRIDE6;
          const list = W[t + (family === 4 ? T_LIST4 : T_LIST6)];
          const count = peerCount(W, t + (family === 4 ? T_META4 : T_META6));
          for (let k = 0; k < count; k++) {
            const p = list + k * stride;
            for (let w = 0; w < stride - 1; w++) {
              const x = W[p + w];
              out[w * 4] = x >>> 24;
              out[w * 4 + 1] = x >>> 16;
              out[w * 4 + 2] = x >>> 8;
              out[w * 4 + 3] = x;
            }
            const meta = W[p + stride - 1];
            const flags = (meta >>> 13) & 7;
            const minute = this.now - ((this.now - meta) & MINUTE_MASK);
            peer(bytes, t * 4, family, out, meta >>> 16, (flags & PEER_SEEDER) !== 0, (flags & PEER_SYNCED) !== 0, flags, minute);
          }
        }
      }
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  /**
   * Recreates a torrent from a state dump: no peers, its completion count and last-activity
   * minute (a minute older than records hold, 2^16 minutes back, counts as that old). An
   * existing torrent keeps its peers and takes the larger count (never the sum, which is how
   * opentracker doubles counts on every reload). Returns false when memory ran out.
   */
  restoreTorrent(hash: Uint8Array, offset: number, downloaded: number, activeMinute: number): boolean {
    const stripe = stripeOf(hash, offset);
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      const t = this.findOrInsertTorrent(stripe, hash, offset);
      if (t < 0) return false;
      const W = this.arena.words;
      if (downloaded > W[t + T_DOWNLOADED]) W[t + T_DOWNLOADED] = downloaded;
      const age = Math.min(MINUTES16, Math.max(0, this.minute - activeMinute));
      if (age < activeAge(W, t, this.minute) || peerCount(W, t + T_META4) + peerCount(W, t + T_META6) === 0) setActive(W, t, this.minute - age);
      return true;
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  /**
   * Counts one completion of a torrent whose peer is not in this store (a WebSocket peer: the
   * caller counts once per peer). A torrent without peers is created, so the count is kept like
   * any peerless torrent's. Returns false when memory ran out.
   */
  countCompletion(hash: Uint8Array, offset: number): boolean {
    const stripe = stripeOf(hash, offset);
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      const t = this.findOrInsertTorrent(stripe, hash, offset);
      if (t < 0) return false;
      const W = this.arena.words;
      if (peerCount(W, t + T_META4) + peerCount(W, t + T_META6) === 0) setActive(W, t, this.minute);
      W[t + T_DOWNLOADED]++;
      S[stripe + S_COMPLETED]++;
      return true;
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  /**
   * Puts peers of one torrent back (a peer-state file, a handover), each with its flags and the
   * minute of its last announce. The torrent is created if missing, without completions (those
   * come back through restoreTorrent); its last-activity minute is left alone and no completion is
   * counted. Peers past the timeout are left out; a peer the store has already keeps whichever
   * announce is newer. A sorted batch into an empty list (the usual case: the file keeps the
   * store's order) is copied in one go, anything else goes peer by peer. False when memory ran out.
   */
  restorePeers(hash: Uint8Array, offset: number, batch: PeerBatch): boolean {
    batch.restored = 0;
    batch.expired = 0;
    const now = this.now;
    for (let i = 0; i < batch.count; i++) if (now - batch.minutes[i] >= this.peerTimeout) batch.expired++;
    if (batch.expired === batch.count) return true;
    const stripe = stripeOf(hash, offset);
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      const t = this.findOrInsertTorrent(stripe, hash, offset);
      if (t < 0) return false;
      const fMeta = batch.family === 4 ? T_META4 : T_META6;
      const ok =
        peerCount(this.arena.words, t + fMeta) === 0 && batchSorted(batch, this.peerTimeout, now)
          ? this.fillList(stripe, t, batch)
          : this.mergePeers(stripe, t, batch);
      // The torrent's oldest peer may now be older than it was: the cleaner must look at it in time.
      let oldest = 0;
      for (let i = 0; i < batch.count; i++) {
        const age = Math.max(0, now - batch.minutes[i]);
        if (age < this.peerTimeout && age > oldest) oldest = age;
      }
      if (oldest > oldestPeerAge(this.arena.words, t, now)) setOldest(this.arena.words, t, now - oldest);
      return ok;
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  /**
   * Gives every stripe that has no table yet one sized for its share of `torrents` (a load into
   * an empty store is about to insert them), so that the tables need not grow one doubling at a
   * time. False when memory ran out (nothing is lost: tables then grow as usual).
   */
  reserveTorrents(torrents: number): boolean {
    const perStripe = Math.ceil((torrents / STRIPES) * 1.1) + 1;
    let cls = MIN_TABLE_CLASS;
    while (perStripe * 2 > slotsOf(cls)) cls++;
    const S = this.stripes;
    for (let i = 0; i < STRIPES; i++) {
      const stripe = HEADER_WORDS + i * STRIPE_WORDS;
      lock(S, stripe + S_LOCK);
      try {
        this.arena.refresh();
        if (S[stripe + S_TABLE] === 0 && !this.resizeTable(stripe, cls)) return false;
      } finally {
        unlock(S, stripe + S_LOCK);
      }
    }
    return true;
  }

  /** restorePeers into an empty list: one block of the right size, filled in order. */
  private fillList(stripe: number, t: number, batch: PeerBatch): boolean {
    const v4 = batch.family === 4;
    const stride = v4 ? STRIDE4 : STRIDE6;
    const live = batch.count - batch.expired;
    const cls = sizeClass(live * stride);
    const block = this.arena.alloc(cls);
    if (block === 0) return false;
    this.arena.refresh();
    const W = this.arena.words;
    const fMeta = v4 ? T_META4 : T_META6;
    if (klass(W, t + fMeta) !== 0) this.arena.free(W[t + (v4 ? T_LIST4 : T_LIST6)], klass(W, t + fMeta));
    const bytes = batch.addresses;
    const len = v4 ? 4 : 16;
    const now = this.now;
    let p = block;
    let seeders = 0;
    for (let i = 0; i < batch.count; i++) {
      const minute = Math.min(now, batch.minutes[i]);
      if (now - minute >= this.peerTimeout) continue;
      for (let o = i * len, end = o + len; o < end; o += 4) {
        W[p++] = ((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]) >>> 0;
      }
      const flags = batch.flags[i] & 7;
      W[p++] = ((batch.ports[i] << 16) | (flags << 13) | (minute & MINUTE_MASK)) >>> 0;
      if (flags & PEER_SEEDER) seeders++;
    }
    W[t + (v4 ? T_LIST4 : T_LIST6)] = block;
    setKlass(W, t + fMeta, cls);
    setPeerCount(W, t + fMeta, live);
    W[t + T_SEEDERS] += seeders;
    const S = this.stripes;
    S[stripe + S_SEEDERS] += seeders;
    S[stripe + (v4 ? S_PEERS4 : S_PEERS6)] += live;
    batch.restored = live;
    return true;
  }

  /** restorePeers peer by peer, through the announce path, then with each peer's own minute and flags. */
  private mergePeers(stripe: number, t: number, batch: PeerBatch): boolean {
    const a = this.restoring;
    const v4 = batch.family === 4;
    const stride = v4 ? STRIDE4 : STRIDE6;
    const now = this.now;
    a.family = batch.family;
    a.address = batch.addresses;
    for (let i = 0; i < batch.count; i++) {
      const minute = Math.min(now, batch.minutes[i]);
      if (now - minute >= this.peerTimeout) continue;
      a.addressOffset = i * (v4 ? 4 : 16);
      a.port = batch.ports[i];
      const flags = batch.flags[i] & 7;
      a.seeder = (flags & PEER_SEEDER) !== 0;
      a.synced = (flags & PEER_SYNCED) !== 0;
      this.loadKey(a);
      let W = this.arena.words;
      const known = this.findPeer(W[t + (v4 ? T_LIST4 : T_LIST6)], peerCount(W, t + (v4 ? T_META4 : T_META6)), stride);
      if (known >= 0) {
        const meta = W[W[t + (v4 ? T_LIST4 : T_LIST6)] + known * stride + stride - 1];
        if (((now - meta) & MINUTE_MASK) <= now - minute) continue; // the store's announce is as new
      }
      const idx = this.upsertPeer(stripe, t, a);
      if (idx < 0) return false;
      W = this.arena.words;
      const m = W[t + (v4 ? T_LIST4 : T_LIST6)] + idx * stride + stride - 1;
      const kept = (W[m] >>> 13) & PEER_COMPLETED;
      W[m] = ((a.port << 16) | ((flags | kept) << 13) | (minute & MINUTE_MASK)) >>> 0;
      batch.restored++;
    }
    return true;
  }

  /** The torrent's record, created without peers when missing; -1 when memory ran out. Under the stripe's lock. */
  private findOrInsertTorrent(stripe: number, hash: Uint8Array, offset: number): number {
    const t = this.findTorrent(stripe, hash, offset);
    return t >= 0 ? t : this.insertTorrent(stripe, hash, offset);
  }

  /** Drops a torrent and its peers (a takedown). Returns whether it existed. */
  removeTorrent(hash: Uint8Array, offset: number): boolean {
    const stripe = stripeOf(hash, offset);
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      const t = this.findTorrent(stripe, hash, offset);
      if (t < 0) return false;
      this.dropTorrent(stripe, t);
      return true;
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  /** Torrents evicted to make room and the passes that did it, since start (all threads). */
  evictions(): { torrents: number; passes: number } {
    return { torrents: Atomics.load(this.stripes, G_EVICTED) >>> 0, passes: Atomics.load(this.stripes, G_EVICT_PASSES) >>> 0 };
  }

  /**
   * Makes room when the memory limit is reached, so that junk info hashes (sent from many addresses to
   * fill the store) cannot lock real torrents out until their peers expire. Evicts the least valuable
   * torrents first, oldest last announce first within each rank:
   *   0. one peer or none, no completion, never announced again (what a stream of junk hashes makes),
   *   1. no peer (kept only for the completions they count),
   *   2. one peer or none, no completion, announced again.
   * A torrent with two peers or more, or with a peer and a completion, is never evicted. One pass takes
   * about 1/32 of the torrents (at least 256): a histogram of the candidates' ages picks the cut, then
   * the ones past it go. Stripes are locked one at a time; one thread evicts at a time, and the others
   * wait for it and try again. Returns the torrents evicted (-1 after waiting for another thread).
   */
  makeRoom(): number {
    const S = this.stripes;
    if (Atomics.compareExchange(S, G_EVICTING, 0, 1) !== 0) {
      Atomics.wait(S, G_EVICTING, 1, 2000);
      return -1;
    }
    try {
      const hist = this.evictionHistogram();
      let live = 0;
      for (let i = 0; i < STRIPES; i++) live += S[HEADER_WORDS + i * STRIPE_WORDS + S_LIVE];
      const target = Math.max(256, Math.ceil(live / 32));
      // the cut: every candidate of a lower rank, and of the cut's rank those at least `cutAge` old
      let taken = 0;
      let cutRank = EVICT_RANKS - 1; // fewer candidates than the target: all of them
      let cutAge = 0;
      search: for (let rank = 0; rank < EVICT_RANKS; rank++) {
        for (let age = EVICT_AGES - 1; age >= 0; age--) {
          taken += hist[rank * EVICT_AGES + age];
          if (taken >= target) {
            cutRank = rank;
            cutAge = age;
            break search;
          }
        }
      }
      const evicted = this.evictPast(cutRank, cutAge, target);
      if (evicted > 0) {
        Atomics.add(S, G_EVICTED, evicted);
        Atomics.add(S, G_EVICT_PASSES, 1);
      }
      return evicted;
    } finally {
      Atomics.store(S, G_EVICTING, 0);
      Atomics.notify(S, G_EVICTING);
    }
  }

  /**
   * Makes room in the table of the stripe a hash falls in: evicts its least valuable eighth (by the
   * ranks of makeRoom, oldest first) and rebuilds the table in place. Blocks are never merged, so once
   * the limit is reached a table can no longer grow; what a new torrent needs then is a free slot in
   * its own table. Returns the torrents evicted.
   */
  makeRoomInStripe(hash: Uint8Array, offset: number): number {
    const stripe = stripeOf(hash, offset);
    const S = this.stripes;
    lock(S, stripe + S_LOCK);
    try {
      this.arena.refresh();
      const table = S[stripe + S_TABLE] >>> 0;
      if (table === 0) return 0;
      const cap = S[stripe + S_CAP];
      if (this.evictKeys.length < cap) this.evictKeys = new Float64Array(cap * 2);
      const keys = this.evictKeys;
      let n = 0;
      for (let i = 0; i < cap; i++) {
        const t = table + i * TORRENT_WORDS;
        if (state(this.arena.words, t) !== LIVE) continue;
        this.expirePeers(stripe, t);
        const rank = this.evictRank(t);
        if (rank === EVICT_RANKS) continue;
        const age = Math.min(EVICT_AGES - 1, activeAge(this.arena.words, t, this.now));
        keys[n++] = (rank * EVICT_AGES + (EVICT_AGES - 1 - age)) * ROW_SPAN + i;
      }
      const victims = keys.subarray(0, n).sort();
      const most = Math.min(n, Math.max(1, Math.ceil(S[stripe + S_LIVE] / 8)));
      for (let k = 0; k < most; k++) this.dropTorrent(stripe, table + (victims[k] % ROW_SPAN) * TORRENT_WORDS);
      if (S[stripe + S_TOMB] > 0) this.purgeTombstones(stripe);
      if (most > 0) Atomics.add(S, G_EVICTED, most);
      return most;
    } finally {
      unlock(S, stripe + S_LOCK);
    }
  }

  /** The eviction rank of a live record (EVICT_RANKS: never evicted). */
  private evictRank(t: number): number {
    const W = this.arena.words;
    const k = this.evictKeep;
    if (W[t] === k[0] && W[t + 1] === k[1] && W[t + 2] === k[2] && W[t + 3] === k[3] && W[t + 4] === k[4]) return EVICT_RANKS;
    const peers = peerCount(W, t + T_META4) + peerCount(W, t + T_META6);
    const downloaded = W[t + T_DOWNLOADED];
    if (peers === 0 && downloaded !== 0) return 1;
    if (peers > 1 || downloaded !== 0) return EVICT_RANKS;
    return (W[t + T_META6] & RENEWED) === 0 ? 0 : 2;
  }

  /**
   * Rebuilds a stripe's table in its own block, without the deleted slots, through a scratch copy:
   * with the memory limit reached there may be no block for resizeTable, and tombstones count toward
   * the load that makes an insert grow the table.
   */
  private purgeTombstones(stripe: number): void {
    const S = this.stripes;
    const table = S[stripe + S_TABLE] >>> 0;
    const cap = S[stripe + S_CAP];
    const live = S[stripe + S_LIVE];
    if (this.evictScratch.length < live * TORRENT_WORDS) this.evictScratch = new Uint32Array(live * TORRENT_WORDS * 2);
    const scratch = this.evictScratch;
    const W = this.arena.words;
    let n = 0;
    for (let i = 0; i < cap; i++) {
      const t = table + i * TORRENT_WORDS;
      if (state(W, t) !== LIVE) continue;
      scratch.set(W.subarray(t, t + TORRENT_WORDS), n * TORRENT_WORDS);
      n++;
    }
    W.fill(0, table, table + cap * TORRENT_WORDS);
    S[stripe + S_TOMB] = 0;
    const bytes = new Uint8Array(scratch.buffer, scratch.byteOffset, n * TORRENT_WORDS * 4);
    for (let k = 0; k < n; k++) {
      const to = this.probeFree(stripe, bytes, k * TORRENT_WORDS * 4);
      W.set(scratch.subarray(k * TORRENT_WORDS, (k + 1) * TORRENT_WORDS), to);
    }
  }

  /** Candidates counted by rank and age (minutes since the last announce, capped). */
  private evictionHistogram(): Uint32Array {
    const hist = (this.evictHist ??= new Uint32Array(EVICT_RANKS * EVICT_AGES));
    hist.fill(0);
    this.forEachLive((_stripe, t) => {
      const rank = this.evictRank(t);
      if (rank < EVICT_RANKS) hist[rank * EVICT_AGES + Math.min(EVICT_AGES - 1, activeAge(this.arena.words, t, this.now))]++;
      return false;
    });
    return hist;
  }

  /** Evicts up to `most` candidates of a rank below `cutRank`, or of that rank at least `cutAge` old. */
  private evictPast(cutRank: number, cutAge: number, most: number): number {
    let evicted = 0;
    this.forEachLive((stripe, t) => {
      if (evicted >= most) return false;
      const rank = this.evictRank(t);
      if (rank === EVICT_RANKS || rank > cutRank || (rank === cutRank && Math.min(EVICT_AGES - 1, activeAge(this.arena.words, t, this.now)) < cutAge))
        return false;
      this.dropTorrent(stripe, t);
      evicted++;
      return true;
    });
    return evicted;
  }

  /**
   * Calls `visit(stripe, record)` for every live torrent, one stripe lock at a time, after expiring its
   * peers; a stripe where `visit` returned true for some record is compacted before its lock is let go.
   */
  private forEachLive(visit: (stripe: number, t: number) => boolean): void {
    const S = this.stripes;
    for (let index = 0; index < STRIPES; index++) {
      const stripe = HEADER_WORDS + index * STRIPE_WORDS;
      lock(S, stripe + S_LOCK);
      try {
        this.arena.refresh();
        const table = S[stripe + S_TABLE] >>> 0;
        if (table === 0) continue;
        const cap = S[stripe + S_CAP];
        let changed = false;
        for (let i = 0; i < cap; i++) {
          const t = table + i * TORRENT_WORDS;
          if (state(this.arena.words, t) !== LIVE) continue;
          this.expirePeers(stripe, t);
          if (visit(stripe, t)) changed = true;
        }
        if (changed) {
          this.compactTable(stripe);
          if (S[stripe + S_TOMB] > 0) this.purgeTombstones(stripe);
        }
      } finally {
        unlock(S, stripe + S_LOCK);
      }
    }
  }

  totals(): StoreTotals {
    const S = this.stripes;
    let torrents = 0;
    let peers4 = 0;
    let peers6 = 0;
    let seeders = 0;
    let completed = 0;
    for (let s = HEADER_WORDS; s < S.length; s += STRIPE_WORDS) {
      torrents += S[s + S_LIVE];
      peers4 += S[s + S_PEERS4];
      peers6 += S[s + S_PEERS6];
      seeders += S[s + S_SEEDERS];
      completed += S[s + S_COMPLETED] >>> 0;
    }
    return { torrents, peers4, peers6, seeders, completed };
  }

  // --- torrents ---------------------------------------------------------------------------

  private readHash(hash: Uint8Array, o: number): void {
    const h = this.hashWords;
    for (let i = 0; i < 5; i++, o += 4) {
      h[i] = hash[o] | (hash[o + 1] << 8) | (hash[o + 2] << 16) | (hash[o + 3] << 24);
    }
  }

  /** The record's offset, or -1. Leaves the hash words in `hashWords` for an insert. */
  private findTorrent(stripe: number, hash: Uint8Array, offset: number): number {
    this.readHash(hash, offset);
    const S = this.stripes;
    const table = S[stripe + S_TABLE] >>> 0;
    if (table === 0) return -1;
    const cap = S[stripe + S_CAP];
    const W = this.arena.words;
    const h = this.hashWords;
    const h0 = h[0];
    let i = home(hashInfoHash(this.k0, this.k1, hash, offset), cap);
    for (;;) {
      const t = table + i * TORRENT_WORDS;
      const st = state(W, t);
      if (st === EMPTY) return -1;
      if (st === LIVE && W[t] === h0 && W[t + 1] === h[1] && W[t + 2] === h[2] && W[t + 3] === h[3] && W[t + 4] === h[4]) {
        return t;
      }
      i = i + 1 === cap ? 0 : i + 1;
    }
  }

  /** Inserts the torrent whose hash `findTorrent` just missed; -1 when memory ran out. */
  private insertTorrent(stripe: number, hash: Uint8Array, offset: number): number {
    const S = this.stripes;
    if ((S[stripe + S_LIVE] + S[stripe + S_TOMB] + 1) * 5 > S[stripe + S_CAP] * 4) {
      // Over 80% full: rebuild at most half full.
      const live = S[stripe + S_LIVE] + 1;
      let cls = Math.max(MIN_TABLE_CLASS, S[stripe + S_TCLASS]);
      while (live * 2 > slotsOf(cls)) cls++;
      if (!this.resizeTable(stripe, cls)) return -1;
    }
    const t = this.probeFree(stripe, hash, offset);
    const W = this.arena.words;
    if (state(W, t) === DELETED) S[stripe + S_TOMB]--;
    W.fill(0, t, t + TORRENT_WORDS);
    for (let i = 0; i < 5; i++) W[t + T_HASH + i] = this.hashWords[i];
    setState(W, t, LIVE);
    setActive(W, t, this.minute);
    setOldest(W, t, this.minute);
    S[stripe + S_LIVE]++;
    return t;
  }

  /** A free slot for the hash at `bytes[offset..]`: the first one on its probe sequence that isn't live. */
  private probeFree(stripe: number, bytes: Uint8Array, offset: number): number {
    const S = this.stripes;
    const table = S[stripe + S_TABLE] >>> 0;
    const cap = S[stripe + S_CAP];
    const W = this.arena.words;
    let i = home(hashInfoHash(this.k0, this.k1, bytes, offset), cap);
    for (;;) {
      const t = table + i * TORRENT_WORDS;
      if (state(W, t) !== LIVE) return t;
      i = i + 1 === cap ? 0 : i + 1;
    }
  }

  /** Deletes a torrent with its peers, taking them off the stripe's counts. */
  private dropTorrent(stripe: number, t: number): void {
    const S = this.stripes;
    const W = this.arena.words;
    S[stripe + S_PEERS4] -= peerCount(W, t + T_META4);
    S[stripe + S_PEERS6] -= peerCount(W, t + T_META6);
    S[stripe + S_SEEDERS] -= W[t + T_SEEDERS];
    this.deleteTorrent(stripe, t);
  }

  private deleteTorrent(stripe: number, t: number): void {
    const S = this.stripes;
    const W = this.arena.words;
    if (klass(W, t + T_META4) !== 0) this.arena.free(W[t + T_LIST4], klass(W, t + T_META4));
    if (klass(W, t + T_META6) !== 0) this.arena.free(W[t + T_LIST6], klass(W, t + T_META6));
    setState(W, t, DELETED);
    S[stripe + S_LIVE]--;
    S[stripe + S_TOMB]++;
  }

  /** Rebuilds the table in a block of size class `cls`, dropping tombstones. False when memory ran out. */
  private resizeTable(stripe: number, cls: number): boolean {
    const S = this.stripes;
    const oldTable = S[stripe + S_TABLE] >>> 0;
    const oldCap = S[stripe + S_CAP];
    const oldClass = S[stripe + S_TCLASS];
    const table = this.arena.alloc(cls);
    if (table === 0) return false;
    this.arena.refresh();
    const W = this.arena.words;
    const slots = slotsOf(cls);
    W.fill(0, table, table + slots * TORRENT_WORDS);
    S[stripe + S_TABLE] = table;
    S[stripe + S_CAP] = slots;
    S[stripe + S_TCLASS] = cls;
    S[stripe + S_TOMB] = 0;
    for (let i = 0; i < oldCap; i++) {
      const from = oldTable + i * TORRENT_WORDS;
      if (state(W, from) !== LIVE) continue;
      const to = this.probeFree(stripe, this.arena.bytes, from * 4);
      W.copyWithin(to, from, from + TORRENT_WORDS);
    }
    if (oldTable !== 0) this.arena.free(oldTable, oldClass);
    return true;
  }

  /** Shrinks or rebuilds a table that emptied out or filled with tombstones. */
  private compactTable(stripe: number): void {
    const S = this.stripes;
    const live = S[stripe + S_LIVE];
    const current = S[stripe + S_TCLASS];
    if (live === 0) {
      this.arena.free(S[stripe + S_TABLE] >>> 0, current);
      S[stripe + S_TABLE] = 0;
      S[stripe + S_CAP] = 0;
      S[stripe + S_TCLASS] = 0;
      S[stripe + S_TOMB] = 0;
      return;
    }
    let cls = current;
    while (cls > MIN_TABLE_CLASS && live * 8 < slotsOf(cls)) cls--;
    if (cls !== current || S[stripe + S_TOMB] * 4 > S[stripe + S_CAP]) this.resizeTable(stripe, cls);
  }

  // --- peers ------------------------------------------------------------------------------

  /** Loads the announcing peer's address and port into `key`. */
  private loadKey(a: Announce): void {
    const k = this.key;
    const b = a.address;
    let o = a.addressOffset;
    const words = a.family === 4 ? 1 : 4;
    for (let i = 0; i < words; i++, o += 4) {
      k[i] = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    }
    k[words] = a.port;
  }

  /** Binary search: the peer's index, or -(insertion point) - 1. */
  private findPeer(list: number, count: number, stride: number): number {
    const W = this.arena.words;
    const k = this.key;
    const keyWords = stride - 1;
    const port = k[keyWords];
    let lo = 0;
    let hi = count - 1;
    outer: while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = list + mid * stride;
      for (let i = 0; i < keyWords; i++) {
        const x = W[p + i];
        const y = k[i];
        if (x < y) {
          lo = mid + 1;
          continue outer;
        }
        if (x > y) {
          hi = mid - 1;
          continue outer;
        }
      }
      const q = W[p + keyWords] >>> 16;
      if (q < port) lo = mid + 1;
      else if (q > port) hi = mid - 1;
      else return mid;
    }
    return -lo - 1;
  }

  /** Adds or renews the peer; returns its index in its list, or -1 when memory ran out. */
  private upsertPeer(stripe: number, t: number, a: Announce): number {
    this.loadKey(a);
    const v4 = a.family === 4;
    const stride = v4 ? STRIDE4 : STRIDE6;
    const fList = v4 ? T_LIST4 : T_LIST6;
    const fMeta = v4 ? T_META4 : T_META6;
    const S = this.stripes;
    let W = this.arena.words;
    let list = W[t + fList];
    const count = peerCount(W, t + fMeta);
    let idx = this.findPeer(list, count, stride);
    const minute = this.minute & MINUTE_MASK;
    let flags = a.seeder ? PEER_SEEDER : 0;
    if (a.synced) flags |= PEER_SYNCED;
    if (idx >= 0) {
      if (!a.synced) W[t + T_META6] |= RENEWED;
      const m = list + idx * stride + stride - 1;
      const old = W[m];
      const oldFlags = (old >>> 13) & 7;
      a.renewAge = (minute - old) & MINUTE_MASK;
      if (oldFlags & PEER_COMPLETED) flags |= PEER_COMPLETED;
      // A renewal from this node makes the peer local again; a synced renewal of a local peer stays local.
      if (!a.synced) flags &= ~PEER_SYNCED;
      else if (!(oldFlags & PEER_SYNCED)) flags &= ~PEER_SYNCED;
      if ((flags ^ oldFlags) & PEER_SEEDER) {
        const d = a.seeder ? 1 : -1;
        W[t + T_SEEDERS] += d;
        S[stripe + S_SEEDERS] += d;
      }
    } else {
      idx = -idx - 1;
      const cls = klass(W, t + fMeta);
      const capacity = cls === 0 ? 0 : Math.floor(2 ** cls / stride);
      if (count === capacity) {
        // Power-of-two blocks: each growth doubles the list.
        const newClass = sizeClass((count + 1) * stride);
        const block = this.arena.alloc(newClass);
        if (block === 0) return -1;
        this.arena.refresh();
        W = this.arena.words;
        if (count > 0) {
          W.copyWithin(block, list, list + idx * stride);
          W.copyWithin(block + (idx + 1) * stride, list + idx * stride, list + count * stride);
          this.arena.free(list, cls);
        }
        list = block;
        W[t + fList] = block;
        setKlass(W, t + fMeta, newClass);
      } else {
        W.copyWithin(list + (idx + 1) * stride, list + idx * stride, list + count * stride);
      }
      const p = list + idx * stride;
      for (let i = 0; i < stride - 1; i++) W[p + i] = this.key[i];
      setPeerCount(W, t + fMeta, count + 1);
      S[stripe + (v4 ? S_PEERS4 : S_PEERS6)]++;
      if (a.seeder) {
        W[t + T_SEEDERS]++;
        S[stripe + S_SEEDERS]++;
      }
      a.isNew = true;
      a.renewAge = -1;
    }
    // A completion counts once per peer, and only when it is really done (opentracker's rule).
    if (a.event === EVENT_COMPLETED && a.seeder && !(flags & PEER_COMPLETED)) {
      flags |= PEER_COMPLETED;
      W[t + T_DOWNLOADED]++;
      S[stripe + S_COMPLETED]++;
      a.completed = true;
    }
    W[list + idx * stride + stride - 1] = ((a.port << 16) | (flags << 13) | minute) >>> 0;
    return idx;
  }

  private removePeer(stripe: number, t: number, a: Announce): void {
    this.loadKey(a);
    const v4 = a.family === 4;
    const stride = v4 ? STRIDE4 : STRIDE6;
    const fMeta = v4 ? T_META4 : T_META6;
    const W = this.arena.words;
    const list = W[t + (v4 ? T_LIST4 : T_LIST6)];
    const count = peerCount(W, t + fMeta);
    const idx = this.findPeer(list, count, stride);
    if (idx < 0) return;
    if ((W[list + idx * stride + stride - 1] >>> 13) & PEER_SEEDER) {
      W[t + T_SEEDERS]--;
      this.stripes[stripe + S_SEEDERS]--;
    }
    W.copyWithin(list + idx * stride, list + (idx + 1) * stride, list + count * stride);
    setPeerCount(W, t + fMeta, count - 1);
    this.stripes[stripe + (v4 ? S_PEERS4 : S_PEERS6)]--;
    this.shrinkList(t, v4);
  }

  /** Drops peers older than the timeout, if the torrent's oldest peer says there can be any. */
  private expirePeers(stripe: number, t: number): void {
    const now = this.minute;
    if (oldestPeerAge(this.arena.words, t, now) < this.peerTimeout) return;
    let oldestAge = 0;
    for (let family = 4; family <= 6; family += 2) {
      const W = this.arena.words; // shrinkList may have grown the arena
      const v4 = family === 4;
      const stride = v4 ? STRIDE4 : STRIDE6;
      const list = W[t + (v4 ? T_LIST4 : T_LIST6)];
      const count = peerCount(W, t + (v4 ? T_META4 : T_META6));
      let kept = 0;
      let lostSeeders = 0;
      for (let i = 0; i < count; i++) {
        const p = list + i * stride;
        const meta = W[p + stride - 1];
        const age = (now - meta) & MINUTE_MASK;
        if (age >= this.peerTimeout) {
          if ((meta >>> 13) & PEER_SEEDER) lostSeeders++;
          continue;
        }
        if (age > oldestAge) oldestAge = age;
        if (kept !== i) W.copyWithin(list + kept * stride, p, p + stride);
        kept++;
      }
      if (kept === count) continue;
      setPeerCount(W, t + (v4 ? T_META4 : T_META6), kept);
      W[t + T_SEEDERS] -= lostSeeders;
      const S = this.stripes;
      S[stripe + S_SEEDERS] -= lostSeeders;
      S[stripe + (v4 ? S_PEERS4 : S_PEERS6)] -= count - kept;
      this.shrinkList(t, v4);
    }
    setOldest(this.arena.words, t, now - oldestAge);
  }

  /** Gives back a peer list's block when it is empty, or moves it to a smaller one when mostly empty. */
  private shrinkList(t: number, v4: boolean): void {
    const W = this.arena.words;
    const fList = v4 ? T_LIST4 : T_LIST6;
    const fMeta = v4 ? T_META4 : T_META6;
    const stride = v4 ? STRIDE4 : STRIDE6;
    const count = peerCount(W, t + fMeta);
    const cls = klass(W, t + fMeta);
    if (cls === 0) return;
    if (count === 0) {
      this.arena.free(W[t + fList], cls);
      W[t + fList] = 0;
      setKlass(W, t + fMeta, 0);
      return;
    }
    const fit = sizeClass(count * stride * 2);
    if (fit + 1 >= cls) return;
    const block = this.arena.alloc(fit);
    if (block === 0) return;
    this.arena.refresh();
    const W2 = this.arena.words;
    const list = W2[t + fList];
    W2.copyWithin(block, list, list + count * stride);
    this.arena.free(list, cls);
    W2[t + fList] = block;
    setKlass(W2, t + fMeta, fit);
  }

  // --- reply peers ------------------------------------------------------------------------

  /**
   * Writes a random sample of the swarm, without the announcing peer (index `self` in its own
   * family's list), as compact peers. With both families allowed, each family first gets up to a
   * quarter of the wanted peers and the rest is shared in proportion to what is left (opentracker).
   */
  private samplePeers(t: number, a: Announce, self: number): void {
    const W = this.arena.words;
    const own4 = a.family === 4;
    const n4 = a.families & 1 ? peerCount(W, t + T_META4) - (own4 && self >= 0 ? 1 : 0) : 0;
    const n6 = a.families & 2 ? peerCount(W, t + T_META6) - (!own4 && self >= 0 ? 1 : 0) : 0;
    let want4 = n4;
    let want6 = n6;
    const want = a.want;
    if (n4 + n6 > want) {
      const quarter = want >>> 2;
      want4 = Math.min(n4, quarter);
      want6 = Math.min(n6, quarter);
      const rest = want - want4 - want6;
      const left4 = n4 - want4;
      const left6 = n6 - want6;
      const more4 = Math.min(left4, Math.round((rest * left4) / (left4 + left6)));
      want4 += more4;
      want6 += Math.min(left6, rest - more4);
    }
    if (want4 > 0) a.peers4 = this.writeSample(W[t + T_LIST4], n4, want4, STRIDE4, own4 ? self : -1, a.out, a.out4Offset);
    if (want6 > 0) a.peers6 = this.writeSample(W[t + T_LIST6], n6, want6, STRIDE6, own4 ? -1 : self, a.out, a.out6Offset);
  }

  /**
   * Picks `want` of the list's `n` peers (the list minus `skip`), one from each of `want` equal
   * windows starting at a random rotation, so there are no duplicates and no bias to the start.
   */
  private writeSample(list: number, n: number, want: number, stride: number, skip: number, out: Uint8Array, offset: number): number {
    const W = this.arena.words;
    const rotation = Math.floor(Math.random() * n);
    let o = offset;
    let lo = 0;
    for (let i = 0; i < want; i++) {
      // Window i holds the integer positions [lo, hi); windows don't overlap and cover the list.
      const hi = Math.floor(((i + 1) * n) / want);
      let idx = want === n ? i : (rotation + lo + Math.floor(Math.random() * (hi - lo))) % n;
      lo = hi;
      if (skip >= 0 && idx >= skip) idx++;
      const p = list + idx * stride;
      for (let w = 0; w < stride - 1; w++) {
        const x = W[p + w];
        out[o] = x >>> 24;
        out[o + 1] = x >>> 16;
        out[o + 2] = x >>> 8;
        out[o + 3] = x;
        o += 4;
      }
      const meta = W[p + stride - 1];
      out[o] = meta >>> 24;
      out[o + 1] = meta >>> 16;
      o += 2;
    }
    return want;
  }
}
