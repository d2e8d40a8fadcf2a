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
// has grown much longer than the changes in force.

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
  private queue: Promise<void> = Promise.resolve();

  private constructor(file: string, handle: fs.promises.FileHandle, lines: number) {
    this.file = file;
    this.handle = handle;
    this.lines = lines;
  }

  /** Writes `lines` (each "+hex", "-hex"...) as the whole journal, atomically, then opens it for appending. */
  static async create(file: string, lines: string[]): Promise<Journal> {
    await writeAtomically(file, JOURNAL_HEADER + lines.map((l) => l + '\n').join(''));
    const handle = await fs.promises.open(file, 'a', 0o600);
    return new Journal(file, handle, lines.length);
  }

  /** Opens an existing, well-formed journal for appending (no rewrite). */
  static async append(file: string, lines: number): Promise<Journal> {
    const handle = await fs.promises.open(file, 'a', 0o600);
    return new Journal(file, handle, lines);
  }

  /**
   * Appends change lines and flushes them to disk. Writes are queued: each starts after the
   * previous one finished, so the file keeps the order of the calls. Rejects if the write fails.
   */
  write(lines: string[]): Promise<void> {
    if (lines.length === 0) return this.queue;
    const data = lines.join('\n') + '\n';
    this.lines += lines.length;
    const done = this.queue.then(async () => {
      await this.handle.appendFile(data, 'latin1');
      await this.handle.datasync();
    });
    this.queue = done.catch(() => {});
    return done;
  }

  /** Replaces the journal with `lines` (temporary file + rename), after the queued writes. */
  compact(lines: string[]): Promise<void> {
    const done = this.queue.then(async () => {
      await writeAtomically(this.file, JOURNAL_HEADER + lines.map((l) => l + '\n').join(''));
      const handle = await fs.promises.open(this.file, 'a', 0o600);
      const old = this.handle;
      this.handle = handle;
      this.lines = lines.length;
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

async function writeAtomically(file: string, data: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const handle = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(data, 'latin1');
    await handle.datasync();
  } finally {
    await handle.close();
  }
  try {
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}
