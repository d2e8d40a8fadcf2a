// A probe of flood control, not a bench row (bench/run.ts has no flood row yet): one source (127.0.0.50)
// floods UDP connects at FLOOD a second while 100 sources (127.0.1.x) announce 10 times a second each,
// against a 2-worker tracker in this process; prints the normal sources' answers and latency and what
// the flooder got. LIMIT sets limits.udp_per_source (0: off), burst 100.
//   LIMIT=100 FLOOD=20000 SECONDS=5 node bench/flood-probe.ts
import dgram from 'node:dgram';
import { startTestTracker, infoHash } from '../test/helpers/tracker.ts';
import { defaultConfig } from '../src/config/config.ts';

const SECONDS = Number(process.env.SECONDS ?? 5);
const FLOOD = Number(process.env.FLOOD ?? 20000);
const LIMIT = Number(process.env.LIMIT ?? 0);

const tracker = await startTestTracker({ workers: 2, limits: { ...defaultConfig().limits, udpPerSource: LIMIT, burst: 100 } });
const port = tracker.udp4;
const connect = (tid: number) => {
  const p = Buffer.alloc(16);
  p.writeBigUInt64BE(0x41727101980n, 0);
  p.writeUInt32BE(tid, 12);
  return p;
};
function announce(id: Buffer, tid: number, hash: Buffer, p: number) {
  const a = Buffer.alloc(98);
  id.copy(a, 0);
  a.writeUInt32BE(1, 8);
  a.writeUInt32BE(tid, 12);
  hash.copy(a, 16);
  a.writeInt32BE(-1, 92);
  a.writeUInt16BE(p, 96);
  return a;
}
const normals: { s: dgram.Socket; id: Buffer | null; sent: Map<number, bigint>; lat: number[]; asked: number; got: number }[] = [];
for (let i = 0; i < 100; i++) {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, `127.0.1.${i + 1}`, r));
  const n = { s, id: null as Buffer | null, sent: new Map<number, bigint>(), lat: [] as number[], asked: 0, got: 0 };
  s.on('message', (m) => {
    const tid = m.readUInt32BE(4);
    if (m.readUInt32BE(0) === 0) {
      n.id = m.subarray(8, 16);
      return;
    }
    const t = n.sent.get(tid);
    if (t === undefined) return;
    n.sent.delete(tid);
    n.got++;
    n.lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  });
  s.send(connect(1), port, '127.0.0.1');
  normals.push(n);
}
await new Promise((r) => setTimeout(r, 300));
const flooder = dgram.createSocket('udp4');
await new Promise<void>((r) => flooder.bind(0, '127.0.0.50', r));
let floodAnswered = 0;
let floodSent = 0;
flooder.on('message', () => floodAnswered++);
const start = Date.now();
let tid = 10;
const hash = infoHash('flood bench');
const normalTimer = setInterval(() => {
  for (const [i, n] of normals.entries()) {
    if (n.id === null) continue;
    const t = tid++;
    n.asked++;
    n.sent.set(t, process.hrtime.bigint());
    n.s.send(announce(n.id, t, hash, 10000 + i), port, '127.0.0.1');
  }
}, 100);
const packet = connect(7);
const floodTimer =
  FLOOD === 0
    ? null
    : setInterval(() => {
        const due = Math.floor(((Date.now() - start) / 1000) * FLOOD) - floodSent;
        for (let k = 0; k < due; k++) {
          flooder.send(packet, port, '127.0.0.1');
          floodSent++;
        }
      }, 5);
await new Promise((r) => setTimeout(r, SECONDS * 1000));
clearInterval(normalTimer);
if (floodTimer) clearInterval(floodTimer);
await new Promise((r) => setTimeout(r, 500));
const lat = normals.flatMap((n) => n.lat).sort((a, b) => a - b);
const asked = normals.reduce((s, n) => s + n.asked, 0),
  got = normals.reduce((s, n) => s + n.got, 0);
const c = tracker.counters();
console.log(
  JSON.stringify({
    limit: LIMIT,
    floodRate: FLOOD,
    floodSent,
    floodAnswered,
    floodPerSecondAnswered: +(floodAnswered / SECONDS).toFixed(1),
    normalAsked: asked,
    normalAnswered: got,
    answeredPct: +((100 * got) / asked).toFixed(2),
    p50ms: +lat[Math.floor(lat.length * 0.5)].toFixed(3),
    p99ms: +lat[Math.floor(lat.length * 0.99)].toFixed(3),
    floodDropped: c.udp_flood_dropped,
    received: c.udp_received,
  }),
);
for (const n of normals) n.s.close();
flooder.close();
await tracker.close();
