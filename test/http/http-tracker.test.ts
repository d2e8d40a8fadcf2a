// The HTTP tracker (src/http/): announces, scrapes, keep-alive and pipelining, routing, the
// limits and each timeout against its own setting.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestTracker, infoHash, percentEncode } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { get, rawExchange } from '../helpers/http-client.ts';
import { waitUntil } from '../helpers/process.ts';
import { decode } from '../../src/protocol/bencode.ts';
import { defaultConfig } from '../../src/config/config.ts';

type Dict = Map<string, unknown>;

function announceUrl(hash: Buffer, port: number, extra = ''): string {
  return `/announce?info_hash=${percentEncode(hash)}&peer_id=-TS0001-${String(port).padStart(12, '0')}&port=${port}&uploaded=0&downloaded=0&left=100&compact=1${extra}`;
}

function bdict(body: Buffer): Dict {
  return decode(body) as Dict;
}

function compactPeers(bytes: Uint8Array, v6: boolean): string[] {
  const size = v6 ? 18 : 6;
  const out: string[] = [];
  const b = Buffer.from(bytes);
  for (let o = 0; o < b.length; o += size) {
    if (v6) out.push(`[${Array.from({ length: 8 }, (_, k) => b.readUInt16BE(o + 2 * k).toString(16)).join(':')}]:${b.readUInt16BE(o + 16)}`);
    else out.push(`${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}:${b.readUInt16BE(o + 4)}`);
  }
  return out.sort();
}

