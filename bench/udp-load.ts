// swarmd's UDP load generator (BEP 15), for the bench (run.ts) or on its own:
//
//   node bench/udp-load.ts --port P [--host 127.0.0.1] [--sockets 4] [--window 32]
//        [--torrents 100000] [--peers 10] [--zipf 1] [--numwant 50] [--prefill 10]
//        [--mode announce|mixed] [--scrape-ratio 0.25] [--scrape-max 10]
//        [--warmup 3] [--duration 10] [--verify 2000] [--server-pid PID] [--timeout-ms 1000]
//        [--stopped 0] [--slices 1 --toggle-pid PID]
//
// Closed loop: each socket (its own source port) does the connect handshake, then keeps
// --window requests in flight; the answers of one wake-up are validated and replaced by new
// requests in the same batch (src/io/udp-socket.ts: recvmmsg/sendmmsg through the native addon
// when it is built, dgram otherwise), so the generator costs little per request.
// Workload (workload.ts): the info hashes of /work/shared/bench/udpload.c, Zipf popularity, a
// fixed set of --peers identities per torrent (identity k announces port 10000+k; the address is
// the socket's, 127.0.0.1), so after the prefill the tracker's state stays steady.
// Phases, one JSON line each on stdout: prefill (every torrent gets --prefill identities,
// event=started, lost requests are retried), warmup, load (the measured one: answers/s, the
// server's CPU from /proc/PID/stat when --server-pid is given, the generator's own CPU), verify
// (scrapes a sample of torrents and checks their peer counts). With --slices K the load phase is
// measured as K equal slices instead (one "slice" line each), and before every slice after the
// first the process --toggle-pid gets a SIGUSR1 (bench/http-poll.ts --paused: plain and polled
// slices alternate in one run, so the machine's drift hits both alike).
// Only loopback targets are accepted; every phase is bounded in time.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { Batch, UdpBatchSocket } from '../src/io/udp-batch.ts';
import { ADDR_SIZE, SLOT_SIZE } from '../src/io/udp-batch.ts';
import { openUdpBatchSocket } from '../src/io/udp-socket.ts';
import { PORT_BASE, Rng, Zipf, identity, isSeeder, leftOf, makeHashes, pickEvent, writePeerId } from './workload.ts';

const { values: opt } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    sockets: { type: 'string', default: '4' },
    window: { type: 'string', default: '32' },
    torrents: { type: 'string', default: '100000' },
    peers: { type: 'string', default: '10' },
    zipf: { type: 'string', default: '1' },
    numwant: { type: 'string', default: '50' },
    prefill: { type: 'string', default: '0' },
    mode: { type: 'string', default: 'announce' },
    'scrape-ratio': { type: 'string', default: '0.25' },
    'scrape-max': { type: 'string', default: '10' },
    warmup: { type: 'string', default: '0' },
    duration: { type: 'string', default: '0' },
    verify: { type: 'string', default: '0' },
    'server-pid': { type: 'string' },
    'clk-tck': { type: 'string', default: '100' },
    'timeout-ms': { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    io: { type: 'string', default: 'auto' },
    tag: { type: 'string', default: '' },
    'max-prefill-seconds': { type: 'string', default: '900' },
    // percent of load-phase announces sent as event=stopped (peers leaving: the soak's churn)
    stopped: { type: 'string', default: '0' },
    slices: { type: 'string', default: '1' },
    'toggle-pid': { type: 'string' },
  },
});

function num(name: keyof typeof opt, min: number, max: number): number {
  const v = Number(opt[name]);
  if (!Number.isFinite(v) || v < min || v > max) {
    process.stderr.write(`udp-load: --${name} must be a number in ${min}..${max}\n`);
    process.exit(2);
  }
  return v;
}

