/**
 * Announce and scrape query strings: `buf[start, end)` is the part of the request target after `?` (without
 * the space before `HTTP/`). Parsers fill a caller-owned, reused object and return 0 or an error code
 * (QUERY_ERROR_MESSAGES[code] is the human "failure reason"). No allocation, no exceptions, no regex.
 *
 * A public tracker is announced to by every client ever written, so an announce is refused only for what
 * makes it unanswerable: no or a malformed info_hash, two different info_hashes, a malformed port. Every
 * other parameter that is malformed is ignored or defaulted the way opentracker does, and the fact is kept
 * in q.lenient (LENIENT_* bits) for the transport to count: the operator sees which sloppiness occurs.
 *
 * Rules (opentracker's, without its bugs):
 *  - parameters are split on `&`, a name ends at the first `=`; names and values are %-decoded (either hex
 *    case); `+` stays `+`. Unknown parameters (`key`, `trackerid`, `supportcrypto`, `corrupt`, `redundant`,
 *    ..., and names with a bad escape) are skipped without looking at their values. Names match exactly
 *    (case-sensitive).
 *  - info_hash: exactly 20 bytes after decoding, else an error. The same info_hash twice is fine
 *    (LENIENT_REPEATED); two different ones are an error (which torrent is meant?).
 *  - peer_id: 20 bytes, else ignored (hasPeerId = false, LENIENT_PEER_ID); peers are told apart by address
 *    and port, as in opentracker.
 *  - port: decimal 1..65535 (0, negative, overflow, junk: error: there is no usable port).
 *  - uploaded, downloaded: decimal, saturating at 2^63 (no 32-bit wrap); negative, empty or junk: 0 and
 *    LENIENT_UPLOADED / LENIENT_DOWNLOADED (opentracker ignores both).
 *  - left: the same, but negative, empty or junk means -1 (absent: a leecher) and LENIENT_LEFT. opentracker
 *    reads left only to tell seeders (left=0) from leechers; a client that sends left=-1 does not know what it
 *    has, and a leecher is what gets it peers.
 *  - event: started | completed | stopped | paused | empty (BEP 3: same as absent). `paused` (BEP 21: a
 *    partial seed) is a regular update, as in opentracker. Anything else (or a bad escape): EVENT_NONE
 *    (events.ts) and LENIENT_EVENT.
 *  - numwant: decimal (saturating at 2^31-1); `-digits` means the default (-1, as libtorrent sends it);
 *    empty or junk: -1 and LENIENT_NUMWANT.
 *  - compact: `[-]digits`; zero -> 0, any other value -> 1; empty or junk: -1 (absent) and LENIENT_COMPACT.
 *  - no_peer_id: present (with any value or none) -> true.
 *  - ip, ipv4, ipv6: an IPv4 or IPv6 address, or a BEP 7 endpoint (`a.b.c.d:port`, `[v6]`, `[v6]:port`),
 *    into ip/ipFamily (and ipPort). IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes family 4. An address given by
 *    `ip=` takes precedence over ipv4=/ipv6=; between those, the last one wins. A DNS name (BEP 3 allows one
 *    in `ip=`; a tracker would have to resolve it) is ignored with LENIENT_IP_NAME; anything else that is not
 *    an address (`ipv6=None`, empty, junk) is ignored with LENIENT_IP. An ignored value never overwrites an
 *    address read before.
 *  - a parameter we use given twice: the last one wins (LENIENT_REPEATED), as in opentracker.
 *  - missing info_hash: QUERY_MISSING_INFO_HASH. Missing peer_id or port is left to the caller
 *    (hasPeerId = false, port = -1).
 */
import { HEX_VALUE } from '../text/hex.ts';

import { EVENT_NONE, EVENT_COMPLETED, EVENT_STARTED, EVENT_STOPPED, EVENT_PAUSED } from './events.ts';

export const QUERY_OK = 0;
export const QUERY_MISSING_INFO_HASH = 1;
export const QUERY_INVALID_INFO_HASH = 2;
export const QUERY_DUPLICATE_INFO_HASH = 3;
export const QUERY_INVALID_PORT = 4;

/** code -> failure reason. Index 1 is opentracker's exact text for a missing info_hash. */
export const QUERY_ERROR_MESSAGES: readonly string[] = Object.freeze([
  'ok',
  "Your client forgot to send your torrent's info_hash. Please upgrade your client.",
  'invalid info_hash: must be 20 bytes',
  'invalid info_hash: only one info_hash per announce',
  'invalid port: must be a number from 1 to 65535',
]);

