// Full scrapes: every torrent of the store, sorted by info hash, streamed in chunks.
//
// One generator serves `GET /scrape` (bencode), opentracker's `/stats?mode=tpbs&format=...`
// dumps and its `mode=statedump` (also what the state files hold): only the row formatter
// differs. The walk takes the stripes in order (stripe i holds the hashes whose top 12 bits are i,
// so the output comes out sorted), copying one stripe at a time under that stripe's lock only.
// Rows go into ~256 KiB buffers; a full buffer is handed out and the generator then lets the event
// loop turn (setImmediate) before it goes on, and it also lets it turn every few milliseconds of
// walking when few rows come out (a filter refusing most torrents), so announces answered by the
// same thread keep flowing while a full scrape of millions of torrents runs.
//
// Compression (gzip or zstd) runs in node:zlib streams, on libuv's thread pool; the compressed
// output is handed out in chunks of about the same size, and nothing is produced faster than the
// consumer asks for it (an async generator runs only when its `next()` is called).

import zlib from 'node:zlib';
import { setImmediate as turn } from 'node:timers/promises';
import { STRIPES, TorrentRows } from '../store/swarm-store.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { writeDecimal } from '../protocol/bencode.ts';
import { HEX_LOWER, HEX_UPPER } from '../text/hex.ts';

/**
 * `ben`: `/scrape`'s bencoded dictionary. `bin`, `txt`, `txtp`, `url`: opentracker's `tpbs`
 * formats. `statedump`: opentracker's state dump lines `<HEX40>:<minute>:<downloaded>\n`.
 */
export type FullScrapeFormat = 'ben' | 'bin' | 'txt' | 'txtp' | 'url' | 'statedump';

/** The `format=` values of `/stats?mode=tpbs`, as opentracker. */
export const TPBS_FORMATS: readonly FullScrapeFormat[] = ['ben', 'bin', 'txt', 'txtp', 'url'];

export type Compression = 'gzip' | 'zstd' | null;

/** Which torrents to include (an access list): the 20-byte hash at `hash[off]`. */
export type HashFilter = (hash: Uint8Array, off: number) => boolean;

export interface FullScrapeOptions {
  compress?: Compression;
  /** Size of the chunks handed out (raw, and about that for compressed output). Default 256 KiB. */
  chunkBytes?: number;
  /** Longest stretch of walking without letting the event loop turn, in ms. Default 4. */
  sliceMs?: number;
}

export const DEFAULT_CHUNK_BYTES = 256 * 1024;
const DEFAULT_SLICE_MS = 4;
/** Room kept free at the end of a chunk: the longest row (url: 60 + 2 numbers) fits. */
const MAX_ROW_BYTES = 256;
/** opentracker's compression settings: gzip level 7 with memLevel 9, zstd level 6. */
const GZIP_LEVEL = 7;
const ZSTD_LEVEL = 6;

/** Bytes libowfat's fmt_urlencoded leaves alone: letters, digits and `$/.=~-_`. */
const URL_SAFE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  URL_SAFE[c] = /[A-Za-z0-9$/.=~_-]/.test(ch) ? 1 : 0;
}

const BEN_HEAD = Buffer.from('d5:filesd', 'latin1');
const BEN_TAIL = Buffer.from('ee', 'latin1');
const BEN_COMPLETE = Buffer.from('d8:completei', 'latin1');
const BEN_DOWNLOADED = Buffer.from('e10:downloadedi', 'latin1');
const BEN_INCOMPLETE = Buffer.from('e10:incompletei', 'latin1');
const COLON = 0x3a;
const NEWLINE = 0x0a;

function put(buf: Uint8Array, off: number, bytes: Uint8Array): number {
  buf.set(bytes, off);
  return off + bytes.length;
}

/** `:x:y`, the numbers after the hash in the text formats. */
function writeCounts(buf: Uint8Array, o: number, x: number, y: number): number {
  buf[o++] = COLON;
  o = writeDecimal(buf, o, x);
  buf[o++] = COLON;
  return writeDecimal(buf, o, y);
}

/** Writes the 40 uppercase hex digits of the hash at `h[ho]`. */
function writeHex(buf: Uint8Array, off: number, h: Uint8Array, ho: number): number {
  for (let i = 0; i < 20; i++) {
    const b = h[ho + i] * 2;
    buf[off++] = HEX_UPPER[b];
    buf[off++] = HEX_UPPER[b + 1];
  }
  return off;
}

function writeUrlEncoded(buf: Uint8Array, off: number, h: Uint8Array, ho: number): number {
  for (let i = 0; i < 20; i++) {
    const c = h[ho + i];
    if (URL_SAFE[c] === 1) buf[off++] = c;
    else {
      buf[off++] = 0x25; // %
      buf[off++] = HEX_LOWER[c * 2];
      buf[off++] = HEX_LOWER[c * 2 + 1];
    }
  }
  return off;
}

