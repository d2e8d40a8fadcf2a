// Info-hash list files (opentracker's format) and sorted key arrays.
//
// A key is one 20-byte info hash stored as five int32 words, each the big-endian value of four
// bytes with its top bit flipped (`^ 0x80000000`), so signed comparison of words is unsigned
// comparison of bytes and a sorted key array is in byte order. Words stay int32 (never boxed).
//
// File format, as opentracker's: a line counts when its first 40 characters are hex digits
// (either case) and the 41st is not a hex digit (or the line ends there); the rest of the line is
// ignored. Blank lines and lines starting with `#` are comments; any other line is junk: counted
// and reported, never fatal.

import { HEX_VALUE } from '../text/hex.ts';

/** Words per key (20 bytes). */
export const KEY_WORDS = 5;
/** XORed into each big-endian word so that signed order is unsigned order. */
export const SIGN = 0x80000000 | 0;
/** Line numbers of junk lines kept for the report. */
export const JUNK_REPORTED = 10;

const NL = 10;

/** True if bytes[at, at+40) are hex digits and bytes[at+40] (before `end`) is not one. */
export function isHashLine(bytes: Uint8Array, at: number, end: number): boolean {
  if (end - at < 40) return false;
  for (let i = at; i < at + 40; i++) if (HEX_VALUE[bytes[i]!]! < 0) return false;
  return at + 40 === end || HEX_VALUE[bytes[at + 40]!]! < 0;
}

/** Writes the key of a 40-hex-digit string (either case) as key `k` of `keys`; throws on anything else. */
export function keyFromHex(hex: string, keys: Int32Array = new Int32Array(KEY_WORDS), k = 0): Int32Array {
  let bad = hex.length === 40 ? 0 : -1;
  for (let w = 0; w < KEY_WORDS && bad >= 0; w++) {
    let v = 0;
    for (let i = w * 8; i < w * 8 + 8; i++) {
      const c = hex.charCodeAt(i);
      const d = c < 256 ? HEX_VALUE[c]! : -1;
      bad |= d;
      v = (v << 4) | (d & 15);
    }
    keys[k * KEY_WORDS + w] = v ^ SIGN;
  }
  if (bad < 0) throw new Error(`not 40 hex digits: ${JSON.stringify(hex)}`);
  return keys;
}

/** Key `k` as 40 lowercase hex digits. */
export function hexOfKey(keys: Int32Array, k: number): string {
  let s = '';
  for (let w = 0; w < KEY_WORDS; w++) s += ((keys[k * KEY_WORDS + w]! ^ SIGN) >>> 0).toString(16).padStart(8, '0');
  return s;
}

/** Compares key i of a with key j of b: negative, 0 or positive. */
export function compareKeys(a: Int32Array, i: number, b: Int32Array, j: number): number {
  const p = i * KEY_WORDS;
  const q = j * KEY_WORDS;
  for (let w = 0; w < KEY_WORDS; w++) {
    const x = a[p + w]!;
    const y = b[q + w]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Index of `key` (key `k` of `from`) in the sorted array `keys` of `count` keys, or -1. */
export function findKey(keys: Int32Array, count: number, from: Int32Array, k: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    const c = compareKeys(keys, m, from, k);
    if (c === 0) return m;
    if (c < 0) lo = m + 1;
    else hi = m;
  }
  return -1;
}

export type ParsedList = {
  /** Sorted, without duplicates; exactly `count` keys long. */
  keys: Int32Array;
  count: number;
  /** Hash lines read, duplicates included. */
  lines: number;
  /** Lines that are neither a hash, blank nor a comment. */
  junk: number;
  /** Line numbers (from 1) of the first JUNK_REPORTED junk lines. */
  junkLines: number[];
};

/**
 * Parses a whole list file. Never throws on content. Lines are found here rather than with
 * text/lines.ts: a hash line is 41 bytes, so the common case is decoded straight from where the
 * last line ended, without searching for its newline (a third faster on a 1M-hash list).
 */
export function parseList(bytes: Uint8Array): ParsedList {
  // A hash line takes 40 bytes and a newline, except perhaps the last one.
  const keys = new Int32Array((Math.floor((bytes.length + 1) / 41) + 1) * KEY_WORDS);
  let n = 0;
  let junk = 0;
  const junkLines: number[] = [];
  let line = 0;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const length = bytes.length;
  for (let at = 0; at < length;) {
    line++;
    let end: number;
    // Decode first, check after: a valid line is by far the common case.
    if (at + 40 <= length && decodeChecked(bytes, at, keys, n)) {
      const next = at + 40 < length ? bytes[at + 40]! : NL;
      if (next === NL) {
        n++;
        at += 41;
        continue;
      }
      end = buf.indexOf(NL, at + 40);
      if (end < 0) end = length;
      if (HEX_VALUE[next]! < 0) {
        n++;
        at = end + 1;
        continue;
      }
    } else {
      end = buf.indexOf(NL, at);
      if (end < 0) end = length;
    }
    if (!isBlankOrComment(bytes, at, end)) {
      junk++;
      if (junkLines.length < JUNK_REPORTED) junkLines.push(line);
    }
    at = end + 1;
  }
  const count = sortUnique(keys, n);
  return { keys: keys.subarray(0, count * KEY_WORDS), count, lines: n, junk, junkLines };
}

/** Decodes 40 hex digits at bytes[at] into key k; false (key k then garbage) if one is not hex. */
function decodeChecked(bytes: Uint8Array, at: number, keys: Int32Array, k: number): boolean {
  let bad = 0;
  for (let w = 0; w < KEY_WORDS; w++) {
    let v = 0;
    const p = at + w * 8;
    for (let i = 0; i < 8; i++) {
      const h = HEX_VALUE[bytes[p + i]!]!;
      bad |= h;
      v = (v << 4) | (h & 15);
    }
    keys[k * KEY_WORDS + w] = v ^ SIGN;
  }
  return bad >= 0;
}

/** A blank line (spaces, tabs, CR, VT, FF) or a comment (`#` after any of those). */
export function isBlankOrComment(bytes: Uint8Array, at: number, end: number): boolean {
  for (let i = at; i < end; i++) {
    const c = bytes[i]!;
    if (c === 0x23 /* # */) return true;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0b && c !== 0x0c) return false;
  }
  return true;
}

