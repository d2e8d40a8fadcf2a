// The notices journal: every notice filed and every lift, one JSON object a line, appended and
// flushed to disk (fdatasync) before the admin API answers, so nothing acknowledged is ever lost.
// At start the whole file is replayed.
//
// A crash in the middle of a write leaves a last line without its newline: that record was never
// acknowledged. It is reported, skipped, and cut off the file, so the next append starts on a line
// of its own. A write that fails (a full disk) is cut off the same way before the error is given.
// Any other line that can't be read is reported with its number and skipped; it never stops swarmd.

import fs from 'node:fs';
import type { NoticeFields } from './notice.ts';

export type NoticeRecord =
  | ({ type: 'notice'; /** ISO time it was filed. */ filed: string } & NoticeFields)
  | { type: 'lift'; id: string; /** ISO time of the lift. */ at: string; reason: string; hashes: string[] | null };

/** A line read back: the parsed JSON with its line number (checked by the registry). */
export type JournalLine = { line: number; value: unknown };

export type JournalRead = {
  lines: JournalLine[];
  /** Lines that are not JSON: their numbers. */
  unreadable: number[];
  /** The torn last line (no newline), cut off the file: its number and its start, or null. */
  torn: { line: number; text: string } | null;
};

export class NoticeJournal {
  readonly file: string;
  private readonly handle: fs.promises.FileHandle;
  /** Bytes of whole lines in the file: where the next record goes, and where a failed write is cut back to. */
  private size: number;
  private queue: Promise<void> = Promise.resolve();
  /** Set when a failed write could not be cut off: appending more would glue records together. */
  private broken: Error | null = null;

  private constructor(file: string, handle: fs.promises.FileHandle, size: number) {
    this.file = file;
    this.handle = handle;
    this.size = size;
  }

  /** Opens (creating it, mode 0600) and reads the journal; a torn last line is cut off. */
  static async open(file: string): Promise<{ journal: NoticeJournal; read: JournalRead }> {
    const handle = await fs.promises.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o600);
    try {
      const bytes = await handle.readFile();
      const end = bytes.lastIndexOf(0x0a) + 1; // whole lines end here
      const read: JournalRead = { lines: [], unreadable: [], torn: null };
      const text = bytes.toString('utf8', 0, end);
      const lines = text === '' ? [] : text.slice(0, -1).split('\n');
      lines.forEach((line, i) => {
        if (line.trim() === '') return;
        try {
          read.lines.push({ line: i + 1, value: JSON.parse(line) });
        } catch {
          read.unreadable.push(i + 1);
        }
      });
      if (end < bytes.length) {
        read.torn = { line: lines.length + 1, text: bytes.toString('utf8', end, Math.min(bytes.length, end + 120)) };
        await handle.truncate(end);
        await handle.datasync();
      }
      return { journal: new NoticeJournal(file, handle, end), read };
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /**
   * Appends one record and flushes it to disk; resolves once it is there. Appends are queued, so
   * the file keeps the order of the calls. Rejects if it can't be written (nothing of it stays).
   */
  append(record: NoticeRecord): Promise<void> {
    const data = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    const done = this.queue.then(async () => {
      if (this.broken !== null) throw this.broken;
      try {
        // write(2) may write part of the record and report success (on a disk that fills up
        // midway); the next write then fails with the reason, and the record is cut back whole.
        for (let at = 0; at < data.length; ) at += (await this.handle.write(data, at, data.length - at)).bytesWritten;
        await this.handle.datasync();
        this.size += data.length;
      } catch (e) {
        await this.cutBack(e as Error);
        throw e;
      }
    });
    this.queue = done.catch(() => {});
    return done;
  }

  private async cutBack(cause: Error): Promise<void> {
    try {
      await this.handle.truncate(this.size);
    } catch {
      this.broken = new Error(`the journal ${this.file} could not be repaired after a failed write (${cause.message}); restart swarmd`);
    }
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
  }
}
