/**
 * Bencode (BEP 3).
 *
 * Hot path: the write* helpers put bencode pieces straight into a caller's Buffer at an offset and return
 * the offset after what they wrote. They never allocate and never check room: the caller sizes its buffer
 * (an announce reply is bounded by its peer count).
 *
 * Cold path: `encode` (any value -> a new Buffer, dictionary keys sorted) and `decode` (bounded, strict
 * syntax, throws BencodeError), for tests, config, state files and the like.
 */

// ---------------------------------------------------------------------------------------------------------
// Writers

const CH_0 = 0x30;
const CH_MINUS = 0x2d;
const CH_COLON = 0x3a;
const CH_I = 0x69;
const CH_E = 0x65;
const CH_L = 0x6c;
const CH_D = 0x64;

const TWO_31 = 2147483648;

/** Number of decimal digits of a non-negative integer below 2^53. */
function decimalDigits(n: number): number {
  if (n < 100000) {
    if (n < 100) return n < 10 ? 1 : 2;
    return n < 1000 ? 3 : n < 10000 ? 4 : 5;
  }
  if (n < 10000000000) {
    if (n < 10000000) return n < 1000000 ? 6 : 7;
    return n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
  }
  let d = 11;
  let p = 100000000000;
  while (n >= p) {
    d++;
    p *= 10;
  }
  return d;
}

/**
 * Writes the decimal digits of the integer n (a leading '-' when negative; n must be a safe integer,
 * |n| <= 2^53) at buf[off]. Returns the offset after the last digit.
 */
export function writeDecimal(buf: Uint8Array, off: number, n: number): number {
  if (n < 0) {
    buf[off++] = CH_MINUS;
    n = -n;
  }
  const end = off + decimalDigits(n);
  let p = end;
  // Large values: float division until the rest fits int32 arithmetic.
  while (n >= TWO_31) {
    const q = Math.floor(n / 10);
    buf[--p] = CH_0 + (n - q * 10);
    n = q;
  }
  let m = n | 0;
  do {
    const q = (m / 10) | 0;
    buf[--p] = CH_0 + (m - q * 10);
    m = q;
  } while (m !== 0);
  return end;
}

/** Writes `i<n>e` (n a safe integer). Returns the new offset. */
export function writeInt(buf: Uint8Array, off: number, n: number): number {
  buf[off] = CH_I;
  off = writeDecimal(buf, off + 1, n);
  buf[off] = CH_E;
  return off + 1;
}

/** Writes the byte string `<len>:<src[srcOff, srcOff+len)>`. Returns the new offset. */
export function writeBytes(buf: Uint8Array, off: number, src: Uint8Array, srcOff: number, len: number): number {
  off = writeDecimal(buf, off, len);
  buf[off++] = CH_COLON;
  if (len <= 32) {
    for (let i = 0; i < len; i++) buf[off + i] = src[srcOff + i];
  } else {
    // Buffer#copy is a native fast call that allocates nothing (unlike set(subarray)).
    bufferCopy.call(src, buf, off, srcOff, srcOff + len);
  }
  return off + len;
}

const bufferCopy = Buffer.prototype.copy;

/**
 * Writes the characters of str as single bytes (char code & 0xff), with no length prefix: for ASCII keys and
 * fixed text. Use `writeLatin1String` for a bencoded string. Returns the new offset.
 */
export function writeLatin1(buf: Uint8Array, off: number, str: string): number {
  const n = str.length;
  for (let i = 0; i < n; i++) buf[off + i] = str.charCodeAt(i);
  return off + n;
}

/** Writes the bencoded string `<len>:<str>` with str's characters as single bytes. Returns the new offset. */
export function writeLatin1String(buf: Uint8Array, off: number, str: string): number {
  off = writeDecimal(buf, off, str.length);
  buf[off++] = CH_COLON;
  return writeLatin1(buf, off, str);
}

// ---------------------------------------------------------------------------------------------------------
// General encoder and bounded decoder (cold path)

/** A decoded bencode value: byte string, integer (number when safe, else bigint), list or dictionary. */
export type BValue = Uint8Array | number | bigint | BValue[] | Map<string, BValue>;

/** What `encode` accepts: BValue plus strings (UTF-8) and plain objects as dictionaries. */
type BEncodable = Uint8Array | number | bigint | string | readonly BEncodable[] | ReadonlyMap<string, BEncodable> | { readonly [key: string]: BEncodable };