const HOST = opt.host!;
const PORT = num('port', 1, 65535);
const NSOCK = num('sockets', 1, 256);
const WINDOW = num('window', 1, 1000);
const TORRENTS = num('torrents', 1, 50_000_000);
const PEERS = num('peers', 1, 50_000);
const ZIPF = num('zipf', 0, 5);
const NUMWANT = num('numwant', -1, 1000);
const PREFILL = num('prefill', 0, PEERS);
const SCRAPE_RATIO = opt.mode === 'mixed' ? num('scrape-ratio', 0, 1) : 0;
const SCRAPE_MAX = num('scrape-max', 1, 74);
const WARMUP = num('warmup', 0, 600);
const DURATION = num('duration', 0, 3600);
const VERIFY = num('verify', 0, 1_000_000);
const SLICES = num('slices', 1, 1000);
const TOGGLE_PID = opt['toggle-pid'] === undefined ? 0 : num('toggle-pid', 1, 2 ** 22);
const TIMEOUT_MS = num('timeout-ms', 10, 60_000);
const CLK_TCK = num('clk-tck', 1, 100000);
const MAX_PREFILL_S = num('max-prefill-seconds', 1, 7200);
const PCT_STOPPED = num('stopped', 0, 100);
const SERVER_PID = opt['server-pid'] ? Number(opt['server-pid']) : 0;
if (opt.mode !== 'announce' && opt.mode !== 'mixed') {
  process.stderr.write('udp-load: --mode is announce or mixed\n');
  process.exit(2);
}
if (opt.io !== 'auto' && opt.io !== 'native' && opt.io !== 'dgram') {
  process.stderr.write('udp-load: --io is auto, native or dgram\n');
  process.exit(2);
}

// Loopback only: 127.0.0.0/8 or ::1.
const family = isIP(HOST);
if (!((family === 4 && HOST.split('.')[0] === '127') || (family === 6 && (HOST === '::1' || HOST === '0:0:0:0:0:0:0:1')))) {
  process.stderr.write(`udp-load: refusing non-loopback target ${HOST}\n`);
  process.exit(2);
}
const TO = new Uint8Array(ADDR_SIZE);
TO[0] = family;
TO[2] = PORT >>> 8;
TO[3] = PORT & 0xff;
if (family === 4) HOST.split('.').forEach((p, i) => (TO[4 + i] = Number(p)));
else TO[19] = 1;
const PEER_SIZE = family === 4 ? 6 : 18;

const CONNECT_SLOT = 1023;
const K_FREE = 0;
const K_ANNOUNCE = 1;
const K_SCRAPE = 2;
const K_VERIFY = 3;

// ---------------------------------------------------------------- workload
const hashes = makeHashes(TORRENTS);
const hash32 = new Int32Array(hashes.buffer, hashes.byteOffset, (TORRENTS * 20) >> 2);
const rng = new Rng(Number(opt.seed) * 2654435761);
const zipf = new Zipf(TORRENTS, ZIPF);

// ---------------------------------------------------------------- stats
class Stats {
  sent = 0;
  answers = 0; // valid answers
  answersAnnounce = 0;
  answersScrape = 0;
  bad = 0; // invalid answers
  trackerErrors = 0; // BEP 15 error replies
  timeouts = 0;
  late = 0; // answers to requests already timed out, or unknown transaction ids
  connectIdErrors = 0;
  peersReturned = 0;
  swarmSum = 0; // seeders + leechers over the announce answers
  latSumUs = 0;
  firstError = '';
  hist = new Uint32Array(100_000); // 10 µs buckets up to 1 s
}
let st = new Stats();
function noteError(what: string, data?: Buffer, off = 0, len = 0): void {
  if (st.firstError) return;
  let text = what;
  if (data && len > 8) {
    text += ': ' + data.toString('latin1', off + 8, off + Math.min(len, 100)).replace(/[^\x20-\x7e]/g, '.');
  } else if (len) text += ` (length ${len})`;
  st.firstError = text;
}
function percentileUs(h: Uint32Array, n: number, q: number): number {
  if (n === 0) return 0;
  const want = Math.ceil(q * n);
  let acc = 0;
  for (let i = 0; i < h.length; i++) {
    acc += h[i]!;
    if (acc >= want) return i * 10 + 5;
  }
  return h.length * 10;
}

