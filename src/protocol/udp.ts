/**
 * UDP tracker protocol (BEP 15, with BEP 41 URLData options): one datagram buf[off, off+len) -> a reused
 * UdpRequest, and reply writers into a caller's Buffer. No allocation, no exceptions. All integers are
 * big-endian on the wire. Offsets inside a datagram are relative to `off` (datagrams sit at off = i*2048 in a
 * batch buffer): the connection id is bytes 0..7, an announce's info hash bytes 16..35, its peer id 36..55,
 * a scrape's hashes 16 + 20*i.
 *
 * The parser checks shape only; the caller checks the connection id (bytes 0..7) of announces and scrapes.
 */

export const ACTION_CONNECT = 0;
export const ACTION_ANNOUNCE = 1;
export const ACTION_SCRAPE = 2;
const ACTION_ERROR = 3;

/** Parse result: 0 = answer it, else why the datagram is dropped silently. */
const UDP_OK = 0;
export const DROP_TOO_SHORT = 1; // < 16 bytes
export const DROP_BAD_MAGIC = 2; // connect without the protocol id 0x41727101980
export const DROP_UNKNOWN_ACTION = 3; // action > 2 (a client sending action 3 included)
export const DROP_SHORT_ANNOUNCE = 4; // announce < 98 bytes
export const DROP_SCRAPE_PARTIAL_HASH = 5; // (len - 16) not a multiple of 20
export const DROP_SCRAPE_NO_HASH = 6; // scrape with no hash
export const DROP_SCRAPE_TOO_MANY = 7; // > UDP_MAX_SCRAPE_HASHES hashes

/** Metric label per parse result. */
export const UDP_DROP_NAMES: readonly string[] = Object.freeze([
  'ok',
  'too_short',
  'bad_magic',
  'unknown_action',
  'short_announce',
  'scrape_partial_hash',
  'scrape_no_hash',
  'scrape_too_many',
]);

/** BEP 15: "up to about 74 torrents can be scraped at once" (a reply of 8 + 12*74 bytes fits 900). */
const UDP_MAX_SCRAPE_HASHES = 74;
/** Size of a BEP 15 announce without BEP 41 options. */
const UDP_ANNOUNCE_SIZE = 98;
/** Capacity of UdpRequest.urlData; URLData beyond it is cut off (urlDataTruncated). */
const UDP_URLDATA_CAPACITY = 1024;

/** BEP 15 connect magic (protocol id) 0x41727101980, as its two big-endian words. */
const MAGIC_HI = 0x417;
const MAGIC_LO = 0x27101980;

/** BEP 41 option types. */
const OPT_END = 0;
const OPT_NOP = 1;
const OPT_URLDATA = 2;

export class UdpRequest {
  action = -1;
  /**
   * The 32 bits as an int32 (so are ip and key): int32s are Smis, so passing them on to a function V8 doesn't
   * inline never boxes a HeapNumber. Use `>>> 0` for the unsigned value; the writers take either form.
   */
  transactionId = 0;
  // announce (offsets relative to the datagram start `off`)
  infoHashOffset = 16;
  peerIdOffset = 36;
  /** 64-bit fields read as unsigned and stored as numbers (exact up to 2^53). */
  downloaded = 0;
  left = 0;
  uploaded = 0;
  /** BEP 15: 0 none, 1 completed, 2 started, 3 stopped (events.ts numbers them so); others -> 0. */
  event = 0;
  /** IPv4 address bits as an int32 (`>>> 0` for the u32); 0 = use the source address. */
  ip = 0;
  /** int32 bits. */
  key = 0;
  /** i32; -1 = default. */
  numwant = -1;
  /** u16 */
  port = 0;
  /** BEP 41 URLData options, concatenated (the request's path and query, split over options). */
  urlData = Buffer.alloc(UDP_URLDATA_CAPACITY);
  urlDataLength = 0;
  /** More URLData than capacity, or a truncated option (the datagram ended inside an option). */
  urlDataTruncated = false;
  // scrape
  /** Hash i at off + 16 + 20*i. */
  scrapeCount = 0;

