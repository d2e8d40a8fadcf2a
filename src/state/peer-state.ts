// The peer-state format: every torrent with its completed count and every peer, so that a restart
// or an upgrade gives clients the peer lists they had instead of empty ones until everybody has
// announced again (opentracker's statedump keeps completed counts only). The same bytes go to a
// file at a graceful stop (and, if configured, at every periodic dump) and over the local socket
// of an upgrade's handover.
//
// Version 1. Integers are little-endian, addresses in network order.
//   header, 40 bytes: "SWMDPEER", version u32, flags u32 (0), the minute it was written (Unix
//     time / 60) u32, the store's torrents, IPv4 and IPv6 peers when the walk began u32 x3 (for
//     progress only: the store changes during the walk; the end block has the exact counts),
//     reserved u32 (0), CRC-32 of the 36 bytes before it.
//   blocks: type u8 (1 torrents, 2 end), 3 zero bytes, payload length u32, CRC-32 u32, payload.
//     The CRC covers the block's first 8 bytes and its payload and starts from the previous
//     block's CRC (the header's for the first block), so a block lost, repeated, moved or cut
//     short is caught, not only a flipped bit. Payloads are at most MAX_BLOCK bytes.
//   torrents payload: whole records, each
//     info hash (20), completed u32, minute of the last announce u32, IPv4 peers u32, IPv6 peers u32,
//     then per IPv4 peer address (4), port u16, meta u16; then per IPv6 peer address (16), port u16, meta u16,
//     where meta = flags (seeder 1, completed 2, synced 4) << 13 | age in minutes at the written minute.
//     Peers come in the store's order (address, then port). A torrent with more than RECORD_PEERS
//     peers goes on in the next record(s), with the same hash and completed count.
//   end payload, 16 bytes: records, torrents, IPv4 peers, IPv6 peers u32 (written), checked
//     against what was read. Nothing may follow it.
//
// The writer walks the store stripe by stripe with visitStripe (one short lock each, the
// callbacks only copy), so it never holds more than a stripe's worth and lets the event loop
// turn between blocks. The reader checks everything before it trusts it (magic, version, every
// CRC, every length, the end block) and throws a PeerStateError that says what and where; a file
// is checked whole before anything is loaded (loadPeerState), so a bad file loads nothing.
// Peers whose timeout passed since the minute the file was written are left out at load.

import fsp from 'node:fs/promises';
import { setImmediate as turn } from 'node:timers/promises';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import { replaceFile } from '../fs/atomic-file.ts';
import { PeerBatch, STRIPES } from '../store/swarm-store.ts';
import type { SwarmStore } from '../store/swarm-store.ts';

export const PEER_STATE_MAGIC = Buffer.from('SWMDPEER', 'latin1');
export const PEER_STATE_VERSION = 1;
const HEADER_BYTES = 40;
const BLOCK_HEAD = 12;
const BLOCK_TORRENTS = 1;
const BLOCK_END = 2;
const END_BYTES = 16;
const RECORD_HEAD = 36;
const PEER4 = 8;
const PEER6 = 20;
/** Peers per record: a bigger swarm goes on in the next record (so blocks stay bounded). */
export const RECORD_PEERS = 32768;
/** A block is cut once its payload reaches this. */
const BLOCK_TARGET = 256 * 1024;
/** The largest payload a reader accepts: a full block plus one record of the largest kind. */
export const MAX_BLOCK = BLOCK_TARGET + RECORD_HEAD + RECORD_PEERS * PEER6;
const AGE_MASK = 0x1fff;
/** Stripes walked between turns of the event loop when no block was cut meanwhile. */
const STRIPES_PER_TURN = 64;

/** What a file or stream holds, as written (end block) or as read. */
export interface PeerStateCounts {
  records: number;
  torrents: number;
  peers4: number;
  peers6: number;
}

