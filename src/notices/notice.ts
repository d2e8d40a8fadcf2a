// Takedown notices as filed: checking what a rightsholder sent, field by field, and reading info
// hashes written as 40 hex digits, 32 base32 characters (BEP 9's other form) or magnet links.
//
// Every bad field gets its own error naming it (`hashes[3]`, `received`), so whoever files a
// notice can fix all of it in one go. Nothing here does I/O.

/** One problem with one field of a request. */
export type FieldError = { field: string; message: string };

/** A notice after checking: hashes as lowercase hex, in the order given (repeats kept, for counting). */
export type NoticeFields = {
  id: string;
  /** When the notice was received: `YYYY-MM-DD` or an ISO 8601 time in UTC. */
  received: string;
  sender: string;
  on_behalf_of: string;
  hashes: string[];
  /** The operator's own note; never published. */
  note: string;
};

export type LiftFields = {
  reason: string;
  /** Only these hashes of the notice; null: all of them. */
  hashes: string[] | null;
};

/** Notice ids go in URLs (`/notices/ID`) and in failure reasons: short, plain characters. */
const MAX_ID_LENGTH = 64;
const ID = /^[A-Za-z0-9][A-Za-z0-9._~-]*$/;
const MAX_NAME_LENGTH = 200;
const MAX_NOTE_LENGTH = 4000;
/** Errors listed for the hashes; more are summed up in one line. */
const HASH_ERRORS_LISTED = 20;
const CONTROL = /[\x00-\x1f\x7f]/;
const CONTROL_BUT_NEWLINES = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** 32 base32 characters (RFC 4648, either case) as 40 hex digits, or null. */
function base32ToHex(text: string): string | null {
  if (text.length !== 32) return null;
  let bits = 0;
  let value = 0;
  let hex = '';
  for (const ch of text.toUpperCase()) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return null;
    value = (value << 5) | v;
    bits += 5;
    while (bits >= 4) {
      bits -= 4;
      hex += ((value >> bits) & 15).toString(16);
    }
    value &= (1 << bits) - 1;
  }
  return hex;
}

/** An info hash in either form of BEP 9 (hex or base32) as lowercase hex, or null. */
function bareHash(text: string): string | null {
  if (/^[0-9a-fA-F]{40}$/.test(text)) return text.toLowerCase();
  return base32ToHex(text);
}

/**
 * An info hash given as 40 hex digits, 32 base32 characters or a magnet link with an
 * `xt=urn:btih:` parameter, as lowercase hex; or a message saying what is wrong with it.
 */
export function parseInfoHash(text: string): { hex: string } | { error: string } {
  const t = text.trim();
  if (t.toLowerCase().startsWith('magnet:?')) {
    const topics = new URLSearchParams(t.slice(8)).getAll('xt').filter((x) => x.toLowerCase().startsWith('urn:btih:'));
    if (topics.length === 0) return { error: 'is a magnet link without an xt=urn:btih: info hash' };
    const hex = bareHash(topics[0]!.slice(9));
    return hex === null ? { error: 'is a magnet link whose btih is not 40 hex digits or 32 base32 characters' } : { hex };
  }
  const hex = bareHash(t);
  if (hex !== null) return { hex };
  if (/^[0-9a-fA-F]{64}$/.test(t)) return { error: 'is a 64-digit (BitTorrent v2) hash; give the 40-digit v1 info hash' };
  return { error: 'is not an info hash: 40 hex digits, 32 base32 characters or a magnet link (xt=urn:btih:)' };
}

/** Parses a list of hashes; errors name `field[i]`. Repeats are kept (they count as duplicates). */
function parseHashList(value: unknown, field: string, errors: FieldError[], required = true): string[] {
  if (!Array.isArray(value)) {
    errors.push({ field, message: 'must be a list of info hashes' });
    return [];
  }
  if (value.length === 0 && required) errors.push({ field, message: 'must list at least one info hash' });
  const hashes: string[] = [];
  let bad = 0;
  value.forEach((item, i) => {
    const parsed = typeof item === 'string' ? parseInfoHash(item) : { error: 'is not a string' };
    if ('hex' in parsed) {
      hashes.push(parsed.hex);
      return;
    }
    bad++;
    if (bad <= HASH_ERRORS_LISTED) errors.push({ field: `${field}[${i}]`, message: `${JSON.stringify(item)?.slice(0, 100)} ${parsed.error}` });
  });
  if (bad > HASH_ERRORS_LISTED) errors.push({ field, message: `${bad - HASH_ERRORS_LISTED} more entries are not info hashes` });
  return hashes;
}