/** Short names of the codes, for metrics labels. */
export const QUERY_ERROR_NAMES: readonly string[] = Object.freeze(['ok', 'missing_info_hash', 'invalid_info_hash', 'duplicate_info_hash', 'invalid_port']);

/** Bits of AnnounceQuery.lenient: what was ignored or defaulted in an announce that was still answered. */
export const LENIENT_PEER_ID = 1 << 0;
export const LENIENT_UPLOADED = 1 << 1;
export const LENIENT_DOWNLOADED = 1 << 2;
export const LENIENT_LEFT = 1 << 3;
export const LENIENT_EVENT = 1 << 4;
export const LENIENT_NUMWANT = 1 << 5;
export const LENIENT_COMPACT = 1 << 6;
export const LENIENT_IP = 1 << 7;
export const LENIENT_IP_NAME = 1 << 8;
export const LENIENT_REPEATED = 1 << 9;

/** Bit i of AnnounceQuery.lenient -> its short name, for counter and metrics labels. */
export const LENIENT_NAMES: readonly string[] = Object.freeze([
  'peer_id',
  'uploaded',
  'downloaded',
  'left',
  'event',
  'numwant',
  'compact',
  'ip',
  'ip_name',
  'repeated',
]);

export class AnnounceQuery {
  infoHash = Buffer.alloc(20);
  hasInfoHash = false;
  peerId = Buffer.alloc(20);
  hasPeerId = false;
  /** -1: absent. */
  port = -1;
  uploaded = 0;
  downloaded = 0;
  /** -1: absent. */
  left = -1;
  event = EVENT_NONE;
  /** -1: absent (or negative). */
  numwant = -1;
  /** -1: absent, else 0 or 1. */
  compact = -1;
  noPeerId = false;
  /** 0: no address given, 4 (ip[0..4)) or 6 (ip[0..16)). */
  ipFamily = 0;
  ip = Buffer.alloc(16);
  /** Port of a BEP 7 endpoint (`ipv4=a.b.c.d:port`, `ipv6=[..]:port`), else -1. */
  ipPort = -1;
  /** LENIENT_* bits: the parameters that were ignored or defaulted (0: a clean announce). */
  lenient = 0;

  reset(): void {
    this.hasInfoHash = false;
    this.hasPeerId = false;
    this.port = -1;
    this.uploaded = 0;
    this.downloaded = 0;
    this.left = -1;
    this.event = EVENT_NONE;
    this.numwant = -1;
    this.compact = -1;
    this.noPeerId = false;
    this.ipFamily = 0;
    this.ipPort = -1;
    this.lenient = 0;
  }
}