function writeBE32(buf: Uint8Array, off: number, n: number): number {
  buf[off] = n >>> 24;
  buf[off + 1] = (n >>> 16) & 255;
  buf[off + 2] = (n >>> 8) & 255;
  buf[off + 3] = n & 255;
  return off + 4;
}

type RowWriter = (buf: Uint8Array, off: number, rows: TorrentRows, i: number) => number;

const WRITERS: Record<FullScrapeFormat, RowWriter> = {
  ben(buf, o, r, i) {
    buf[o++] = 0x32; // 2
    buf[o++] = 0x30; // 0
    buf[o++] = COLON;
    buf.set(r.hashes.subarray(i * 20, i * 20 + 20), o);
    o = put(buf, o + 20, BEN_COMPLETE);
    o = writeDecimal(buf, o, r.seeders[i]);
    o = put(buf, o, BEN_DOWNLOADED);
    o = writeDecimal(buf, o, r.downloaded[i]);
    o = put(buf, o, BEN_INCOMPLETE);
    o = writeDecimal(buf, o, r.leechers[i]);
    buf[o++] = 0x65; // e (the integer)
    buf[o++] = 0x65; // e (the torrent's dictionary)
    return o;
  },
  bin(buf, o, r, i) {
    buf.set(r.hashes.subarray(i * 20, i * 20 + 20), o);
    o = writeBE32(buf, o + 20, r.seeders[i]);
    return writeBE32(buf, o, r.leechers[i]);
  },
  txt(buf, o, r, i) {
    o = writeHex(buf, o, r.hashes, i * 20);
    o = writeCounts(buf, o, r.seeders[i], r.leechers[i]);
    buf[o++] = NEWLINE;
    return o;
  },
  txtp(buf, o, r, i) {
    o = writeHex(buf, o, r.hashes, i * 20);
    o = writeCounts(buf, o, r.seeders[i], r.leechers[i]);
    buf[o++] = COLON;
    o = writeDecimal(buf, o, r.downloaded[i]);
    buf[o++] = NEWLINE;
    return o;
  },
  url(buf, o, r, i) {
    o = writeUrlEncoded(buf, o, r.hashes, i * 20);
    o = writeCounts(buf, o, r.seeders[i], r.leechers[i]);
    buf[o++] = NEWLINE;
    return o;
  },
  statedump(buf, o, r, i) {
    o = writeHex(buf, o, r.hashes, i * 20);
    o = writeCounts(buf, o, r.active[i], r.downloaded[i]);
    buf[o++] = NEWLINE;
    return o;
  },
};

/** The format named by a `/stats?mode=tpbs&format=` value, or null (opentracker: 400). */
export function parseTpbsFormat(value: string | null): FullScrapeFormat | null {
  return value !== null && (TPBS_FORMATS as readonly string[]).includes(value) ? (value as FullScrapeFormat) : null;
}

/**
 * The compression to use for an `Accept-Encoding` header value (null: none, or not given):
 * zstd when accepted, else gzip when accepted, else none. q-values are honoured (`gzip;q=0`
 * refuses gzip); `*` accepts both. opentracker instead looks for "gzip" or "zstd" anywhere in
 * the request, so `?info_hash=gzip...` or a `User-Agent: ...zstd...` switched compression on.
 */
export function chooseCompression(acceptEncoding: string | null | undefined, allowZstd = true): Compression {
  if (!acceptEncoding) return null;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    if (!Number.isFinite(weight)) weight = 0;
    q.set(name.trim(), weight);
  }
  const weight = (name: string) => q.get(name) ?? q.get('*') ?? 0;
  if (allowZstd && weight('zstd') > 0 && weight('zstd') >= weight('gzip')) return 'zstd';
  if (weight('gzip') > 0 || weight('x-gzip') > 0) return 'gzip';
  return null;
}

/**
 * Every torrent in the store, sorted by info hash, in `format`, as chunks of about
 * `chunkBytes` (the last one shorter), compressed if asked. `filter` leaves torrents out.
 *
 * Stop early with `return()` (a `for await` loop's `break`, or an exception in it): nothing is
 * held between chunks (no lock, no stream left open).
 */