// ---------------------------------------------------------------- phases
type Mode = 'idle' | 'prefill' | 'load' | 'verify' | 'drain';
let mode: Mode = 'idle';
// prefill cursor and the requests to send again (lost ones)
let pfT = 0;
let pfK = 0;
const retryT: number[] = [];
const retryK: number[] = [];
// verify: sampled torrents, their counts
let vSample = new Int32Array(0);
let vCursor = 0;
let vDone = 0;
let vMismatch = 0;
let vPeers = 0;
let vFirst = '';
const vRetry: number[] = [];
// the peer count every verified torrent must have: exactly --prefill after a prefill alone;
// after a load phase, any identity of the torrent may have announced too
const V_MIN = PREFILL;
const V_MAX = DURATION > 0 ? PEERS : PREFILL;

function prefillLeft(): boolean {
  return pfT < TORRENTS || retryT.length > 0;
}

// ---------------------------------------------------------------- sockets
const views = new WeakMap<Buffer, { dv: DataView; i32: Int32Array | null }>();
function viewOf(buf: Buffer): { dv: DataView; i32: Int32Array | null } {
  let v = views.get(buf);
  if (!v) {
    v = {
      dv: new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
      i32: buf.byteOffset % 4 === 0 ? new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2) : null,
    };
    views.set(buf, v);
  }
  return v;
}

class Sock {
  sock!: UdpBatchSocket;
  cidHi = 0;
  cidLo = 0;
  haveCid = false;
  connectInflight = false;
  connectTid = 0;
  connectSentAt = 0;
  cidAt = 0;
  gen: number;
  inflight = 0;
  readonly tid = new Uint32Array(WINDOW);
  readonly kind = new Uint8Array(WINDOW);
  readonly cnt = new Uint8Array(WINDOW);
  readonly t = new Int32Array(WINDOW); // torrent (or verify sample index)
  readonly k = new Int32Array(WINDOW); // identity
  readonly at = new Float64Array(WINDOW);
  readonly free = new Int32Array(WINDOW);
  nfree = WINDOW;
  spare!: Batch; // for sends outside the receive path
  constructor() {
    for (let i = 0; i < WINDOW; i++) this.free[i] = WINDOW - 1 - i;
    this.gen = rng.u32() & 0x3fffff;
  }
  newTid(slot: number): number {
    this.gen = (this.gen + 1) & 0x3fffff;
    return ((this.gen << 10) | slot) >>> 0;
  }
}
const socks: Sock[] = [];

type View = { dv: DataView; i32: Int32Array | null };

// The torrent and identity nextPrefill() picked (module scratch: no allocation per request).
let reqT = 0;
let reqK = 0;

// Writes the next request of the current mode into slot i of batch b; false if there is none.
function writeRequest(s: Sock, b: Batch, i: number, now: number): boolean {
  const view = viewOf(b.data);
  if (!s.haveCid) return false;
  if (mode === 'prefill') return nextPrefill() && writeAnnounce(s, b, i, view, now, reqT, reqK, 2);
  if (mode === 'load') {
    if (SCRAPE_RATIO > 0 && rng.float() < SCRAPE_RATIO) return writeLoadScrape(s, b, i, view, now);
    const t = zipf.pick(rng);
    const k = rng.below(PEERS);
    const event = PCT_STOPPED > 0 && rng.below(100) < PCT_STOPPED ? 3 : pickEvent(rng);
    return writeAnnounce(s, b, i, view, now, t, k, event);
  }
  if (mode === 'verify') return writeVerify(s, b, i, view, now);
  return false;
}

// The next (torrent, identity) of the prefill into reqT, reqK: a lost one first; false when done.
function nextPrefill(): boolean {
  if (retryT.length > 0) {
    reqT = retryT.pop()!;
    reqK = retryK.pop()!;
  } else if (pfT < TORRENTS) {
    reqT = pfT;
    reqK = pfK;
    if (++pfK >= PREFILL) {
      pfK = 0;
      pfT++;
    }
  } else return false;
  return true;
}