export class ScrapeQuery {
  /** capacity * 20 bytes; hash i at [20*i, 20*i + 20). */
  hashes: Buffer;
  capacity: number;
  count = 0;
  /** More valid info_hash parameters than capacity were given (they were checked, then dropped). */
  truncated = false;
  /** How many were dropped. */
  truncatedCount = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.hashes = Buffer.alloc(capacity * 20);
  }

  reset(): void {
    this.count = 0;
    this.truncated = false;
    this.truncatedCount = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Byte helpers

const AMP = 0x26;
const EQ = 0x3d;
const PCT = 0x25;
const COLON = 0x3a;
const DOT = 0x2e;
const MINUS = 0x2d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** Scratch for decoded values (grows to the longest %-encoded value seen; values are bounded by the head). */
let scratch = Buffer.allocUnsafe(256);
const nameScratch = Buffer.allocUnsafe(16);
const hashScratch = Buffer.allocUnsafe(20);
const ip6Scratch = Buffer.allocUnsafe(16);
/** An address from ip=/ipv4=/ipv6= before it is known to be valid. */
const ipScratch = Buffer.allocUnsafe(16);

/**
 * %-decodes src[s, e) into dst at dstOff, writing at most max bytes. Returns the decoded length, -1 for a bad
 * escape, -2 when the result would exceed max.
 */
function pctDecode(src: Uint8Array, s: number, e: number, dst: Uint8Array, dstOff: number, max: number): number {
  let n = 0;
  while (s < e) {
    let c = src[s];
    if (c === PCT) {
      if (s + 2 >= e) return -1; // needs two more bytes
      const h = HEX_VALUE[src[s + 1]];
      const l = HEX_VALUE[src[s + 2]];
      if (h < 0 || l < 0) return -1;
      c = (h << 4) | l;
      s += 3;
    } else {
      s++;
    }
    if (n >= max) return -2;
    dst[dstOff + n++] = c;
  }
  return n;
}

/** The decoded value lives in `scratch` [0, return) or -1 on a bad escape. */
function decodeToScratch(src: Uint8Array, s: number, e: number): number {
  if (e - s > scratch.length) scratch = Buffer.allocUnsafe(Math.max(e - s, scratch.length * 2));
  return pctDecode(src, s, e, scratch, 0, scratch.length);
}

const TWO_63 = 9223372036854775808;

/** Non-negative decimal in a[s, e) (at least one digit, digits only), saturating at 2^63; -1 for junk. */
function parseUnsigned(a: Uint8Array, s: number, e: number): number {
  if (s >= e) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = a[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n > TWO_63 ? TWO_63 : n;
}

// ---------------------------------------------------------------------------------------------------------
// IP addresses

/** Strict dotted quad (no leading zeros) in a[s, e) -> out[o..o+4). */
function parseIPv4(a: Uint8Array, s: number, e: number, out: Uint8Array, o: number): boolean {
  let part = 0;
  let p = s;
  while (true) {
    const ps = p;
    let v = 0;
    while (p < e && p - ps < 4) {
      const d = a[p] - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      p++;
    }
    const n = p - ps;
    if (n === 0 || n > 3 || v > 255 || (n > 1 && a[ps] === 0x30)) return false;
    out[o + part] = v;
    part++;
    if (part === 4) return p === e;
    if (p >= e || a[p] !== DOT) return false;
    p++;
  }
}

/** RFC 4291 text form (with an optional trailing dotted quad; no zone id) in a[s, e) -> out[0..16). */
function parseIPv6(a: Uint8Array, s: number, e: number, out: Uint8Array): boolean {
  let words = 0; // 16-bit groups written so far
  let gap = -1; // group index where '::' stands
  let p = s;
  if (p >= e) return false;
  if (a[p] === COLON) {
    if (p + 1 >= e || a[p + 1] !== COLON) return false;
    gap = 0;
    p += 2;
  }
  if (p < e) {
    while (true) {
      const gs = p;
      let v = 0;
      while (p < e && p - gs < 5) {
        const h = HEX_VALUE[a[p]];
        if (h < 0) break;
        v = (v << 4) | h;
        p++;
      }
      if (p < e && a[p] === DOT) {
        // a trailing dotted quad fills the last two groups
        if (words > 6 || !parseIPv4(a, gs, e, out, words * 2)) return false;
        words += 2;
        break;
      }
      const n = p - gs;
      if (n === 0 || n > 4 || words >= 8) return false;
      out[words * 2] = v >> 8;
      out[words * 2 + 1] = v & 0xff;
      words++;
      if (p === e) break;
      if (a[p] !== COLON) return false;
      p++;
      if (p < e && a[p] === COLON) {
        if (gap >= 0) return false;
        gap = words;
        p++;
        if (p === e) break;
      } else if (p === e) {
        return false; // trailing single colon
      }
    }
  }
  if (gap < 0) return words === 8;
  if (words > 7) return false;
  // move the groups after the gap to the end, zero the gap
  const tail = (words - gap) * 2;
  const from = gap * 2;
  const to = 16 - tail;
  for (let i = tail - 1; i >= 0; i--) out[to + i] = out[from + i];
  for (let i = from; i < to; i++) out[i] = 0;
  return true;
}

/** Port of the last endpoint parsed by parseIpValue (-1: none). */
let parsedIpPort = -1;

function parsePort(a: Uint8Array, s: number, e: number): number {
  if (e - s > 5) return -1;
  const v = parseUnsigned(a, s, e);
  return v >= 1 && v <= 65535 ? v : -1;
}

/**
 * An address or BEP 7 endpoint in a[s, e) -> out. Returns 4 (out[0..4)) or 6 (out[0..16)), 0 when invalid.
 * Sets parsedIpPort.
 */
function parseIpValue(a: Uint8Array, s: number, e: number, out: Uint8Array): number {
  parsedIpPort = -1;
  if (s >= e) return 0;
  if (a[s] === LBRACKET) {
    let close = s + 1;
    while (close < e && a[close] !== RBRACKET) close++;
    if (close >= e || !parseIPv6(a, s + 1, close, ip6Scratch)) return 0;
    if (close + 1 < e) {
      if (a[close + 1] !== COLON) return 0;
      parsedIpPort = parsePort(a, close + 2, e);
      if (parsedIpPort < 0) return 0;
    }
  } else {
    let colon = s;
    let dots = 0;
    while (colon < e && a[colon] !== COLON) {
      if (a[colon] === DOT) dots++;
      colon++;
    }
    if (colon === e) {
      return parseIPv4(a, s, e, out, 0) ? 4 : 0;
    }
    if (dots === 3 && parseIPv4(a, s, colon, out, 0)) {
      parsedIpPort = parsePort(a, colon + 1, e);
      return parsedIpPort < 0 ? 0 : 4;
    }
    if (!parseIPv6(a, s, e, ip6Scratch)) return 0;
  }
  // Here ip6Scratch holds an IPv6 address; IPv4-mapped (::ffff:a.b.c.d) is IPv4
  const m = ip6Scratch;
  if ((m[0] | m[1] | m[2] | m[3] | m[4] | m[5] | m[6] | m[7] | m[8] | m[9]) === 0 && m[10] === 0xff && m[11] === 0xff) {
    out[0] = m[12];
    out[1] = m[13];
    out[2] = m[14];
    out[3] = m[15];
    return 4;
  }
  for (let i = 0; i < 16; i++) out[i] = m[i];
  return 6;
}

// ---------------------------------------------------------------------------------------------------------
// Parameter names

const P_UNKNOWN = 0;
const P_INFO_HASH = 1;
const P_PEER_ID = 2;
const P_PORT = 3;
const P_UPLOADED = 4;
const P_DOWNLOADED = 5;
const P_LEFT = 6;
const P_EVENT = 7;
const P_NUMWANT = 8;
const P_COMPACT = 9;
const P_NO_PEER_ID = 10;
const P_IP = 11;
const P_IPV4 = 12;
const P_IPV6 = 13;

const lit = (s: string): Buffer => Buffer.from(s, 'latin1');
const N_INFO_HASH = lit('info_hash');
const N_PEER_ID = lit('peer_id');
const N_UPLOADED = lit('uploaded');
const N_DOWNLOADED = lit('downloaded');
const N_NUMWANT = lit('numwant');
const N_COMPACT = lit('compact');
const N_NO_PEER_ID = lit('no_peer_id');
const V_STARTED = lit('started');
const V_STOPPED = lit('stopped');
const V_COMPLETED = lit('completed');
const V_PAUSED = lit('paused');

/** a[s, s + l.length) equals l, from byte `from` on (the caller checked the bytes before). */
function same(a: Uint8Array, s: number, l: Uint8Array, from: number): boolean {
  for (let i = from; i < l.length; i++) if (a[s + i] !== l[i]) return false;
  return true;
}

/**
 * Which parameter a[s, e) names. Dispatches on the first four bytes read as one little-endian word (the
 * literals below are 'info', 'peer', ... in that form), then checks the length and the rest.
 */
function paramId(a: Uint8Array, s: number, e: number): number {
  const len = e - s;
  if (len < 4) return len === 2 && a[s] === 0x69 && a[s + 1] === 0x70 ? P_IP : P_UNKNOWN;
  if (len > 10) return P_UNKNOWN;
  switch (a[s] | (a[s + 1] << 8) | (a[s + 2] << 16) | (a[s + 3] << 24)) {
    case 0x6f666e69: // info
      return len === 9 && same(a, s, N_INFO_HASH, 4) ? P_INFO_HASH : P_UNKNOWN;
    case 0x72656570: // peer
      return len === 7 && same(a, s, N_PEER_ID, 4) ? P_PEER_ID : P_UNKNOWN;
    case 0x74726f70: // port
      return len === 4 ? P_PORT : P_UNKNOWN;
    case 0x6f6c7075: // uplo
      return len === 8 && same(a, s, N_UPLOADED, 4) ? P_UPLOADED : P_UNKNOWN;
    case 0x6e776f64: // down
      return len === 10 && same(a, s, N_DOWNLOADED, 4) ? P_DOWNLOADED : P_UNKNOWN;
    case 0x7466656c: // left
      return len === 4 ? P_LEFT : P_UNKNOWN;
    case 0x6e657665: // even
      return len === 5 && a[s + 4] === 0x74 ? P_EVENT : P_UNKNOWN;
    case 0x776d756e: // numw
      return len === 7 && same(a, s, N_NUMWANT, 4) ? P_NUMWANT : P_UNKNOWN;
    case 0x706d6f63: // comp
      return len === 7 && same(a, s, N_COMPACT, 4) ? P_COMPACT : P_UNKNOWN;
    case 0x705f6f6e: // no_p
      return len === 10 && same(a, s, N_NO_PEER_ID, 4) ? P_NO_PEER_ID : P_UNKNOWN;
    case 0x34767069: // ipv4
      return len === 4 ? P_IPV4 : P_UNKNOWN;
    case 0x36767069: // ipv6
      return len === 4 ? P_IPV6 : P_UNKNOWN;
    default:
      return P_UNKNOWN;
  }
}

/** Like paramId for a name that contains '%': decodes it first (a bad escape makes it unknown). */
function paramIdEscaped(a: Uint8Array, s: number, e: number): number {
  const n = pctDecode(a, s, e, nameScratch, 0, nameScratch.length);
  return n <= 0 ? P_UNKNOWN : paramId(nameScratch, 0, n);
}

function eventOf(a: Uint8Array, s: number, e: number): number {
  switch (e - s) {
    case 7:
      if (a[s + 2] === 0x61) return same(a, s, V_STARTED, 0) ? EVENT_STARTED : EVENT_NONE;
      return same(a, s, V_STOPPED, 0) ? EVENT_STOPPED : EVENT_NONE;
    case 9:
      return same(a, s, V_COMPLETED, 0) ? EVENT_COMPLETED : EVENT_NONE;
    case 6:
      return same(a, s, V_PAUSED, 0) ? EVENT_PAUSED : EVENT_NONE;
    default:
      return EVENT_NONE;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parsers

/**
 * %-decodes exactly 20 bytes from buf[p, up to '&' or end) into out[o, o+20). Returns the index of the '&' (or
 * end) after the value, or -1 when the value is not 20 bytes or has a bad escape.
 */
function scan20(buf: Uint8Array, p: number, end: number, out: Uint8Array, o: number): number {
  let n = 0;
  while (p < end) {
    let c = buf[p];
    if (c === AMP) break;
    if (c === PCT) {
      if (p + 2 >= end) return -1;
      const h = HEX_VALUE[buf[p + 1]];
      const l = HEX_VALUE[buf[p + 2]];
      if ((h | l) < 0) return -1;
      c = (h << 4) | l;
      p += 3;
    } else {
      p++;
    }
    if (n === 20) return -1;
    out[o + n++] = c;
  }
  return n === 20 ? p : -1;
}

/** Index of the first '&' in buf[p, end), or end. */
function skipValue(buf: Uint8Array, p: number, end: number): number {
  while (p < end && buf[p] !== AMP) p++;
  return p;
}

/** Where the value of the parameter that readName() last read starts. A module variable, not a
 * returned pair: the query parsers run for every request and must not allocate. */
let valueStart = 0;

/**
 * Reads the parameter name at buf[p] (up to '=' or '&') and returns its P_* id; valueStart is
 * then just past the '=' (or at the '&' or end: an empty value when there is no '=').
 */
function readName(buf: Uint8Array, p: number, end: number): number {
  const ns = p;
  let c = 0;
  let namePct = false;
  while (p < end) {
    c = buf[p]!;
    if (c <= EQ) {
      // '%' 0x25, '&' 0x26 and '=' 0x3d are all <= '=': letters and '_' skip these tests
      if (c === EQ || c === AMP) break;
      if (c === PCT) namePct = true;
    }
    p++;
  }
  const ne = p;
  if (p < end && c === EQ) p++;
  valueStart = p;
  return ne === ns ? P_UNKNOWN : namePct ? paramIdEscaped(buf, ns, ne) : paramId(buf, ns, ne);
}

/** What ignoring parameter `id` sets in q.lenient (0 for parameters that are never malformed). */
function lenientBit(id: number): number {
  switch (id) {
    case P_PEER_ID:
      return LENIENT_PEER_ID;
    case P_UPLOADED:
      return LENIENT_UPLOADED;
    case P_DOWNLOADED:
      return LENIENT_DOWNLOADED;
    case P_LEFT:
      return LENIENT_LEFT;
    case P_EVENT:
      return LENIENT_EVENT;
    case P_NUMWANT:
      return LENIENT_NUMWANT;
    case P_COMPACT:
      return LENIENT_COMPACT;
    case P_IP:
    case P_IPV4:
    case P_IPV6:
      return LENIENT_IP;
    default:
      return 0;
  }
}

/**
 * a[s, e) looks like a DNS name (BEP 3 allows one in `ip=`): letters, digits, '-' and '.', at least one dot,
 * and a letter in the last label (so `1.2.3.400` is a bad address, not a name).
 */
function isDnsName(a: Uint8Array, s: number, e: number): boolean {
  if (e - s > 253 || s >= e) return false;
  let dots = 0;
  let letterInLabel = false;
  for (let i = s; i < e; i++) {
    const c = a[i] | 0x20; // lower case for letters
    if (c >= 0x61 && c <= 0x7a) letterInLabel = true;
    else if (a[i] === DOT) {
      dots++;
      letterInLabel = false;
    } else if (!((a[i] >= 0x30 && a[i] <= 0x39) || a[i] === MINUS)) return false;
  }
  return dots > 0 && letterInLabel;
}

/** Parses an announce query into q (reset first). 0 = ok, else a QUERY_* error code. */
// eslint-disable-next-line max-lines-per-function -- one pass over the parameters with its state in locals: the hot path, kept whole on purpose
export function parseAnnounceQuery(buf: Buffer, start: number, end: number, q: AnnounceQuery): number {
  q.reset();
  let ipFromIpParam = false;
  let seen = 0; // bit (1 << P_*) for each parameter read so far
  let p = start;
  while (p < end) {
    const id = readName(buf, p, end);
    p = valueStart;
    if (id !== P_UNKNOWN) {
      if ((seen & (1 << id)) !== 0) q.lenient |= LENIENT_REPEATED;
      seen |= 1 << id;
    }
    switch (id) {
      case P_UNKNOWN:
        p = skipValue(buf, p, end) + 1;
        continue;
      case P_INFO_HASH:
        if (q.hasInfoHash) {
          // the same hash twice is sloppy; two different ones are a question we can't answer
          p = scan20(buf, p, end, hashScratch, 0);
          if (p < 0) return QUERY_INVALID_INFO_HASH;
          if (!hashScratch.equals(q.infoHash)) return QUERY_DUPLICATE_INFO_HASH;
          p++;
          continue;
        }
        p = scan20(buf, p, end, q.infoHash, 0);
        if (p < 0) return QUERY_INVALID_INFO_HASH;
        q.hasInfoHash = true;
        p++;
        continue;
      case P_PEER_ID: {
        const after = scan20(buf, p, end, q.peerId, 0);
        if (after < 0) {
          q.hasPeerId = false;
          q.lenient |= LENIENT_PEER_ID;
          p = skipValue(buf, p, end) + 1;
          continue;
        }
        q.hasPeerId = true;
        p = after + 1;
        continue;
      }
      case P_NO_PEER_ID:
        q.noPeerId = true;
        p = skipValue(buf, p, end) + 1;
        continue;
      case P_PORT:
      case P_UPLOADED:
      case P_DOWNLOADED:
      case P_LEFT:
      case P_NUMWANT:
      case P_COMPACT: {
        // fast path: plain digits up to '&' or the end
        const ds = p;
        let v = 0;
        while (p < end) {
          const d = buf[p] - 0x30;
          if (d < 0 || d > 9) break;
          v = v * 10 + d;
          p++;
        }
        if (p > ds && (p === end || buf[p] === AMP)) {
          p++;
          if (id === P_PORT) {
            if (v < 1 || v > 65535 || p - ds > 6) return QUERY_INVALID_PORT;
            q.port = v;
          } else if (id === P_LEFT) q.left = v > TWO_63 ? TWO_63 : v;
          else if (id === P_UPLOADED) q.uploaded = v > TWO_63 ? TWO_63 : v;
          else if (id === P_DOWNLOADED) q.downloaded = v > TWO_63 ? TWO_63 : v;
          else if (id === P_NUMWANT) q.numwant = v > 0x7fffffff ? 0x7fffffff : v;
          else q.compact = v === 0 ? 0 : 1;
          continue;
        }
        p = ds; // anything else: the general path below
      }
    }

    // The rest look at a decoded value: in place when it has no '%', else in scratch.
    const vs = p;
    let valuePct = false;
    while (p < end) {
      const c = buf[p];
      if (c <= AMP) {
        if (c === AMP) break;
        if (c === PCT) valuePct = true;
      }
      p++;
    }
    const ve = p;
    p++; // past '&'
    let a: Uint8Array = buf;
    let s = vs;
    let e = ve;
    if (valuePct) {
      const n = decodeToScratch(buf, vs, ve);
      if (n < 0) {
        // a bad escape: no usable port is an error, anything else is ignored
        if (id === P_PORT) return QUERY_INVALID_PORT;
        q.lenient |= lenientBit(id);
        continue;
      }
      a = scratch;
      s = 0;
      e = n;
    }
    switch (id) {
      case P_PORT: {
        const v = e - s > 5 ? -1 : parseUnsigned(a, s, e);
        if (v < 1 || v > 65535) return QUERY_INVALID_PORT;
        q.port = v;
        break;
      }
      case P_UPLOADED: {
        const v = parseUnsigned(a, s, e);
        q.uploaded = v < 0 ? 0 : v;
        if (v < 0) q.lenient |= LENIENT_UPLOADED;
        break;
      }
      case P_DOWNLOADED: {
        const v = parseUnsigned(a, s, e);
        q.downloaded = v < 0 ? 0 : v;
        if (v < 0) q.lenient |= LENIENT_DOWNLOADED;
        break;
      }
      case P_LEFT: {
        const v = parseUnsigned(a, s, e);
        q.left = v; // -1 (absent: a leecher) for negative, empty or junk
        if (v < 0) q.lenient |= LENIENT_LEFT;
        break;
      }
      case P_EVENT:
        q.event = eventOf(a, s, e);
        if (q.event === EVENT_NONE && e > s) q.lenient |= LENIENT_EVENT;
        break;
      case P_NUMWANT: {
        const negative = s < e && a[s] === MINUS;
        const v = parseUnsigned(a, negative ? s + 1 : s, e);
        q.numwant = v < 0 || negative ? -1 : v > 0x7fffffff ? 0x7fffffff : v;
        if (v < 0) q.lenient |= LENIENT_NUMWANT;
        break;
      }
      case P_COMPACT: {
        const v = parseUnsigned(a, s < e && a[s] === MINUS ? s + 1 : s, e);
        q.compact = v < 0 ? -1 : v === 0 ? 0 : 1;
        if (v < 0) q.lenient |= LENIENT_COMPACT;
        break;
      }
      default: {
        // P_IP, P_IPV4, P_IPV6: parsed aside, so that an ignored value never spoils an address read before
        const family = parseIpValue(a, s, e, ipScratch);
        if (family === 0) {
          q.lenient |= id === P_IP && isDnsName(a, s, e) ? LENIENT_IP_NAME : LENIENT_IP;
          break;
        }
        if (id !== P_IP && ipFromIpParam) break; // ip= wins
        for (let i = family === 4 ? 3 : 15; i >= 0; i--) q.ip[i] = ipScratch[i];
        q.ipFamily = family;
        q.ipPort = parsedIpPort;
        if (id === P_IP) ipFromIpParam = true;
      }
    }
  }
  return q.hasInfoHash ? QUERY_OK : QUERY_MISSING_INFO_HASH;
}

/**
 * Parses a scrape query into q (reset first): every info_hash must decode to 20 bytes (else
 * QUERY_INVALID_INFO_HASH); the first `capacity` go to q.hashes in request order (repeats kept), the rest set
 * q.truncated. No info_hash at all: QUERY_MISSING_INFO_HASH. Other parameters are ignored.
 */
export function parseScrapeQuery(buf: Buffer, start: number, end: number, q: ScrapeQuery): number {
  q.reset();
  let p = start;
  while (p < end) {
    const id = readName(buf, p, end);
    p = valueStart;
    if (id !== P_INFO_HASH) {
      p = skipValue(buf, p, end) + 1;
      continue;
    }
    if (q.count < q.capacity) {
      p = scan20(buf, p, end, q.hashes, q.count * 20);
      if (p < 0) return QUERY_INVALID_INFO_HASH;
      q.count++;
    } else {
      p = scan20(buf, p, end, hashScratch, 0);
      if (p < 0) return QUERY_INVALID_INFO_HASH;
      q.truncated = true;
      q.truncatedCount++;
    }
    p++;
  }
  return q.count > 0 || q.truncated ? QUERY_OK : QUERY_MISSING_INFO_HASH;
}
