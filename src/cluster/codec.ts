// The cluster's wire format: one NATS message is one batch of records from one node.
//
// Header (12 bytes): version (1), batch type (1: live changes, 2: a snapshot chunk, 3: the last
// snapshot chunk), node id (u32, random per run), sequence (u32, per node and type), record count (u16).
// Records, big-endian, each starting with its tag:
//   PEER       tag, flags (bit 0 seeder), info hash (20), family (4|6), address (4|16), port (2)
//   STOPPED    as PEER (flags 0): the peer left
//   COMPLETED  as PEER (flags 1): the peer finished; counts a completion once per peer
//   TORRENT    tag, info hash (20), completed count (u32): snapshots only
//   CONTROL    tag, length (u16), that many bytes of JSON {"kind": string, "data": any}
// Parsing is strict: an unknown version, type or tag, a bad family, a length that runs past the
// end, bytes left over, a count that disagrees, or a CONTROL that is not such JSON rejects the
// whole batch before any record of it is applied.

export const VERSION = 1;
export const BATCH_LIVE = 1;
export const BATCH_SNAPSHOT = 2;
export const BATCH_SNAPSHOT_END = 3;
export const HEADER_BYTES = 12;

export const REC_PEER = 1;
export const REC_STOPPED = 2;
export const REC_COMPLETED = 3;
export const REC_TORRENT = 4;
export const REC_CONTROL = 5;

/** Bytes of a PEER, STOPPED or COMPLETED record of each family. */
export const PEER_RECORD_BYTES4 = 1 + 1 + 20 + 1 + 4 + 2;
export const PEER_RECORD_BYTES6 = 1 + 1 + 20 + 1 + 16 + 2;
export const TORRENT_RECORD_BYTES = 1 + 20 + 4;
/** Largest batch: far below NATS's default max_payload (1 MiB), so no server setting matters. */
export const MAX_BATCH_BYTES = 64 * 1024;
const MAX_RECORDS = 0xffff;

/** A parsed control record. */
export type Control = { kind: string; data: unknown };

/** Receives a batch's records; `bytes`/offsets point into the message (valid only during the call). */
export interface RecordSink {
  peer(tag: number, hash: Uint8Array, hashOffset: number, family: number, address: Uint8Array, addressOffset: number, port: number, seeder: boolean): void;
  torrent(hash: Uint8Array, hashOffset: number, completed: number): void;
  control(c: Control): void;
}

export type BatchHeader = { type: number; nodeId: number; sequence: number; count: number };

/** Writes records into one batch buffer; `take()` hands the finished batch out and starts the next. */
export class BatchWriter {
  private buf = Buffer.allocUnsafe(MAX_BATCH_BYTES);
  private length = HEADER_BYTES;
  count = 0;
  private readonly nodeId: number;
  private sequence = 0;

  constructor(nodeId: number) {
    this.nodeId = nodeId;
  }

  get bytes(): number {
    return this.length;
  }

  /** Whether `recordBytes` more fit. */
  fits(recordBytes: number): boolean {
    return this.length + recordBytes <= MAX_BATCH_BYTES && this.count < MAX_RECORDS;
  }

  peer(tag: number, hash: Uint8Array, hashOffset: number, family: number, address: Uint8Array, addressOffset: number, port: number, seeder: boolean): void {
    const b = this.buf;
    let o = this.length;
    b[o++] = tag;
    b[o++] = seeder ? 1 : 0;
    b.set(hash.subarray(hashOffset, hashOffset + 20), o);
    o += 20;
    b[o++] = family;
    const n = family === 4 ? 4 : 16;
    b.set(address.subarray(addressOffset, addressOffset + n), o);
    o += n;
    b[o++] = port >>> 8;
    b[o++] = port & 0xff;
    this.length = o;
    this.count++;
  }

  torrent(hash: Uint8Array, hashOffset: number, completed: number): void {
    const b = this.buf;
    let o = this.length;
    b[o++] = REC_TORRENT;
    b.set(hash.subarray(hashOffset, hashOffset + 20), o);
    o += 20;
    b.writeUInt32BE(completed >>> 0, o);
    this.length = o + 4;
    this.count++;
  }

  /** Bytes a control record takes; more than fit in an empty batch is the caller's error. */
  static controlBytes(json: Buffer): number {
    return 3 + json.length;
  }

  control(json: Buffer): void {
    const b = this.buf;
    b[this.length] = REC_CONTROL;
    b.writeUInt16BE(json.length, this.length + 1);
    json.copy(b, this.length + 3);
    this.length += 3 + json.length;
    this.count++;
  }

