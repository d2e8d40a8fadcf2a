// Replacing a file atomically, for everything swarmd rewrites whole (state dumps, the access
// list's journal when it is compacted): after a crash, a power cut or a full disk the file is
// either the old one or the new one, whole, never a mix or a stub.
//
// The steps, each one needed:
//  1. the content goes to `<file>.tmp-<pid>`, opened O_CREAT|O_EXCL after removing what is in
//     the way, so a leftover file or a link someone put there is never written through;
//  2. every byte is written (short writes are continued) and fsynced before the rename, or the
//     rename could reach the disk before the data and leave an empty file after a crash;
//  3. rename(2) puts it in place in one step;
//  4. the directory is fsynced, so the rename itself survives a crash. Its failure is reported
//     but is not a failed write: the new file is in place and whole.
// On any failure before the rename, the temporary file is removed and the old file stays.
// Temporary files left by a process killed mid-write are removed by removeStaleTemps.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** The temporary file `file` is written to (by process `pid`) before it is renamed over it. */
export function tempName(file: string, pid: number = process.pid): string {
  return `${file}.tmp-${pid}`;
}

/** Writes all of `bytes`, continuing after short writes. */
type WriteAll = (bytes: Uint8Array) => Promise<void>;

/** A failed replaceFile: `code` is the system error's (ENOSPC...), the message names the step. */
export class ReplaceFileError extends Error {
  readonly code: string | undefined;
  /** What was being done: 'creating', 'writing', 'syncing', 'closing' or 'renaming'. */
  readonly step: string;
  readonly temp: string;

  constructor(cause: unknown, step: string, temp: string) {
    super(`${describeFsError(cause)} (${step} ${temp})`, { cause });
    this.name = 'ReplaceFileError';
    this.code = (cause as NodeJS.ErrnoException)?.code;
    this.step = step;
    this.temp = temp;
  }
}

type Replaced = {
  /** Bytes written. */
  bytes: number;
  /** Why the directory could not be synced after the rename (the file is in place), or null. */
  dirSyncError: string | null;
};

/**
 * Replaces `file` with what `fill` writes through the function it is given (see the top of this
 * file). Rejects with a ReplaceFileError, the old file untouched, if any step before the rename
 * fails, `fill` included.
 */
export async function replaceFile(file: string, fill: (write: WriteAll) => Promise<void>, mode = 0o600): Promise<Replaced> {
  const temp = tempName(file);
  let step = 'creating';
  let handle: fsp.FileHandle | null = null;
  let bytes = 0;
  try {
    await fsp.rm(temp, { force: true });
    handle = await fsp.open(temp, 'wx', mode);
    const out = handle;
    step = 'writing';
    await fill(async (chunk) => {
      for (let done = 0; done < chunk.length;) done += (await out.write(chunk, done, chunk.length - done)).bytesWritten;
      bytes += chunk.length;
    });
    step = 'syncing';
    await out.sync();
    step = 'closing';
    handle = null;
    await out.close();
    step = 'renaming';
    await fsp.rename(temp, file);
  } catch (err) {
    if (handle !== null) await handle.close().catch(() => {});
    await fsp.rm(temp, { force: true }).catch(() => {});
    throw new ReplaceFileError(err, step, temp);
  }
  return { bytes, dirSyncError: await syncDirectory(path.dirname(file)) };
}

/** Replaces `file` with `data` (a string is written as UTF-8). */
export function replaceFileWith(file: string, data: string | Uint8Array, mode = 0o600): Promise<Replaced> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return replaceFile(file, (write) => write(bytes), mode);
}

/** fsyncs a directory (making renames and creations in it durable); the error's text, or null. */
async function syncDirectory(dir: string): Promise<string | null> {
  try {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return null;
  } catch (err) {
    return describeFsError(err);
  }
}

/**
 * Removes the temporary files of `file` left by processes that no longer run (a crash or a kill
 * mid-write); returns the paths removed. Files of running processes and files it may not remove
 * are left.
 */
export function removeStaleTemps(file: string): string[] {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || (pid !== process.pid && isRunning(pid))) continue;
    try {
      fs.rmSync(path.join(dir, name), { force: true });
      removed.push(path.join(dir, name));
    } catch {
      // Not ours to remove (permissions): leave it.
    }
  }
  return removed;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A system error as `CODE: what` ("ENOSPC: no space left on device"), without the call and path node adds. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}`;
  return e instanceof Error ? e.message : String(err);
}
