// Lists of networks (`IP/BITS`) and whether an address falls in one: who may read stats, whose
// forwarded-for headers are trusted. Checked once per connection, not per request.

import { addressBytes } from './address.ts';

export class NetworkList {
  private readonly nets: { family: number; bytes: Uint8Array; bits: number }[] = [];

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [text, bits] = cidr.split('/');
      const bytes = new Uint8Array(16);
      const family = addressBytes(text, bytes);
      if (family === 0) throw new Error(`not a network: ${cidr}`);
      this.nets.push({ family, bytes, bits: Number(bits ?? (family === 4 ? 32 : 128)) });
    }
  }

  get empty(): boolean {
    return this.nets.length === 0;
  }

  contains(family: number, address: Uint8Array, offset = 0): boolean {
    for (const n of this.nets) {
      if (n.family === family && prefixEquals(n.bytes, address, offset, n.bits)) return true;
    }
    return false;
  }
}

function prefixEquals(net: Uint8Array, address: Uint8Array, offset: number, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (net[i] !== address[offset + i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (net[i] & mask) === (address[offset + i] & mask);
}