// A scrape of 1..--scrape-max distinct Zipf-picked torrents.
function writeLoadScrape(s: Sock, b: Batch, i: number, view: View, now: number): boolean {
  const data = b.data;
  const { dv, i32 } = view;
  const off = i * SLOT_SIZE;
  const want = 1 + rng.below(SCRAPE_MAX);
  let got = 0;
  for (let tries = 0; got < want && tries < 8 * want; tries++) {
    const c = zipf.pick(rng);
    let dup = false;
    for (let j = 0; j < got; j++) {
      if (dv.getInt32(off + 16 + 20 * j + 16, true) === hash32[c * 5 + 4] && sameHash(data, off + 16 + 20 * j, c)) {
        dup = true;
        break;
      }
    }
    if (dup) continue;
    copyHash(data, i32, off + 16 + 20 * got, c);
    got++;
  }
  writeScrapeHead(s, b, i, dv, now, K_SCRAPE, got);
  return true;
}

// A scrape of the next 10 torrents of the verify sample (a lost one first).
function writeVerify(s: Sock, b: Batch, i: number, view: View, now: number): boolean {
  const off = i * SLOT_SIZE;
  let start: number;
  if (vRetry.length > 0) start = vRetry.pop()!;
  else if (vCursor < vSample.length) {
    start = vCursor;
    vCursor += 10;
  } else return false;
  const n = Math.min(10, vSample.length - start);
  for (let j = 0; j < n; j++) copyHash(b.data, view.i32, off + 16 + 20 * j, vSample[start + j]!);
  const slot = writeScrapeHead(s, b, i, view.dv, now, K_VERIFY, n);
  s.t[slot] = start;
  return true;
}

// A scrape's header and its window slot, once its n hashes are written; returns the slot.
function writeScrapeHead(s: Sock, b: Batch, i: number, dv: DataView, now: number, kind: number, n: number): number {
  const off = i * SLOT_SIZE;
  const slot = s.free[--s.nfree]!;
  const tid = s.newTid(slot);
  dv.setUint32(off, s.cidHi);
  dv.setUint32(off + 4, s.cidLo);
  dv.setUint32(off + 8, 2);
  dv.setUint32(off + 12, tid);
  s.tid[slot] = tid;
  s.kind[slot] = kind;
  s.cnt[slot] = n;
  s.at[slot] = now;
  b.lengths[i] = 16 + 20 * n;
  b.addrs.set(TO, i * ADDR_SIZE);
  return slot;
}

// An announce of identity k on torrent t.
function writeAnnounce(s: Sock, b: Batch, i: number, view: View, now: number, t: number, k: number, event: number): boolean {
  const data = b.data;
  const { dv, i32 } = view;
  const off = i * SLOT_SIZE;
  const slot = s.free[--s.nfree]!;
  const tid = s.newTid(slot);
  const id = identity(t, k);
  dv.setUint32(off, s.cidHi);
  dv.setUint32(off + 4, s.cidLo);
  dv.setUint32(off + 8, 1);
  dv.setUint32(off + 12, tid);
  copyHash(data, i32, off + 16, t);
  writePeerId(data, off + 36, id);
  const left = isSeeder(id) || event === 1 ? 0 : leftOf(id);
  dv.setUint32(off + 56, 0);
  dv.setUint32(off + 60, (id >>> 3) % 100000000); // downloaded
  dv.setUint32(off + 64, 0);
  dv.setUint32(off + 68, left);
  dv.setUint32(off + 72, 0);
  dv.setUint32(off + 76, id % 100000000); // uploaded
  dv.setUint32(off + 80, event);
  dv.setUint32(off + 84, 0); // ip: the source address
  dv.setUint32(off + 88, id); // key
  dv.setInt32(off + 92, NUMWANT);
  dv.setUint16(off + 96, PORT_BASE + k);
  s.tid[slot] = tid;
  s.kind[slot] = K_ANNOUNCE;
  s.cnt[slot] = 1;
  s.t[slot] = t;
  s.k[slot] = k;
  s.at[slot] = now;
  b.lengths[i] = 98;
  b.addrs.set(TO, i * ADDR_SIZE);
  return true;
}

