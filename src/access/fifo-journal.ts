// The journal of dynamic access-list changes: what was written to access.fifo_add and
// access.fifo_delete survives a restart (opentracker forgets it).
//
// One change per line, appended (and flushed to disk) as changes are accepted:
//   +<40 hex>   listed (added through access.fifo_add)
//   -<40 hex>   not listed although the file lists it (deleted through access.fifo_delete)
//   ~<40 hex>   the file now says the same: the change is dropped (after a reload)
// Lines starting with `#` are comments. Replaying the lines in order gives the changes in force.
// A last line without its newline (a write cut short by a crash) is skipped with a warning. The
// file is rewritten compactly (atomically) at start-up and when it has grown much longer than
// the changes in force. The writing is fs/journal.ts's: a failed append (a full disk) is cut
// back, so no half line is left for the next one to run into, and its lines go out again, first,
// with the next write (the changes are in force): nothing accepted is left out once the disk has room.

import fs from 'node:fs';
import { removeStaleTemps } from '../fs/atomic-file.ts';
import { Journal } from '../fs/journal.ts';
import { splitLines } from '../text/lines.ts';

type JournalOp = '+' | '-' | '~';

type JournalContent = {
  exists: boolean;
  /** Valid change lines in order: op and lowercase hex. */
  ops: { op: JournalOp; hex: string }[];
  /** Lines that are not changes (comments and blank lines excepted). */
  bad: number;
  /** Line numbers (from 1) of the first few bad lines. */
  badLines: number[];
  /** The line number of a torn last line (no newline), or 0. */
  torn: number;
};

const LINE = /^([+~-])([0-9a-fA-F]{40})$/;
const BAD_REPORTED = 10;

const HEADER =
  '# swarmd access-list changes (access.fifo_add, access.fifo_delete); replayed at start-up.\n' +
  '# +HASH listed, -HASH not listed, ~HASH back to what the list file says. Edit only while swarmd is stopped.\n';

/** Reads a journal. A missing file is an empty journal; other read errors throw. */
export async function readJournal(file: string): Promise<JournalContent> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, ops: [], bad: 0, badLines: [], torn: 0 };
    throw e;
  }
  const content: JournalContent = { exists: true, ops: [], bad: 0, badLines: [], torn: 0 };
  let lineNo = 0;
  const { lines, torn } = splitLines(bytes, (buf, start, end) => {
    lineNo++;
    const line = buf.toString('latin1', start, end);
    const m = LINE.exec(line);
    if (m) {
      content.ops.push({ op: m[1] as JournalOp, hex: m[2]!.toLowerCase() });
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      content.bad++;
      if (content.badLines.length < BAD_REPORTED) content.badLines.push(lineNo);
    }
  });
  if (torn) content.torn = lines + 1;
  return content;
}

/** An open journal of FIFO changes: appends go to the end, each batch flushed to disk before the next. */
export class FifoJournal {
  readonly file: string;
  private readonly journal: Journal;
  /** Change lines in the file (for deciding when to compact). */
  lines: number;

  private constructor(journal: Journal, lines: number) {
    this.file = journal.file;
    this.journal = journal;
    this.lines = lines;
  }

  /**
   * Writes `lines` (each "+hex", "-hex"...) as the whole journal, atomically, then opens it for
   * appending. Temporary files of earlier runs killed during a rewrite are removed first.
   */
  static async create(file: string, lines: string[]): Promise<FifoJournal> {
    removeStaleTemps(file);
    return new FifoJournal(await Journal.create(file, text(lines), { keepFailed: true }), lines.length);
  }

  /** Opens an existing, well-formed journal of `lines` changes for appending (no rewrite). */
  static async append(file: string, lines: number): Promise<FifoJournal> {
    const { journal } = await Journal.open(file, { keepFailed: true });
    return new FifoJournal(journal, lines);
  }

  /**
   * Appends change lines and flushes them to disk. Writes are queued: each starts after the
   * previous one finished, so the file keeps the order of the calls. Rejects if the write fails;
   * then the lines are kept and written before those of the next call.
   */
  write(lines: string[]): Promise<void> {
    if (lines.length === 0) return this.journal.flushed();
    this.lines += lines.length;
    return this.journal.append(lines.join('\n') + '\n');
  }

  /** Replaces the journal with `lines` (the changes in force), atomically, after the queued writes. */
  async compact(lines: string[]): Promise<void> {
    await this.journal.replace(text(lines));
    this.lines = lines.length;
  }

  close(): Promise<void> {
    return this.journal.close();
  }
}

function text(lines: string[]): string {
  return HEADER + lines.map((l) => l + '\n').join('');
}
