// The info-hash access list as the workers see it: one immutable table per version, in a
// SharedArrayBuffer built once by the main thread (access-manager.ts) and read by every thread.
//
// Table layout (int32 words):
//   [0, 2^bits]             bucket index: keys whose top `bits` bits are b are keys[index[b], index[b+1])
//   [2^bits + 1, + 5*count) the keys, sorted (hashes.ts: five sign-flipped big-endian words each)
//
// A change never touches a published table: the main thread builds a new buffer and posts a new
// AccessState; each worker swaps its reference in update(), which runs on the worker's own event
// loop, between requests, so a lookup only ever sees one whole table.

import { KEY_WORDS, SIGN } from './hashes.ts';

export type AccessMode = 'whitelist' | 'blacklist';

/** One version of the list. Structured-clonable: post it to workers as is (the buffer is shared, not copied). */
export type AccessState = {
  /** whitelist: only listed hashes are allowed; blacklist: listed hashes are refused. */
  mode: AccessMode;
  /** Increases with every version the manager publishes (1 = the first). */
  generation: number;
  /** Hashes in the table. */
  count: number;
  /** Bits of the bucket index (1..20). */
  bits: number;
  buffer: SharedArrayBuffer;
};

const MAX_BITS = 20;

/** Bucket index size for `count` keys: about four keys per bucket (the index stays small enough to be cached). */
export function indexBits(count: number): number {
  return Math.max(1, Math.min(MAX_BITS, Math.floor(Math.log2(Math.max(1, count))) - 2));
}

/**
 * Builds a table from `count` sorted, unique keys. The buffer is new and never written again once
 * this returns.
 */
export function buildState(mode: AccessMode, generation: number, keys: Int32Array, count: number): AccessState {
  const bits = indexBits(count);
  const buckets = 2 ** bits;
  const buffer = new SharedArrayBuffer((buckets + 1 + count * KEY_WORDS) * 4);
  const index = new Int32Array(buffer, 0, buckets + 1);
  const table = new Int32Array(buffer, (buckets + 1) * 4, count * KEY_WORDS);
  table.set(keys.subarray(0, count * KEY_WORDS));
  const shift = 32 - bits;
  let b = 0;
  for (let i = 0; i < count; i++) {
    const kb = (table[i * KEY_WORDS]! ^ SIGN) >>> shift;
    while (b <= kb) index[b++] = i;
  }
  while (b <= buckets) index[b++] = count;
  return { mode, generation, count, bits, buffer };
}

/** The keys of a table (a view, not a copy). */
export function stateKeys(state: AccessState): Int32Array {
  return new Int32Array(state.buffer, (2 ** state.bits + 1) * 4, state.count * KEY_WORDS);
}

const OPEN = 0;
const WHITE = 1;
const BLACK = 2;
const EMPTY = new Int32Array(2);

/** Worker side: answers "may this info hash be tracked?" from the current table. */
export class AccessList {
  private kind = OPEN;
  private index: Int32Array = EMPTY;
  private keys: Int32Array = EMPTY;
  private shift = 31;
  private gen = 0;

  /** `null`: no list configured, every hash is allowed. */
  constructor(state: AccessState | null) {
    this.update(state);
  }

  /** The generation of the table in use (0 without a list). */
  get generation(): number {
    return this.gen;
  }

  /** Swaps to a new table. Call it from the worker's message handler (between requests). */
  update(state: AccessState | null): void {
    if (state === null) {
      this.kind = OPEN;
      this.index = EMPTY;
      this.keys = EMPTY;
      this.shift = 31;
      this.gen = 0;
      return;
    }
    const buckets = 2 ** state.bits;
    this.index = new Int32Array(state.buffer, 0, buckets + 1);
    this.keys = new Int32Array(state.buffer, (buckets + 1) * 4, state.count * KEY_WORDS);
    this.shift = 32 - state.bits;
    this.kind = state.mode === 'whitelist' ? WHITE : BLACK;
    this.gen = state.generation;
  }

  /** Whether the 20-byte info hash at hash[off] may be announced. Allocates nothing. */
  allows(hash: Uint8Array, off: number): boolean {
    const kind = this.kind;
    if (kind === OPEN) return true;
    return this.listed(hash, off) === (kind === WHITE);
  }

  /** Whether the hash at hash[off] is in the table (whatever the mode). */
  listed(hash: Uint8Array, off: number): boolean {
    const word = (hash[off]! << 24) | (hash[off + 1]! << 16) | (hash[off + 2]! << 8) | hash[off + 3]!;
    const b = word >>> this.shift;
    const w0 = word ^ SIGN;
    const keys = this.keys;
    let lo = this.index[b]!;
    let hi = this.index[b + 1]!;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      const k = m * KEY_WORDS;
      const kw = keys[k]!;
      let c: number;
      if (w0 < kw) c = -1;
      else if (w0 > kw) c = 1;
      else c = compareTail(hash, off, keys, k);
      if (c === 0) return true;
      if (c < 0) hi = m;
      else lo = m + 1;
    }
    return false;
  }
}

/** Compares words 1..4 of the hash at hash[off] with key words keys[k+1..k+4]. */
function compareTail(hash: Uint8Array, off: number, keys: Int32Array, k: number): number {
  for (let w = 1; w < KEY_WORDS; w++) {
    const p = off + w * 4;
    const x = ((hash[p]! << 24) | (hash[p + 1]! << 16) | (hash[p + 2]! << 8) | hash[p + 3]!) ^ SIGN;
    const y = keys[k + w]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
