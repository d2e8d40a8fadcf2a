/**
 * HTTP/1.x request head parser over buf[0, len): request line and header fields, indexes only (no strings,
 * no allocation, no exceptions). Call it again from the start when more bytes arrive.
 *
 * Accepted:
 *  - line ends CRLF or bare LF (clients send both); empty lines before the request line are skipped;
 *  - request line `METHOD SP target SP HTTP/1.d` with single spaces; the method is any token
 *    (METHOD_GET, METHOD_HEAD, METHOD_OTHER);
 *  - the target is origin-form (starts with '/') or absolute-form `http://authority/...` (scheme case-
 *    insensitive, also https): targetStart then points at the path's '/', the scheme and authority are
 *    ignored. Other forms ('*', authority-form, an absolute URL without a path) are HEAD_BAD_TARGET. Target
 *    bytes must be visible ASCII (0x21..0x7e): raw bytes >= 0x80 must be %-escaped, as opentracker demands;
 *  - header fields `name: value`, name a token, value trimmed of spaces/tabs, obs-text (>= 0x80) allowed.
 * Rejected: control bytes in the request line or a header value (HTAB excepted in values), whitespace before
 * the colon, obsolete line folding, any HTTP major version but 1 (HEAD_UNSUPPORTED_VERSION), more than 64
 * header fields, a bad or conflicting Content-Length, and any Transfer-Encoding (a tracker takes no bodies;
 * refusing it rules out request smuggling).
 *
 * Percent-decoding of the target is query.ts's job.
 */

const METHOD_NONE = 0;
export const METHOD_GET = 1;
export const METHOD_HEAD = 2;
export const METHOD_OTHER = 3;

export const HEAD_TOO_LARGE = -1;
export const HEAD_MALFORMED = -2;
export const HEAD_TOO_MANY_HEADERS = -3;
export const HEAD_UNSUPPORTED_VERSION = -4;
export const HEAD_BAD_TARGET = -5;
export const HEAD_BAD_CONTENT_LENGTH = -6;
export const HEAD_TRANSFER_ENCODING = -7;

/** -code -> metric label. */
export const HEAD_ERROR_NAMES: readonly string[] = Object.freeze([
  'ok',
  'too_large',
  'malformed',
  'too_many_headers',
  'unsupported_version',
  'bad_target',
  'bad_content_length',
  'transfer_encoding',
]);

/** -code -> a suitable response status. */
export const HEAD_ERROR_STATUS: readonly number[] = Object.freeze([200, 431, 400, 431, 505, 400, 400, 501]);

const MAX_HEADERS = 64;

export class HttpHead {
  method = METHOD_NONE;
  targetStart = 0;
  targetEnd = 0;
  /** Index of the first '?' in the target, or targetEnd. */
  pathEnd = 0;
  versionMinor = 1;
  /** Bytes up to and including the blank line. */
  headLength = 0;
  /** HTTP/1.1: true unless `Connection: close`; HTTP/1.0: only with `Connection: keep-alive`. */
  keepAlive = true;
  /** Accept-Encoding lists gzip (or x-gzip, or *) with a non-zero q. */
  acceptGzip = false;
  /** Accept-Encoding lists zstd (or *) with a non-zero q. */
  acceptZstd = false;
  /** A GET with `Upgrade: websocket` and `Connection: upgrade`. */
  upgradeWebSocket = false;
  contentLength = 0;
  headerCount = 0;
  headerNameStart = new Int32Array(MAX_HEADERS);
  headerNameEnd = new Int32Array(MAX_HEADERS);
  headerValueStart = new Int32Array(MAX_HEADERS);
  headerValueEnd = new Int32Array(MAX_HEADERS);

  /** Index of the first header named lowerCaseName (compared case-insensitively), or -1. */
  findHeader(buf: Buffer, lowerCaseName: string): number {
    const n = lowerCaseName.length;
    for (let h = 0; h < this.headerCount; h++) {
      const s = this.headerNameStart[h];
      if (this.headerNameEnd[h] - s !== n) continue;
      let i = 0;
      while (i < n && lower(buf[s + i]) === lowerCaseName.charCodeAt(i)) i++;
      if (i === n) return h;
    }
    return -1;
  }

  /** The value of the first header named lowerCaseName, as text, or null (not for the hot path). */
  headerValue(buf: Buffer, lowerCaseName: string): string | null {
    const h = this.findHeader(buf, lowerCaseName);
    return h < 0 ? null : buf.toString('latin1', this.headerValueStart[h], this.headerValueEnd[h]);
  }

