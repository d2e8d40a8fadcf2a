// Socket addresses (text from node:net) as the bytes the store keeps. Done once per connection.

import net from 'node:net';

/**
 * Writes the address into `out` (4 bytes for IPv4, 16 for IPv6) and returns its family, 4 or 6.
 * IPv4-mapped IPv6 addresses (a dual-stack socket's IPv4 clients) count as IPv4. Returns 0 for
 * text that is not an address.
 */
export function addressBytes(text: string, out: Uint8Array): number {
  // The common case first, without regular expressions: a dotted quad, maybe IPv4-mapped.
  if (dottedQuad(text, text.startsWith('::ffff:') ? 7 : 0, out)) return 4;
  if (text.startsWith('::ffff:') && net.isIPv4(text.slice(7))) text = text.slice(7);
  if (net.isIPv4(text)) {
    const parts = text.split('.');
    for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
    return 4;
  }
  if (!net.isIPv6(text)) return 0;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const [left, right] = text.includes('::') ? text.split('::') : [text, null];
  const words = (s: string) => (s === '' ? [] : s.split(':'));
  const expand = (parts: string[]): number[] => {
    const r: number[] = [];
    for (const p of parts) {
      if (p.includes('.')) {
        const v4 = p.split('.').map(Number);
        r.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else r.push(parseInt(p, 16));
    }
    return r;
  };
  const head = expand(words(left));
  const tail = right === null ? [] : expand(words(right));
  const all = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = all[i] >> 8;
    out[i * 2 + 1] = all[i] & 0xff;
  }
  return 6;
}

/** Parses `a.b.c.d` from `start` to the end of `text` into out[0..3]; false if it is not one. */
function dottedQuad(text: string, start: number, out: Uint8Array): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch >= 48 && ch <= 57) {
      if (digits > 0 && value === 0) return false; // no leading zeros
      value = value * 10 + ch - 48;
      if (value > 255 || ++digits > 3) return false;
    } else if (ch === 46 && digits > 0 && part < 3) {
      out[part++] = value;
      value = 0;
      digits = 0;
    } else return false;
  }
  if (part !== 3 || digits === 0) return false;
  out[3] = value;
  return true;
}

/** The text form of 4 or 16 address bytes, for logs and the dictionary peer model. */
export function addressText(bytes: Uint8Array, offset: number, family: number): string {
  if (family === 4) return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
  const parts: string[] = [];
  for (let k = 0; k < 16; k += 2) parts.push(((bytes[offset + k] << 8) | bytes[offset + k + 1]).toString(16));
  return parts.join(':');
}