/** A file or stream that is not a whole, good peer state: says what is wrong and where. */
export class PeerStateError extends Error {
  /** Byte offset where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'PeerStateError';
    this.offset = offset;
  }
}

/** Whether `head` (the first bytes of a file) starts like a peer-state file. */
export function isPeerState(head: Uint8Array): boolean {
  return head.length >= PEER_STATE_MAGIC.length && Buffer.from(head.subarray(0, PEER_STATE_MAGIC.length)).equals(PEER_STATE_MAGIC);
}

// ---------------------------------------------------------------- writing

/** Stages records and cuts them into checksummed blocks; fed by visitStripe's callbacks. */
class BlockWriter {
  readonly counts: PeerStateCounts = { records: 0, torrents: 0, peers4: 0, peers6: 0 };
  private buf = Buffer.allocUnsafe(BLOCK_TARGET * 2);
  private pos = 0;
  /** Where the open record's head is in `buf`, or -1. */
  private head = -1;
  private n4 = 0;
  private n6 = 0;
  /** Record ends in `buf` where a block is to be cut. */
  private readonly cuts: number[] = [];
  private cutFrom = 0;
  private crc = 0;
  private readonly minute: number;

  constructor(minute: number) {
    this.minute = minute;
  }

  header(totals: { torrents: number; peers4: number; peers6: number }): Buffer {
    const h = Buffer.alloc(HEADER_BYTES);
    PEER_STATE_MAGIC.copy(h, 0);
    h.writeUInt32LE(PEER_STATE_VERSION, 8);
    h.writeUInt32LE(this.minute >>> 0, 16);
    h.writeUInt32LE(totals.torrents >>> 0, 20);
    h.writeUInt32LE(totals.peers4 >>> 0, 24);
    h.writeUInt32LE(totals.peers6 >>> 0, 28);
    this.crc = zlib.crc32(h.subarray(0, 36));
    h.writeUInt32LE(this.crc, 36);
    return h;
  }

  torrent(hash: Uint8Array, offset: number, completed: number, active: number): void {
    this.close();
    this.counts.torrents++;
    this.open();
    for (let i = 0; i < 20; i++) this.buf[this.head + i] = hash[offset + i];
    this.buf.writeUInt32LE(completed >>> 0, this.head + 20);
    this.buf.writeUInt32LE(active >>> 0, this.head + 24);
  }

  peer(family: number, address: Uint8Array, port: number, flags: number, minute: number): void {
    if (this.n4 + this.n6 === RECORD_PEERS) this.continueRecord();
    const v4 = family === 4;
    if (v4 && this.n6 > 0) throw new Error('peer state: IPv4 peer after IPv6 peers');
    this.ensure(v4 ? PEER4 : PEER6);
    const b = this.buf;
    const len = v4 ? 4 : 16;
    for (let i = 0; i < len; i++) b[this.pos + i] = address[i];
    let p = this.pos + len;
    const age = Math.min(AGE_MASK, Math.max(0, this.minute - minute));
    b[p++] = port & 0xff;
    b[p++] = port >>> 8;
    const meta = ((flags & 7) << 13) | age;
    b[p++] = meta & 0xff;
    b[p++] = meta >>> 8;
    this.pos = p;
    if (v4) this.n4++;
    else this.n6++;
  }

  /** The stripe is done: closes its last record and hands out the blocks cut so far. */
  endStripe(): Buffer[] {
    this.close();
    return this.takeBlocks();
  }

  /** The last block (if any) and the end block. */
  finish(): Buffer[] {
    this.close();
    if (this.pos > this.cutFrom) this.cuts.push(this.pos);
    const blocks = this.takeBlocks();
    const end = Buffer.alloc(END_BYTES);
    end.writeUInt32LE(this.counts.records, 0);
    end.writeUInt32LE(this.counts.torrents, 4);
    end.writeUInt32LE(this.counts.peers4, 8);
    end.writeUInt32LE(this.counts.peers6, 12);
    blocks.push(this.block(BLOCK_END, end));
    return blocks;
  }

  private open(): void {
    this.ensure(RECORD_HEAD);
    this.head = this.pos;
    this.buf.fill(0, this.pos + 20, this.pos + RECORD_HEAD);
    this.pos += RECORD_HEAD;
    this.n4 = 0;
    this.n6 = 0;
  }

