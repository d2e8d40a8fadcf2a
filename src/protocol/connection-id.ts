/**
 * Stateless UDP connection IDs (BEP 15), unforgeable and expiring, valid in every worker thread.
 *
 * An ID is 8 bytes:
 *   bytes 0..3  big-endian word W = (issue time in seconds mod 2^31) << 1 | key slot
 *   bytes 4..7  big-endian HalfSipHash-1-3 under that slot's key of (W as 4 LE bytes, client IP bytes)
 * The MAC covers the client address (4 or 16 bytes, its length is part of the hash input) but not the port,
 * so a client may change source ports. check() accepts an ID whose MAC matches and whose age is within the
 * lifetime (up to 5 s in the future is tolerated for clock skew between threads).
 *
 * Keys live in a SharedArrayBuffer (Int32 words) so all workers validate IDs issued by any of them:
 *   [0] current slot (0 or 1)
 *   [1] sequence number of slot 0, [2] of slot 1 (odd while the main thread writes that slot: a seqlock)
 *   [4, 5] key of slot 0 (k0, k1), [6, 7] key of slot 1
 * rotateConnectionIdKey (main thread) writes a fresh key into the unused slot, then makes it current. IDs
 * signed by the previous slot keep validating until the next rotation overwrites that slot, so an ID lives
 * at least one rotation period: rotate every `lifetimeSeconds` or slower and no live ID is ever refused.
 */

import { randomFillSync } from 'node:crypto';
import { halfSipHash } from './siphash.ts';

const CURRENT = 0;
const SEQ = 1; // + slot
const KEY = 4; // + 2 * slot
const WORDS = 8;

/** Tolerated clock skew for an ID "from the future", in seconds. */
const MAX_SKEW = 5;

/** Creates the shared key block with two random keys, slot 0 current. */
export function createConnectionIdKeys(): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(WORDS * 4);
  const w = new Int32Array(sab);
  const r = new Int32Array(4);
  randomFillSync(r);
  for (let i = 0; i < 4; i++) Atomics.store(w, KEY + i, r[i]);
  return sab;
}

/** Main thread: writes a fresh random key into the unused slot (seqlock), then makes that slot current. */
export function rotateConnectionIdKey(keys: SharedArrayBuffer): void {
  const w = new Int32Array(keys);
  const next = Atomics.load(w, CURRENT) ^ 1;
  const r = new Int32Array(2);
  randomFillSync(r);
  Atomics.add(w, SEQ + next, 1); // odd: being written
  Atomics.store(w, KEY + 2 * next, r[0]);
  Atomics.store(w, KEY + 2 * next + 1, r[1]);
  Atomics.add(w, SEQ + next, 1); // even: stable
  Atomics.store(w, CURRENT, next);
}

export class ConnectionIds {
  private readonly w: Int32Array;
  private readonly lifetime: number;
  /** MAC input: W (4 bytes LE) then up to 16 address bytes. */
  private readonly msg = new Uint8Array(20);
  private k0 = 0;
  private k1 = 0;
  /** Per slot: the key last read and the (even) sequence number it was read under; -1 = none. */
  private readonly cache = new Int32Array([0, 0, -1, 0, 0, -1]);

  constructor(keys: SharedArrayBuffer, lifetimeSeconds: number) {
    this.w = new Int32Array(keys);
    this.lifetime = lifetimeSeconds;
  }

  /**
   * Loads slot's key into k0/k1 without ever mixing two keys (seqlock); false if the main thread keeps
   * writing it. While the slot's sequence number is the one a cached copy was read under, the key has not
   * changed, so the common case costs one atomic load.
   */
  private loadKey(slot: number): boolean {
    const w = this.w;
    const c = this.cache;
    const at = slot * 3;
    const seq = Atomics.load(w, SEQ + slot);
    if (seq === c[at + 2]) {
      this.k0 = c[at];
      this.k1 = c[at + 1];
      return true;
    }
    for (let tries = 0; tries < 100; tries++) {
      const s1 = Atomics.load(w, SEQ + slot);
      if ((s1 & 1) !== 0) continue;
      const k0 = Atomics.load(w, KEY + 2 * slot);
      const k1 = Atomics.load(w, KEY + 2 * slot + 1);
      if (Atomics.load(w, SEQ + slot) !== s1) continue;
      this.k0 = c[at] = k0;
      this.k1 = c[at + 1] = k1;
      c[at + 2] = s1;
      return true;
    }
    return false;
  }

  private mac(word: number, ip: Uint8Array, ipOff: number, ipLen: number): number {
    const m = this.msg;
    m[0] = word;
    m[1] = word >>> 8;
    m[2] = word >>> 16;
    m[3] = word >>> 24;
    for (let i = 0; i < ipLen; i++) m[4 + i] = ip[ipOff + i];
    return halfSipHash(this.k0, this.k1, m, 0, 4 + ipLen);
  }

  /** Writes a fresh 8-byte ID for the client address ip[ipOff, ipOff+ipLen) at out[off, off+8). */
  write(out: Buffer, off: number, ip: Uint8Array, ipOff: number, ipLen: 4 | 16, nowSeconds: number): void {
    let slot = Atomics.load(this.w, CURRENT) & 1;
    if (!this.loadKey(slot)) {
      // never expected (the current slot is not written), but stay consistent: sign with the other one
      slot ^= 1;
      this.loadKey(slot);
    }
    const word = ((nowSeconds & 0x7fffffff) << 1) | slot; // int32 (no boxing if passed on)
    const mac = this.mac(word, ip, ipOff, ipLen);
    out[off] = word >>> 24;
    out[off + 1] = word >>> 16;
    out[off + 2] = word >>> 8;
    out[off + 3] = word;
    out[off + 4] = mac >>> 24;
    out[off + 5] = mac >>> 16;
    out[off + 6] = mac >>> 8;
    out[off + 7] = mac;
  }

  /**
   * Whether buf[off, off+8) is an ID this tracker issued to this client address, no older than the lifetime
   * and no more than 5 s in the future. False for forged or corrupted IDs, another address, expired IDs, and
   * IDs whose key slot has since been rotated out twice.
   */
  check(buf: Buffer, off: number, ip: Uint8Array, ipOff: number, ipLen: 4 | 16, nowSeconds: number): boolean {
    const word = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]; // int32
    const age = ((nowSeconds & 0x7fffffff) - (word >>> 1)) & 0x7fffffff; // mod 2^31
    if (age > this.lifetime && age < 0x80000000 - MAX_SKEW) return false;
    if (!this.loadKey(word & 1)) return false;
    const mac = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]; // int32, as mac()
    return this.mac(word, ip, ipOff, ipLen) === mac;
  }
}