// ---------------------------------------------------------------- sorting

const SMALL = 32;
/** Bytes per key: the radix sort's digits. */
const DIGITS = KEY_WORDS * 4;

/**
 * Sorts the first `n` keys of `keys` in place and removes duplicates; returns how many are left
 * (at the front). MSD radix sort on bytes moving whole keys (256 buckets per pass keeps the
 * scatter within the caches), insertion sort for small ranges. Clustered or repeated hashes only
 * add passes, never quadratic work.
 */
export function sortUnique(keys: Int32Array, n: number): number {
  if (n <= 1) return n;
  const tmp = new Int32Array(n * KEY_WORDS);
  const counts: Int32Array[] = [];
  for (let d = 0; d < DIGITS; d++) counts.push(new Int32Array(257));
  sortRange(keys, tmp, counts, 0, n, 0);
  let m = 1;
  for (let i = 1; i < n; i++) {
    if (compareKeys(keys, m - 1, keys, i) === 0) continue;
    if (m !== i) {
      const dst = m * KEY_WORDS;
      const src = i * KEY_WORDS;
      for (let w = 0; w < KEY_WORDS; w++) keys[dst + w] = keys[src + w]!;
    }
    m++;
  }
  return m;
}

/** Byte d (0 = most significant) of key k. */
function digit(keys: Int32Array, k: number, d: number): number {
  return ((keys[k * KEY_WORDS + (d >> 2)]! ^ SIGN) >>> (24 - 8 * (d & 3))) & 255;
}

function sortRange(a: Int32Array, tmp: Int32Array, counts: Int32Array[], from: number, to: number, d: number): void {
  if (to - from <= SMALL) {
    insertionSort(a, from, to);
    return;
  }
  const count = counts[d]!;
  count.fill(0);
  for (let i = from; i < to; i++) count[digit(a, i, d) + 1]!++;
  for (let b = 0; b < 256; b++) count[b + 1]! += count[b]!;
  // count[b] is the start of bucket b (relative to from); the scatter leaves it at its end.
  for (let i = from; i < to; i++) {
    const dst = (from + count[digit(a, i, d)]!++) * KEY_WORDS;
    const src = i * KEY_WORDS;
    tmp[dst] = a[src]!;
    tmp[dst + 1] = a[src + 1]!;
    tmp[dst + 2] = a[src + 2]!;
    tmp[dst + 3] = a[src + 3]!;
    tmp[dst + 4] = a[src + 4]!;
  }
  a.set(tmp.subarray(from * KEY_WORDS, to * KEY_WORDS), from * KEY_WORDS);
  if (d + 1 === DIGITS) return; // every key in a bucket is the same
  for (let b = 0, start = 0; b < 256; b++) {
    const end = count[b]!;
    if (end - start > 1) sortRange(a, tmp, counts, from + start, from + end, d + 1);
    start = end;
  }
}

function insertionSort(a: Int32Array, from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    const p = i * KEY_WORDS;
    const k0 = a[p]!;
    const k1 = a[p + 1]!;
    const k2 = a[p + 2]!;
    const k3 = a[p + 3]!;
    const k4 = a[p + 4]!;
    let j = i - 1;
    for (; j >= from; j--) {
      const q = j * KEY_WORDS;
      const x0 = a[q]!;
      if (x0 < k0) break;
      if (x0 === k0) {
        const x1 = a[q + 1]!;
        if (x1 < k1) break;
        if (x1 === k1) {
          const x2 = a[q + 2]!;
          if (x2 < k2) break;
          if (x2 === k2) {
            const x3 = a[q + 3]!;
            if (x3 < k3) break;
            if (x3 === k3 && a[q + 4]! <= k4) break;
          }
        }
      }
      a[q + 5] = x0;
      a[q + 6] = a[q + 1]!;
      a[q + 7] = a[q + 2]!;
      a[q + 8] = a[q + 3]!;
      a[q + 9] = a[q + 4]!;
    }
    if (j === i - 1) continue;
    const q = (j + 1) * KEY_WORDS;
    a[q] = k0;
    a[q + 1] = k1;
    a[q + 2] = k2;
    a[q + 3] = k3;
    a[q + 4] = k4;
  }
}