function copyHash(data: Buffer, i32: Int32Array | null, off: number, t: number): void {
  if (i32 !== null && (off & 3) === 0) {
    const d = off >> 2;
    const h = t * 5;
    i32[d] = hash32[h]!;
    i32[d + 1] = hash32[h + 1]!;
    i32[d + 2] = hash32[h + 2]!;
    i32[d + 3] = hash32[h + 3]!;
    i32[d + 4] = hash32[h + 4]!;
  } else hashes.copy(data, off, t * 20, t * 20 + 20);
}
function sameHash(data: Buffer, off: number, t: number): boolean {
  for (let j = 0; j < 20; j++) if (data[off + j] !== hashes[t * 20 + j]) return false;
  return true;
}

function writeConnect(s: Sock, b: Batch, i: number, now: number): void {
  const off = i * SLOT_SIZE;
  const { dv } = viewOf(b.data);
  s.connectTid = s.newTid(CONNECT_SLOT);
  dv.setUint32(off, 0x417);
  dv.setUint32(off + 4, 0x27101980);
  dv.setUint32(off + 8, 0);
  dv.setUint32(off + 12, s.connectTid);
  b.lengths[i] = 16;
  b.addrs.set(TO, i * ADDR_SIZE);
  s.connectInflight = true;
  s.connectSentAt = now;
}

// Fills batch b from index `from` with new requests (and a connect when one is due).
function fill(s: Sock, b: Batch, from: number, now: number): number {
  let n = from;
  // BEP 15: a connection ID lives about a minute; renew in the background every 50 s
  if (!s.connectInflight && (!s.haveCid || now - s.cidAt > 50_000) && n < b.capacity) {
    writeConnect(s, b, n++, now);
  }
  while (s.nfree > 0 && n < b.capacity && writeRequest(s, b, n, now)) {
    n++;
    s.inflight++;
    st.sent++;
  }
  return n;
}

function onBatch(s: Sock, rx: Batch, tx: Batch): void {
  const now = performance.now();
  const data = rx.data;
  const { dv } = viewOf(data);
  for (let i = 0; i < rx.count; i++) onDatagram(s, data, dv, i * SLOT_SIZE, rx.lengths[i]!, now);
  tx.count = fill(s, tx, 0, now);
}

// One answer: matched to its request by transaction ID, checked and counted.
function onDatagram(s: Sock, data: Buffer, dv: DataView, off: number, len: number, now: number): void {
  if (len < 8 || len > SLOT_SIZE) {
    st.bad++;
    noteError('runt or truncated datagram', undefined, 0, len);
    return;
  }
  const action = dv.getUint32(off);
  const tid = dv.getUint32(off + 4);
  const slot = tid & 1023;
  if (slot === CONNECT_SLOT) return onConnectReply(s, data, dv, off, len, action, tid, now);
  if (slot >= WINDOW || s.kind[slot] === K_FREE || s.tid[slot] !== tid) {
    st.late++;
    return;
  }
  const kind = s.kind[slot]!;
  const n = s.cnt[slot]!;
  s.kind[slot] = K_FREE;
  s.free[s.nfree++] = slot;
  s.inflight--;
  const lat = (now - s.at[slot]!) * 1000;
  st.latSumUs += lat;
  st.hist[lat >= 1e6 ? 99_999 : Math.floor(lat / 10)]!++;
  if (action === 3) onErrorReply(s, data, off, len, kind, slot);
  else if (kind === K_ANNOUNCE) onAnnounceReply(data, dv, off, len, action);
  else onScrapeReply(s, data, dv, off, len, action, kind, n, slot);
}

function onConnectReply(s: Sock, data: Buffer, dv: DataView, off: number, len: number, action: number, tid: number, now: number): void {
  if (!s.connectInflight || tid !== s.connectTid) {
    st.late++;
    return;
  }
  s.connectInflight = false;
  if (action === 0 && len >= 16) {
    s.cidHi = dv.getUint32(off + 8);
    s.cidLo = dv.getUint32(off + 12);
    s.haveCid = true;
    s.cidAt = now;
  } else {
    st.trackerErrors++;
    noteError('connect failed', data, off, len);
  }
}