  reset(): void {
    this.method = METHOD_NONE;
    this.targetStart = 0;
    this.targetEnd = 0;
    this.pathEnd = 0;
    this.versionMinor = 1;
    this.headLength = 0;
    this.keepAlive = true;
    this.acceptGzip = false;
    this.acceptZstd = false;
    this.upgradeWebSocket = false;
    this.contentLength = 0;
    this.headerCount = 0;
  }
}

const HT = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const QMARK = 0x3f;
const SLASH = 0x2f;
const COLON = 0x3a;
const COMMA = 0x2c;
const SEMI = 0x3b;

/** RFC 9110 tchar. */
const TCHAR = new Uint8Array(256);
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** ASCII lower case of a byte. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

const lit = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
const H_CONNECTION = lit('connection');
const H_ACCEPT_ENCODING = lit('accept-encoding');
const H_UPGRADE = lit('upgrade');
const H_CONTENT_LENGTH = lit('content-length');
const H_TRANSFER_ENCODING = lit('transfer-encoding');
const T_CLOSE = lit('close');
const T_KEEP_ALIVE = lit('keep-alive');
const T_UPGRADE = H_UPGRADE;
const T_WEBSOCKET = lit('websocket');
const T_GZIP = lit('gzip');
const T_X_GZIP = lit('x-gzip');
const T_ZSTD = lit('zstd');
const HTTP_SLASH = lit('HTTP/');

/**
 * buf[s, e) equals the lower-case literal l, ignoring ASCII case. `| 0x20` is an exact case fold here: the
 * literals hold only lower-case letters and '-', and the only other byte folding onto one of those is CR
 * (onto '-'), which never occurs inside a header name or value.
 */
function eqNoCase(buf: Uint8Array, s: number, e: number, l: Uint8Array): boolean {
  const n = l.length;
  if (e - s !== n) return false;
  for (let i = 0; i < n; i++) if ((buf[s + i] | 0x20) !== l[i]) return false;
  return true;
}

// Per-parse flags gathered from header values (module scratch: parsing is synchronous).
let connClose = false;
let connKeepAlive = false;
let connUpgrade = false;
let upgradeWs = false;
let gzipQ = -1; // -1 unlisted, 0 refused, 1 accepted
let zstdQ = -1;
let starQ = -1;
let sawContentLength = false;

function isOws(c: number): boolean {
  return c === SP || c === HT;
}

/** Connection: a comma-separated token list. */
function scanConnection(buf: Uint8Array, p: number, e: number): void {
  while (p < e) {
    while (p < e && (buf[p] === COMMA || isOws(buf[p]))) p++;
    const s = p;
    while (p < e && buf[p] !== COMMA && !isOws(buf[p])) p++;
    if (eqNoCase(buf, s, p, T_CLOSE)) connClose = true;
    else if (eqNoCase(buf, s, p, T_KEEP_ALIVE)) connKeepAlive = true;
    else if (eqNoCase(buf, s, p, T_UPGRADE)) connUpgrade = true;
  }
}

/** Upgrade: a comma-separated list of protocol[/version]. */
function scanUpgrade(buf: Uint8Array, p: number, e: number): void {
  while (p < e) {
    while (p < e && (buf[p] === COMMA || isOws(buf[p]))) p++;
    const s = p;
    while (p < e && buf[p] !== COMMA && buf[p] !== SLASH && !isOws(buf[p])) p++;
    if (eqNoCase(buf, s, p, T_WEBSOCKET)) upgradeWs = true;
    while (p < e && buf[p] !== COMMA) p++;
  }
}

/** Accept-Encoding: codings with optional parameters; only q=0 (any number of zero decimals) refuses one. */
function scanAcceptEncoding(buf: Uint8Array, p: number, e: number): void {
  while (p < e) {
    while (p < e && (buf[p] === COMMA || isOws(buf[p]))) p++;
    const s = p;
    while (p < e && buf[p] !== COMMA && buf[p] !== SEMI && !isOws(buf[p])) p++;
    const te = p;
    let q = 1;
    // parameters
    while (p < e && buf[p] !== COMMA) {
      if (buf[p] === SEMI) {
        p++;
        while (p < e && isOws(buf[p])) p++;
        if (p + 1 < e && lower(buf[p]) === 0x71 /* q */ && buf[p + 1] === 0x3d /* = */) {
          p += 2;
          let nonZero = false;
          while (p < e && buf[p] !== COMMA && buf[p] !== SEMI && !isOws(buf[p])) {
            if (buf[p] >= 0x31 && buf[p] <= 0x39) nonZero = true;
            p++;
          }
          q = nonZero ? 1 : 0;
          continue;
        }
      }
      p++;
    }
    if (eqNoCase(buf, s, te, T_GZIP) || eqNoCase(buf, s, te, T_X_GZIP)) gzipQ = q;
    else if (eqNoCase(buf, s, te, T_ZSTD)) zstdQ = q;
    else if (te - s === 1 && buf[s] === 0x2a /* * */) starQ = q;
  }
}

