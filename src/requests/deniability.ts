// Deniability (the "perfect deniability" the seed documents credit opentracker with; its code
// has no such feature): an opt-in share of every peer list is made of addresses drawn from
// operator-chosen ranges, shuffled in among the real peers, so that appearing in a tracker's
// answer is no proof of taking part. The price: clients spend a few connection attempts on
// addresses that never answer, so keep the share small and the ranges unrouted or your own.

import { addressBytes } from '../net/address.ts';

type Range = { family: number; prefix: Uint8Array; bits: number };

export class Deniability {
  readonly enabled: boolean;
  private readonly percent: number;
  private readonly ranges4: Range[] = [];
  private readonly ranges6: Range[] = [];

  constructor(percent: number, ranges: readonly string[]) {
    this.percent = percent;
    for (const r of ranges) {
      const [text, bits] = r.split('/');
      const prefix = new Uint8Array(16);
      const family = addressBytes(text, prefix);
      (family === 4 ? this.ranges4 : this.ranges6).push({ family, prefix, bits: Number(bits) });
    }
    this.enabled = percent > 0 && ranges.length > 0;
  }

  /**
   * Mixes decoys into the `count` compact peers at out[offset..] (6 bytes each for IPv4, 18 for
   * IPv6), with room for `want`; returns the new count. Below `want`, decoys are added; at `want`,
   * some real peers give way to them.
   */
  mix(out: Uint8Array, offset: number, count: number, want: number, family: number): number {
    const ranges = family === 4 ? this.ranges4 : this.ranges6;
    if (ranges.length === 0 || count === 0) return count;
    const size = family === 4 ? 6 : 18;
    const p = this.percent;
    const added = Math.min(want - count, Math.round((count * p) / (100 - p)));
    const replaced = added > 0 ? 0 : Math.round((count * p) / 100);
    const total = count + added;
    for (let i = 0; i < added + replaced; i++) {
      const slot = added > 0 ? count + i : i; // replaced ones are overwritten before the shuffle
      writeDecoy(out, offset + slot * size, ranges[Math.floor(Math.random() * ranges.length)], size);
    }
    // Shuffle so that decoys don't sit at a telling position.
    const tmp = new Uint8Array(size);
    for (let i = total - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const a = offset + i * size;
      const b = offset + j * size;
      tmp.set(out.subarray(a, a + size));
      out.copyWithin(a, b, b + size);
      out.set(tmp, b);
    }
    return total;
  }
}

function writeDecoy(out: Uint8Array, o: number, range: Range, size: number): void {
  const addressBytesCount = size - 2;
  for (let i = 0; i < addressBytesCount; i++) {
    const fixedBits = Math.min(8, Math.max(0, range.bits - i * 8));
    const mask = (0xff << (8 - fixedBits)) & 0xff;
    out[o + i] = (range.prefix[i] & mask) | (Math.floor(Math.random() * 256) & ~mask & 0xff);
  }
  const port = 1024 + Math.floor(Math.random() * (65536 - 1024));
  out[o + addressBytesCount] = port >> 8;
  out[o + addressBytesCount + 1] = port & 0xff;
}
