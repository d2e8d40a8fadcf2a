// The bench's workload model, shared by the UDP load generator (udp-load.ts) and the HTTP
// request lists given to wrk (run.ts):
//  - a pool of N info hashes, the same ones /work/shared/bench/udpload.c makes with its default
//    --hash-seed (so one whitelist serves both generators, and its --dump-hashes agrees);
//  - torrent popularity: a bounded Zipf/Pareto draw, P(rank r) ~ 1/(r+1)^s (udpload's formula);
//  - a fixed set of P peer identities per torrent: identity k announces port 10000+k with a
//    fixed peer_id and a fixed seeder/leecher role, so after a prefill the trackers' state stays
//    steady however fast they answer (the address is the socket's, 127.0.0.1).

export const HASH_SEED = 0x5eedbeefn;
export const PORT_BASE = 10000;
export const SEEDER_PERCENT = 30;

const M64 = (1n << 64n) - 1n;
function mix64(z: bigint): bigint {
  z = (z + 0x9e3779b97f4a7c15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

// 20 bytes per torrent, torrent t at t*20 (udpload's make_hash, little-endian words). ~1 s per
// million. The buffer is 4-byte aligned, so it can be copied as Int32 words.
export function makeHashes(count: number, seed: bigint = HASH_SEED): Buffer {
  const out = Buffer.from(new ArrayBuffer(count * 20));
  for (let t = 0; t < count; t++) {
    const a = mix64(seed ^ ((BigInt(t) * 0x100000001b3n) & M64));
    const b = mix64(a ^ 0x6a09e667f3bcc908n);
    const c = mix64(b ^ 0xbb67ae8584caa73bn);
    out.writeBigUInt64LE(a, t * 20);
    out.writeBigUInt64LE(b, t * 20 + 8);
    out.writeUInt32LE(Number(c & 0xffffffffn), t * 20 + 16);
  }
  return out;
}

// The whitelist file opentracker reads (-w): one hex hash a line.
export function whitelistText(hashes: Buffer): string {
  const lines: string[] = [];
  for (let off = 0; off < hashes.length; off += 20) lines.push(hashes.toString('hex', off, off + 20));
  return lines.join('\n') + '\n';
}

// xoshiro128** : a fast 32-bit generator, deterministic from the seed.
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0 || 1;
    const next = (): number => {
      // splitmix32
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() || 1;
  }
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }
  // [0, 1)
  float(): number {
    return this.u32() / 4294967296;
  }
  // [0, n)
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// Bounded continuous Zipf/Pareto over ranks 0..n-1 (udpload's pick_torrent).
export class Zipf {
  readonly n: number;
  readonly s: number;
  private readonly ln: number;
  private readonly a: number;
  private readonly inv: number;
  constructor(n: number, s: number) {
    this.n = n;
    this.s = s;
    const t1 = n + 1;
    this.ln = s > 0 && Math.abs(s - 1) < 1e-9 ? Math.log(t1) : 0;
    this.a = s > 0 && this.ln === 0 ? Math.pow(t1, 1 - s) - 1 : 0;
    this.inv = s > 0 && this.ln === 0 ? 1 / (1 - s) : 0;
  }
  pick(rng: Rng): number {
    const u = rng.float();
    if (this.s <= 0) return Math.floor(u * this.n);
    const x = this.ln > 0 ? Math.exp(u * this.ln) : Math.pow(u * this.a + 1, this.inv);
    const r = Math.floor(x) - 1;
    return r >= this.n ? this.n - 1 : r < 0 ? 0 : r;
  }
}

// A 32-bit identity for peer k of torrent t: peer_id bytes, key and seeder role derive from it.
export function identity(t: number, k: number): number {
  let z = (Math.imul(t, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca77) ^ 0x5eedbeef) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d);
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b);
  return (z ^ (z >>> 16)) >>> 0;
}

export function isSeeder(id: number): boolean {
  return id % 100 < SEEDER_PERCENT;
}

// Bytes still to download for a leecher identity (a multiple of 16 KiB, never 0).
export function leftOf(id: number): number {
  return (((id >>> 8) % 4096) + 1) * 16384;
}

// The 20-byte peer_id of an identity: "-SB0001-" then 12 bytes from the identity.
export function writePeerId(buf: Buffer | Uint8Array, off: number, id: number): void {
  const prefix = PEER_ID_PREFIX;
  for (let i = 0; i < 8; i++) buf[off + i] = prefix[i]!;
  const id2 = Math.imul(id ^ (id >>> 15), 0x2c1b3c6d) >>> 0;
  const id3 = Math.imul(id2 ^ (id2 >>> 12), 0x297a2d39) >>> 0;
  for (let i = 0; i < 4; i++) {
    buf[off + 8 + i] = (id >>> (8 * i)) & 0xff;
    buf[off + 12 + i] = (id2 >>> (8 * i)) & 0xff;
    buf[off + 16 + i] = (id3 >>> (8 * i)) & 0xff;
  }
}
const PEER_ID_PREFIX = Buffer.from('-SB0001-');

// Event mix of the load phase (percent; the rest is "none"), as udpload's defaults.
export const PCT_STARTED = 10;
export const PCT_COMPLETED = 5;

// BEP 15 events: 0 none, 1 completed, 2 started, 3 stopped.
export function pickEvent(rng: Rng): number {
  const r = rng.below(100);
  return r < PCT_STARTED ? 2 : r < PCT_STARTED + PCT_COMPLETED ? 1 : 0;
}

// Percent-encodes bytes for a query string (unreserved characters stay as they are).
export function urlEncodeBytes(buf: Buffer | Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = off; i < off + len; i++) {
    const c = buf[i]!;
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e) {
      s += String.fromCharCode(c);
    } else {
      s += '%' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase();
    }
  }
  return s;
}

// HTTP announce request paths drawn from the same model (torrent by popularity, a random
// identity of the torrent, the load phase's event mix), for wrk to cycle through.
export function httpAnnouncePaths(hashes: Buffer, torrents: number, peers: number, count: number, zipf: number, seed: number, numwant = 50): string[] {
  const rng = new Rng(seed);
  const z = new Zipf(torrents, zipf);
  const pid = Buffer.alloc(20);
  const out: string[] = [];
  const events = ['', '&event=completed', '&event=started'];
  for (let i = 0; i < count; i++) {
    const t = z.pick(rng);
    const k = rng.below(peers);
    const id = identity(t, k);
    const ev = pickEvent(rng);
    const left = isSeeder(id) || ev === 1 ? 0 : leftOf(id);
    writePeerId(pid, 0, id);
    out.push(
      `/announce?info_hash=${urlEncodeBytes(hashes, t * 20, 20)}&peer_id=${urlEncodeBytes(pid, 0, 20)}` +
        `&port=${PORT_BASE + k}&uploaded=${id % 100000000}&downloaded=${(id >>> 3) % 100000000}&left=${left}` +
        `${events[ev]}&numwant=${numwant}&compact=1&key=${(id >>> 0).toString(16)}`,
    );
  }
  return out;
}