  reset(): void {
    this.action = -1;
    this.transactionId = 0;
    this.downloaded = 0;
    this.left = 0;
    this.uploaded = 0;
    this.event = 0;
    this.ip = 0;
    this.key = 0;
    this.numwant = -1;
    this.port = 0;
    this.urlDataLength = 0;
    this.urlDataTruncated = false;
    this.scrapeCount = 0;
  }
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function i32(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

function u64(b: Uint8Array, o: number): number {
  return u32(b, o) * 4294967296 + u32(b, o + 4);
}

/** Parses one datagram buf[off, off+len) into req (reset first). 0 = ok, else a DROP_* code. */
export function parseUdpRequest(buf: Buffer, off: number, len: number, req: UdpRequest): number {
  req.reset();
  if (len < 16) return DROP_TOO_SHORT;
  const action = u32(buf, off + 8);
  req.transactionId = i32(buf, off + 12);
  if (action === ACTION_CONNECT) {
    if (i32(buf, off) !== MAGIC_HI || i32(buf, off + 4) !== MAGIC_LO) return DROP_BAD_MAGIC;
    req.action = ACTION_CONNECT;
    return UDP_OK;
  }
  if (action === ACTION_ANNOUNCE) {
    if (len < UDP_ANNOUNCE_SIZE) return DROP_SHORT_ANNOUNCE;
    req.action = ACTION_ANNOUNCE;
    req.downloaded = u64(buf, off + 56);
    req.left = u64(buf, off + 64);
    req.uploaded = u64(buf, off + 72);
    const event = u32(buf, off + 80);
    req.event = event <= 3 ? event : 0;
    req.ip = i32(buf, off + 84);
    req.key = i32(buf, off + 88);
    req.numwant = i32(buf, off + 92);
    req.port = (buf[off + 96] << 8) | buf[off + 97];
    if (len > UDP_ANNOUNCE_SIZE) parseOptions(buf, off + UDP_ANNOUNCE_SIZE, off + len, req);
    return UDP_OK;
  }
  if (action === ACTION_SCRAPE) {
    const bytes = len - 16;
    const n = (bytes / 20) | 0;
    if (n * 20 !== bytes) return DROP_SCRAPE_PARTIAL_HASH;
    if (n === 0) return DROP_SCRAPE_NO_HASH;
    if (n > UDP_MAX_SCRAPE_HASHES) return DROP_SCRAPE_TOO_MANY;
    req.action = ACTION_SCRAPE;
    req.scrapeCount = n;
    return UDP_OK;
  }
  return DROP_UNKNOWN_ACTION;
}

/**
 * BEP 41 options in buf[p, end): 0 ends the list, 1 is a one-byte NOP, any other type has a length byte and
 * that many bytes of data; type 2 (URLData) data is appended to req.urlData. An option cut off by the end of
 * the datagram stops parsing (urlDataTruncated) without failing the announce.
 */
function parseOptions(buf: Buffer, p: number, end: number, req: UdpRequest): void {
  const out = req.urlData;
  let n = req.urlDataLength;
  while (p < end) {
    const type = buf[p];
    if (type === OPT_END) break;
    if (type === OPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) {
      req.urlDataTruncated = true;
      break;
    }
    const l = buf[p + 1];
    const ds = p + 2;
    if (ds + l > end) {
      req.urlDataTruncated = true;
      break;
    }
    if (type === OPT_URLDATA) {
      let copy = l;
      if (n + copy > out.length) {
        copy = out.length - n;
        req.urlDataTruncated = true;
      }
      for (let i = 0; i < copy; i++) out[n + i] = buf[ds + i];
      n += copy;
    }
    p = ds + l;
  }
  req.urlDataLength = n;
}

function put32(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = v >>> 16;
  out[o + 2] = v >>> 8;
  out[o + 3] = v;
}

/** Writes action 0 and the transaction id; returns off + 8, where the caller writes the 8-byte connection id. */
export function writeConnectReply(out: Buffer, off: number, transactionId: number): number {
  put32(out, off, ACTION_CONNECT);
  put32(out, off + 4, transactionId);
  return off + 8;
}

/** Writes the 20-byte announce reply header (counts clamp to u32); returns off + 20, where peers follow. */
export function writeAnnounceReplyHeader(out: Buffer, off: number, transactionId: number, interval: number, leechers: number, seeders: number): number {
  put32(out, off, ACTION_ANNOUNCE);
  put32(out, off + 4, transactionId);
  put32(out, off + 8, interval);
  put32(out, off + 12, leechers > 0xffffffff ? 0xffffffff : leechers);
  put32(out, off + 16, seeders > 0xffffffff ? 0xffffffff : seeders);
  return off + 20;
}

/** Writes action 2 and the transaction id; returns off + 8, where the 12-byte entries follow. */
export function writeScrapeReplyHeader(out: Buffer, off: number, transactionId: number): number {
  put32(out, off, ACTION_SCRAPE);
  put32(out, off + 4, transactionId);
  return off + 8;
}

/** Writes one scrape entry (seeders, completed, leechers; each clamped to u32); returns off + 12. */
export function writeScrapeEntry(out: Buffer, off: number, seeders: number, completed: number, leechers: number): number {
  put32(out, off, seeders > 0xffffffff ? 0xffffffff : seeders);
  put32(out, off + 4, completed > 0xffffffff ? 0xffffffff : completed);
  put32(out, off + 8, leechers > 0xffffffff ? 0xffffffff : leechers);
  return off + 12;
}

/** Writes action 3, the transaction id and the message bytes as is; returns off + 8 + message.length. */
export function writeErrorReply(out: Buffer, off: number, transactionId: number, message: Uint8Array): number {
  put32(out, off, ACTION_ERROR);
  put32(out, off + 4, transactionId);
  const n = message.length;
  for (let i = 0; i < n; i++) out[off + 8 + i] = message[i];
  return off + 8 + n;
}
