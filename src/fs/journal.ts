// Append-only journals of lines, for the changes swarmd must not forget over a restart (the access
// list's FIFO changes, the takedown notices): each append is on the disk (fdatasync) before its
// promise resolves, and the file never holds part of a line that was not acknowledged.
//
//  - Opening reads the whole file back. Bytes after its last LF are a write cut short by a crash
//    (never acknowledged): they are cut off the file and given to the caller to report.
//  - An append writes every byte (a disk filling up midway may take part of it and report
//    success; the rest then fails with the reason), then fdatasyncs. If anything fails, the file
//    is cut back to its last whole line and synced, so nothing of the failed append stays and the
//    next one starts on a line of its own. If even the cut fails, it is tried again before the
//    next append, and nothing is appended until it succeeds.
//  - What became of a failed append is the caller's choice (`keepFailed`): dropped (the caller
//    refused the change, as the notices API does), or written again, first, with the next append
//    (the change is in force, as the access list's are, so it must reach the file once there is room).
//  - Appends and replacements are queued: the file keeps the order of the calls.
//  - `replace` rewrites the whole journal atomically (fs/atomic-file.ts), for compaction.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { replaceFileWith } from './atomic-file.ts';

const LF = 0x0a;
const APPEND = fs.constants.O_RDWR | fs.constants.O_APPEND;

type JournalOptions = {
  /** File mode when the journal is created. Default 0600. */
  mode?: number;
  /** A failed append is written again before the next one (default: dropped). */
  keepFailed?: boolean;
};

type OpenedJournal = {
  journal: Journal;
  /** The whole lines in the file. */
  content: Buffer;
  /** The bytes after the last LF, cut off the file (empty when it ended with a whole line). */
  torn: Buffer;
};

export class Journal {
  readonly file: string;
  private handle: fsp.FileHandle;
  /** Bytes of whole lines in the file: where a failed append is cut back to. */
  private size: number;
  private readonly mode: number;
  private readonly keepFailed: boolean;
  /** A failed append, written again first (keepFailed). */
  private unwritten: Buffer = Buffer.alloc(0);
  /** Why the file may still hold part of a failed append (the cut failed), or null. */
  private uncut: string | null = null;
  private queue: Promise<void> = Promise.resolve();

  private constructor(file: string, handle: fsp.FileHandle, size: number, options: JournalOptions) {
    this.file = file;
    this.handle = handle;
    this.size = size;
    this.mode = options.mode ?? 0o600;
    this.keepFailed = options.keepFailed ?? false;
  }

  /** Opens the journal for appending, creating it if missing; reads it and cuts off a torn last line. */
  static async open(file: string, options: JournalOptions = {}): Promise<OpenedJournal> {
    const handle = await fsp.open(file, APPEND | fs.constants.O_CREAT, options.mode ?? 0o600);
    try {
      const bytes = await handle.readFile();
      const end = bytes.lastIndexOf(LF) + 1;
      if (end < bytes.length) {
        await handle.truncate(end);
        await handle.datasync();
      }
      const journal = new Journal(file, handle, end, options);
      return { journal, content: bytes.subarray(0, end), torn: bytes.subarray(end) };
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** Writes `data` (whole lines) as the whole journal, atomically, and opens it for appending. */
  static async create(file: string, data: string | Uint8Array, options: JournalOptions = {}): Promise<Journal> {
    const bytes = lines(data);
    await replaceFileWith(file, bytes, options.mode ?? 0o600);
    return new Journal(file, await fsp.open(file, APPEND), bytes.length, options);
  }

  /**
   * Appends `data` (one or more whole lines; a string is written as UTF-8) and syncs it to the
   * disk. Resolves once it is there; rejects if it could not be written (see the top of the file).
   */
  append(data: string | Uint8Array): Promise<void> {
    const bytes = lines(data);
    if (bytes.length === 0) return this.queue;
    return this.enqueue(async () => {
      const out = this.unwritten.length > 0 ? Buffer.concat([this.unwritten, bytes]) : bytes;
      try {
        await this.cutBack();
        for (let at = 0; at < out.length;) at += (await this.handle.write(out, at, out.length - at)).bytesWritten;
        await this.handle.datasync();
        this.size += out.length;
        this.unwritten = Buffer.alloc(0);
      } catch (e) {
        if (this.keepFailed) this.unwritten = Buffer.from(out);
        this.uncut ??= (e as Error).message;
        await this.cutBack().catch(() => {});
        throw e;
      }
    });
  }

  /** Replaces the journal with `data` (whole lines), atomically, after the queued appends; drops a kept failed append. */
  replace(data: string | Uint8Array): Promise<void> {
    const bytes = lines(data);
    return this.enqueue(async () => {
      await replaceFileWith(this.file, bytes, this.mode);
      const handle = await fsp.open(this.file, APPEND);
      const old = this.handle;
      this.handle = handle;
      this.size = bytes.length;
      this.unwritten = Buffer.alloc(0);
      this.uncut = null;
      await old.close();
    });
  }

  /** Waits for the queued appends and replacements. */
  flushed(): Promise<void> {
    return this.queue;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const done = this.queue.then(step);
    this.queue = done.catch(() => {});
    return done;
  }

  /** Cuts the file back to its last whole line if a failed append may have left part of itself. */
  private async cutBack(): Promise<void> {
    if (this.uncut === null) return;
    try {
      await this.handle.truncate(this.size);
      await this.handle.datasync();
      this.uncut = null;
    } catch (e) {
      throw new Error(`the journal ${this.file} could not be cut back to its last whole line after a failed write (${this.uncut}): ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}

function lines(data: string | Uint8Array): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.length);
  if (bytes.length > 0 && bytes[bytes.length - 1] !== LF) throw new RangeError('a journal takes whole lines: the data must end with a newline');
  return bytes;
}