/** The outcome of running out of bytes: wait for more, or give up when the limit is reached. */
function incomplete(len: number, maxHeadBytes: number): number {
  return len >= maxHeadBytes ? HEAD_TOO_LARGE : 0;
}

/**
 * Parses the request head at buf[0, len). Returns its length (> 0) when complete, 0 when more bytes are
 * needed, or a negative HEAD_* code. Never looks at more than maxHeadBytes bytes: a head that is not
 * complete within them is HEAD_TOO_LARGE.
 */
// eslint-disable-next-line max-lines-per-function -- one pass over the bytes with its state in locals: the hot path, kept whole on purpose
export function parseHttpHead(buf: Buffer, len: number, head: HttpHead, maxHeadBytes: number): number {
  head.reset();
  const end = len < maxHeadBytes ? len : maxHeadBytes;
  let p = 0;
  let c = 0;

  // empty lines before the request line
  while (p < end) {
    c = buf[p];
    if (c === LF) p++;
    else if (c !== CR) break;
    else if (p + 1 >= end) return incomplete(len, maxHeadBytes);
    else if (buf[p + 1] === LF) p += 2;
    else return HEAD_MALFORMED;
  }

  // method
  const ms = p;
  while (p < end && TCHAR[buf[p]] === 1) p++;
  if (p >= end) return incomplete(len, maxHeadBytes);
  if (buf[p] !== SP || p === ms) return HEAD_MALFORMED;
  const ml = p - ms;
  if (ml === 3 && buf[ms] === 0x47 && buf[ms + 1] === 0x45 && buf[ms + 2] === 0x54) head.method = METHOD_GET;
  else if (ml === 4 && buf[ms] === 0x48 && buf[ms + 1] === 0x45 && buf[ms + 2] === 0x41 && buf[ms + 3] === 0x44) head.method = METHOD_HEAD;
  else head.method = METHOD_OTHER;
  p++;

  // target: visible ASCII up to the space
  let ts = p;
  while (p < end) {
    c = buf[p];
    if (c === QMARK || (c - 0x21) >>> 0 >= 0x5e) break;
    p++;
  }
  let pathEnd = p;
  if (p < end && c === QMARK) {
    p++;
    while (p < end && (buf[p] - 0x21) >>> 0 < 0x5e) p++;
  }
  if (p >= end) return incomplete(len, maxHeadBytes);
  c = buf[p];
  if (c !== SP) return c === CR || c === LF ? HEAD_UNSUPPORTED_VERSION /* HTTP/0.9 */ : HEAD_MALFORMED;
  const te = p;
  if (te === ts) return HEAD_MALFORMED;
  if (pathEnd > te) pathEnd = te;
  if (buf[ts] !== SLASH) {
    // absolute-form: http:// or https://, then the authority up to the path
    let q = ts;
    if (te - q > 7 && lower(buf[q]) === 0x68 && lower(buf[q + 1]) === 0x74 && lower(buf[q + 2]) === 0x74 && lower(buf[q + 3]) === 0x70) {
      q += 4;
      if (lower(buf[q]) === 0x73) q++;
      if (buf[q] === COLON && buf[q + 1] === SLASH && buf[q + 2] === SLASH) {
        q += 3;
        const as = q;
        while (q < pathEnd && buf[q] !== SLASH) q++;
        if (q === as || q >= pathEnd) return HEAD_BAD_TARGET;
        ts = q;
      } else {
        return HEAD_BAD_TARGET;
      }
    } else {
      return HEAD_BAD_TARGET;
    }
  }
  head.targetStart = ts;
  head.targetEnd = te;
  head.pathEnd = pathEnd;
  p++;

  // version: HTTP/1.d
  if (p + 8 > end) {
    // reject early what can never become HTTP/
    for (let i = 0; i < 5 && p + i < end; i++) if (buf[p + i] !== HTTP_SLASH[i]) return HEAD_MALFORMED;
    return incomplete(len, maxHeadBytes);
  }
  if (buf[p] !== 0x48 || buf[p + 1] !== 0x54 || buf[p + 2] !== 0x54 || buf[p + 3] !== 0x50 || buf[p + 4] !== SLASH) return HEAD_MALFORMED;
  const major = buf[p + 5] - 0x30;
  const minor = buf[p + 7] - 0x30;
  if (major < 0 || major > 9 || buf[p + 6] !== 0x2e || minor < 0 || minor > 9) return HEAD_MALFORMED;
  if (major !== 1) return HEAD_UNSUPPORTED_VERSION;
  head.versionMinor = minor;
  p += 8;
  if (p >= end) return incomplete(len, maxHeadBytes);
  c = buf[p];
  if (c === CR) {
    if (p + 1 >= end) return incomplete(len, maxHeadBytes);
    if (buf[p + 1] !== LF) return HEAD_MALFORMED;
    p += 2;
  } else if (c === LF) {
    p++;
  } else {
    return HEAD_MALFORMED;
  }

  // header fields
  connClose = connKeepAlive = connUpgrade = upgradeWs = sawContentLength = false;
  gzipQ = zstdQ = starQ = -1;
  let count = 0;
  while (true) {
    if (p >= end) return incomplete(len, maxHeadBytes);
    c = buf[p];
    if (c === CR) {
      if (p + 1 >= end) return incomplete(len, maxHeadBytes);
      if (buf[p + 1] !== LF) return HEAD_MALFORMED;
      p += 2;
      break;
    }
    if (c === LF) {
      p++;
      break;
    }
    // name
    const ns = p;
    while (p < end && TCHAR[buf[p]] === 1) p++;
    if (p >= end) return incomplete(len, maxHeadBytes);
    if (buf[p] !== COLON || p === ns) return HEAD_MALFORMED; // includes obs-fold and space before ':'
    const ne = p;
    p++;
    while (p < end && isOws(buf[p])) p++;
    const vs = p;
    // value: anything but control bytes (HTAB allowed)
    while (p < end) {
      c = buf[p];
      if (c >= SP) {
        if (c === 0x7f) return HEAD_MALFORMED;
      } else if (c !== HT) {
        break;
      }
      p++;
    }
    if (p >= end) return incomplete(len, maxHeadBytes);
    let ve = p;
    if (c === CR) {
      if (p + 1 >= end) return incomplete(len, maxHeadBytes);
      if (buf[p + 1] !== LF) return HEAD_MALFORMED;
      p += 2;
    } else if (c === LF) {
      p++;
    } else {
      return HEAD_MALFORMED;
    }
    while (ve > vs && isOws(buf[ve - 1])) ve--;
    if (count === MAX_HEADERS) return HEAD_TOO_MANY_HEADERS;
    head.headerNameStart[count] = ns;
    head.headerNameEnd[count] = ne;
    head.headerValueStart[count] = vs;
    head.headerValueEnd[count] = ve;
    count++;

    // the headers that matter here
    switch (ne - ns) {
      case 10:
        if (eqNoCase(buf, ns, ne, H_CONNECTION)) scanConnection(buf, vs, ve);
        break;
      case 15:
        if (eqNoCase(buf, ns, ne, H_ACCEPT_ENCODING)) scanAcceptEncoding(buf, vs, ve);
        break;
      case 7:
        if (eqNoCase(buf, ns, ne, H_UPGRADE)) scanUpgrade(buf, vs, ve);
        break;
      case 14:
        if (eqNoCase(buf, ns, ne, H_CONTENT_LENGTH)) {
          if (ve === vs || ve - vs > 15) return HEAD_BAD_CONTENT_LENGTH;
          let n = 0;
          for (let i = vs; i < ve; i++) {
            const d = buf[i] - 0x30;
            if (d < 0 || d > 9) return HEAD_BAD_CONTENT_LENGTH;
            n = n * 10 + d;
          }
          if (sawContentLength && n !== head.contentLength) return HEAD_BAD_CONTENT_LENGTH;
          sawContentLength = true;
          head.contentLength = n;
        }
        break;
      case 17:
        if (eqNoCase(buf, ns, ne, H_TRANSFER_ENCODING)) return HEAD_TRANSFER_ENCODING;
        break;
    }
  }

  head.headerCount = count;
  head.headLength = p;
  head.keepAlive = connClose ? false : minor >= 1 ? true : connKeepAlive;
  head.acceptGzip = gzipQ > 0 || (gzipQ < 0 && starQ > 0);
  head.acceptZstd = zstdQ > 0 || (zstdQ < 0 && starQ > 0);
  head.upgradeWebSocket = upgradeWs && connUpgrade && head.method === METHOD_GET && minor >= 1;
  return p;
}
