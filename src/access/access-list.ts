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
//
// Takedown notices (src/notices/) add a second table of the same layout, the blocked hashes, with
// one more word per key after the keys: the index of the notice that blocks it (into `reasons`).
// A blocked hash is refused whatever the list says: a block wins over a whitelist.

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

/** The hashes blocked by takedown notices (src/notices/registry.ts builds it). Structured-clonable. */
export type BlockState = {
  /** Increases with every version published. */
  generation: number;
  count: number;
  bits: number;
  /** The bucket index, the sorted keys, then one notice index per key. */
  buffer: SharedArrayBuffer;
  /** The failure reason of each notice index ("blocked by takedown notice ID"). */
  reasons: string[];
};

const MAX_BITS = 20;

/** announceRefusal(): the announce may go on... */
export const ANNOUNCE_ALLOWED = -1;
/** ...or the access list refuses it (a notice index, >= 0, means a takedown block refuses it). */
export const ANNOUNCE_NOT_LISTED = -2;

/** Bucket index size for `count` keys: about four keys per bucket (the index stays small enough to be cached). */
export function indexBits(count: number): number {
  return Math.max(1, Math.min(MAX_BITS, Math.floor(Math.log2(Math.max(1, count))) - 2));
}

/**
 * Builds a table from `count` sorted, unique keys. The buffer is new and never written again once
 * this returns.
 */
export function buildState(mode: AccessMode, generation: number, keys: Int32Array, count: number): AccessState {
  return { mode, generation, ...buildTable(keys, count, 0) };
}

/**
 * Builds the blocked-hashes table from `count` sorted, unique keys and the notice index of each
 * (`notices[i]` for key i, an index into `reasons`).
 */
export function buildBlockState(generation: number, keys: Int32Array, notices: Int32Array, count: number, reasons: string[]): BlockState {
  const table = buildTable(keys, count, count);
  new Int32Array(table.buffer, (2 ** table.bits + 1 + count * KEY_WORDS) * 4, count).set(notices.subarray(0, count));
  return { generation, ...table, reasons };
}

/** The index and the keys (and `extraWords` left for the caller after them) in a new shared buffer. */
function buildTable(keys: Int32Array, count: number, extraWords: number): { count: number; bits: number; buffer: SharedArrayBuffer } {
  const bits = indexBits(count);
  const buckets = 2 ** bits;
  const buffer = new SharedArrayBuffer((buckets + 1 + count * KEY_WORDS + extraWords) * 4);
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
  return { count, bits, buffer };
}

/** The keys of a table (a view, not a copy). */
export function stateKeys(state: AccessState): Int32Array {
  return new Int32Array(state.buffer, (2 ** state.bits + 1) * 4, state.count * KEY_WORDS);
}

const OPEN = 0;
const WHITE = 1;
const BLACK = 2;
const EMPTY = new Int32Array(2);

/** One published table as a thread reads it: binary search within the key's bucket. */
class SortedTable {
  index: Int32Array = EMPTY;
  keys: Int32Array = EMPTY;
  shift = 31;

  set(state: { count: number; bits: number; buffer: SharedArrayBuffer } | null): void {
    if (state === null) {
      this.index = EMPTY;
      this.keys = EMPTY;
      this.shift = 31;
      return;
    }
    const buckets = 2 ** state.bits;
    this.index = new Int32Array(state.buffer, 0, buckets + 1);
    this.keys = new Int32Array(state.buffer, (buckets + 1) * 4, state.count * KEY_WORDS);
    this.shift = 32 - state.bits;
  }

  /** The position of the hash at hash[off] among the keys, or -1. */
  find(hash: Uint8Array, off: number): number {
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
      if (c === 0) return m;
      if (c < 0) hi = m;
      else lo = m + 1;
    }
    return -1;
  }
}

/** Worker side: answers "may this info hash be tracked?" from the current tables. */
export class AccessList {
  private kind = OPEN;
  private readonly list = new SortedTable();
  private gen = 0;
  private readonly blocks = new SortedTable();
  private blockCount = 0;
  private blockNotices: Int32Array = EMPTY;
  private reasons: string[] = [];
  private reasonBytes: Buffer[] = [];

  /** `null`: no list configured, every hash is allowed (unless blocked). */
  constructor(state: AccessState | null, blocks: BlockState | null = null) {
    this.update(state);
    this.updateBlocks(blocks);
  }

  /** The generation of the table in use (0 without a list). */
  get generation(): number {
    return this.gen;
  }

  /** Swaps to a new table. Call it from the worker's message handler (between requests). */
  update(state: AccessState | null): void {
    this.list.set(state);
    this.kind = state === null ? OPEN : state.mode === 'whitelist' ? WHITE : BLACK;
    this.gen = state?.generation ?? 0;
  }

  /** Swaps to a new table of blocked hashes (null: none). Between requests, as update(). */
  updateBlocks(state: BlockState | null): void {
    this.blocks.set(state);
    this.blockCount = state?.count ?? 0;
    this.blockNotices = state === null ? EMPTY : new Int32Array(state.buffer, (2 ** state.bits + 1 + state.count * KEY_WORDS) * 4, state.count);
    this.reasons = state?.reasons ?? [];
    this.reasonBytes = this.reasons.map((r) => Buffer.from(r, 'latin1'));
  }

  /** Whether the 20-byte info hash at hash[off] may be announced. Allocates nothing. */
  allows(hash: Uint8Array, off: number): boolean {
    if (this.blockCount > 0 && this.blocks.find(hash, off) >= 0) return false;
    const kind = this.kind;
    if (kind === OPEN) return true;
    return this.listed(hash, off) === (kind === WHITE);
  }

  /** Whether the hash at hash[off] is in the list's table (whatever the mode). */
  listed(hash: Uint8Array, off: number): boolean {
    return this.list.find(hash, off) >= 0;
  }

  /**
   * Whether an announce of the hash at hash[off] is refused, for HTTP and UDP alike: a takedown
   * block refuses every announce, even a stop (the swarm is gone, and nothing of it is answered);
   * the access list refuses all but stops, which only ever remove a peer (as opentracker).
   * ANNOUNCE_ALLOWED, ANNOUNCE_NOT_LISTED, or the blocking notice (an index for blockReason()).
   */
  announceRefusal(hash: Uint8Array, off: number, stopped: boolean): number {
    if (this.allows(hash, off)) return ANNOUNCE_ALLOWED;
    const notice = this.blockedBy(hash, off);
    if (notice >= 0) return notice;
    return stopped ? ANNOUNCE_ALLOWED : ANNOUNCE_NOT_LISTED;
  }

  /** The notice blocking the hash at hash[off] (an index for blockReason()), or -1. */
  blockedBy(hash: Uint8Array, off: number): number {
    if (this.blockCount === 0) return -1;
    const k = this.blocks.find(hash, off);
    return k < 0 ? -1 : this.blockNotices[k]!;
  }

  /** The failure reason for blockedBy()'s notice, as text... */
  blockReason(notice: number): string {
    return this.reasons[notice]!;
  }

  /** ...and as bytes (built once per table, for UDP error packets). */
  blockReasonBytes(notice: number): Buffer {
    return this.reasonBytes[notice]!;
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