// A BEP 15 error reply; a lost prefill announce or verify scrape is sent again.
function onErrorReply(s: Sock, data: Buffer, off: number, len: number, kind: number, slot: number): void {
  st.trackerErrors++;
  noteError('tracker error', data, off, len);
  // "Connection ID missmatch." (opentracker) or similar: get a new one
  if (len > 8 && /connection/i.test(data.toString('latin1', off + 8, off + len))) {
    st.connectIdErrors++;
    s.cidAt = -Infinity;
  }
  if (kind === K_ANNOUNCE && mode === 'prefill') {
    retryT.push(s.t[slot]!);
    retryK.push(s.k[slot]!);
  } else if (kind === K_VERIFY) vRetry.push(s.t[slot]!);
}

function onAnnounceReply(data: Buffer, dv: DataView, off: number, len: number, action: number): void {
  const body = len - 20;
  if (action !== 1 || len < 20 || body % PEER_SIZE !== 0) {
    st.bad++;
    noteError(action === 1 ? 'announce reply length' : `announce answered with action ${action}`, data, off, len);
    return;
  }
  const interval = dv.getUint32(off + 8);
  const leechers = dv.getUint32(off + 12);
  const seeders = dv.getUint32(off + 16);
  const np = body / PEER_SIZE;
  if (interval === 0 || interval > 1_000_000 || leechers > 100_000_000 || seeders > 100_000_000) {
    st.bad++;
    noteError('announce counters insane', undefined, 0, len);
    return;
  }
  if (NUMWANT > 0 && np > NUMWANT) {
    st.bad++;
    noteError('more peers than numwant', undefined, 0, len);
    return;
  }
  st.peersReturned += np;
  st.swarmSum += leechers + seeders;
  st.answers++;
  st.answersAnnounce++;
}

function onScrapeReply(s: Sock, data: Buffer, dv: DataView, off: number, len: number, action: number, kind: number, n: number, slot: number): void {
  if (action !== 2 || len !== 8 + 12 * n) {
    st.bad++;
    noteError('bad scrape reply', data, off, len);
    if (kind === K_VERIFY) vRetry.push(s.t[slot]!);
    return;
  }
  let insane = false;
  for (let j = 0; j < 3 * n; j++) if (dv.getUint32(off + 8 + 4 * j) > 100_000_000) insane = true;
  if (insane) {
    st.bad++;
    noteError('scrape counters insane', undefined, 0, len);
    return;
  }
  st.answers++;
  st.answersScrape++;
  if (kind === K_VERIFY) checkVerified(dv, off, n, s.t[slot]!);
}

// The verify sample's torrents start..start+n-1 against the peer count they must have.
function checkVerified(dv: DataView, off: number, n: number, start: number): void {
  for (let j = 0; j < n; j++) {
    const seeders = dv.getUint32(off + 8 + 12 * j);
    const leechers = dv.getUint32(off + 8 + 12 * j + 8);
    const total = seeders + leechers;
    vPeers += total;
    vDone++;
    if (total < V_MIN || total > V_MAX) {
      vMismatch++;
      const want = V_MIN === V_MAX ? `${V_MIN}` : `${V_MIN}..${V_MAX}`;
      if (!vFirst) vFirst = `torrent ${vSample[start + j]}: ${seeders} seeders + ${leechers} leechers, expected ${want} peers`;
    }
  }
}

// Frees requests older than the timeout; lost prefill/verify requests are sent again.
function scanTimeouts(now: number): void {
  for (const s of socks) {
    for (let j = 0; j < WINDOW; j++) {
      if (s.kind[j] !== K_FREE && now - s.at[j]! > TIMEOUT_MS) {
        if (s.kind[j] === K_ANNOUNCE && mode === 'prefill') {
          retryT.push(s.t[j]!);
          retryK.push(s.k[j]!);
        } else if (s.kind[j] === K_VERIFY) vRetry.push(s.t[j]!);
        s.kind[j] = K_FREE;
        s.free[s.nfree++] = j;
        s.inflight--;
        st.timeouts++;
      }
    }
    if (s.connectInflight && now - s.connectSentAt > TIMEOUT_MS) s.connectInflight = false;
  }
}

