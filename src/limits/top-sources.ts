// The sources that went over budget most, for /stats and /metrics: a Space-Saving heavy-hitters table
// (Metwally, Agrawal, El Abbadi 2005) of a fixed number of entries in shared memory, written by every
// worker. Any source with more than total/capacity reports is in it, and each count overstates the
// true one by at most the entry's `error`. Writes take a mutex (src/store/lock.ts): they happen only
// for requests that are dropped anyway, so the lock is off the answering path. decay() halves every
// count (the stats thread calls it every minute), so the table shows who floods now, not who did once.

import { lock, unlock } from '../store/lock.ts';

/** Int32 words: [0] the mutex, [1] the capacity; then per entry: hash, family, 4 address words. */
const I_LOCK = 0;
const I_CAPACITY = 1;
const I_HEADER = 2;
const I_ENTRY = 6;
/** Float64 per entry: count, error, first report (ms), last report (ms). */
const F_ENTRY = 4;

/** Where the doubles start: after the ints, at a multiple of 8. */
function floatsAt(capacity: number): number {
  return Math.ceil((4 * (I_HEADER + I_ENTRY * capacity)) / 8) * 8;
}

export type TopSource = {
  family: number;
  /** 4 bytes for IPv4; the /64 (8 bytes, the rest zero) for IPv6. */
  address: Buffer;
  count: number;
  /** The count may overstate the source's reports by up to this much. */
  error: number;
  firstMs: number;
  lastMs: number;
};

export class TopSources {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly words: Int32Array;
  /** The same words as bytes (addresses are compared and copied here). */
  private readonly bytes: Uint8Array;
  private readonly nums: Float64Array;

  /** A new table of `capacity` entries, or a view of one made elsewhere (given its buffer). */
  constructor(from: number | SharedArrayBuffer) {
    let capacity: number;
    if (typeof from === 'number') {
      if (!(from >= 1 && from <= 1024)) throw new RangeError(`capacity ${from}: 1 to 1024`);
      capacity = from;
      this.buffer = new SharedArrayBuffer(floatsAt(capacity) + 8 * F_ENTRY * capacity);
      new Int32Array(this.buffer)[I_CAPACITY] = capacity;
    } else {
      this.buffer = from;
      capacity = new Int32Array(from)[I_CAPACITY];
    }
    this.capacity = capacity;
    this.words = new Int32Array(this.buffer, 0, I_HEADER + I_ENTRY * capacity);
    this.bytes = new Uint8Array(this.buffer, 0, 4 * (I_HEADER + I_ENTRY * capacity));
    this.nums = new Float64Array(this.buffer, floatsAt(capacity), F_ENTRY * capacity);
  }

  /** One over-budget report for a source (`hash` is its keyed hash, which tells entries apart fast). */
  report(family: number, addr: Uint8Array, off: number, hash: number, nowMs: number): void {
    const w = this.words;
    const n = this.nums;
    const len = family === 4 ? 4 : 8;
    lock(w, I_LOCK);
    try {
      let min = 0;
      for (let e = 0; e < this.capacity; e++) {
        const wi = I_HEADER + e * I_ENTRY;
        const fi = e * F_ENTRY;
        if (n[fi] === 0) {
          this.put(e, family, addr, off, len, hash, 0, nowMs);
          return;
        }
        if (w[wi] === hash && w[wi + 1] === family && this.sameAddress(wi, addr, off, len)) {
          n[fi]++;
          n[fi + 3] = nowMs;
          return;
        }
        if (n[fi] < n[min * F_ENTRY]) min = e;
      }
      // full: the least counted entry makes way, and the newcomer inherits its count as error
      this.put(min, family, addr, off, len, hash, n[min * F_ENTRY], nowMs);
    } finally {
      unlock(w, I_LOCK);
    }
  }

  /** Halves every count and error; entries that reach zero are freed. */
  decay(): void {
    lock(this.words, I_LOCK);
    try {
      for (let e = 0; e < this.capacity; e++) {
        const fi = e * F_ENTRY;
        this.nums[fi] = Math.floor(this.nums[fi] / 2);
        this.nums[fi + 1] = Math.floor(this.nums[fi + 1] / 2);
      }
    } finally {
      unlock(this.words, I_LOCK);
    }
  }

  /** The entries, most reports first, at most `limit`. */
  list(limit = this.capacity): TopSource[] {
    const out: TopSource[] = [];
    lock(this.words, I_LOCK);
    try {
      for (let e = 0; e < this.capacity; e++) {
        const wi = I_HEADER + e * I_ENTRY;
        const fi = e * F_ENTRY;
        if (this.nums[fi] === 0) continue;
        const family = this.words[wi + 1];
        const address = Buffer.alloc(family === 4 ? 4 : 16);
        address.set(this.bytes.subarray(4 * (wi + 2), 4 * (wi + 2) + (family === 4 ? 4 : 8)));
        out.push({ family, address, count: this.nums[fi], error: this.nums[fi + 1], firstMs: this.nums[fi + 2], lastMs: this.nums[fi + 3] });
      }
    } finally {
      unlock(this.words, I_LOCK);
    }
    out.sort((a, b) => b.count - a.count || b.lastMs - a.lastMs);
    return out.slice(0, limit);
  }

  private sameAddress(wi: number, addr: Uint8Array, off: number, len: number): boolean {
    const at = 4 * (wi + 2);
    for (let i = 0; i < len; i++) if (this.bytes[at + i] !== addr[off + i]) return false;
    return true;
  }

  private put(e: number, family: number, addr: Uint8Array, off: number, len: number, hash: number, error: number, nowMs: number): void {
    const wi = I_HEADER + e * I_ENTRY;
    const fi = e * F_ENTRY;
    this.words[wi] = hash;
    this.words[wi + 1] = family;
    const at = 4 * (wi + 2);
    this.bytes.fill(0, at, at + 16);
    for (let i = 0; i < len; i++) this.bytes[at + i] = addr[off + i];
    this.nums[fi] = error + 1;
    this.nums[fi + 1] = error;
    this.nums[fi + 2] = nowMs;
    this.nums[fi + 3] = nowMs;
  }
}
