// Sources that keep sending UDP requests with bad or expired connection IDs. Answering each with an
// error packet costs egress and helps a reflector; not answering at all would strand a client that
// merely reuses one expired ID (it reconnects when it gets the error). So the first `answered` error
// packets a source earns are sent, and then the source's bad requests are ignored for `banSeconds`.
// Connects and requests with a valid ID are always answered: a banned client that reconnects recovers.
//
// Shared by every worker, in shared memory of a fixed size: the budget of answered errors is a
// SourceTable (rate answered/banSeconds, so a ban's length refills it), and the bans are cells of the
// same two rows, each the second (wall clock, modulo 2^32) the ban ends. A source is banned when
// both of its cells are, so sharing one cell with a banned source costs nothing.

import { SourceTable } from './source-table.ts';

export const BAD_ID_ANSWER = 0;
export const BAD_ID_IGNORE = 1;
/** Ignored too: this request used up the source's answers and started its ban. */
export const BAD_ID_BAN = 2;

export type BadConnectionIdOptions = {
  /** Error packets answered to a source before its bad requests are ignored (>= 1). */
  answered: number;
  /** How long they are then ignored. */
  banSeconds: number;
  /** Cells per row, a power of two (default 65536). */
  rowCells?: number;
};

export type BadConnectionIdShared = { table: SharedArrayBuffer; bans: SharedArrayBuffer };

export class BadConnectionIds {
  readonly table: SourceTable;
  private readonly bans: Int32Array;
  private readonly row: number;
  private readonly banSeconds: number;
  /** This thread's counts: errors answered, requests ignored, bans started. */
  answeredCount = 0;
  ignoredCount = 0;
  banCount = 0;

  constructor(from: BadConnectionIdOptions | BadConnectionIdShared) {
    if ('bans' in from) {
      this.table = new SourceTable(from.table);
      this.bans = new Int32Array(from.bans);
    } else {
      if (!(from.answered >= 1) || !(from.banSeconds >= 1)) throw new RangeError('answered and banSeconds must be at least 1');
      const rowCells = from.rowCells ?? 65536;
      this.table = new SourceTable({ rate: from.answered / from.banSeconds, burst: from.answered - 1, rowCells });
      this.bans = new Int32Array(new SharedArrayBuffer(4 * (2 + 2 * rowCells)));
      this.bans[0] = rowCells;
      this.bans[1] = from.banSeconds;
    }
    this.row = this.bans[0];
    this.banSeconds = this.bans[1];
  }

  shared(): BadConnectionIdShared {
    return { table: this.table.buffer, bans: this.bans.buffer as SharedArrayBuffer };
  }

  /** A request with a bad connection ID from a source: BAD_ID_ANSWER (send the error), BAD_ID_IGNORE or BAD_ID_BAN. */
  check(family: number, addr: Uint8Array, off: number, nowMs: number): number {
    const h = this.table.hash(family, addr, off);
    const b0 = 2 + (h & (this.row - 1));
    const b1 = 2 + this.row + ((h >>> 16) & (this.row - 1));
    const now = Math.floor(nowMs / 1000) | 0;
    if (this.banned(b0, now) && this.banned(b1, now)) {
      this.ignoredCount++;
      return BAD_ID_IGNORE;
    }
    if (this.table.take(family, addr, off, nowMs)) {
      this.answeredCount++;
      return BAD_ID_ANSWER;
    }
    const until = (now + this.banSeconds) | 0 || 1; // never 0, which marks a cell never banned
    Atomics.store(this.bans, b0, until);
    Atomics.store(this.bans, b1, until);
    this.banCount++;
    this.ignoredCount++;
    return BAD_ID_BAN;
  }

  private banned(cell: number, now: number): boolean {
    const until = Atomics.load(this.bans, cell);
    const left = (until - now) | 0;
    return until !== 0 && left > 0 && left <= this.banSeconds;
  }
}
