// State dumps: the completion counts that users can't recreate, kept over restarts in
// opentracker's statedump format, one line per torrent, sorted by info hash:
//
//   <40 UPPERCASE HEX>:<minute of the last announce (Unix time / 60)>:<downloaded>\n
//
// Peers are not kept: clients announce again within an interval.
//
// Writing goes to `<file>.tmp-<pid>` (fsynced), which is then renamed over `<file>` (and the
// directory fsynced), so a crash or a full disk leaves the previous dump whole. The store is
// walked by the full-scrape generator (stripe by stripe, one short lock at a time, letting the
// event loop turn between chunks) and written in 256 KiB pieces.
//
// Loading streams the file (plain, gzip or zstd, told by its first bytes: opentracker's
// `/stats?mode=statedump` answers are gzipped), parses every line strictly, reports bad lines
// with their numbers and goes on. Counts are restored with `restoreTorrent`, which keeps the
// larger count, so loading a dump twice (or two dumps) never adds them up as opentracker does.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { SwarmStore } from '../store/swarm-store.ts';
import { fullScrape } from '../scrape/full-scrape.ts';
import type { HashFilter } from '../scrape/full-scrape.ts';
import { HEX_VALUE } from '../text/hex.ts';

export interface DumpResult {
  ok: boolean;
  file: string;
  /** Torrents written. */
  torrents: number;
  bytes: number;
  ms: number;
  /** What went wrong (ok is false), e.g. "ENOSPC: no space left on device (writing)". */
  error?: string;
}

/** The name of the temporary file a dump is written to before it is renamed over `file`. */
export function tempName(file: string, pid: number = process.pid): string {
  return `${file}.tmp-${pid}`;
}

/**
 * Writes every torrent of the store to `file`, atomically. Never rejects: on any error the
 * previous file is left as it was, the temporary file is removed, the error is logged and the
 * result says so.
 */
