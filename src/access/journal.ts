// The journal of dynamic access-list changes: what was written to access.fifo_add and
// access.fifo_delete survives a restart (opentracker forgets it).
//
// One change per line, appended (and flushed to disk) as changes are accepted:
//   +<40 hex>   listed (added through access.fifo_add)
//   -<40 hex>   not listed although the file lists it (deleted through access.fifo_delete)
//   ~<40 hex>   the file now says the same: the change is dropped (after a reload)
// Lines starting with `#` are comments. Replaying the lines in order gives the changes in force.
// A last line without its newline (a write cut short by a crash) is skipped with a warning. The
// file is rewritten compactly (write a temporary file, then rename it) at start-up and when it
// has grown much longer than the changes in force. A failed append (a full disk) is cut back, so
// no half line is left for the next one to run into, and its lines go out again, first, with the
// next write: nothing accepted is left out once the disk has room.

import fs from 'node:fs';
import path from 'node:path';

export type JournalOp = '+' | '-' | '~';

export type JournalContent = {
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

const LINE = /^([+~-])([0-9a-fA-F]{40})\r?$/;
const BAD_REPORTED = 10;

export const JOURNAL_HEADER =
  '# swarmd access-list changes (access.fifo_add, access.fifo_delete); replayed at start-up.\n' +
  '# +HASH listed, -HASH not listed, ~HASH back to what the list file says. Edit only while swarmd is stopped.\n';

/** Reads a journal. A missing file is an empty journal; other read errors throw. */
export async function readJournal(file: string): Promise<JournalContent> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, ops: [], bad: 0, badLines: [], torn: 0 };
    throw e;
  }
  const lines = text.split('\n');
  const last = lines.pop()!; // '' when the file ends with a newline
  const content: JournalContent = { exists: true, ops: [], bad: 0, badLines: [], torn: 0 };
  lines.forEach((line, i) => {
    const m = LINE.exec(line);
    if (m) {
      content.ops.push({ op: m[1] as JournalOp, hex: m[2]!.toLowerCase() });
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      content.bad++;
      if (content.badLines.length < BAD_REPORTED) content.badLines.push(i + 1);
    }
  });
  if (last !== '') content.torn = lines.length + 1;
  return content;
}

/** An open journal: appends go to the end, each batch flushed to disk before the next. */
export class Journal {
  readonly file: string;
  private handle: fs.promises.FileHandle;
  /** Change lines in the file (for deciding when to compact). */
  lines: number;
  /** Bytes of whole lines in the file: where a failed append is cut back to. */
  private size: number;
  /** Lines of failed appends, written again (first) by the next write. */
  private pending = '';
  private queue: Promise<void> = Promise.resolve();

  private constructor(file: string, handle: fs.promises.FileHandle, lines: number, size: number) {
    this.file = file;
    this.handle = handle;
    this.lines = lines;
    this.size = size;
  }

  /** Writes `lines` (each "+hex", "-hex"...) as the whole journal, atomically, then opens it for appending. */
  static async create(file: string, lines: string[]): Promise<Journal> {
    const size = await writeAtomically(file, JOURNAL_HEADER + lines.map((l) => l + '\n').join(''));
    const handle = await fs.promises.open(file, 'a', 0o600);
    return new Journal(file, handle, lines.length, size);
  }

  /** Opens an existing, well-formed journal for appending (no rewrite). */
  static async append(file: string, lines: number): Promise<Journal> {
    const handle = await fs.promises.open(file, 'a', 0o600);
    return new Journal(file, handle, lines, (await handle.stat()).size);
  }

  /**
   * Appends change lines and flushes them to disk. Writes are queued: each starts after the
   * previous one finished, so the file keeps the order of the calls. Rejects if the write fails;
   * then the lines are kept and written before those of the next call.
   */
  write(lines: string[]): Promise<void> {
    if (lines.length === 0) return this.queue;
    this.lines += lines.length;
    const done = this.queue.then(async () => {
      const data = this.pending + lines.join('\n') + '\n';
      try {
        await this.handle.appendFile(data, 'latin1');
        await this.handle.datasync();
        this.size += data.length;
        this.pending = '';
      } catch (e) {
        this.pending = data;
        await this.handle.truncate(this.size).catch(() => {});
        throw e;
      }
    });
    this.queue = done.catch(() => {});
    return done;
  }

  /** Replaces the journal with `lines` (temporary file + rename), after the queued writes. */
  compact(lines: string[]): Promise<void> {
    const done = this.queue.then(async () => {
      this.size = await writeAtomically(this.file, JOURNAL_HEADER + lines.map((l) => l + '\n').join(''));
      const handle = await fs.promises.open(this.file, 'a', 0o600);
      const old = this.handle;
      this.handle = handle;
      this.lines = lines.length;
      this.pending = ''; // `lines` are the changes in force, these among them
      await old.close();
    });
    this.queue = done.catch(() => {});
    return done;
  }

  /** Waits for the queued writes. */
  flushed(): Promise<void> {
    return this.queue;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
  }
}

/** Writes `data` (latin1) to `file` through a temporary file and a rename; resolves with its size. */
async function writeAtomically(file: string, data: string): Promise<number> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const handle = await fs.promises.open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(data, 'latin1');
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  return data.length;
}