export class BencodeError extends Error {
  /** `offset`: the byte of the input where decoding failed, named in the message (-1: an encoding error, none). */
  constructor(message: string, offset = -1) {
    super(offset >= 0 ? `${message} (at byte ${offset})` : message);
    this.name = 'BencodeError';
  }
}

class Growable {
  buf = Buffer.allocUnsafe(256);
  len = 0;
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}

function keyBytesOk(key: string): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) return false;
  return true;
}

function compareKeys(a: string, b: string): number {
  // Latin-1 strings: UTF-16 code unit order is byte order.
  return a < b ? -1 : a > b ? 1 : 0;
}

function encodeInto(out: Growable, v: BEncodable, depth: number): void {
  if (depth > 1000) throw new BencodeError('encode: nesting too deep (cycle?)');
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new BencodeError(`encode: not a safe integer: ${v}`);
    out.room(20);
    out.len = writeInt(out.buf, out.len, v);
  } else if (typeof v === 'bigint') {
    const s = v.toString();
    out.room(s.length + 2);
    out.buf[out.len++] = CH_I;
    out.len = writeLatin1(out.buf, out.len, s);
    out.buf[out.len++] = CH_E;
  } else if (typeof v === 'string') {
    const bytes = Buffer.from(v, 'utf8');
    out.room(bytes.length + 20);
    out.len = writeBytes(out.buf, out.len, bytes, 0, bytes.length);
  } else if (v instanceof Uint8Array) {
    out.room(v.length + 20);
    out.len = writeBytes(out.buf, out.len, v, 0, v.length);
  } else if (Array.isArray(v)) {
    out.room(1);
    out.buf[out.len++] = CH_L;
    for (const item of v as readonly BEncodable[]) encodeInto(out, item, depth + 1);
    out.room(1);
    out.buf[out.len++] = CH_E;
  } else if (v !== null && typeof v === 'object') {
    const entries: [string, BEncodable][] = v instanceof Map ? [...(v as ReadonlyMap<string, BEncodable>)] : Object.entries(v as { [k: string]: BEncodable });
    entries.sort((a, b) => compareKeys(a[0], b[0]));
    out.room(1);
    out.buf[out.len++] = CH_D;
    for (let i = 0; i < entries.length; i++) {
      const [key, value] = entries[i];
      if (typeof key !== 'string' || !keyBytesOk(key)) {
        throw new BencodeError(`encode: dictionary key is not a Latin-1 string: ${JSON.stringify(key)}`);
      }
      if (i > 0 && entries[i - 1][0] === key) throw new BencodeError(`encode: duplicate dictionary key ${JSON.stringify(key)}`);
      out.room(key.length + 20);
      out.len = writeLatin1String(out.buf, out.len, key);
      encodeInto(out, value, depth + 1);
    }
    out.room(1);
    out.buf[out.len++] = CH_E;
  } else {
    throw new BencodeError(`encode: cannot encode ${v === null ? 'null' : typeof v}`);
  }
}

/**
 * Encodes a value into a new Buffer. Integers: safe-integer numbers or bigints. Strings are written as UTF-8,
 * Uint8Arrays as is. Dictionaries (Map or plain object) have Latin-1 string keys (each char one byte, as
 * `decode` produces them) and are written with keys in byte order. Throws BencodeError on anything else.
 */
export function encode(value: BEncodable): Buffer {
  const out = new Growable();
  encodeInto(out, value, 0);
  return Buffer.from(out.buf.subarray(0, out.len));
}

interface DecodeOptions {
  /** Deepest list/dict nesting accepted (default 64; the top-level container is depth 1). */
  maxDepth?: number;
  /** Longest input accepted, in bytes (default 16 MiB). */
  maxLength?: number;
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

class Decoder {
  buf: Uint8Array;
  pos = 0;
  maxDepth: number;
  constructor(buf: Uint8Array, maxDepth: number) {
    this.buf = buf;
    this.maxDepth = maxDepth;
  }

  fail(message: string, at = this.pos): never {
    throw new BencodeError(message, at);
  }