function topUp(now: number): void {
  for (const s of socks) {
    const b = s.spare;
    b.count = fill(s, b, 0, now);
    if (b.count > 0) s.sock.send(b);
    b.count = 0;
  }
}

const timer = setInterval(() => {
  const now = performance.now();
  scanTimeouts(now);
  topUp(now);
}, 20);

function inflight(): number {
  let n = 0;
  for (const s of socks) n += s.inflight;
  return n;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(cond: () => boolean, limitMs: number): Promise<boolean> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > limitMs) return false;
    await sleep(5);
  }
  return true;
}

// utime and stime of the server (fields 14 and 15 of /proc/PID/stat, all threads), in ticks.
function serverTicks(): [number, number] {
  if (!SERVER_PID) return [0, 0];
  try {
    const stat = readFileSync(`/proc/${SERVER_PID}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(f[11]), Number(f[12])];
  } catch {
    return [NaN, NaN];
  }
}

// Busy and total CPU ticks of the whole machine, to tell how much else ran during a phase.
function systemTicks(): [number, number] {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return [total - v[3]! - v[4]!, total];
  } catch {
    return [NaN, NaN];
  }
}

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ tool: 'udp-load', tag: opt.tag, ...obj }) + '\n');
}

// A snapshot of everything a phase reports.
function phaseReport(
  phase: string,
  seconds: number,
  cpuUs: number,
  srvTicks: number,
  srvUser: number,
  sys: [number, number],
  mono: [number, number],
  s: Stats,
): Record<string, unknown> {
  const n = s.answers + s.bad + s.trackerErrors;
  const serverCpuUs = SERVER_PID ? (srvTicks / CLK_TCK) * 1e6 : null;
  return {
    phase,
    io: socks[0]!.sock.io,
    seconds: round(seconds, 3),
    sockets: NSOCK,
    window: WINDOW,
    torrents: TORRENTS,
    peers: PEERS,
    mode: opt.mode,
    scrapeRatio: SCRAPE_RATIO,
    sent: s.sent,
    answers: s.answers,
    answersAnnounce: s.answersAnnounce,
    answersScrape: s.answersScrape,
    errors: s.bad + s.trackerErrors,
    bad: s.bad,
    trackerErrors: s.trackerErrors,
    connectIdErrors: s.connectIdErrors,
    timeouts: s.timeouts,
    late: s.late,
    rps: round(s.answers / seconds, 0),
    latMeanUs: n ? round(s.latSumUs / n, 1) : 0,
    latP50Us: percentileUs(s.hist, n, 0.5),
    latP99Us: percentileUs(s.hist, n, 0.99),
    avgPeersReturned: s.answersAnnounce ? round(s.peersReturned / s.answersAnnounce, 2) : 0,
    avgSwarm: s.answersAnnounce ? round(s.swarmSum / s.answersAnnounce, 2) : 0,
    genCpuPct: round((cpuUs / (seconds * 1e6)) * 100, 1),
    serverCpuTicks: SERVER_PID ? srvTicks : null,
    serverUserTicks: SERVER_PID ? srvUser : null, // the rest is system time
    serverCpuPct: serverCpuUs !== null ? round((serverCpuUs / (seconds * 1e6)) * 100, 1) : null,
    serverCpuUsPerAnswer: serverCpuUs !== null && s.answers ? round(serverCpuUs / s.answers, 3) : null,
    // the machine's busy ticks (all cores) and total ticks (all cores) over the phase
    sysBusyTicks: sys[0],
    sysTotalTicks: sys[1],
    // CLOCK_MONOTONIC in µs at the phase's start and end (V8 CPU profiles use the same clock)
    monoStartUs: mono[0],
    monoEndUs: mono[1],
    firstError: s.firstError,
  };
}
function round(v: number, d: number): number {
  const m = 10 ** d;
  return Math.round(v * m) / m;
}
function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

// Runs the current mode for `seconds` (or until `until` says so), measuring it as one phase.
async function measured(phase: string, seconds: number, until?: () => boolean): Promise<Record<string, unknown>> {
  st = new Stats();
  const c0 = cpuNow();
  const k0 = serverTicks();
  const y0 = systemTicks();
  const m0 = monoUs();
  const t0 = performance.now();
  topUp(t0);
  if (until) await waitFor(until, seconds * 1000);
  else await sleep(seconds * 1000);
  // the phase ends here: what arrives later is not counted
  const k1 = serverTicks();
  const y1 = systemTicks();
  const m1 = monoUs();
  const c1 = cpuNow();
  const t1 = performance.now();
  const snap = st;
  st = new Stats();
  return phaseReport(phase, (t1 - t0) / 1000, c1 - c0, k1[0] + k1[1] - k0[0] - k0[1], k1[0] - k0[0], [y1[0] - y0[0], y1[1] - y0[1]], [m0, m1], snap);
}

async function drain(): Promise<number> {
  const saved = mode;
  mode = 'drain';
  await waitFor(() => inflight() === 0, TIMEOUT_MS + 50);
  const lost = inflight();
  mode = saved;
  return lost;
}

async function main(): Promise<void> {
  const batchSize = Math.min(1024, Math.max(64, WINDOW + 2));
  for (let i = 0; i < NSOCK; i++) {
    const s = new Sock();
    s.sock = await openUdpBatchSocket(
      { host: family === 4 ? '127.0.0.1' : '::1', port: 0, io: opt.io as 'auto', batchSize, recvBufferSize: 4 << 20 },
      (rx, tx) => onBatch(s, rx, tx),
    );
    s.spare = s.sock.newBatch();
    socks.push(s);
  }
  // handshake
  const ok = await waitFor(() => {
    topUp(performance.now());
    return socks.every((s) => s.haveCid);
  }, 5000);
  if (!ok) {
    emit({ phase: 'connect', error: `no connect reply from ${HOST} port ${PORT}`, firstError: st.firstError });
    return finish(1);
  }
  let rc = 0;
  if (PREFILL > 0) {
    mode = 'prefill';
    const r = await measured('prefill', MAX_PREFILL_S, () => !prefillLeft() && inflight() === 0);
    if (prefillLeft()) {
      r.error = `prefill not finished after ${MAX_PREFILL_S} s (at torrent ${pfT} of ${TORRENTS})`;
      rc = 1;
    }
    emit(r);
    mode = 'idle';
    if (rc) return finish(rc);
  }
  if (DURATION > 0) {
    mode = 'load';
    if (WARMUP > 0) emit(await measured('warmup', WARMUP));
    if (SLICES > 1) {
      for (let i = 0; i < SLICES; i++) {
        if (i > 0 && TOGGLE_PID) process.kill(TOGGLE_PID, 'SIGUSR1');
        const r = await measured('slice', DURATION / SLICES);
        r.slice = i;
        emit(r);
      }
      await drain();
    } else {
      const r = await measured('load', DURATION);
      const lost = await drain();
      r.unansweredAtEnd = lost;
      emit(r);
    }
    mode = 'idle';
  }
  await drain();
  if (VERIFY > 0) {
    const n = Math.min(VERIFY, TORRENTS);
    vSample = new Int32Array(n);
    for (let i = 0; i < n; i++) vSample[i] = Math.floor((i * TORRENTS) / n);
    mode = 'verify';
    const r = await measured('verify', 60, () => vDone >= n || (vCursor >= n && vRetry.length === 0 && inflight() === 0));
    r.checked = vDone;
    r.expectedPeers = V_MIN === V_MAX ? V_MIN : `${V_MIN}..${V_MAX}`;
    r.meanPeers = vDone ? round(vPeers / vDone, 3) : 0;
    r.mismatches = vMismatch;
    r.firstMismatch = vFirst;
    emit(r);
    mode = 'idle';
  }
  return finish(rc);
}

async function finish(rc: number): Promise<void> {
  clearInterval(timer);
  await Promise.all(socks.map((s) => s.sock.close()));
  process.exitCode = rc;
}

process.on('SIGTERM', () => void finish(143));
process.on('SIGINT', () => void finish(130));
await main();
