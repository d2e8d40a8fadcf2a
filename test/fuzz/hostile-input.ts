// Hostile input against a running tracker: random and mutated datagrams at the UDP port, random
// and mutated HTTP requests at the TCP port, with well-formed announces (UDP and HTTP) interleaved
// that must keep getting right answers. Used by the test suite (a short, bounded run) and by `npm run fuzz`
// (millions: `npm run fuzz -- --count N`).

import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { UdpClient, announcePacket, parseAnnounceReply } from '../helpers/udp-client.ts';
import { get } from '../helpers/http-client.ts';
import { percentEncode } from '../helpers/tracker.ts';

/** A small deterministic generator, so a failing run can be repeated with its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const VALID_HTTP = [
  'GET /announce?info_hash=%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61&peer_id=-XX0001-000000000000&port=6881&uploaded=0&downloaded=0&left=10&compact=1&event=started HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /scrape?info_hash=%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61 HTTP/1.0\r\n\r\n',
  'GET /stats?mode=everything HTTP/1.1\r\nConnection: close\r\n\r\n',
];

/** A datagram: random bytes, or a valid-looking packet with some bytes flipped or cut. */
export function hostileDatagram(r: () => number, connectionId: Buffer): Buffer {
  const kind = Math.floor(r() * 4);
  if (kind === 0) return randomBytes(Math.floor(r() * 200));
  const base =
    kind === 1
      ? announcePacket({
          connectionId,
          transactionId: Math.floor(r() * 2 ** 32),
          infoHash: randomBytes(20),
          port: Math.floor(r() * 65536),
          numwant: Math.floor(r() * 2 ** 31) * (r() < 0.5 ? -1 : 1),
        })
      : Buffer.concat([connectionId, Buffer.from([0, 0, 0, kind === 2 ? 2 : Math.floor(r() * 256)]), randomBytes(4 + 20 * Math.floor(r() * 80))]);
  const p = Buffer.from(base.subarray(0, r() < 0.3 ? Math.floor(r() * base.length) : base.length));
  for (let i = Math.floor(r() * 4); i > 0 && p.length > 0; i--) p[Math.floor(r() * p.length)] = Math.floor(r() * 256);
  return p;
}

/** An HTTP request: random bytes, or a valid one mutated (bytes flipped, cut, repeated, huge). */
export function hostileRequest(r: () => number): Buffer {
  const kind = Math.floor(r() * 5);
  if (kind === 0) return randomBytes(Math.floor(r() * 600));
  const base = Buffer.from(VALID_HTTP[Math.floor(r() * VALID_HTTP.length)], 'latin1');
  if (kind === 1) return Buffer.concat([base.subarray(0, 30), Buffer.alloc(Math.floor(r() * 20000), 0x41), base.subarray(30)]);
  const p = Buffer.from(kind === 2 ? base.subarray(0, Math.floor(r() * base.length)) : base);
  for (let i = Math.floor(r() * 6); i > 0; i--) p[Math.floor(r() * p.length)] = Math.floor(r() * 256);
  return kind === 4 ? Buffer.concat([p, p, p]) : p;
}

export interface FuzzResult {
  datagrams: number;
  requests: number;
  validAnswered: number;
  validWrong: string[];
  /** Hostile HTTP connections the server neither answered nor closed within 5 s (a hang). */
  httpHung: number;
  /** The first few of those requests (JSON strings), to reproduce a failure. */
  httpHungRequests: string[];
}

/**
 * Every datagram swarmd received ends in exactly one of these counters: nothing is dropped
 * uncounted. (Connects, announces and scrapes include the hostile ones that parse.)
 */
export const UDP_OUTCOMES = [
  'udp_oversized',
  'udp_malformed',
  'udp_connect',
  'udp_bad_connection_id',
  'udp_bad_connection_id_ignored',
  'udp_flood_dropped',
  'udp_announce',
  'udp_scrape',
] as const;