export async function writeStateDump(store: SwarmStore, file: string, log: Logger): Promise<DumpResult> {
  const started = performance.now();
  const tmp = tempName(file);
  const result: DumpResult = { ok: false, file, torrents: 0, bytes: 0, ms: 0 };
  let step = 'creating the temporary file';
  let fh: fsp.FileHandle | null = null;
  try {
    // Created afresh, never through a link someone left in its place (O_EXCL).
    await fsp.rm(tmp, { force: true });
    fh = await fsp.open(tmp, 'wx', 0o644);
    step = 'writing';
    const count: HashFilter = () => {
      result.torrents++;
      return true;
    };
    for await (const chunk of fullScrape(store, 'statedump', count)) {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
      result.bytes += chunk.length;
    }
    step = 'syncing';
    await fh.sync();
    step = 'closing';
    const handle = fh;
    fh = null;
    await handle.close();
    step = 'renaming';
    await fsp.rename(tmp, file);
  } catch (err) {
    if (fh !== null) await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    result.error = `${describe(err)} (${step} ${tmp})`;
    result.ms = performance.now() - started;
    log.error({ file, error: result.error }, 'state dump failed; the previous dump is kept');
    return result;
  }
  // The new dump is in place; make the rename itself durable.
  try {
    const dir = await fsp.open(path.dirname(file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (err) {
    log.warn({ file, error: describe(err) }, 'state dump written, but its directory could not be synced');
  }
  result.ok = true;
  result.ms = performance.now() - started;
  return result;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}`;
  return e instanceof Error ? e.message : String(err);
}

// ---------------------------------------------------------------- loading

export interface LoadOptions {
  /** Only hashes it accepts are loaded (the access list). */
  allows?: HashFilter | null;
  /**
   * Torrents are restored as active at least at this minute, so that those idle for long (the
   * tracker was down) live long enough after the start for their clients to come back.
   */
  minActiveMinute?: number;
  /** Progress is logged every this many lines. Default 1,000,000. */
  progressLines?: number;
  /** Bad lines logged one by one; the rest are only counted. Default 20. */
  maxReportedLines?: number;
}

export interface BadLine {
  line: number;
  reason: string;
}

export interface LoadResult {
  file: string;
  /** False: there was no such file. */
  found: boolean;
  /** The whole file was read and every line was good. */
  ok: boolean;
  compression: 'gzip' | 'zstd' | null;
  /** Lines read (blank ones included). */
  lines: number;
  /** Torrents restored. */
  restored: number;
  /** Lines with no completions (nothing to keep: the torrent would be cleaned away at once). */
  empty: number;
  /** Hashes the access list refused. */
  refused: number;
  /** Lines that are not state dump lines. */
  bad: number;
  /** The first bad lines (up to maxReportedLines). */
  badLines: BadLine[];
  /** The memory limit stopped the load early. */
  full: boolean;
  /** Minutes in the future (a clock that went back) were taken as now. */
  future: number;
  bytes: number;
  ms: number;
  /** Why the file could not be read to its end (I/O error, broken compressed data). */
  error?: string;
}

const MAX_LINE = 512; // opentracker's limit too
const MAX_U32 = 0xffffffff;

/** One state dump line, parsed into reused fields. */
export class StateLine {
  readonly hash = new Uint8Array(20);
  minute = 0;
  downloaded = 0;

  /**
   * Parses `buf[start, end)` (without the newline; a trailing CR is allowed). Returns null when
   * it is a good line, else why not.
   */
  parse(buf: Uint8Array, start: number, end: number): string | null {
    if (end > start && buf[end - 1] === 0x0d) end--;
    let p = start;
    const h = this.hash;
    for (let i = 0; i < 20; i++, p += 2) {
      const hi = p < end ? HEX_VALUE[buf[p]] : -1;
      const lo = p + 1 < end ? HEX_VALUE[buf[p + 1]] : -1;
      if (hi < 0 || lo < 0) return 'does not start with a 40-digit hex info hash';
      h[i] = (hi << 4) | lo;
    }
    if (p >= end || buf[p] !== 0x3a) return p < end && HEX_VALUE[buf[p]] >= 0 ? 'the info hash is longer than 40 hex digits' : "no ':' after the info hash";
    p++;
    const minuteEnd = decimalEnd(buf, p, end);
    if (minuteEnd === p) return 'the minute is not a decimal number';
    if (minuteEnd - p > 10) return 'the minute is too large';
    this.minute = decimalValue(buf, p, minuteEnd);
    if (this.minute > MAX_U32) return 'the minute is too large';
    p = minuteEnd;
    if (p >= end || buf[p] !== 0x3a) return "no ':' after the minute";
    p++;
    const countEnd = decimalEnd(buf, p, end);
    if (countEnd === p) return 'the completion count is not a decimal number';
    if (countEnd - p > 10) return 'the completion count is too large';
    this.downloaded = decimalValue(buf, p, countEnd);
    if (this.downloaded > MAX_U32) return 'the completion count is too large';
    if (countEnd !== end) return 'unexpected characters after the completion count';
    return null;
  }
}

function decimalEnd(buf: Uint8Array, p: number, end: number): number {
  while (p < end && buf[p] >= 0x30 && buf[p] <= 0x39) p++;
  return p;
}

function decimalValue(buf: Uint8Array, p: number, end: number): number {
  let n = 0;
  for (; p < end; p++) n = n * 10 + (buf[p] - 0x30);
  return n;
}

/** A short printable excerpt of a bad line, for the log. */
function excerpt(buf: Uint8Array, start: number, end: number): string {
  const shown = Buffer.from(buf.subarray(start, Math.min(end, start + 60))).toString('latin1');
  return JSON.stringify(shown).slice(1, -1) + (end - start > 60 ? '…' : '');
}

/**
 * Loads a state dump into the store. Never rejects: a missing file is a warning (a first run),
 * an unreadable or broken one an error; whatever was parsed before a problem is kept.
 */
export async function loadStateDump(
  store: SwarmStore,
  file: string,
  log: Logger,
  allowsOrOptions?: HashFilter | LoadOptions | null,
): Promise<LoadResult> {
  const options: LoadOptions = typeof allowsOrOptions === 'function' ? { allows: allowsOrOptions } : (allowsOrOptions ?? {});
  const allows = options.allows ?? null;
  const progressLines = options.progressLines ?? 1_000_000;
  const maxReported = options.maxReportedLines ?? 20;
  const minActive = options.minActiveMinute ?? 0;
  const started = performance.now();
  const result: LoadResult = {
    file, found: true, ok: false, compression: null, lines: 0, restored: 0, empty: 0, refused: 0,
    bad: 0, badLines: [], full: false, future: 0, bytes: 0, ms: 0,
  };
  const finish = (): LoadResult => {
    result.ms = performance.now() - started;
    return result;
  };

  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      result.found = false;
      log.warn({ file }, 'no state dump to load (a first start?)');
      return finish();
    }
    result.error = describe(err);
    log.error({ file, error: result.error }, 'cannot read the state dump; starting without it');
    return finish();
  }

  let raw: fs.ReadStream | null = null;
  let source: Readable | null = null;
  const line = new StateLine();
  const carry = Buffer.allocUnsafe(MAX_LINE + 1);
  let carryLen = 0;
  let overlong = false; // skipping the rest of a line longer than MAX_LINE
  let stopped = false;
  const nowMinute = Math.floor(Date.now() / 60000);
  let lastProgress = performance.now();
  let linesAtProgress = 0;

  const bad = (reason: string, buf: Uint8Array, start: number, end: number, lineNumber = result.lines) => {
    result.bad++;
    if (result.badLines.length < maxReported) {
      result.badLines.push({ line: lineNumber, reason });
      log.error({ file, line: lineNumber, reason, text: excerpt(buf, start, end) }, 'bad line in the state dump; skipped');
    }
  };

  const handleLine = (buf: Uint8Array, start: number, end: number) => {
    result.lines++;
    if (end === start || (end === start + 1 && buf[start] === 0x0d)) return; // blank
    const why = line.parse(buf, start, end);
    if (why !== null) return bad(why, buf, start, end);
    if (line.downloaded === 0) {
      result.empty++;
      return;
    }
    if (allows !== null && !allows(line.hash, 0)) {
      result.refused++;
      return;
    }
    let minute = line.minute;
    if (minute > nowMinute) {
      result.future++;
      minute = nowMinute;
    }
    if (minute < minActive) minute = minActive;
    if (!store.restoreTorrent(line.hash, 0, line.downloaded, minute)) {
      result.full = true;
      stopped = true;
      log.error({ file, line: result.lines, restored: result.restored }, 'the memory limit is reached: the rest of the state dump is not loaded');
      return;
    }
    result.restored++;
  };

  const progress = () => {
    if (result.lines - linesAtProgress < progressLines) return;
    const now = performance.now();
    const rate = Math.round(((result.lines - linesAtProgress) * 1000) / Math.max(1, now - lastProgress));
    linesAtProgress = result.lines;
    lastProgress = now;
    log.info({ file, lines: result.lines, restored: result.restored, linesPerSecond: rate }, 'loading the state dump');
  };

  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await fh.read(magic, 0, 4, 0);
    if (bytesRead >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) result.compression = 'gzip';
    else if (bytesRead === 4 && magic.readUInt32LE(0) === 0xfd2fb528) result.compression = 'zstd';
    raw = fh.createReadStream({ start: 0, highWaterMark: 1024 * 1024, autoClose: false });
    if (result.compression !== null) {
      const decompress = result.compression === 'gzip' ? zlib.createGunzip() : zlib.createZstdDecompress();
      raw.on('error', (err: Error) => decompress.destroy(err));
      source = raw.pipe(decompress);
    } else source = raw;

    for await (const chunk of source as AsyncIterable<Buffer>) {
      let p = 0;
      const n = chunk.length;
      while (p < n && !stopped) {
        const nl = chunk.indexOf(0x0a, p);
        const end = nl < 0 ? n : nl;
        if (overlong) {
          // The rest of an over-long line: skipped.
        } else if (carryLen + end - p > MAX_LINE) {
          overlong = true;
          if (carryLen > 0) bad(`longer than ${MAX_LINE} bytes`, carry, 0, carryLen, result.lines + 1);
          else bad(`longer than ${MAX_LINE} bytes`, chunk, p, end, result.lines + 1);
          carryLen = 0;
        } else if (nl < 0) {
          chunk.copy(carry, carryLen, p, end);
          carryLen += end - p;
        } else if (carryLen > 0) {
          chunk.copy(carry, carryLen, p, end);
          handleLine(carry, 0, carryLen + end - p);
          carryLen = 0;
        } else {
          handleLine(chunk, p, end);
        }
        if (nl < 0) break;
        if (overlong) {
          overlong = false;
          result.lines++;
        }
        p = nl + 1;
        progress();
      }
      if (stopped) break;
    }
    if (!stopped && (carryLen > 0 || overlong)) {
      // The last line has no newline: keep it if it is whole, but say the file may be cut short.
      if (overlong) result.lines++;
      else {
        const before = result.bad;
        handleLine(carry, 0, carryLen);
        if (result.bad === before) {
          log.warn({ file, line: result.lines }, 'the state dump does not end with a newline: it may have been cut short');
        }
      }
    }
    result.ok = !stopped && result.bad === 0;
  } catch (err) {
    result.error = describe(err);
    log.error(
      { file, line: result.lines + 1, error: result.error, restored: result.restored },
      'the state dump could not be read to its end; what was read before is kept',
    );
  } finally {
    result.bytes = raw?.bytesRead ?? 0;
    source?.destroy();
    await fh.close().catch(() => {});
  }

  finish();
  if (result.bad > result.badLines.length) {
    log.error({ file, bad: result.bad, reported: result.badLines.length }, 'more bad lines in the state dump were skipped');
  }
  const rate = Math.round((result.lines * 1000) / Math.max(1, result.ms));
  const summary = {
    file, compression: result.compression, lines: result.lines, restored: result.restored, empty: result.empty,
    refused: result.refused, bad: result.bad, ms: Math.round(result.ms), linesPerSecond: rate,
  };
  if (result.ok) log.info(summary, 'state dump loaded');
  else log.warn(summary, 'state dump loaded in part');
  return result;
}

/** Removes temporary dump files (`<file>.tmp-<pid>`) left by processes that no longer run. */
export function removeStaleTemps(file: string, log: Logger): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || (pid !== process.pid && isRunning(pid))) continue;
    try {
      fs.rmSync(path.join(dir, name), { force: true });
      log.warn({ file: path.join(dir, name) }, 'removed a temporary state dump left by an earlier run');
    } catch {
      // Not ours to remove (permissions): leave it.
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