  /** Closes the open record (writes its peer counts) and marks a cut if the block is full. */
  private close(): void {
    if (this.head < 0) return;
    this.buf.writeUInt32LE(this.n4, this.head + 28);
    this.buf.writeUInt32LE(this.n6, this.head + 32);
    this.counts.records++;
    this.counts.peers4 += this.n4;
    this.counts.peers6 += this.n6;
    this.head = -1;
    const last = this.cuts.length > 0 ? this.cuts[this.cuts.length - 1] : this.cutFrom;
    if (this.pos - last >= BLOCK_TARGET) this.cuts.push(this.pos);
  }

  /** A swarm bigger than a record: the next record goes on with the same torrent. */
  private continueRecord(): void {
    const from = this.head;
    this.close();
    this.open();
    this.buf.copy(this.buf, this.head, from, from + 28);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  private takeBlocks(): Buffer[] {
    const blocks: Buffer[] = [];
    for (const cut of this.cuts) {
      blocks.push(this.block(BLOCK_TORRENTS, this.buf.subarray(this.cutFrom, cut)));
      this.cutFrom = cut;
    }
    this.cuts.length = 0;
    if (this.head < 0 && this.cutFrom > 0) {
      // Between records: move what is staged to the front.
      this.buf.copy(this.buf, 0, this.cutFrom, this.pos);
      this.pos -= this.cutFrom;
      this.cutFrom = 0;
    }
    return blocks;
  }

  private block(type: number, payload: Uint8Array): Buffer {
    const b = Buffer.allocUnsafe(BLOCK_HEAD + payload.length);
    b[0] = type;
    b[1] = b[2] = b[3] = 0;
    b.writeUInt32LE(payload.length, 4);
    b.set(payload, BLOCK_HEAD);
    this.crc = zlib.crc32(b.subarray(BLOCK_HEAD), zlib.crc32(b.subarray(0, 8), this.crc));
    b.writeUInt32LE(this.crc, 8);
    return b;
  }
}

/**
 * The store in the peer-state format, as a stream of buffers (the header, then blocks of about
 * 256 KiB, then the end block), each one new: the consumer may keep them. Peers whose timeout
 * passed are not written (visitStripe expires them first). `counts` is filled as it goes.
 */
export async function* writePeerState(store: SwarmStore, counts?: PeerStateCounts): AsyncGenerator<Buffer> {
  const w = new BlockWriter(store.now);
  yield w.header(store.totals());
  const torrent = (hash: Uint8Array, offset: number, completed: number, active: number) => w.torrent(hash, offset, completed, active);
  const peer = (_h: Uint8Array, _o: number, family: number, address: Uint8Array, port: number, _s: boolean, _y: boolean, flags: number, minute: number) =>
    w.peer(family, address, port, flags, minute);
  let quiet = 0;
  for (let i = 0; i < STRIPES; i++) {
    store.visitStripe(i, torrent, peer);
    const blocks = w.endStripe();
    for (const b of blocks) yield b;
    if (blocks.length > 0) quiet = 0;
    else if (++quiet === STRIPES_PER_TURN) {
      quiet = 0;
      await turn();
    }
  }
  for (const b of w.finish()) yield b;
  if (counts !== undefined) Object.assign(counts, w.counts);
}

// ---------------------------------------------------------------- reading

export interface PeerStateReadOptions {
  /** Only hashes it accepts are loaded (the access list, the takedown notices). */
  allows?: ((hash: Uint8Array, offset: number) => boolean) | null;
  /** Torrents are restored as active at least at this minute (see the state dump's loader). */
  minActiveMinute?: number;
}

/** What a reader found, and what it put into the store. */
export interface PeerStateRead {
  /** The minute the state was written. */
  writtenMinute: number;
  /** What the end block says was written. */
  written: PeerStateCounts;
  /** Torrents that came back (peers or completed count). */
  torrents: number;
  /** Peers that came back. */
  peers: number;
  /** Peers left out: their timeout passed since the state was written. */
  expired: number;
  /** Torrents (records) the access list or the notices refused. */
  refused: number;
  /** The memory limit stopped the restore early. */
  full: boolean;
  bytes: number;
}

/** What the reader waits for. */
const STEP = { header: 0, blockHead: 1, payload: 2, done: 3 } as const;

/**
 * Reads a peer state pushed to it in chunks cut anywhere, checking everything, and restores it
 * into `store` (null: only checks). `push` and `end` throw a PeerStateError on the first problem.
 */
export class PeerStateReader {
  private readonly store: SwarmStore | null;
  private readonly allows: ((hash: Uint8Array, offset: number) => boolean) | null;
  private readonly minActive: number;
  private step: number = STEP.header;
  private need = HEADER_BYTES;
  private carry = Buffer.allocUnsafe(64 * 1024);
  private fill = 0;
  private offset = 0; // bytes consumed before the current piece
  private crc = 0;
  private type = 0;
  private blockCrc = 0;
  private readonly blockHead = Buffer.allocUnsafe(8);
  private readonly seen: PeerStateCounts = { records: 0, torrents: 0, peers4: 0, peers6: 0 };
  private readonly batch = new PeerBatch();
  private readonly lastHash = new Uint8Array(20);
  private hasLast = false;
  readonly result: PeerStateRead = {
    writtenMinute: 0,
    written: { records: 0, torrents: 0, peers4: 0, peers6: 0 },
    torrents: 0,
    peers: 0,
    expired: 0,
    refused: 0,
    full: false,
    bytes: 0,
  };

