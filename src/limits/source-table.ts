// A request budget per source (an IPv4 address, or the /64 of an IPv6 address) kept in shared memory, so
// that every worker thread draws on the same budget: a flood spread over the workers' sockets is one
// flood. The table has a fixed size whatever the number of sources: sources are hashed (HalfSipHash,
// with a key drawn at creation and kept in the table, so an attacker cannot aim collisions) into two
// rows of cells, as a count-min sketch is.
//
// Each cell holds a GCRA "theoretical arrival time" (the token bucket as one number, so one
// compareExchange updates it): a request at `now` is within budget when the later of the cell's time
// and now is at most `burst` emission intervals ahead of now; taking it moves that time one interval
// on. A source is over budget only when both of its cells are (the min of a count-min sketch); both
// are then raised to at least the new time (conservative update), so a source that shares one cell
// with a flooder still has its other. Times are modulo 2^32 in microseconds, or in milliseconds for
// budgets of 100 requests a second or less (signed differences stay right for 35 minutes, or 24 days);
// 0 marks a cell never used, and a cell further ahead than a full bucket is stale (wrapped): both read
// as now.
//
// `now` must be wall-clock milliseconds (Date.now()): performance.now() differs between threads.
// The hot path allocates nothing: take() is a hash and a few Atomics operations.

import { randomBytes } from 'node:crypto';
import { halfSipHash } from '../protocol/siphash.ts';

/** Words before the cells: hash key (2), emission interval and bucket depth (in units), cells per row, µs per unit. */
const HEADER = 8;
const H_K0 = 0;
const H_K1 = 1;
const H_INTERVAL = 2;
const H_DEPTH = 3;
const H_ROW = 4;
const H_UNIT = 5;

export const MAX_ROW_CELLS = 1 << 20;

export type SourceTableOptions = {
  /** Requests per second a source may send on average (> 0). */
  rate: number;
  /** Requests a source may send at once beyond its rate (>= 0). */
  burst: number;
  /** Cells per row, a power of two (default 65536). */
  rowCells?: number;
};

/** The words a table of `rowCells` cells per row needs. */
function wordsFor(rowCells: number): number {
  return HEADER + 2 * rowCells;
}

export class SourceTable {
  readonly buffer: SharedArrayBuffer;
  private readonly cells: Int32Array;
  private readonly k0: number;
  private readonly k1: number;
  /** Time units between two requests at the average rate. */
  private readonly interval: number;
  /** Units a cell may run ahead of now: (burst + 1) intervals. */
  private readonly depth: number;
  /** Time units per millisecond (1000: µs; 1: ms). */
  private readonly perMs: number;
  private readonly mask: number;
  private readonly row: number;
  /** The hash of the last source looked at (for callers that report it). */
  lastHash = 0;

  /** A new table, or (given the buffer of one made elsewhere) a view of the same table. */
  constructor(from: SourceTableOptions | SharedArrayBuffer) {
    if (from instanceof SharedArrayBuffer) {
      this.buffer = from;
      this.cells = new Int32Array(from);
    } else {
      const rowCells = from.rowCells ?? 65536;
      if (!(rowCells > 0 && rowCells <= MAX_ROW_CELLS && (rowCells & (rowCells - 1)) === 0))
        throw new RangeError(`rowCells ${rowCells}: a power of two up to ${MAX_ROW_CELLS}`);
      if (!(from.rate > 0) || !(from.burst >= 0)) throw new RangeError(`rate ${from.rate}, burst ${from.burst}: rate > 0 and burst >= 0`);
      const unitUs = 1e6 / from.rate >= 10_000 ? 1000 : 1;
      const interval = Math.max(1, Math.round(1e6 / from.rate / unitUs));
      const depth = interval * (Math.floor(from.burst) + 1);
      if (depth > 2 ** 31 / 2) throw new RangeError(`a burst of ${from.burst} at ${from.rate}/s lasts too long (over 15 minutes, or 12 days below 100/s)`);
      this.buffer = new SharedArrayBuffer(4 * wordsFor(rowCells));
      this.cells = new Int32Array(this.buffer);
      const key = randomBytes(8);
      this.cells[H_K0] = key.readInt32LE(0);
      this.cells[H_K1] = key.readInt32LE(4);
      this.cells[H_INTERVAL] = interval;
      this.cells[H_DEPTH] = depth;
      this.cells[H_ROW] = rowCells;
      this.cells[H_UNIT] = unitUs;
    }
    this.k0 = this.cells[H_K0];
    this.k1 = this.cells[H_K1];
    this.interval = this.cells[H_INTERVAL];
    this.depth = this.cells[H_DEPTH];
    this.row = this.cells[H_ROW];
    this.perMs = 1000 / this.cells[H_UNIT];
    this.mask = this.row - 1;
  }