/** A required or optional text field. */
function textField(body: Record<string, unknown>, field: string, errors: FieldError[], max: number, required: boolean, multiline = false): string {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) errors.push({ field, message: 'is required' });
    return '';
  }
  if (typeof v !== 'string') {
    errors.push({ field, message: 'must be a string' });
    return '';
  }
  const t = v.trim();
  if (required && t === '') errors.push({ field, message: 'must not be empty' });
  else if (t.length > max) errors.push({ field, message: `is longer than ${max} characters` });
  else if ((multiline ? CONTROL_BUT_NEWLINES : CONTROL).test(t)) errors.push({ field, message: 'contains control characters' });
  return t;
}

/** `YYYY-MM-DD` or a full ISO 8601 time (kept as UTC), not more than a day ahead. */
function dateField(body: Record<string, unknown>, errors: FieldError[], now: number): string {
  const field = 'received';
  const v = body[field];
  if (v === undefined || v === null) {
    errors.push({ field, message: 'is required (YYYY-MM-DD or an ISO 8601 time)' });
    return '';
  }
  if (typeof v !== 'string') {
    errors.push({ field, message: 'must be a string (YYYY-MM-DD or an ISO 8601 time)' });
    return '';
  }
  const day = /^\d{4}-\d{2}-\d{2}$/.test(v);
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(v);
  const ms = day || time ? Date.parse(day ? `${v}T00:00:00Z` : v) : NaN;
  // Date.parse rolls 2024-02-30 over to March: the day must read back the same.
  if (Number.isNaN(ms) || (day && new Date(ms).toISOString().slice(0, 10) !== v)) {
    errors.push({ field, message: `${JSON.stringify(v).slice(0, 60)} is not a date (YYYY-MM-DD) or an ISO 8601 time` });
    return '';
  }
  if (ms > now + 86_400_000) {
    errors.push({ field, message: `${v} is in the future` });
    return '';
  }
  return day ? v : new Date(ms).toISOString();
}

function unknownFields(body: Record<string, unknown>, known: readonly string[], errors: FieldError[]): void {
  for (const k of Object.keys(body)) if (!known.includes(k)) errors.push({ field: k, message: `is not a field (fields: ${known.join(', ')})` });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const NOTICE_FIELDS = ['id', 'received', 'sender', 'on_behalf_of', 'hashes', 'note'] as const;

/** Checks a notice as sent to the admin API (or read from the journal). */
export function checkNotice(body: unknown, now = Date.now()): { notice: NoticeFields } | { errors: FieldError[] } {
  if (!isObject(body)) return { errors: [{ field: '', message: 'the body must be a JSON object' }] };
  const errors: FieldError[] = [];
  unknownFields(body, NOTICE_FIELDS, errors);
  const id = textField(body, 'id', errors, MAX_ID_LENGTH, true);
  if (id !== '' && id.length <= MAX_ID_LENGTH && !ID.test(id)) {
    errors.push({ field: 'id', message: `${JSON.stringify(id)} may only have letters, digits and . _ ~ - (and start with a letter or digit)` });
  }
  const received = dateField(body, errors, now);
  const sender = textField(body, 'sender', errors, MAX_NAME_LENGTH, true);
  const onBehalfOf = textField(body, 'on_behalf_of', errors, MAX_NAME_LENGTH, true);
  const hashes = parseHashList(body.hashes, 'hashes', errors);
  const note = textField(body, 'note', errors, MAX_NOTE_LENGTH, false, true);
  if (errors.length > 0) return { errors };
  return { notice: { id, received, sender, on_behalf_of: onBehalfOf, hashes, note } };
}

/** Checks a lift: a reason, and optionally which of the notice's hashes. */
export function checkLift(body: unknown): { lift: LiftFields } | { errors: FieldError[] } {
  if (!isObject(body)) return { errors: [{ field: '', message: 'the body must be a JSON object' }] };
  const errors: FieldError[] = [];
  unknownFields(body, ['reason', 'hashes'], errors);
  const reason = textField(body, 'reason', errors, MAX_NOTE_LENGTH, true, true);
  const hashes = body.hashes === undefined ? null : parseHashList(body.hashes, 'hashes', errors);
  if (errors.length > 0) return { errors };
  return { lift: { reason, hashes } };
}

/** Whether `id` may name a notice (for URLs: anything else is certainly unknown). */
export function isNoticeId(id: string): boolean {
  return id.length <= MAX_ID_LENGTH && ID.test(id);
}
