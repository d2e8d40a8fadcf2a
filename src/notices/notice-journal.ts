// The notices journal: every notice filed and every lift, one JSON object a line, appended and
// flushed to disk (fdatasync) before the admin API answers, so nothing acknowledged is ever lost.
// At start the whole file is replayed.
//
// A crash in the middle of a write leaves a last line without its newline: that record was never
// acknowledged. It is reported, skipped, and cut off the file, so the next append starts on a line
// of its own. A write that fails (a full disk) is cut off the same way before the error is given,
// and is not written again: the notice was refused. (The writing is fs/journal.ts's.)
// Any other line that can't be read is reported with its number and skipped; it never stops swarmd.

import { Journal } from '../fs/journal.ts';
import { splitLines } from '../text/lines.ts';
import type { NoticeFields } from './notice.ts';

export type NoticeRecord =
  | ({ type: 'notice'; /** ISO time it was filed. */ filed: string } & NoticeFields)
  | { type: 'lift'; id: string; /** ISO time of the lift. */ at: string; reason: string; hashes: string[] | null };

/** A line read back: the parsed JSON with its line number (checked by the registry). */
type JournalLine = { line: number; value: unknown };

type JournalRead = {
  lines: JournalLine[];
  /** Lines that are not JSON: their numbers. */
  unreadable: number[];
  /** The torn last line (no newline), cut off the file: its number and its start, or null. */
  torn: { line: number; text: string } | null;
};

export class NoticeJournal {
  readonly file: string;
  private readonly journal: Journal;

  private constructor(journal: Journal) {
    this.file = journal.file;
    this.journal = journal;
  }

  /** Opens (creating it, mode 0600) and reads the journal; a torn last line is cut off. */
  static async open(file: string): Promise<{ journal: NoticeJournal; read: JournalRead }> {
    const { journal, content, torn } = await Journal.open(file);
    const read: JournalRead = { lines: [], unreadable: [], torn: null };
    let lineNo = 0;
    const { lines } = splitLines(content, (buf, start, end) => {
      lineNo++;
      const line = buf.toString('utf8', start, end);
      if (line.trim() === '') return;
      try {
        read.lines.push({ line: lineNo, value: JSON.parse(line) });
      } catch {
        read.unreadable.push(lineNo);
      }
    });
    if (torn.length > 0) read.torn = { line: lines + 1, text: torn.toString('utf8', 0, Math.min(torn.length, 120)) };
    return { journal: new NoticeJournal(journal), read };
  }

  /**
   * Appends one record and flushes it to disk; resolves once it is there. Appends are queued, so
   * the file keeps the order of the calls. Rejects if it can't be written (nothing of it stays).
   */
  append(record: NoticeRecord): Promise<void> {
    return this.journal.append(JSON.stringify(record) + '\n');
  }

  close(): Promise<void> {
    return this.journal.close();
  }
}
