// Splitting bytes into lines, for every reader of line-based files and pipes (state dumps, the
// access list's FIFOs and journal, the notices journal). One set of rules for all of them:
//  - a line ends at LF; a CR just before the LF is not part of the line (CRLF files read the same);
//  - input may come in chunks cut anywhere, even inside a line or between CR and LF;
//  - a line longer than `maxLine` bytes (its CR counted) is handed over as its first `maxLine`
//    bytes, flagged `overlong`; memory stays bounded however long a line a writer sends;
//  - a last line without its LF (a write cut short, a file without a final newline) is the
//    caller's to judge: `end()` says whether there was one and hands it over only if asked.
// Lines are handed over as a range of bytes valid only during the call, so nothing is allocated
// per line: the hot case (a line inside one chunk) is a view on the chunk itself.

/**
 * Called for every line: `bytes[start, end)`, without its LF (or CRLF). `overlong`: the line was
 * longer than `maxLine` and only its first `maxLine` bytes are given. Return false to stop:
 * no more lines are handed over.
 */
export type LineHandler = (bytes: Buffer, start: number, end: number, overlong: boolean) => boolean | void;

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  /** Lines handed over so far, blank ones included: the number of the last one. */
  lines = 0;
  private readonly onLine: LineHandler;
  private readonly maxLine: number;
  /** The start of a line cut by the end of a chunk (at most maxLine bytes of it). */
  private carry: Buffer = Buffer.alloc(0);
  private carried = 0;
  /** Bytes of the carried line, those beyond maxLine included. */
  private length = 0;
  private stopped = false;

  constructor(onLine: LineHandler, maxLine = Infinity) {
    if (!(maxLine >= 1)) throw new RangeError(`maxLine must be at least 1, not ${maxLine}`);
    this.onLine = onLine;
    this.maxLine = maxLine;
  }

  /** Splits the next chunk. Returns false once the handler has stopped the splitting. */
  push(chunk: Buffer): boolean {
    let at = 0;
    while (!this.stopped) {
      const lf = chunk.indexOf(LF, at);
      if (lf < 0) break;
      if (this.length > 0) {
        this.keep(chunk, at, lf);
        this.deliver(this.carry, 0, this.carried, this.length);
        this.carried = 0;
        this.length = 0;
      } else {
        this.deliver(chunk, at, Math.min(lf, at + this.maxLine), lf - at);
      }
      at = lf + 1;
    }
    if (!this.stopped && at < chunk.length) this.keep(chunk, at, chunk.length);
    return !this.stopped;
  }

  /**
   * The input has ended. Returns whether it ended inside a line (no LF after the last bytes);
   * that line goes to the handler, numbered as the others, only when `deliver` is true.
   */
  end(deliver: boolean): boolean {
    const torn = this.length > 0 && !this.stopped;
    if (torn && deliver) this.deliver(this.carry, 0, this.carried, this.length);
    this.carried = 0;
    this.length = 0;
    return torn;
  }

  private deliver(bytes: Buffer, start: number, end: number, length: number): void {
    this.lines++;
    const overlong = length > this.maxLine;
    if (!overlong && end > start && bytes[end - 1] === CR) end--;
    if (this.onLine(bytes, start, end, overlong) === false) this.stopped = true;
  }

  /** Carries chunk[from, to), the start or a middle part of a line, into the next chunk. */
  private keep(chunk: Buffer, from: number, to: number): void {
    const n = Math.min(to - from, this.maxLine - this.carried);
    if (n > 0) {
      if (this.carried + n > this.carry.length) {
        const grown = Buffer.allocUnsafe(Math.min(this.maxLine, Math.max(64, 2 * (this.carried + n))));
        this.carry.copy(grown, 0, 0, this.carried);
        this.carry = grown;
      }
      chunk.copy(this.carry, this.carried, from, from + n);
      this.carried += n;
    }
    this.length += to - from;
  }
}

/**
 * Splits a whole buffer (a file read at once). Returns the number of lines and whether the last
 * one lacks its LF; that one is handed over only when `deliverTorn` is true.
 */
export function splitLines(bytes: Buffer, onLine: LineHandler, deliverTorn = false): { lines: number; torn: boolean } {
  const splitter = new LineSplitter(onLine);
  splitter.push(bytes);
  const torn = splitter.end(deliverTorn);
  return { lines: splitter.lines, torn };
}