export function fullScrape(
  store: SwarmStore,
  format: FullScrapeFormat,
  filter?: HashFilter | null,
  options: FullScrapeOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  const chunkBytes = Math.max(4096, options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  const raw = rawChunks(store, format, filter ?? null, chunkBytes, options.sliceMs ?? DEFAULT_SLICE_MS);
  const compress = options.compress ?? null;
  if (compress === null) return raw;
  return compressed(raw, compressor(compress), chunkBytes);
}

async function* rawChunks(
  store: SwarmStore,
  format: FullScrapeFormat,
  filter: HashFilter | null,
  chunkBytes: number,
  sliceMs: number,
): AsyncGenerator<Buffer, void, undefined> {
  const write = WRITERS[format];
  const rows = new TorrentRows();
  const limit = chunkBytes - MAX_ROW_BYTES;
  let buf = Buffer.allocUnsafe(chunkBytes);
  let off = format === 'ben' ? put(buf, 0, BEN_HEAD) : 0;
  let sliceStart = performance.now();
  for (let s = 0; s < STRIPES; s++) {
    store.setClock();
    const n = store.snapshotStripe(s, rows);
    const order = rows.order;
    const hashes = rows.hashes;
    for (let k = 0; k < n; k++) {
      const i = order[k];
      if (filter !== null && !filter(hashes, i * 20)) continue;
      if (off > limit) {
        yield buf.subarray(0, off);
        buf = Buffer.allocUnsafe(chunkBytes);
        off = 0;
        await turn();
        sliceStart = performance.now();
      }
      off = write(buf, off, rows, i);
    }
    if (performance.now() - sliceStart >= sliceMs) {
      await turn();
      sliceStart = performance.now();
    }
  }
  if (format === 'ben') off = put(buf, off, BEN_TAIL);
  if (off > 0) yield buf.subarray(0, off);
}

type Compressor = zlib.Gzip | zlib.ZstdCompress;

function compressor(kind: 'gzip' | 'zstd'): Compressor {
  const chunkSize = 64 * 1024;
  if (kind === 'gzip') return zlib.createGzip({ level: GZIP_LEVEL, memLevel: 9, chunkSize });
  return zlib.createZstdCompress({ chunkSize, params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } });
}

/**
 * Feeds the raw chunks through `z` one at a time (the next one only once the previous is
 * compressed) and hands the output out in pieces of at least `chunkBytes` (the last shorter).
 */
async function* compressed(raw: AsyncGenerator<Buffer, void, undefined>, z: Compressor, chunkBytes: number): AsyncGenerator<Buffer, void, undefined> {
  const pieces: Buffer[] = [];
  let pending = 0;
  let failure: Error | null = null;
  z.on('data', (b: Buffer) => {
    pieces.push(b);
    pending += b.length;
  });
  z.on('error', (err: Error) => (failure ??= err));
  const take = (): Buffer => {
    const out = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, pending);
    pieces.length = 0;
    pending = 0;
    return out;
  };
  try {
    for await (const chunk of raw) {
      await new Promise<void>((resolve, reject) => {
        z.write(chunk, (err) => (err ? reject(err) : resolve()));
      });
      if (failure) throw failure;
      if (pending >= chunkBytes) yield take();
    }
    await new Promise<void>((resolve, reject) => {
      z.once('end', resolve);
      z.once('error', reject);
      z.end();
    });
    if (failure) throw failure;
    if (pending > 0) yield take();
  } finally {
    z.destroy();
    await raw.return(undefined);
  }
}

// ---------------------------------------------------------------- sending with backpressure

/** Where `pumpChunks` writes: a net.Socket fits as it is. */
interface ChunkSink {
  /** Writes bytes; false when the sink's buffer is full (wait for 'drain'). */
  write(chunk: Uint8Array): boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  /** True once the sink is gone (the client closed, or the socket was destroyed). */
  readonly destroyed: boolean;
}

interface PumpOptions {
  /** Frame every chunk for `Transfer-Encoding: chunked` and write the last chunk at the end. */
  chunked?: boolean;
}

interface PumpResult {
  /** Body bytes written (without chunked framing). */
  bytes: number;
  chunks: number;
  /** False when the sink went away before the end (the rest was never produced). */
  complete: boolean;
}

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * Writes every chunk to `sink`, waiting for 'drain' whenever a write returns false, and stops
 * (closing the source) if the sink closes. Never rejects because of the sink; an error from the
 * source (a compressor failing) rejects after the source is closed: destroy the socket then,
 * since a chunked body can't be ended cleanly.
 */
export async function pumpChunks(chunks: AsyncIterable<Buffer>, sink: ChunkSink, options: PumpOptions = {}): Promise<PumpResult> {
  const result: PumpResult = { bytes: 0, chunks: 0, complete: false };
  const chunked = options.chunked ?? false;
  for await (const chunk of chunks) {
    if (sink.destroyed) return result; // leaving the loop closes the source
    if (chunk.length === 0) continue;
    let ok: boolean;
    if (chunked) {
      sink.write(Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'));
      sink.write(chunk);
      ok = sink.write(CRLF);
    } else ok = sink.write(chunk);
    result.bytes += chunk.length;
    result.chunks++;
    if (!ok && !(await drained(sink))) return result;
  }
  if (sink.destroyed) return result;
  if (chunked) sink.write(LAST_CHUNK);
  result.complete = true;
  return result;
}

/** Resolves true on 'drain', false on 'close' (or when already destroyed). */
function drained(sink: ChunkSink): Promise<boolean> {
  if (sink.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onDrain = () => {
      sink.off('close', onClose);
      resolve(true);
    };
    const onClose = () => {
      sink.off('drain', onDrain);
      resolve(false);
    };
    sink.once('drain', onDrain);
    sink.once('close', onClose);
  });
}
