// Micro-benchmark of the protocol codecs: ns per call, best of 25 runs.
// Run: node bench/micro/protocol.ts

import { AnnounceQuery, parseAnnounceQuery } from '../../src/protocol/query.ts';
import { HttpHead, parseHttpHead } from '../../src/protocol/http-head.ts';
import { UdpRequest, parseUdpRequest } from '../../src/protocol/udp.ts';
import { ConnectionIds, createConnectionIdKeys } from '../../src/protocol/connection-id.ts';
import { hashInfoHash } from '../../src/protocol/siphash.ts';
import { writeBytes, writeInt, writeLatin1 } from '../../src/protocol/bencode.ts';

let sink = 0;
function bench(name: string, f: () => number, iters = 200_000, runs = 25): void {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) sink += f();
    const ns = Number(process.hrtime.bigint() - t) / iters;
    if (ns < best) best = ns;
  }
  console.log(`${name.padEnd(44)} ${best.toFixed(1).padStart(8)} ns/call`);
}

const request =
  'GET /announce?info_hash=%12%34V%78%9A%BC%DE%F0%12%34V%78%9A%BC%DE%F0%12%34V%78&peer_id=-lt2080-k%283jd%219qz%2Ax~' +
  '&port=6881&uploaded=0&downloaded=0&left=1234567890&corrupt=0&key=7A3B1C2D&event=started&numwant=200&compact=1' +
  '&no_peer_id=1&supportcrypto=1&redundant=0 HTTP/1.1\r\nHost: tracker.example.org:6969\r\n' +
  'User-Agent: libtorrent/2.0.8.0\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n';
const hbuf = Buffer.from(request, 'latin1');
const head = new HttpHead();
const headLen = parseHttpHead(hbuf, hbuf.length, head, 8192);
const query = new AnnounceQuery();
if (headLen !== hbuf.length || parseAnnounceQuery(hbuf, head.pathEnd + 1, head.targetEnd, query) !== 0) throw new Error('setup');

const batch = Buffer.alloc(2048 * 8);
const off = 3 * 2048;
batch.writeBigUInt64BE(0x1122334455667788n, off);
batch.writeUInt32BE(1, off + 8);
batch.writeUInt32BE(7, off + 12);
batch.fill(0xab, off + 16, off + 56);
batch.writeBigUInt64BE(5n, off + 64);
batch.writeUInt32BE(2, off + 80);
batch.writeInt32BE(-1, off + 92);
batch.writeUInt16BE(6881, off + 96);
const udp = new UdpRequest();

const ids = new ConnectionIds(createConnectionIdKeys(), 120);
const ip4 = Buffer.from([10, 1, 2, 3]);
const ip6 = Buffer.from('20010db8000000000000000000000001', 'hex');
const id4 = Buffer.alloc(8);
const id6 = Buffer.alloc(8);
const T = 1_700_000_000;
ids.write(id4, 0, ip4, 0, 4, T);
ids.write(id6, 0, ip6, 0, 16, T);

const hashes = Buffer.alloc(20 * 1024);
for (let i = 0; i < hashes.length; i++) hashes[i] = (i * 2654435761) >>> 24;
let h = 0;
const out = Buffer.alloc(4096);

const qs = head.pathEnd + 1;
const qe = head.targetEnd;
bench(`parseHttpHead (libtorrent, ${headLen} B)`, () => parseHttpHead(hbuf, hbuf.length, head, 8192));
bench(`parseAnnounceQuery (libtorrent, ${qe - qs} B)`, () => parseAnnounceQuery(hbuf, qs, qe, query));
bench('parseUdpRequest (announce, 98 B)', () => parseUdpRequest(batch, off, 98, udp));
bench('ConnectionIds.check (IPv4)', () => (ids.check(id4, 0, ip4, 0, 4, T + 1) ? 1 : 0));
bench('ConnectionIds.check (IPv6)', () => (ids.check(id6, 0, ip6, 0, 16, T + 1) ? 1 : 0));
bench('ConnectionIds.write (IPv4)', () => {
  ids.write(out, 0, ip4, 0, 4, T);
  return out[7];
});
bench('hashInfoHash', () => hashInfoHash(0x12345678, 0x9abcdef0, hashes, (h = (h + 20) & 0x3fff)));
bench('bencode announce body (50 peers)', () => {
  let o = writeLatin1(out, 0, 'd8:complete');
  o = writeInt(out, o, 1234);
  o = writeLatin1(out, o, '10:incomplete');
  o = writeInt(out, o, 56);
  o = writeLatin1(out, o, '8:interval');
  o = writeInt(out, o, 1800);
  o = writeLatin1(out, o, '5:peers');
  o = writeBytes(out, o, hashes, 0, 300);
  out[o] = 0x65;
  return o + 1;
});
if (sink === 0.5) console.log(sink);