  /** The keyed hash of a source: 4 bytes of an IPv4 address, the first 8 (the /64) of an IPv6 one. */
  hash(family: number, addr: Uint8Array, off: number): number {
    return halfSipHash(this.k0, this.k1, addr, off, family === 4 ? 4 : 8);
  }

  /**
   * Takes one request from the source's budget. True: within budget; false: over (nothing taken).
   * `addr[off..]` holds the address (4 bytes for family 4, 16 for 6; pass an IPv4-mapped address as 4).
   */
  take(family: number, addr: Uint8Array, off: number, nowMs: number): boolean {
    const h = this.hash(family, addr, off);
    this.lastHash = h;
    const c0 = HEADER + (h & this.mask);
    const c1 = HEADER + this.row + ((h >>> 16) & this.mask);
    const now = (nowMs * this.perMs) | 0;
    const interval = this.interval;
    const depth = this.depth;
    for (;;) {
      const t0 = Atomics.load(this.cells, c0);
      const t1 = Atomics.load(this.cells, c1);
      const d0 = this.ahead(t0, now);
      const d1 = this.ahead(t1, now);
      const low = d0 <= d1 ? c0 : c1;
      const d = d0 <= d1 ? d0 : d1;
      const ahead = d + interval;
      if (ahead > depth) return false;
      const next = (now + ahead) | 0 || 1; // never 0, which marks an unused cell
      // the cell that decided takes the request exactly; on a race, look again
      if (Atomics.compareExchange(this.cells, low, low === c0 ? t0 : t1, next) !== (low === c0 ? t0 : t1)) continue;
      this.raise(low === c0 ? c1 : c0, now, ahead, next);
      return true;
    }
  }

  /** Whether the source is over budget now, without taking anything. */
  isOver(family: number, addr: Uint8Array, off: number, nowMs: number): boolean {
    const h = this.hash(family, addr, off);
    const now = (nowMs * this.perMs) | 0;
    const d0 = this.ahead(Atomics.load(this.cells, HEADER + (h & this.mask)), now);
    const d1 = this.ahead(Atomics.load(this.cells, HEADER + this.row + ((h >>> 16) & this.mask)), now);
    return (d0 <= d1 ? d0 : d1) + this.interval > this.depth;
  }

  /** Seconds until the source may send again (at least 1), for a Retry-After. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.interval / this.perMs / 1000));
  }

  /** How far a cell's time is ahead of now: 0 for a time past, an unused cell (0) or a stale one. */
  private ahead(t: number, now: number): number {
    const d = (t - now) | 0;
    return t === 0 || d < 0 || d > this.depth ? 0 : d;
  }

  /** Conservative update: the cell runs at least `ahead` µs ahead of now. */
  private raise(cell: number, now: number, ahead: number, next: number): void {
    for (;;) {
      const t = Atomics.load(this.cells, cell);
      if (this.ahead(t, now) >= ahead) return;
      if (Atomics.compareExchange(this.cells, cell, t, next) === t) return;
    }
  }
}