/** Throws `datagrams` datagrams and `requests` HTTP requests, checking a valid announce every `checkEvery`. */
export async function fuzzTracker(opts: {
  udpPort: number;
  tcpPort: number;
  datagrams: number;
  requests: number;
  seed: number;
  checkEvery?: number;
}): Promise<FuzzResult> {
  const r = rng(opts.seed);
  const checkEvery = opts.checkEvery ?? 500;
  const result: FuzzResult = { datagrams: 0, requests: 0, validAnswered: 0, validWrong: [], httpHung: 0, httpHungRequests: [] };
  const checker = await UdpClient.open('127.0.0.1', opts.udpPort);
  const connectionId = await checker.connect();
  const garbage = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => garbage.bind(0, '127.0.0.1', resolve));
  garbage.on('message', () => {}); // answers to garbage are allowed (error packets), never required

  const check = async (n: number) => {
    const hash = Buffer.alloc(20, 0x5a);
    const reply = await checker.request(
      announcePacket({ connectionId: await checker.connect(), transactionId: n, infoHash: hash, port: 1000 + (n % 1000) }),
      3000,
    );
    if (reply === null) result.validWrong.push(`announce ${n}: no answer`);
    else {
      try {
        const a = parseAnnounceReply(reply, false);
        if (a.leechers < 1) result.validWrong.push(`announce ${n}: ${a.leechers} leechers`);
        else result.validAnswered++;
      } catch (err) {
        result.validWrong.push(`announce ${n}: ${(err as Error).message}`);
      }
    }
    // and the same swarm over HTTP: the UDP peers are in the counts
    try {
      const r = await get(
        '127.0.0.1',
        opts.tcpPort,
        `/announce?info_hash=${percentEncode(hash)}&peer_id=-FZ0001-000000000000&port=${2000 + (n % 1000)}&left=1&compact=1`,
      );
      const incomplete = /10:incompletei(\d+)e/.exec(r.body.toString('latin1'));
      if (r.status !== 200 || !incomplete || Number(incomplete[1]) < 2)
        result.validWrong.push(`HTTP announce ${n}: ${r.status} ${r.body.toString('latin1').slice(0, 80)}`);
      else result.validAnswered++;
    } catch (err) {
      result.validWrong.push(`HTTP announce ${n}: ${(err as Error).message}`);
    }
  };

  // UDP: bursts of garbage, a valid announce between bursts.
  for (let sent = 0; sent < opts.datagrams;) {
    const burst = Math.min(checkEvery, opts.datagrams - sent);
    for (let i = 0; i < burst; i++) garbage.send(hostileDatagram(r, connectionId), opts.udpPort, '127.0.0.1');
    sent += burst;
    result.datagrams = sent;
    await new Promise((resolve) => setImmediate(resolve));
    await check(sent);
  }

  await hostileHttp({ port: opts.tcpPort, requests: opts.requests, r, result, checkEvery, check: (n) => check(opts.datagrams + n) });
  await check(opts.datagrams + opts.requests + 1);
  checker.close();
  garbage.close();
  return result;
}

/**
 * HTTP: a few connections at a time (20), each sending a hostile request and reading what comes
 * back; `check` after every `checkEvery` requests. The server must answer or close each one:
 * an incomplete head when the head timeout runs out, a connection that sent nothing (an empty
 * payload) at the idle timeout; one still open after 5 s counts in result.httpHung.
 */
export async function hostileHttp(opts: {
  port: number;
  requests: number;
  r: () => number;
  result: FuzzResult;
  checkEvery: number;
  check: (sent: number) => Promise<void>;
}): Promise<void> {
  const { result } = opts;
  const oneRequest = (payload: Buffer) =>
    new Promise<void>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: opts.port });
      const done = () => {
        clearTimeout(timer);
        s.destroy();
        resolve();
      };
      const timer = setTimeout(() => {
        if (result.httpHung++ < 3) result.httpHungRequests.push(JSON.stringify(payload.toString('latin1').slice(0, 300)));
        done();
      }, 5000);
      s.on('error', done);
      s.on('close', done);
      s.on('data', done); // an answer: enough
      s.on('connect', () => s.write(payload)); // no half-close: the server alone decides when to close
    });
  for (let sent = 0; sent < opts.requests;) {
    const batch = Math.min(20, opts.requests - sent);
    await Promise.all(Array.from({ length: batch }, () => oneRequest(hostileRequest(opts.r))));
    sent += batch;
    result.requests = sent;
    if (sent % opts.checkEvery < batch) await opts.check(sent);
  }
}