  constructor(store: SwarmStore | null, options: PeerStateReadOptions = {}) {
    this.store = store;
    this.allows = options.allows ?? null;
    this.minActive = options.minActiveMinute ?? 0;
  }

  /** Whether the end block has been read. */
  get done(): boolean {
    return this.step === STEP.done;
  }

  push(chunk: Uint8Array): void {
    let p = 0;
    while (p < chunk.length) {
      if (this.step === STEP.done) throw new PeerStateError('data after the end block', this.offset + p);
      if (this.fill === 0 && chunk.length - p >= this.need) {
        const n = this.need;
        this.piece(chunk, p, p + n);
        p += n;
        continue;
      }
      if (this.carry.length < this.need) {
        const bigger = Buffer.allocUnsafe(this.need);
        this.carry.copy(bigger, 0, 0, this.fill);
        this.carry = bigger;
      }
      const n = Math.min(this.need - this.fill, chunk.length - p);
      this.carry.set(chunk.subarray(p, p + n), this.fill);
      this.fill += n;
      p += n;
      if (this.fill === this.need) {
        this.fill = 0;
        this.piece(this.carry, 0, this.need);
      }
    }
  }

  /** The stream ended: throws unless it ended right after the end block. */
  end(): PeerStateRead {
    const at = this.offset + this.fill;
    if (this.step === STEP.header) throw new PeerStateError(at === 0 ? 'empty' : 'cut short in the header', at);
    if (this.step !== STEP.done) throw new PeerStateError(`cut short (${this.step === STEP.payload ? 'in a block' : 'before the end block'})`, at);
    return this.result;
  }

  /** One whole header, block head or payload: `b[from, to)`. */
  private piece(b: Uint8Array, from: number, to: number): void {
    const at = this.offset;
    this.offset += to - from;
    this.result.bytes = this.offset;
    const v = Buffer.from(b.buffer, b.byteOffset + from, to - from);
    if (this.step === STEP.header) return this.header(v, at);
    if (this.step === STEP.blockHead) return this.head(v, at);
    const crc = zlib.crc32(v, zlib.crc32(this.blockHead, this.crc));
    if (crc !== this.blockCrc) throw new PeerStateError('block checksum mismatch: the data is damaged', at - BLOCK_HEAD);
    this.crc = crc;
    if (this.type === BLOCK_END) return this.endBlock(v, at);
    this.records(v, at);
    this.step = STEP.blockHead;
    this.need = BLOCK_HEAD;
  }