describe('HTTP tracker', () => {
  let tracker: TestTracker;
  before(async () => {
    tracker = await startTestTracker({
      redirectUrl: 'https://example.invalid/',
      http: { idleTimeout: 2, headerTimeout: 1, maxRequestBytes: 2048, keepAlive: true, maxConnections: 50 },
    });
  });
  after(() => tracker.close());

  test("announce answers compact peers with opentracker's keys and interval", async () => {
    const hash = infoHash('http-basic');
    const first = await get('127.0.0.1', tracker.tcp4, announceUrl(hash, 6881, '&event=started'));
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('content-type'), 'text/plain');
    const d1 = bdict(first.body);
    assert.deepEqual([...d1.keys()], ['complete', 'downloaded', 'incomplete', 'interval', 'min interval', 'peers']);
    assert.deepEqual([d1.get('complete'), d1.get('incomplete'), (d1.get('peers') as Uint8Array).length], [0, 1, 0]);
    const interval = d1.get('interval') as number;
    assert.ok(interval >= 1620 && interval <= 1979);
    assert.equal(d1.get('min interval'), Math.floor(interval / 2));
    const d2 = bdict((await get('127.0.0.1', tracker.tcp4, announceUrl(hash, 6882).replace('left=100', 'left=0'))).body);
    assert.deepEqual(compactPeers(d2.get('peers') as Uint8Array, false), ['127.0.0.1:6881']);
    assert.deepEqual([d2.get('complete'), d2.get('incomplete')], [1, 1]);
  });

  test('an IPv6 client is stored as IPv6 and every client gets peers6', async () => {
    const hash = infoHash('http-v6');
    await get('::1', tracker.tcp6, announceUrl(hash, 5001));
    const d = bdict((await get('127.0.0.1', tracker.tcp4, announceUrl(hash, 5002))).body);
    assert.deepEqual(compactPeers(d.get('peers6') as Uint8Array, true), ['[0:0:0:0:0:0:0:1]:5001']);
    const d6 = bdict((await get('::1', tracker.tcp6, announceUrl(hash, 5003))).body);
    assert.deepEqual(compactPeers(d6.get('peers') as Uint8Array, false), ['127.0.0.1:5002']);
    assert.deepEqual(compactPeers(d6.get('peers6') as Uint8Array, true), ['[0:0:0:0:0:0:0:1]:5001']);
  });

  test('compact=0 gets the dictionary model of BEP 3', async () => {
    const hash = infoHash('http-dict');
    await get('127.0.0.1', tracker.tcp4, announceUrl(hash, 7001));
    const d = bdict((await get('127.0.0.1', tracker.tcp4, announceUrl(hash, 7002).replace('compact=1', 'compact=0'))).body);
    const peers = d.get('peers') as Dict[];
    assert.equal(peers.length, 1);
    assert.equal(Buffer.from(peers[0].get('ip') as Uint8Array).toString(), '127.0.0.1');
    assert.equal(peers[0].get('port'), 7001);
  });

  test('stopped removes the peer; numwant limits the sample', async () => {
    const hash = infoHash('http-stop');
    for (let p = 1; p <= 10; p++) await get('127.0.0.1', tracker.tcp4, announceUrl(hash, 8000 + p));
    const few = bdict((await get('127.0.0.1', tracker.tcp4, announceUrl(hash, 8001, '&numwant=3'))).body);
    assert.equal((few.get('peers') as Uint8Array).length, 18);
    const stop = bdict((await get('127.0.0.1', tracker.tcp4, announceUrl(hash, 8001, '&event=stopped'))).body);
    assert.equal(stop.get('incomplete'), 9);
  });

  test('scrape answers many hashes, sorted, with zeros for unknown ones', async () => {
    const known = infoHash('http-scrape');
    await get('127.0.0.1', tracker.tcp4, announceUrl(known, 9001).replace('left=100', 'left=0') + '&event=completed');
    const unknown = infoHash('aaa-unknown');
    const r = await get(
      '127.0.0.1',
      tracker.tcp4,
      `/scrape?info_hash=${percentEncode(known)}&info_hash=${percentEncode(unknown)}&info_hash=${percentEncode(known)}`,
    );
    const files = bdict(r.body).get('files') as Dict;
    assert.deepEqual([...files.keys()], [unknown.toString('latin1'), known.toString('latin1')]);
    const k = files.get(known.toString('latin1')) as Dict;
    assert.deepEqual([k.get('complete'), k.get('downloaded'), k.get('incomplete')], [1, 1, 0]);
    const u = files.get(unknown.toString('latin1')) as Dict;
    assert.deepEqual([u.get('complete'), u.get('downloaded'), u.get('incomplete')], [0, 0, 0]);
  });

  test('bad announces get a bencoded failure reason with status 200', async () => {
    const cases: [string, RegExp][] = [
      ['/announce?port=1', /info_hash/],
      ['/announce?info_hash=%41%42&port=1', /info_hash/],
      [`/announce?info_hash=${percentEncode(infoHash('p'))}&port=70000`, /port/],
      [`/announce?info_hash=${percentEncode(infoHash('p'))}`, /port/],
      [`/announce?info_hash=%zz${percentEncode(infoHash('p')).slice(3)}&port=1`, /info_hash/],
      ['/announce', /info_hash/],
    ];
    for (const [target, reason] of cases) {
      const r = await get('127.0.0.1', tracker.tcp4, target);
      assert.equal(r.status, 200, target);
      const d = bdict(r.body);
      assert.match(Buffer.from(d.get('failure reason') as Uint8Array).toString(), reason, target);
    }
  });

  test('unknown paths get 404, / redirects, other methods 405', async () => {
    assert.equal((await get('127.0.0.1', tracker.tcp4, '/nothing-here')).status, 404);
    const redirect = await get('127.0.0.1', tracker.tcp4, '/');
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), 'https://example.invalid/');
    const post = await rawExchange('127.0.0.1', tracker.tcp4, 'POST /announce HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
    assert.equal(post.responses[0].status, 405);
    assert.ok(post.closedByServer);
  });

  test('malformed and oversized requests are refused and the connection closed', async () => {
    const garbage = await rawExchange('127.0.0.1', tracker.tcp4, 'GARBAGE\x01\x02\r\n\r\n');
    assert.equal(garbage.responses[0].status, 400);
    assert.ok(garbage.closedByServer);
    const big = await rawExchange('127.0.0.1', tracker.tcp4, `GET /announce?${'x'.repeat(4000)} HTTP/1.1\r\n\r\n`);
    assert.equal(big.responses[0].status, 431);
    assert.ok(big.closedByServer);
    assert.ok(tracker.counters().http_too_large >= 1);
  });

  test('keep-alive and pipelining: several answers on one connection, in order', async () => {
    const hash = infoHash('http-keepalive');
    const req = (port: number) => `GET ${announceUrl(hash, port)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const r = await rawExchange('127.0.0.1', tracker.tcp4, req(1) + req(2) + req(3), { untilResponses: 3 });
    assert.equal(r.responses.length, 3);
    assert.deepEqual(
      r.responses.map((x) => bdict(x.body).get('incomplete')),
      [1, 2, 3],
    );
    assert.equal(r.closedByServer, false);
    const old = await rawExchange('127.0.0.1', tracker.tcp4, `GET ${announceUrl(hash, 4)} HTTP/1.0\r\n\r\n`);
    assert.equal(old.responses.length, 1);
    assert.ok(old.closedByServer, 'HTTP/1.0 without keep-alive closes');
  });

  test('a request split across writes is answered', async () => {
    const hash = infoHash('http-split');
    const socket = net.connect({ host: '127.0.0.1', port: tracker.tcp4 });
    const data: Buffer[] = [];
    socket.on('data', (d) => data.push(d));
    const closed = new Promise((r) => socket.once('close', r));
    await new Promise((r) => socket.once('connect', r));
    const request = `GET ${announceUrl(hash, 1)} HTTP/1.1\r\nConnection: close\r\n\r\n`;
    for (let i = 0; i < request.length; i += 17) {
      socket.write(request.slice(i, i + 17));
      await new Promise((r) => setTimeout(r, 2));
    }
    await closed;
    assert.match(Buffer.concat(data).toString('latin1'), /^HTTP\/1.1 200 OK/);
  });

  test('a request head that never ends is closed after http.header_timeout, and counted', async () => {
    const before = tracker.counters().http_timeouts;
    const started = Date.now();
    const slow = await rawExchange('127.0.0.1', tracker.tcp4, 'GET /announce?info', { timeoutMs: 15_000 });
    assert.ok(slow.closedByServer, 'closed by swarmd, not by the client giving up');
    const ms = Date.now() - started;
    assert.ok(ms >= 900, `slow head closed after ${ms} ms, before the 1 s header timeout`);
    assert.equal(tracker.counters().http_timeouts - before, 1);
  });

  test('connections over the cap are refused', async () => {
    const sockets: net.Socket[] = [];
    const refused = tracker.counters().http_refused;
    let closed = 0;
    for (let i = 0; i < 130; i++) {
      const s = net.connect({ host: '127.0.0.1', port: tracker.tcp4 });
      s.on('error', () => {});
      s.on('close', () => closed++);
      sockets.push(s);
    }
    // Two workers take 50 each; every other connection is closed at once, whichever worker got it.
    await waitUntil(
      () => closed >= 130 - 2 * 50 && tracker.counters().http_refused - refused >= 130 - 2 * 50,
      20_000,
      () => `${closed} connections closed, ${tracker.counters().http_refused - refused} refused`,
    );
    for (const s of sockets) s.destroy();
  });
});

test('closing the tracker ends idle keep-alive connections at once', async () => {
  const tracker = await startTestTracker({ http: { ...defaultConfig().http, idleTimeout: 60 } });
  const socket = net.connect(tracker.tcp4, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /scrape?info_hash=aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((resolve) => socket.once('data', resolve)); // answered; the connection stays open
  const ended = new Promise((resolve) => socket.once('close', resolve));
  const started = Date.now();
  await tracker.close();
  await ended;
  // At once: long before the 60 s idle timeout would have closed it.
  assert.ok(Date.now() - started < 20_000, `closed after ${Date.now() - started} ms`);
});

test('an idle keep-alive connection is kept for http.idle_timeout, then closed and counted', { timeout: 60_000 }, async () => {
  const tracker = await startTestTracker({ http: { ...defaultConfig().http, headerTimeout: 1, idleTimeout: 4 } });
  try {
    const socket = net.connect(tracker.tcp4, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /scrape?info_hash=${percentEncode(infoHash('idle'))} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((resolve) => socket.once('data', resolve)); // answered; kept alive, now idle
    const idleSince = Date.now();
    const timeouts = tracker.counters().http_timeouts;
    await closed;
    const ms = Date.now() - idleSince;
    // The header timeout (1 s) would have closed it within about 2 s (the sweep runs every second).
    assert.ok(ms >= 3500, `closed ${ms} ms after the answer, before the 4 s idle timeout`);
    assert.equal(tracker.counters().http_timeouts - timeouts, 1, 'counted as a timeout');
  } finally {
    await tracker.close();
  }
});

test('a connection that never sends a request is closed after the header timeout, not the idle one', async () => {
  const tracker = await startTestTracker({ http: { ...defaultConfig().http, headerTimeout: 1, idleTimeout: 30 } });
  try {
    const socket = net.connect(tracker.tcp4, '127.0.0.1');
    socket.on('error', () => {}); // a reset counts as closed too
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    const ms = Date.now() - started;
    assert.ok(ms >= 900 && ms < 15_000, `closed after ${ms} ms: the header timeout is 1 s, the idle one 30 s`);
  } finally {
    await tracker.close();
  }
});
