// State dumps: the completion counts that users can't recreate, kept over restarts in
// opentracker's statedump format, one line per torrent, sorted by info hash:
//
//   <40 UPPERCASE HEX>:<minute of the last announce (Unix time / 60)>:<downloaded>\n
//
// Peers are not kept: clients announce again within an interval.
//
// Writing replaces the file atomically (fs/atomic-file.ts: a temporary file, fsynced, renamed
// over it, the directory fsynced), so a crash or a full disk leaves the previous dump whole. The
// store is walked by the full-scrape generator (stripe by stripe, one short lock at a time,
// letting the event loop turn between chunks) and written in 256 KiB pieces.
//
// Loading streams the file (plain, gzip or zstd, told by its first bytes: opentracker's
// `/stats?mode=statedump` answers are gzipped), parses every line strictly (split by text/lines.ts),
// reports bad lines with their numbers and goes on. Counts are restored with `restoreTorrent`, which keeps the
// larger count, so loading a dump twice (or two dumps) never adds them up as opentracker does.

import fsp from 'node:fs/promises';
import zlib from 'node:zlib';
import type { ReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { SwarmStore } from '../store/swarm-store.ts';
import { currentMinute } from '../store/swarm-store.ts';
import { fullScrape } from '../scrape/full-scrape.ts';
import type { HashFilter } from '../scrape/full-scrape.ts';
import { HEX_VALUE } from '../text/hex.ts';
import { LineSplitter } from '../text/lines.ts';
import { describeFsError, replaceFile } from '../fs/atomic-file.ts';

export interface DumpResult {
  ok: boolean;
  file: string;
  /** Torrents written. */
  torrents: number;
  bytes: number;
  ms: number;
  /** What went wrong (ok is false), e.g. "ENOSPC: no space left on device (writing <file>.tmp-<pid>)". */
  error?: string;
}

/**
 * Writes every torrent of the store to `file`, atomically. Never rejects: on any error the
 * previous file is left as it was, the temporary file is removed, the error is logged and the
 * result says so.
 */
export async function writeStateDump(store: SwarmStore, file: string, log: Logger): Promise<DumpResult> {
  const started = performance.now();
  const result: DumpResult = { ok: false, file, torrents: 0, bytes: 0, ms: 0 };
  const count: HashFilter = () => {
    result.torrents++;
    return true;
  };
  try {
    const { dirSyncError } = await replaceFile(
      file,
      async (write) => {
        for await (const chunk of fullScrape(store, 'statedump', count)) {
          await write(chunk);
          result.bytes += chunk.length;
        }
      },
      0o644,
    );
    if (dirSyncError !== null) log.warn({ file, error: dirSyncError }, 'state dump written, but its directory could not be synced');
    result.ok = true;
  } catch (err) {
    result.error = (err as Error).message;
    log.error({ file, error: result.error }, 'state dump failed; the previous dump is kept');
  }
  result.ms = performance.now() - started;
  return result;
}

// ---------------------------------------------------------------- loading

interface LoadOptions {
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
  /** The last number read by u32(), or why it could not be read. */
  private value = 0;
  private why = '';

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
    p = this.u32(buf, p + 1, end, 'minute');
    if (p < 0) return this.why;
    this.minute = this.value;
    if (p >= end || buf[p] !== 0x3a) return "no ':' after the minute";
    p = this.u32(buf, p + 1, end, 'completion count');
    if (p < 0) return this.why;
    this.downloaded = this.value;
    if (p !== end) return 'unexpected characters after the completion count';
    return null;
  }

  /** Reads a decimal 32-bit number at buf[p] into `value`; returns where it ends, or -1 (`why` says why). */
  private u32(buf: Uint8Array, p: number, end: number, what: string): number {
    const e = decimalEnd(buf, p, end);
    if (e === p) this.why = `the ${what} is not a decimal number`;
    else if (e - p > 10 || (this.value = decimalValue(buf, p, e)) > MAX_U32) this.why = `the ${what} is too large`;
    else return e;
    return -1;
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
export async function loadStateDump(store: SwarmStore, file: string, log: Logger, allowsOrOptions?: HashFilter | LoadOptions | null): Promise<LoadResult> {
  const options: LoadOptions = typeof allowsOrOptions === 'function' ? { allows: allowsOrOptions } : (allowsOrOptions ?? {});
  const started = performance.now();
  const result: LoadResult = {
    file,
    found: true,
    ok: false,
    compression: null,
    lines: 0,
    restored: 0,
    empty: 0,
    refused: 0,
    bad: 0,
    badLines: [],
    full: false,
    future: 0,
    bytes: 0,
    ms: 0,
  };
  const fh = await openDump(file, result, log);
  if (fh !== null) await readDump(fh, new DumpLoader(store, result, log, options));
  result.ms = performance.now() - started;
  if (fh !== null) logSummary(result, log);
  return result;
}

/** Opens the dump; null when there is none or it can't be opened (the result and the log say which). */
async function openDump(file: string, result: LoadResult, log: Logger): Promise<fsp.FileHandle | null> {
  try {
    return await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      result.found = false;
      log.warn({ file }, 'no state dump to load (a first start?)');
    } else {
      result.error = describeFsError(err);
      log.error({ file, error: result.error }, 'cannot read the state dump; starting without it');
    }
    return null;
  }
}

/** Streams the open dump (decompressed if it is compressed) line by line into the loader, then closes it. */
async function readDump(fh: fsp.FileHandle, loader: DumpLoader): Promise<void> {
  const result = loader.result;
  let raw: ReadStream | null = null;
  let source: Readable | null = null;
  try {
    result.compression = await compressionOf(fh);
    raw = fh.createReadStream({ start: 0, highWaterMark: 1024 * 1024, autoClose: false });
    source = decompressed(raw, result.compression);
    const lines = new LineSplitter(loader.onLine, MAX_LINE);
    for await (const chunk of source as AsyncIterable<Buffer>) if (!lines.push(chunk)) break;
    loader.end(lines);
  } catch (err) {
    result.error = describeFsError(err);
    loader.log.error(
      { file: result.file, line: result.lines + 1, error: result.error, restored: result.restored },
      'the state dump could not be read to its end; what was read before is kept',
    );
  } finally {
    result.bytes = raw?.bytesRead ?? 0;
    source?.destroy();
    await fh.close().catch(() => {});
  }
}

/** gzip or zstd, told by the first bytes (opentracker's /stats?mode=statedump answers are gzipped), or null. */
async function compressionOf(fh: fsp.FileHandle): Promise<LoadResult['compression']> {
  const magic = Buffer.alloc(4);
  const { bytesRead } = await fh.read(magic, 0, 4, 0);
  if (bytesRead >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (bytesRead === 4 && magic.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return null;
}

function decompressed(raw: ReadStream, compression: LoadResult['compression']): Readable {
  if (compression === null) return raw;
  const decompress = compression === 'gzip' ? zlib.createGunzip() : zlib.createZstdDecompress();
  raw.on('error', (err: Error) => decompress.destroy(err));
  return raw.pipe(decompress);
}

/** One load's line handler and its counts: every line parsed, checked and restored into the store. */
class DumpLoader {
  readonly result: LoadResult;
  readonly log: Logger;
  private readonly store: SwarmStore;
  private readonly allows: HashFilter | null;
  private readonly minActive: number;
  private readonly progressLines: number;
  private readonly maxReported: number;
  private readonly line = new StateLine();
  private readonly nowMinute = currentMinute();
  /** The memory limit was reached: no more lines are loaded. */
  private stopped = false;
  private lastProgress = performance.now();
  private linesAtProgress = 0;

  constructor(store: SwarmStore, result: LoadResult, log: Logger, options: LoadOptions) {
    this.store = store;
    this.result = result;
    this.log = log;
    this.allows = options.allows ?? null;
    this.minActive = options.minActiveMinute ?? 0;
    this.progressLines = options.progressLines ?? 1_000_000;
    this.maxReported = options.maxReportedLines ?? 20;
  }

  /** The LineSplitter's handler; false (the store is full) stops the load. */
  readonly onLine = (buf: Buffer, start: number, end: number, overlong: boolean): boolean => {
    this.result.lines++;
    if (overlong) this.bad(`longer than ${MAX_LINE} bytes`, buf, start, end);
    else if (end > start) this.restore(buf, start, end); // else blank
    this.progress();
    return !this.stopped;
  };

  /** The end of the file: a last line without its newline is kept if it is whole, with a warning. */
  end(lines: LineSplitter): void {
    const result = this.result;
    const before = result.bad;
    if (lines.end(true) && result.bad === before) {
      this.log.warn({ file: result.file, line: result.lines }, 'the state dump does not end with a newline: it may have been cut short');
    }
    result.ok = !this.stopped && result.bad === 0;
  }

  private restore(buf: Buffer, start: number, end: number): void {
    const result = this.result;
    const line = this.line;
    const why = line.parse(buf, start, end);
    if (why !== null) return this.bad(why, buf, start, end);
    if (line.downloaded === 0) {
      result.empty++;
      return;
    }
    if (this.allows !== null && !this.allows(line.hash, 0)) {
      result.refused++;
      return;
    }
    let minute = line.minute;
    if (minute > this.nowMinute) {
      result.future++;
      minute = this.nowMinute;
    }
    if (minute < this.minActive) minute = this.minActive;
    if (!this.store.restoreTorrent(line.hash, 0, line.downloaded, minute)) {
      result.full = true;
      this.stopped = true;
      this.log.error(
        { file: result.file, line: result.lines, restored: result.restored },
        'the memory limit is reached: the rest of the state dump is not loaded',
      );
      return;
    }
    result.restored++;
  }

  private bad(reason: string, buf: Buffer, start: number, end: number): void {
    const result = this.result;
    result.bad++;
    if (result.badLines.length < this.maxReported) {
      result.badLines.push({ line: result.lines, reason });
      this.log.error({ file: result.file, line: result.lines, reason, text: excerpt(buf, start, end) }, 'bad line in the state dump; skipped');
    }
  }

  private progress(): void {
    const result = this.result;
    if (result.lines - this.linesAtProgress < this.progressLines) return;
    const now = performance.now();
    const rate = Math.round(((result.lines - this.linesAtProgress) * 1000) / Math.max(1, now - this.lastProgress));
    this.linesAtProgress = result.lines;
    this.lastProgress = now;
    this.log.info({ file: result.file, lines: result.lines, restored: result.restored, linesPerSecond: rate }, 'loading the state dump');
  }
}

function logSummary(result: LoadResult, log: Logger): void {
  const file = result.file;
  if (result.bad > result.badLines.length) {
    log.error({ file, bad: result.bad, reported: result.badLines.length }, 'more bad lines in the state dump were skipped');
  }
  const rate = Math.round((result.lines * 1000) / Math.max(1, result.ms));
  const summary = {
    file,
    compression: result.compression,
    lines: result.lines,
    restored: result.restored,
    empty: result.empty,
    refused: result.refused,
    bad: result.bad,
    ms: Math.round(result.ms),
    linesPerSecond: rate,
  };
  if (result.ok) log.info(summary, 'state dump loaded');
  else log.warn(summary, 'state dump loaded in part');
}
