// One full scrape per client address per interval (opentracker's WANT_MODEST_FULLSCRAPES), over
// every worker at once.
//
// opentracker keeps a sorted vector of {address, time} that only ever grows, and answers a client
// that comes back too soon with "402 Payment Required". Here the table lives in shared memory, so
// one client can't get a full scrape from every worker in turn (the kernel spreads connections
// over the workers), has a fixed size, and forgets an address once its interval is over: a slot
// whose time is past is free again. It is set-associative: an address hashes (keyed HalfSipHash,
// so nobody can aim at one set) to a set of 8 slots; when all 8 hold addresses still inside their
// interval, the one that scraped longest ago is dropped, so a flood of distinct addresses can
// shorten the wait of others but never grows memory. Callers answer 429 with Retry-After.
//
// IPv4 addresses count one by one; IPv6 addresses count by /64, since one subscriber usually has a
// whole /64 and would otherwise get 2^64 full scrapes per interval.

import { randomFillSync } from 'node:crypto';
import { lock, unlock } from '../store/lock.ts';
import { halfSipHash } from '../protocol/siphash.ts';

const WAYS = 8;
const SLOT_WORDS = 4; // [key0, key1, key2 (family), time in seconds + 1; 0 = empty]
const HEADER_WORDS = 4; // [lock, k0, k1, sets]
const H_LOCK = 0;
const H_K0 = 1;
const H_K1 = 2;
const H_SETS = 3;
export const DEFAULT_LIMITER_SLOTS = 32768;

export class FullScrapeLimiter {
  readonly shared: SharedArrayBuffer;
  /** Seconds between two full scrapes of one address; 0 = no limit. */
  readonly interval: number;
  private readonly words: Int32Array;
  private readonly sets: number;
  private readonly k0: number;
  private readonly k1: number;
  private readonly key = new Uint8Array(12);
  private readonly keyWords = new Int32Array(this.key.buffer);

  /** Shared memory for a limiter of about `slots` addresses (rounded up to a power of two, at least 8). */
  static createShared(slots: number = DEFAULT_LIMITER_SLOTS): SharedArrayBuffer {
    let sets = 1;
    while (sets * WAYS < slots) sets *= 2;
    const shared = new SharedArrayBuffer((HEADER_WORDS + sets * WAYS * SLOT_WORDS) * 4);
    const w = new Int32Array(shared);
    const k = new Int32Array(2);
    randomFillSync(k);
    w[H_K0] = k[0];
    w[H_K1] = k[1];
    w[H_SETS] = sets;
    return shared;
  }

  /**
   * A limiter over `shared` (from `createShared`, the same buffer in every worker), or over a
   * table of its own when none is given.
   */
  constructor(intervalSeconds: number, shared: SharedArrayBuffer = FullScrapeLimiter.createShared()) {
    this.interval = intervalSeconds;
    this.shared = shared;
    this.words = new Int32Array(shared);
    this.sets = this.words[H_SETS];
    this.k0 = this.words[H_K0];
    this.k1 = this.words[H_K1];
  }

  /**
   * Asks for a full scrape for the client at `address[offset]` (4 bytes for family 4, 16 for 6).
   * Returns 0 when it may have one (and notes the time), else the whole seconds to wait
   * (at least 1: the Retry-After value).
   */
  check(family: number, address: Uint8Array, offset: number, nowMs: number = Date.now()): number {
    if (this.interval <= 0) return 0;
    const k = this.key;
    k.fill(0);
    if (family === 4) {
      k.set(address.subarray(offset, offset + 4), 0);
      k[8] = 4;
    } else {
      k.set(address.subarray(offset, offset + 8), 0); // the /64
      k[8] = 6;
    }
    const key0 = this.keyWords[0];
    const key1 = this.keyWords[1];
    const key2 = this.keyWords[2];
    const now = Math.floor(nowMs / 1000) + 1; // + 1: 0 marks an empty slot
    const set = (halfSipHash(this.k0, this.k1, k, 0, 12) >>> 0) & (this.sets - 1);
    const base = HEADER_WORDS + set * WAYS * SLOT_WORDS;
    const W = this.words;
    lock(W, H_LOCK);
    try {
      let free = -1;
      let oldest = base;
      for (let i = 0; i < WAYS; i++) {
        const p = base + i * SLOT_WORDS;
        const t = W[p + 3];
        const live = t !== 0 && now - t < this.interval;
        if (live && W[p] === key0 && W[p + 1] === key1 && W[p + 2] === key2) {
          return Math.min(this.interval, this.interval - (now - t)); // min: the clock went back
        }
        if (!live) {
          if (free < 0) free = p;
        } else if (t < W[oldest + 3]) oldest = p;
      }
      const p = free >= 0 ? free : oldest;
      W[p] = key0;
      W[p + 1] = key1;
      W[p + 2] = key2;
      W[p + 3] = now;
      return 0;
    } finally {
      unlock(W, H_LOCK);
    }
  }

  /** Addresses still inside their interval (a walk over the table, for stats). */
  size(nowMs: number = Date.now()): number {
    const now = Math.floor(nowMs / 1000) + 1;
    const W = this.words;
    let n = 0;
    for (let p = HEADER_WORDS; p < W.length; p += SLOT_WORDS) {
      const t = W[p + 3];
      if (t !== 0 && now - t < this.interval) n++;
    }
    return n;
  }

  /** Slots in the table: the most addresses remembered at once. */
  capacity(): number {
    return this.sets * WAYS;
  }
}