  private header(h: Buffer, at: number): void {
    if (!isPeerState(h)) throw new PeerStateError('not a swarmd peer-state file (bad magic)', at);
    const version = h.readUInt32LE(8);
    if (version !== PEER_STATE_VERSION) {
      throw new PeerStateError(`peer-state version ${version} is not supported (this swarmd reads version ${PEER_STATE_VERSION})`, at + 8);
    }
    if (zlib.crc32(h.subarray(0, 36)) !== h.readUInt32LE(36)) throw new PeerStateError('header checksum mismatch', at + 36);
    if (h.readUInt32LE(12) !== 0 || h.readUInt32LE(32) !== 0) throw new PeerStateError('unknown header flags', at + 12);
    this.crc = h.readUInt32LE(36);
    this.result.writtenMinute = h.readUInt32LE(16);
    this.step = STEP.blockHead;
    this.need = BLOCK_HEAD;
  }

  private head(h: Buffer, at: number): void {
    const type = h[0];
    const length = h.readUInt32LE(4);
    if ((type !== BLOCK_TORRENTS && type !== BLOCK_END) || h[1] !== 0 || h[2] !== 0 || h[3] !== 0) {
      throw new PeerStateError(`unknown block type ${type}`, at);
    }
    if (type === BLOCK_END ? length !== END_BYTES : length === 0 || length > MAX_BLOCK) {
      throw new PeerStateError(`bad block length ${length}`, at + 4);
    }
    h.copy(this.blockHead, 0, 0, 8);
    this.blockCrc = h.readUInt32LE(8);
    this.type = type;
    this.step = STEP.payload;
    this.need = length;
  }

  private endBlock(e: Buffer, at: number): void {
    const w = this.result.written;
    w.records = e.readUInt32LE(0);
    w.torrents = e.readUInt32LE(4);
    w.peers4 = e.readUInt32LE(8);
    w.peers6 = e.readUInt32LE(12);
    const s = this.seen;
    if (w.records !== s.records || w.torrents !== s.torrents || w.peers4 !== s.peers4 || w.peers6 !== s.peers6) {
      throw new PeerStateError(
        `the end block's counts (${w.records} records, ${w.peers4}+${w.peers6} peers) differ from the data (${s.records} records, ${s.peers4}+${s.peers6} peers)`,
        at,
      );
    }
    this.step = STEP.done;
    this.need = 1;
  }

  /** A torrents block: every record is checked whole before it is restored. */
  private records(v: Buffer, at: number): void {
    let p = 0;
    while (p < v.length) {
      if (v.length - p < RECORD_HEAD) throw new PeerStateError('a record is cut short by the end of its block', at + p);
      const n4 = v.readUInt32LE(p + 28);
      const n6 = v.readUInt32LE(p + 32);
      if (n4 + n6 > RECORD_PEERS) throw new PeerStateError(`a record holds ${n4 + n6} peers (at most ${RECORD_PEERS})`, at + p + 28);
      const size = RECORD_HEAD + n4 * PEER4 + n6 * PEER6;
      if (size > v.length - p) throw new PeerStateError('a record runs past the end of its block', at + p);
      const continued = this.hasLast && v.compare(this.lastHash, 0, 20, p, p + 20) === 0;
      v.copy(this.lastHash, 0, p, p + 20);
      this.hasLast = true;
      this.seen.records++;
      if (!continued) this.seen.torrents++;
      this.seen.peers4 += n4;
      this.seen.peers6 += n6;
      if (this.store !== null) this.restore(this.store, v, p, n4, n6, continued);
      p += size;
    }
  }

  private restore(store: SwarmStore, v: Buffer, p: number, n4: number, n6: number, continued: boolean): void {
    const r = this.result;
    if (r.full) return;
    if (this.allows !== null && !this.allows(v, p)) {
      r.refused++;
      return;
    }
    const now = store.now;
    const completed = v.readUInt32LE(p + 20);
    const active = Math.max(this.minActive, Math.min(now, v.readUInt32LE(p + 24)));
    if (completed > 0 && !store.restoreTorrent(v, p, completed, active)) {
      r.full = true;
      return;
    }
    let restored = completed > 0;
    let q = p + RECORD_HEAD;
    for (let family = 4; family <= 6; family += 2) {
      const n = family === 4 ? n4 : n6;
      if (n === 0) continue;
      this.fillBatch(family, v, q, n);
      q += n * (family === 4 ? PEER4 : PEER6);
      const ok = store.restorePeers(v, p, this.batch);
      r.peers += this.batch.restored;
      r.expired += this.batch.expired;
      if (this.batch.restored > 0) restored = true;
      if (!ok) {
        r.full = true;
        break;
      }
    }
    if (restored && !continued) r.torrents++;
  }

