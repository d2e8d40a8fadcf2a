// The client address a trusted reverse proxy reports: X-Forwarded-For, Forwarded (RFC 7239) or
// X-Real-IP. Only read for connections from `access.proxy` networks; from anyone else these
// headers are ignored, so nobody can aim a swarm at a victim's address.

import type { HttpHead } from '../protocol/http-head.ts';
import { addressBytes } from './address.ts';
import type { NetworkList } from './networks.ts';

/**
 * Writes the forwarded client address into `out` and returns its family, or 0 when the request
 * names none (the caller then keeps the socket's address). Of a chain `client, proxy1, proxy2`
 * the right-most address that is not itself a trusted proxy counts: entries further left were
 * written by whoever sent the request and can be forged.
 */
export function forwardedAddress(head: HttpHead, buf: Buffer, proxies: NetworkList, out: Uint8Array): number {
  const xff = head.headerValue(buf, 'x-forwarded-for');
  if (xff !== null) return lastUntrusted(xff.split(','), proxies, out);
  const fwd = head.headerValue(buf, 'forwarded');
  if (fwd !== null) {
    const fors: string[] = [];
    for (const element of fwd.split(',')) {
      for (const pair of element.split(';')) {
        const eq = pair.indexOf('=');
        if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === 'for') fors.push(pair.slice(eq + 1));
      }
    }
    return lastUntrusted(fors, proxies, out);
  }
  const real = head.headerValue(buf, 'x-real-ip');
  return real === null ? 0 : parseNode(real, out);
}

function lastUntrusted(entries: string[], proxies: NetworkList, out: Uint8Array): number {
  for (let i = entries.length - 1; i >= 0; i--) {
    const family = parseNode(entries[i], out);
    if (family === 0) return 0; // garbage in the chain: trust none of it
    if (i === 0 || !proxies.contains(family, out)) return family;
  }
  return 0;
}

/** `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:80"`, `2001:db8::1`. */
function parseNode(text: string, out: Uint8Array): number {
  let t = text.trim();
  if (t.startsWith('"') && t.endsWith('"')) t = t.slice(1, -1);
  if (t.startsWith('[')) t = t.slice(1, t.indexOf(']') < 0 ? t.length : t.indexOf(']'));
  else if (t.includes('.') && t.includes(':')) t = t.slice(0, t.lastIndexOf(':'));
  return addressBytes(t, out);
}