  value(depth: number): BValue {
    const buf = this.buf;
    if (this.pos >= buf.length) this.fail('unexpected end of input');
    const c = buf[this.pos];
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_0 + 9) return this.bytes();
    if (c === CH_L) {
      if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
      this.pos++;
      const list: BValue[] = [];
      while (true) {
        if (this.pos >= buf.length) this.fail('unterminated list');
        if (buf[this.pos] === CH_E) break;
        list.push(this.value(depth + 1));
      }
      this.pos++;
      return list;
    }
    if (c === CH_D) {
      if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
      this.pos++;
      const dict = new Map<string, BValue>();
      while (true) {
        if (this.pos >= buf.length) this.fail('unterminated dictionary');
        const k = buf[this.pos];
        if (k === CH_E) break;
        if (k < CH_0 || k > CH_0 + 9) this.fail('dictionary key is not a byte string');
        const keyAt = this.pos;
        const key = Buffer.from(this.bytesView()).toString('latin1');
        if (dict.has(key)) this.fail(`duplicate dictionary key ${JSON.stringify(key)}`, keyAt);
        dict.set(key, this.value(depth + 1));
      }
      this.pos++;
      return dict;
    }
    return this.fail(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`);
  }

  integer(): number | bigint {
    const buf = this.buf;
    const start = ++this.pos; // after 'i'
    let p = start;
    if (p < buf.length && buf[p] === CH_MINUS) p++;
    const digitsAt = p;
    while (p < buf.length && buf[p] >= CH_0 && buf[p] <= CH_0 + 9) p++;
    if (p >= buf.length) this.fail('unterminated integer', start - 1);
    if (buf[p] !== CH_E) this.fail('integer contains a non-digit', p);
    const nDigits = p - digitsAt;
    if (nDigits === 0) this.fail('integer has no digits', start - 1);
    if (buf[digitsAt] === CH_0 && nDigits > 1) this.fail('integer has a leading zero', digitsAt);
    if (buf[digitsAt] === CH_0 && digitsAt > start) this.fail('negative zero', start);
    this.pos = p + 1;
    if (nDigits <= 15) {
      let n = 0;
      for (let i = digitsAt; i < p; i++) n = n * 10 + (buf[i] - CH_0);
      return digitsAt > start ? -n : n;
    }
    const big = BigInt(Buffer.from(buf.subarray(start, p)).toString('latin1'));
    return big <= MAX_SAFE_BIG && big >= -MAX_SAFE_BIG ? Number(big) : big;
  }

  /** Reads `<len>:<bytes>` and returns a view of the bytes. */
  bytesView(): Uint8Array {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let len = 0;
    while (p < buf.length && buf[p] >= CH_0 && buf[p] <= CH_0 + 9) {
      len = len * 10 + (buf[p] - CH_0);
      p++;
      if (len > buf.length) this.fail('string length exceeds input', start);
    }
    if (p >= buf.length) this.fail('unterminated string length', start);
    if (buf[p] !== CH_COLON) this.fail('string length contains a non-digit', p);
    if (buf[start] === CH_0 && p - start > 1) this.fail('string length has a leading zero', start);
    p++;
    if (len > buf.length - p) this.fail(`string of ${len} bytes runs past the end of input`, start);
    this.pos = p + len;
    return buf.subarray(p, p + len);
  }

  bytes(): Uint8Array {
    return Buffer.from(this.bytesView()); // a copy: results never alias the input
  }
}

/**
 * Decodes exactly one bencoded value filling the whole input. Strict syntax (no leading zeros in integers or
 * lengths, no `i-0e`, no empty integer, no trailing bytes, dictionary keys must be byte strings, no duplicate
 * keys); lenient on dictionary key order. Byte strings come back as Buffers (copies), dictionary keys as
 * Latin-1 strings, integers as numbers when safe, else bigints. Throws BencodeError, and nothing else, on any
 * malformed or over-limit input.
 */
export function decode(buf: Uint8Array, opts?: DecodeOptions): BValue {
  const maxDepth = opts?.maxDepth ?? 64;
  const maxLength = opts?.maxLength ?? 16 * 1024 * 1024;
  if (buf.length > maxLength) throw new BencodeError(`input of ${buf.length} bytes exceeds the limit of ${maxLength}`);
  const d = new Decoder(buf, maxDepth);
  try {
    const v = d.value(0);
    if (d.pos !== buf.length) d.fail('trailing bytes after the value');
    return v;
  } catch (e) {
    if (e instanceof BencodeError) throw e;
    // A stack overflow from a very large maxDepth: still only BencodeError escapes.
    throw new BencodeError(`cannot decode: ${(e as Error)?.message ?? String(e)}`, d.pos);
  }
}