  private fillBatch(family: number, v: Buffer, q: number, n: number): void {
    const b = this.batch;
    b.reserve(n);
    b.family = family;
    b.count = n;
    const len = family === 4 ? 4 : 16;
    const written = this.result.writtenMinute;
    for (let i = 0; i < n; i++, q += len + 4) {
      for (let k = 0; k < len; k++) b.addresses[i * len + k] = v[q + k];
      b.ports[i] = v[q + len] | (v[q + len + 1] << 8);
      const meta = v[q + len + 2] | (v[q + len + 3] << 8);
      b.flags[i] = meta >>> 13;
      b.minutes[i] = written - (meta & AGE_MASK);
    }
  }
}

// ---------------------------------------------------------------- files

export interface PeerStateWrite {
  ok: boolean;
  file: string;
  torrents: number;
  peers: number;
  bytes: number;
  ms: number;
  /** Why it failed (the previous file is kept), e.g. "ENOSPC: no space left on device (writing FILE.tmp-PID)". */
  error?: string;
}

/** Writes the store's peer state to `file` atomically (src/fs/atomic-file.ts). Never rejects. */
export async function writePeerStateFile(store: SwarmStore, file: string, log: Logger): Promise<PeerStateWrite> {
  const started = performance.now();
  const result: PeerStateWrite = { ok: false, file, torrents: 0, peers: 0, bytes: 0, ms: 0 };
  const counts: PeerStateCounts = { records: 0, torrents: 0, peers4: 0, peers6: 0 };
  try {
    const { bytes, dirSyncError } = await replaceFile(file, async (write) => {
      for await (const chunk of writePeerState(store, counts)) await write(chunk);
    });
    if (dirSyncError !== null) log.warn({ file, error: dirSyncError }, 'peer state written, but its directory could not be synced');
    result.bytes = bytes;
    result.torrents = counts.torrents;
    result.peers = counts.peers4 + counts.peers6;
    result.ok = true;
  } catch (err) {
    result.error = (err as Error).message;
    log.error({ file, error: result.error }, 'writing the peer state failed; the previous file is kept');
  }
  result.ms = performance.now() - started;
  return result;
}

export interface PeerStateLoad extends PeerStateRead {
  file: string;
  /** False: there was no such file. */
  found: boolean;
  /** The file was good and loaded (the memory limit may still have stopped it: `full`). */
  ok: boolean;
  ms: number;
  /** Of `ms`, the first pass (reading and checking the whole file before loading anything). */
  checkMs: number;
  /** Why nothing was loaded: the file is damaged, cut short, of another version, unreadable. */
  error?: string;
}

/**
 * Loads a peer-state file into the store: first checks it whole, then restores it, so a damaged
 * or truncated file loads nothing (the error says why). Never rejects.
 */
export async function loadPeerState(store: SwarmStore, file: string, options: PeerStateReadOptions = {}): Promise<PeerStateLoad> {
  const started = performance.now();
  const empty = new PeerStateReader(null).result;
  const result: PeerStateLoad = { ...empty, file, found: true, ok: false, ms: 0, checkMs: 0 };
  try {
    const check = new PeerStateReader(null);
    await readFileInto(file, check);
    result.checkMs = performance.now() - started;
    // The counts are known good now: the tables can take every torrent without growing.
    store.reserveTorrents(check.result.written.torrents);
    const reader = new PeerStateReader(store, options);
    await readFileInto(file, reader);
    Object.assign(result, reader.result);
    result.ok = true;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') result.found = false;
    else result.error = err instanceof PeerStateError ? err.message : `${e.code ?? 'error'}: ${e.message}`;
  }
  result.ms = performance.now() - started;
  return result;
}

async function readFileInto(file: string, reader: PeerStateReader): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false })) reader.push(chunk as Buffer);
    reader.end();
  } finally {
    await fh.close();
  }
}