  /** The batch so far as its own Buffer (header filled in), and a fresh one for what follows. */
  take(type: number): Buffer {
    const out = this.buf.subarray(0, this.length);
    out[0] = VERSION;
    out[1] = type;
    out.writeUInt32BE(this.nodeId >>> 0, 2);
    out.writeUInt32BE(this.sequence >>> 0, 6);
    out.writeUInt16BE(this.count, 10);
    this.sequence = (this.sequence + 1) >>> 0;
    this.buf = Buffer.allocUnsafe(MAX_BATCH_BYTES);
    this.length = HEADER_BYTES;
    this.count = 0;
    return out;
  }
}

/** Encodes one control record's JSON; throws when it can't fit a batch. */
export function encodeControl(kind: string, data: unknown): Buffer {
  const json = Buffer.from(JSON.stringify({ kind, data }), 'utf8');
  if (HEADER_BYTES + BatchWriter.controlBytes(json) > MAX_BATCH_BYTES) throw new RangeError(`control record "${kind}" is over ${MAX_BATCH_BYTES} bytes`);
  return json;
}

/** Reads the header; null when the message is not a batch this version can read. */
export function parseHeader(msg: Uint8Array): BatchHeader | null {
  if (msg.length < HEADER_BYTES || msg[0] !== VERSION) return null;
  const type = msg[1];
  if (type !== BATCH_LIVE && type !== BATCH_SNAPSHOT && type !== BATCH_SNAPSHOT_END) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  return { type, nodeId: v.getUint32(2), sequence: v.getUint32(6), count: v.getUint16(10) };
}

/**
 * Checks a whole batch (strictly, see the top of the file) and returns its header, or null
 * without calling `sink` at all. Then, only for a good batch, hands each record to `sink`.
 */
export function readBatch(msg: Uint8Array, sink: RecordSink): BatchHeader | null {
  const header = parseHeader(msg);
  if (header === null) return null;
  const controls: Control[] = [];
  if (walk(msg, header.count, null, controls) < 0) return null;
  walk(msg, header.count, sink, controls);
  return header;
}

/** Walks the records: with no sink only validates (collecting the parsed controls); -1 when malformed. */
function walk(msg: Uint8Array, count: number, sink: RecordSink | null, controls: Control[]): number {
  let o = HEADER_BYTES;
  let n = 0;
  let nextControl = 0;
  while (o < msg.length) {
    const tag = msg[o];
    if (tag === REC_PEER || tag === REC_STOPPED || tag === REC_COMPLETED) {
      if (o + 23 > msg.length) return -1;
      const flags = msg[o + 1];
      const family = msg[o + 22];
      if (flags > 1 || (family !== 4 && family !== 6)) return -1;
      if ((tag === REC_STOPPED && flags !== 0) || (tag === REC_COMPLETED && flags !== 1)) return -1;
      const size = family === 4 ? PEER_RECORD_BYTES4 : PEER_RECORD_BYTES6;
      if (o + size > msg.length) return -1;
      const a = o + 23;
      const p = a + (family === 4 ? 4 : 16);
      const port = (msg[p] << 8) | msg[p + 1];
      if (port === 0) return -1;
      sink?.peer(tag, msg, o + 2, family, msg, a, port, flags === 1);
      o += size;
    } else if (tag === REC_TORRENT) {
      if (o + TORRENT_RECORD_BYTES > msg.length) return -1;
      const completed = ((msg[o + 21] << 24) | (msg[o + 22] << 16) | (msg[o + 23] << 8) | msg[o + 24]) >>> 0;
      sink?.torrent(msg, o + 1, completed);
      o += TORRENT_RECORD_BYTES;
    } else if (tag === REC_CONTROL) {
      if (o + 3 > msg.length) return -1;
      const len = (msg[o + 1] << 8) | msg[o + 2];
      if (o + 3 + len > msg.length) return -1;
      if (sink === null) {
        const c = parseControl(msg.subarray(o + 3, o + 3 + len));
        if (c === null) return -1;
        controls.push(c);
      } else sink.control(controls[nextControl++]);
      o += 3 + len;
    } else return -1;
    n++;
  }
  return n === count ? n : -1;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseControl(bytes: Uint8Array): Control | null {
  try {
    const v: unknown = JSON.parse(utf8.decode(bytes));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    const { kind, data } = v as { kind?: unknown; data?: unknown };
    if (typeof kind !== 'string' || kind === '') return null;
    return { kind, data };
  } catch {
    return null;
  }
}
