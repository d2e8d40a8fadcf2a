// WebSocket (WebTorrent) load generator: N open connections, each one peer of one of T swarms;
// then a window of announces with offers kept in flight, from random connections. Every offer a
// connection receives is answered at once (as a browser would), so the tracker relays both ways.
// It prints "TIMED_START" and "TIMED_END" around the timed phase (the orchestrator reads the
// server's CPU time there), then one JSON line with the counts of the timed phase.
//
//   node bench/ws-load.ts --url ws://127.0.0.1:7000 --connections 1000 --torrents 100 --offers 5 \
//                         --window 64 --warmup 3 --duration 10

import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    connections: { type: 'string', default: '1000' },
    torrents: { type: 'string', default: '100' },
    offers: { type: 'string', default: '5' },
    window: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
  },
});
const URL_ = o.url ?? '';
const N = Number(o.connections);
const T = Number(o.torrents);
const OFFERS = Number(o.offers);
const WINDOW = Number(o.window);
const SDP = `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n`;

/** A 20-character binary string from a number (the protocol's info_hash / peer_id / offer_id). */
const bin20 = (prefix: string, n: number) => (prefix + n.toString(36)).padStart(20, '0');

type Conn = { ws: WebSocket; peerId: string; hash: string };
const conns: Conn[] = [];
const counts = { announces: 0, offersReceived: 0, answersReceived: 0, errors: 0 };
let firstError = '';
let nextOffer = 0;
let running = false;
/** Announces sent and not answered yet (a failure counts as an answer: an answer's failure too, so the window may overshoot a little). */
let inFlight = 0;

function fillWindow(): void {
  while (running && inFlight < WINDOW) announce(conns[Math.floor(Math.random() * N)]!);
}

function announce(c: Conn): void {
  inFlight++;
  const offers = [];
  for (let i = 0; i < OFFERS; i++) offers.push({ offer_id: bin20('o', nextOffer++), offer: { type: 'offer', sdp: SDP } });
  c.ws.send(JSON.stringify({ action: 'announce', info_hash: c.hash, peer_id: c.peerId, numwant: OFFERS, uploaded: 0, downloaded: 0, left: 1, offers }));
}

function onMessage(c: Conn, data: Buffer): void {
  const m = JSON.parse(data.toString()) as Record<string, unknown>;
  if (m['failure reason'] !== undefined) {
    counts.errors++;
    firstError ||= String(m['failure reason']);
    inFlight = Math.max(0, inFlight - 1);
    return fillWindow();
  }
  if (m.offer !== undefined) {
    counts.offersReceived++;
    c.ws.send(
      JSON.stringify({
        action: 'announce',
        info_hash: c.hash,
        peer_id: c.peerId,
        to_peer_id: m.peer_id,
        offer_id: m.offer_id,
        answer: { type: 'answer', sdp: SDP },
      }),
    );
  } else if (m.answer !== undefined) {
    counts.answersReceived++;
  } else if (m.complete !== undefined) {
    counts.announces++;
    inFlight = Math.max(0, inFlight - 1);
    fillWindow();
  }
}

async function connect(i: number): Promise<void> {
  const ws = new WebSocket(URL_, { perMessageDeflate: false });
  const c: Conn = { ws, peerId: bin20('p', i), hash: bin20('t', i % T) };
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', (e) => {
    counts.errors++;
    firstError ||= e.message;
  });
  ws.on('message', (d: Buffer) => onMessage(c, d));
  conns.push(c);
  // join the swarm (no offers yet)
  ws.send(JSON.stringify({ action: 'announce', info_hash: c.hash, peer_id: c.peerId, event: 'started', numwant: 0, left: 1 }));
  inFlight++;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
for (let i = 0; i < N; i += 200) await Promise.all(Array.from({ length: Math.min(200, N - i) }, (_, k) => connect(i + k)));
while (counts.announces < N) await sleep(10);
process.stderr.write(`ws-load: ${N} connections in ${T} swarms joined in ${Date.now() - t0} ms\n`);
running = true;
inFlight = 0;
fillWindow();
setInterval(fillWindow, 100).unref(); // replies lost to a dropped connection must not shrink the window
await sleep(Number(o.warmup) * 1000);
const start = { ...counts };
const cpu0 = process.cpuUsage();
const m0 = performance.now();
process.stdout.write('TIMED_START\n');
await sleep(Number(o.duration) * 1000);
process.stdout.write('TIMED_END\n');
const seconds = (performance.now() - m0) / 1000;
const cpu = process.cpuUsage(cpu0);
const d = (k: keyof typeof counts) => counts[k] - start[k];
running = false;
process.stdout.write(
  JSON.stringify({
    connections: N,
    torrents: T,
    offers: OFFERS,
    window: WINDOW,
    seconds: Math.round(seconds * 1000) / 1000,
    announces: d('announces'),
    offersReceived: d('offersReceived'),
    answersReceived: d('answersReceived'),
    errors: d('errors'),
    announcesPerSecond: Math.round(d('announces') / seconds),
    answersPerSecond: Math.round(d('answersReceived') / seconds),
    genCpuPct: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 1000) / 10,
    firstError,
  }) + '\n',
);
for (const c of conns) c.ws.terminate();
process.exit(0);
