// WebSocket swarms as every worker sees them: per info hash, the WebSocket seeders and leechers of
// all workers and which workers hold some of them. WebSocket peers themselves are connections, so
// each worker keeps its own (src/server/ws-server.ts); this table only answers "how many" (for
// complete/incomplete) and "who else" (where to relay offers that can't all be relayed locally).
//
// One SharedArrayBuffer of int32 words: [lock, used, k0, k1] then `capacity` slots of
// [hash words 0..4, one word per worker: its seeders << 16 | its leechers]. Each worker writes its
// own counts (absolute, not deltas), so the main thread can take a dead worker's out. An empty
// slot has every worker word 0. Open addressing with linear probing from a keyed hash
// (HalfSipHash, so chosen hashes can't build long chains), backward-shift deletion: no tombstones.
// One lock for the table: a WebSocket announce holds it for a lookup of a few slots, far shorter
// than the JSON work around it.

import { randomInt } from 'node:crypto';
import { lock, unlock } from './lock.ts';
import { hashInfoHash } from '../protocol/siphash.ts';
import { MAX_WORKER_PEERS } from '../config/config.ts';

const LOCK = 0;
const USED = 1;
const K0 = 2;
const K1 = 3;
const HEADER = 4;
const KEY_WORDS = 5;
/** `limit`: the most swarms it takes (ws.max_swarms); its slots are at least twice that. */
export type WsSwarmsShared = { buffer: SharedArrayBuffer; capacity: number; workers: number; limit: number };

/** A table for at most `swarms` swarms (kept at most half full) and `workers` workers. */
export function createWsSwarms(swarms: number, workers: number): WsSwarmsShared {
  const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, swarms * 2)));
  const buffer = new SharedArrayBuffer((HEADER + capacity * (KEY_WORDS + workers)) * 4);
  const w = new Int32Array(buffer);
  w[K0] = randomInt(2 ** 31);
  w[K1] = randomInt(2 ** 31);
  return { buffer, capacity, workers, limit: swarms };
}

/** What read() fills in: the totals, and each worker's peers (seeders + leechers). */
export class WsSwarmCounts {
  seeders = 0;
  leechers = 0;
  readonly peersOf: Int32Array;
  constructor(workers: number) {
    this.peersOf = new Int32Array(workers);
  }
}

export class WsSwarms {
  private readonly w: Int32Array;
  private readonly capacity: number;
  private readonly slotWords: number;
  private readonly workers: number;
  /** The most swarms the table takes (ws.max_swarms: at most half its slots). */
  readonly limit: number;

  constructor(shared: WsSwarmsShared) {
    this.w = new Int32Array(shared.buffer);
    this.capacity = shared.capacity;
    this.workers = shared.workers;
    this.slotWords = KEY_WORDS + shared.workers;
    this.limit = shared.limit;
  }

  /** Swarms in the table. */
  get size(): number {
    return Atomics.load(this.w, USED);
  }

  /**
   * Sets `worker`'s seeders and leechers in a swarm. A swarm left with no peers on any worker is
   * removed. Returns false when a new swarm doesn't fit (nothing changed).
   */
  set(hash: Uint8Array, off: number, worker: number, seeders: number, leechers: number): boolean {
    const w = this.w;
    const value = (Math.min(seeders, MAX_WORKER_PEERS) << 16) | Math.min(leechers, MAX_WORKER_PEERS);
    lock(w, LOCK);
    try {
      let s = this.find(hash, off);
      if (s < 0) {
        if (value === 0) return true;
        if (w[USED] >= this.limit) return false;
        s = ~s;
        for (let i = 0; i < KEY_WORDS; i++) w[s + i] = readWord(hash, off + i * 4);
        w[USED]++;
      }
      w[s + KEY_WORDS + worker] = value;
      if (value === 0 && this.isEmpty(s)) this.remove(s);
      return true;
    } finally {
      unlock(w, LOCK);
    }
  }

  /** The counts of a swarm over every worker (zeros when it has no WebSocket peers). */
  read(hash: Uint8Array, off: number, into: WsSwarmCounts): void {
    const w = this.w;
    into.seeders = into.leechers = 0;
    lock(w, LOCK);
    try {
      const s = this.find(hash, off);
      for (let i = 0; i < this.workers; i++) {
        const v = s < 0 ? 0 : w[s + KEY_WORDS + i];
        into.seeders += v >>> 16;
        into.leechers += v & 0xffff;
        into.peersOf[i] = (v >>> 16) + (v & 0xffff);
      }
    } finally {
      unlock(w, LOCK);
    }
  }

  /** Takes a dead worker's peers out of every swarm: its connections died with it. */
  dropWorker(worker: number): void {
    const w = this.w;
    lock(w, LOCK);
    try {
      // A removal shifts later slots back (possibly across the table's end): repeat until clean.
      for (let changed = true; changed;) {
        changed = false;
        for (let i = 0; i < this.capacity; i++) {
          const s = this.slot(i);
          if (w[s + KEY_WORDS + worker] === 0) continue;
          w[s + KEY_WORDS + worker] = 0;
          changed = true;
          if (this.isEmpty(s)) this.remove(s);
        }
      }
    } finally {
      unlock(w, LOCK);
    }
  }

  private slot(i: number): number {
    return HEADER + i * this.slotWords;
  }

  private home(hash: Uint8Array, off: number): number {
    return hashInfoHash(this.w[K0], this.w[K1], hash, off) & (this.capacity - 1);
  }

  /** The slot of the hash, or ~(the empty slot where it would go). */
  private find(hash: Uint8Array, off: number): number {
    const w = this.w;
    for (let i = this.home(hash, off); ; i = (i + 1) & (this.capacity - 1)) {
      const s = this.slot(i);
      if (this.isEmpty(s)) return ~s;
      let k = 0;
      while (k < KEY_WORDS && w[s + k] === readWord(hash, off + k * 4)) k++;
      if (k === KEY_WORDS) return s;
    }
  }

  private isEmpty(s: number): boolean {
    const w = this.w;
    for (let i = 0; i < this.workers; i++) if (w[s + KEY_WORDS + i] !== 0) return false;
    return true;
  }

  /** Empties slot `s` and shifts later members of its probe run back (no tombstones). */
  private remove(s: number): void {
    const w = this.w;
    const n = this.capacity;
    const sw = this.slotWords;
    let hole = (s - HEADER) / sw;
    w.fill(0, s, s + sw);
    w[USED]--;
    for (let i = (hole + 1) & (n - 1); ; i = (i + 1) & (n - 1)) {
      const t = this.slot(i);
      if (this.isEmpty(t)) return;
      const h = this.home(keyBytes(w, t), 0);
      // t stays unless the hole lies cyclically between its home and t.
      const stays = hole <= i ? h > hole && h <= i : h > hole || h <= i;
      if (stays) continue;
      w.copyWithin(this.slot(hole), t, t + sw);
      w.fill(0, t, t + sw);
      hole = i;
    }
  }
}

function readWord(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

const keyScratch = new Uint8Array(20);
/** The 20 key bytes of slot `s` (into a scratch buffer). */
function keyBytes(w: Int32Array, s: number): Uint8Array {
  for (let i = 0; i < 5; i++) {
    const v = w[s + i];
    keyScratch[i * 4] = v >>> 24;
    keyScratch[i * 4 + 1] = (v >>> 16) & 0xff;
    keyScratch[i * 4 + 2] = (v >>> 8) & 0xff;
    keyScratch[i * 4 + 3] = v & 0xff;
  }
  return keyScratch;
}
