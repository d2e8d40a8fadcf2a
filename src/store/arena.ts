// The arena: one growable SharedArrayBuffer holding every torrent table and peer list, addressed
// by word (4-byte) offsets so that all threads agree on every reference. Blocks come in
// power-of-two sizes with a free list per size, under one allocator lock (allocation is rare next
// to lookups: it happens when a table or a peer list outgrows its block).
//
// Each thread reads the arena through *fixed-length* typed-array views: V8 optimises those as well
// as views on plain buffers, while length-tracking views on growable buffers run ~10x slower. When
// another thread grows the arena, the shared size word changes and `refresh()` makes new views.

import { lock, unlock } from './lock.ts';
import { pageRelease } from './release-pages.ts';

// Layout of the control words (an Int32Array on its own SharedArrayBuffer).
const C_LOCK = 0;
const C_SIZE = 1; // arena size in words (what has been grown)
const C_TOP = 2; // first never-allocated word
const C_USED = 3; // words in live blocks
const C_FAILED = 4; // allocations refused by the memory limit
const C_RELEASED = 5; // KiB of freed blocks given back to the kernel
const C_FREE = 8; // free-list heads, one per size class
const MIN_CLASS = 1; // 2 words
const MAX_CLASS = 30; // 2^30 words = 4 GiB
const CONTROL_WORDS = C_FREE + MAX_CLASS + 1;

const INITIAL_BYTES = 16 << 20;
/** Freed blocks this large (8 KiB) or larger give their whole pages back, when the addon is there. */
const RELEASE_CLASS = 11;
const MIN_GROWTH_BYTES = 16 << 20;

export interface ArenaShared {
  readonly buffer: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
}

export function createArenaShared(maxBytes: number): ArenaShared {
  const max = Math.max(INITIAL_BYTES, Math.floor(maxBytes / 4) * 4);
  const buffer = new SharedArrayBuffer(Math.min(INITIAL_BYTES, max), { maxByteLength: max });
  const control = new SharedArrayBuffer(CONTROL_WORDS * 4);
  const c = new Int32Array(control);
  c[C_SIZE] = buffer.byteLength / 4;
  c[C_TOP] = 2; // offset 0 means "no block"; keep blocks 2-word aligned
  return { buffer, control };
}

/** Size class (log2 of the block's words) that holds `words`. */
export function sizeClass(words: number): number {
  let c = MIN_CLASS;
  while (1 << c < words) c++;
  return c;
}

export class Arena {
  private readonly ctl: Int32Array;
  private readonly buffer: SharedArrayBuffer;
  /** Words of the arena as this thread sees them; valid up to `words.length`. */
  words: Uint32Array;
  bytes: Uint8Array;

  constructor(shared: ArenaShared) {
    this.buffer = shared.buffer;
    this.ctl = new Int32Array(shared.control);
    this.words = new Uint32Array(0);
    this.bytes = new Uint8Array(0);
    this.refresh();
  }

  /** Re-make the views if another thread grew the arena. Call before following any offset. */
  refresh(): void {
    const size = Atomics.load(this.ctl, C_SIZE) >>> 0;
    if (size === this.words.length) return;
    this.words = new Uint32Array(this.buffer, 0, size);
    this.bytes = new Uint8Array(this.buffer, 0, size * 4);
  }

  /** Allocates a block of 2^cls words; returns its offset, or 0 when the memory limit is reached. */
  alloc(cls: number): number {
    const ctl = this.ctl;
    lock(ctl, C_LOCK);
    try {
      this.refresh();
      let block = ctl[C_FREE + cls] >>> 0;
      if (block !== 0) {
        ctl[C_FREE + cls] = this.words[block];
      } else {
        block = this.split(cls);
        if (block === 0) {
          const n = 2 ** cls;
          const top = ctl[C_TOP] >>> 0;
          if (top + n > ctl[C_SIZE] >>> 0 && !this.grow(top + n)) {
            ctl[C_FAILED]++;
            return 0;
          }
          ctl[C_TOP] = top + n;
          block = top;
        }
      }
      ctl[C_USED] = (ctl[C_USED] >>> 0) + 2 ** cls;
      return block;
    } finally {
      unlock(ctl, C_LOCK);
    }
  }

  /**
   * A block of class `cls` cut from the smallest larger free block, whose other halves go to the
   * free lists; 0 when there is none. Tables double in step as swarms fill up and leave their
   * old blocks behind: this hands those to the peer lists and tables that come next. Under the lock.
   */
  private split(cls: number): number {
    const ctl = this.ctl;
    let c = cls + 1;
    while (c <= MAX_CLASS && ctl[C_FREE + c] === 0) c++;
    if (c > MAX_CLASS) return 0;
    const block = ctl[C_FREE + c] >>> 0;
    ctl[C_FREE + c] = this.words[block];
    for (let k = c - 1; k >= cls; k--) {
      const half = block + 2 ** k;
      this.words[half] = ctl[C_FREE + k];
      ctl[C_FREE + k] = half;
    }
    return block;
  }

  free(block: number, cls: number): void {
    const ctl = this.ctl;
    lock(ctl, C_LOCK);
    this.refresh();
    if (cls >= RELEASE_CLASS && pageRelease.release !== null) {
      // Everything but the first page, which keeps the free-list link.
      const released = pageRelease.release(this.bytes.subarray(block * 4 + 4, (block + 2 ** cls) * 4));
      ctl[C_RELEASED] += released / 1024;
    }
    this.words[block] = ctl[C_FREE + cls];
    ctl[C_FREE + cls] = block;
    ctl[C_USED] = (ctl[C_USED] >>> 0) - 2 ** cls;
    unlock(ctl, C_LOCK);
  }

  /** Called under the allocator lock. */
  private grow(neededWords: number): boolean {
    const max = this.buffer.maxByteLength;
    const current = this.buffer.byteLength;
    let target = Math.max(neededWords * 4, current + Math.max(MIN_GROWTH_BYTES, current >>> 2));
    target = Math.min(Math.ceil(target / 65536) * 65536, max);
    if (target < neededWords * 4) return false;
    try {
      this.buffer.grow(target);
    } catch {
      return false; // the system refused the memory: treat as the limit
    }
    Atomics.store(this.ctl, C_SIZE, target / 4);
    this.refresh();
    return true;
  }

  stats(): { sizeBytes: number; usedBytes: number; limitBytes: number; failedAllocations: number; releasedBytes: number } {
    return {
      sizeBytes: this.buffer.byteLength,
      usedBytes: (Atomics.load(this.ctl, C_USED) >>> 0) * 4,
      limitBytes: this.buffer.maxByteLength,
      failedAllocations: Atomics.load(this.ctl, C_FAILED),
      releasedBytes: (Atomics.load(this.ctl, C_RELEASED) >>> 0) * 1024,
    };
  }
}
