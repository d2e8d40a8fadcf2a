// bittorrent-tracker's client (npm) against swarmd, over HTTP, UDP and WebSocket: the client-side
// cases of bittorrent-tracker's own test suite (test/client.js, scrape.js, client-magnet.js,
// client-large-torrent.js, destroy.js, client-ws-socket-pool.js), written again here against a
// real swarmd. What each case checks is what the client observes, as in the original.
//
// As in the original suite, WebSocket clients make fake offers (no offer_id, no SDP): swarmd must
// skip them and still answer the announce.
//
// Cases of that suite that don't apply to another server, and why:
// - client.js "announce() with params" and "opts.getAnnounceOpts" (http, ws): the original also
//   checks the custom parameter in bittorrent-tracker's server `start` event; swarmd has no such
//   event (it ignores unknown parameters), so only the client-side half is run here.
// - client.js "client.stop(); client.destroy()": the original waits for the server's `stop`
//   event; here a scrape shows the peer gone instead.
// - client.js "http: userAgent": reads the header in bittorrent-tracker's server `request` event.
// - scrape.js "server: all info_hash scrape": waits for the server's `start` event; here the
//   announce's answer is awaited instead (ported).
// - client.js "http: client.start(httpAgent)": on Node the HTTP client takes an undici Agent,
//   and undici is not among our packages (the ws case, which takes an http.Agent, is ported).
// - querystring.js: tests a client helper, no server involved.
// - client.js "invalid announce URL" cases and scrape.js "Client.scrape with an invalid URL":
//   the client refuses the URL itself and never contacts a tracker, so they say nothing of swarmd.
// - server.js, evict.js, filter.js, request-handler.js, stats.js: bittorrent-tracker's server
//   internals (getSwarm, torrents, the Swarm class, peersCacheLength, the filter option, its
//   /stats page), not the protocol.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Client } from 'bittorrent-tracker';
import type { TrackerData } from 'bittorrent-tracker';
import { decode } from '../../src/protocol/bencode.ts';
import { startTestTracker, percentEncode } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';

type Transport = 'http' | 'udp' | 'ws';
const TRANSPORTS: readonly Transport[] = ['http', 'udp', 'ws'];
const PORT = 6881;
const TIMEOUT_MS = 15_000;

let tracker: TestTracker;
before(async () => {
  tracker = await startTestTracker();
});
after(() => tracker.close());

function urlOf(transport: Transport, path = ''): string {
  if (transport === 'http') return `http://127.0.0.1:${tracker.tcp4}/announce`;
  if (transport === 'udp') return `udp://127.0.0.1:${tracker.udp4}`;
  return `ws://127.0.0.1:${tracker.tcp4}${path}`;
}

const newHash = () => randomBytes(20).toString('hex');
const newPeerId = () => randomBytes(20);

/** A client that fails the test on any warning or error; WebSocket clients make fake offers, as in the original suite. */
function client(
  transport: Transport,
  infoHash: string,
  options: { peerId?: Buffer; port?: number; url?: string; getAnnounceOpts?: () => Record<string, unknown>; httpAgent?: unknown } = {},
): { c: Client; problems: Error[] } {
  const c = new Client({
    infoHash,
    announce: options.url ?? urlOf(transport),
    peerId: options.peerId ?? newPeerId(),
    port: options.port ?? PORT,
    wrtc: {},
    ...(options.getAnnounceOpts ? { getAnnounceOpts: options.getAnnounceOpts } : {}),
    ...(options.httpAgent ? { proxyOpts: { httpAgent: options.httpAgent } } : {}),
  });
  if (transport === 'ws') {
    c._trackers[0]!._generateOffers = (numwant, cb) => {
      const offers = Array.from({ length: numwant }, (_, i) => ({ fake_offer: `fake_offer_${i}` }));
      process.nextTick(() => cb(offers));
    };
  }
  const problems: Error[] = [];
  c.on('warning', (e: Error) => problems.push(e));
  c.on('error', (e: Error) => problems.push(e));
  return { c, problems };
}

function next<T = TrackerData>(c: Client, event: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    c.once(event, (data: T) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

function destroy(c: Client): Promise<void> {
  return new Promise((resolve, reject) => c.destroy((err) => (err ? reject(err) : resolve())));
}

function assertCounts(data: TrackerData, url: string): void {
  assert.equal(data.announce, url);
  assert.equal(typeof data.complete, 'number');
  assert.equal(typeof data.incomplete, 'number');
}

/** Seeders and leechers of a torrent as another client's scrape sees them (its own socket for ws). */
async function scrape(transport: Transport, infoHash: string): Promise<TrackerData> {
  const { c, problems } = client(transport, infoHash, { url: urlOf(transport, '/scrape-probe') });
  c.scrape();
  const data = await next(c, 'scrape');
  await destroy(c);
  assert.deepEqual(problems, []);
  return data;
}

/**
 * The client's infoHash of an HTTP scrape answer. BEP 48 keys `files` by the raw 20 bytes (as
 * swarmd and opentracker do); bittorrent-tracker's server writes them UTF-8 encoded instead, and
 * its client, handed raw bytes, hexes the key its bencode decoder already turned into hex. So over
 * HTTP the client's infoHash is that double hex, and this is what the check expects.
 */
function scrapedHash(transport: Transport, hash: string): string {
  return transport === 'http' ? Buffer.from(hash).toString('hex') : hash;
}

for (const transport of TRANSPORTS) {
  describe(`bittorrent-tracker client over ${transport}`, () => {
    test('start gets counts, stop gets an answer', async () => {
      const { c, problems } = client(transport, newHash());
      c.start();
      assertCounts(await next(c, 'update'), urlOf(transport));
      c.stop();
      await next(c, 'update');
      await destroy(c);
      assert.deepEqual(problems, []);
    });

    test('stop then destroy in the same tick still takes the peer off the tracker', async () => {
      const hash = newHash();
      const { c, problems } = client(transport, hash, { getAnnounceOpts: () => ({ left: 100 }) });
      c.start();
      await next(c, 'update');
      assert.equal((await scrape(transport, hash)).incomplete, 1);
      c.on('update', () => problems.push(new Error('update after destroy')));
      c.stop();
      c.destroy();
      const deadline = Date.now() + TIMEOUT_MS;
      while ((await scrape(transport, hash)).incomplete !== 0) {
        assert.ok(Date.now() < deadline, 'the peer never left');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(problems, []);
    });

    test('announces again after the interval', async () => {
      const { c, problems } = client(transport, newHash());
      c.setInterval(500);
      c.start();
      await next(c, 'update');
      c.setInterval(500);
      assertCounts(await next(c, 'update'), urlOf(transport));
      c.stop();
      await next(c, 'update');
      await destroy(c);
      assert.deepEqual(problems, []);
    });

    test('scrape of an unknown torrent gets numbers', async () => {
      const hash = newHash();
      const { c, problems } = client(transport, hash);
      c.scrape();
      const data = await next(c, 'scrape');
      assertCounts(data, urlOf(transport));
      assert.equal(data.infoHash, scrapedHash(transport, hash));
      assert.equal(typeof data.downloaded, 'number');
      await destroy(c);
      assert.deepEqual(problems, []);
    });

    test('Client.scrape (static) of one torrent', async () => {
      const hash = newHash();
      const data = await new Promise<TrackerData>((resolve, reject) =>
        Client.scrape({ announce: urlOf(transport), infoHash: hash }, (err, d) => (err ? reject(err) : resolve(d))),
      );
      assertCounts(data, urlOf(transport));
      assert.equal(data.infoHash, scrapedHash(transport, hash));
      assert.equal(typeof data.downloaded, 'number');
    });

    test('valid tracker port: the first announce is answered', async () => {
      const { c, problems } = client(transport, newHash());
      c.start();
      await next(c, 'update');
      await destroy(c);
      assert.deepEqual(problems, []);
    });

    test('magnet link (no left): start, update, stop', async () => {
      const { c, problems } = client(transport, newHash(), { getAnnounceOpts: () => ({ left: undefined }) });
      c.start();
      assertCounts(await next(c, 'update'), urlOf(transport));
      c.update();
      assertCounts(await next(c, 'update'), urlOf(transport));
      c.stop();
      await next(c, 'update');
      await destroy(c);
      assert.deepEqual(problems, []);
    });

    test('large torrent (left beyond 32 bits) starts', async () => {
      const hash = newHash();
      const { c, problems } = client(transport, hash, { getAnnounceOpts: () => ({ left: 5 * 2 ** 40 }) });
      c.start();
      const data = await next(c, 'update');
      assertCounts(data, urlOf(transport));
      assert.equal(data.incomplete, 1, 'a leecher');
      await destroy(c);
      assert.deepEqual(problems, []);
    });

    test('no update after destroy', async () => {
      const { c, problems } = client(transport, newHash());
      c.start();
      await next(c, 'update');
      c.on('update', () => problems.push(new Error('update after destroy')));
      c.update();
      // destroy() calls back once the client's sockets are closed (over WebSocket after swarmd's
      // answer to the update, or the client's destroy timeout): nothing can arrive after that.
      await destroy(c);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(problems, []);
    });
  });
}

for (const transport of ['http', 'ws'] as const) {
  test(`${transport}: announce with custom parameters (start options and getAnnounceOpts) is answered`, async () => {
    const { c, problems } = client(transport, newHash(), { getAnnounceOpts: () => ({ testParam: 'this is a test' }) });
    c.start({ testParam: 'this is a test' });
    assertCounts(await next(c, 'update'), urlOf(transport));
    c.stop();
    await next(c, 'update');
    await destroy(c);
    assert.deepEqual(problems, []);
  });
}

test("ws: the client's own http.Agent makes the connection", async () => {
  let used = false;
  const agent = new http.Agent();
  (agent as unknown as { createConnection: unknown }).createConnection = (opts: net.NetConnectOpts, cb?: () => void) => {
    used = true;
    return net.createConnection(opts, cb);
  };
  const { c, problems } = client('ws', newHash(), { httpAgent: agent });
  c.start();
  assertCounts(await next(c, 'update'), urlOf('ws'));
  assert.ok(used, 'the agent made the connection');
  await destroy(c);
  assert.deepEqual(problems, []);
});

for (const transport of ['http', 'udp'] as const) {
  test(`${transport}: numwant=1 gives the third client exactly one peer`, async () => {
    const hash = newHash();
    const clients = [0, 1, 2].map((i) => client(transport, hash, { port: PORT + i }));
    for (const { c } of clients.slice(0, 2)) {
      c.start();
      await next(c, 'update');
    }
    const third = clients[2]!.c;
    let peers = 0;
    third.on('peer', () => peers++);
    third.start({ numwant: 1 });
    await next(third, 'update'); // the client emits the answer's peers right after, in the same tick
    await new Promise((r) => setImmediate(r));
    assert.equal(peers, 1);
    for (const { c } of clients) {
      c.stop();
      await next(c, 'update');
      await destroy(c);
    }
    for (const { problems } of clients) assert.deepEqual(problems, []);
  });
}

// scrape.js "http: MULTI scrape using Client.scrape": the client finds neither torrent in a BEP 48
// answer (see scrapedHash), so only the UDP case is run.
for (const transport of ['udp'] as const) {
  test(`${transport}: Client.scrape (static) of two torrents`, async () => {
    const [h1, h2] = [newHash(), newHash()];
    const results = await new Promise<Record<string, TrackerData>>((resolve, reject) =>
      Client.scrape({ announce: urlOf(transport), infoHash: [h1, h2] }, (err, d) => (err ? reject(err) : resolve(d))),
    );
    for (const h of [h1, h2]) {
      assertCounts(results[h]!, urlOf(transport));
      assert.equal(results[h]!.infoHash, h);
      assert.equal(typeof results[h]!.downloaded, 'number');
    }
  });
}

test('ws: two clients of different torrents share one pooled socket, and both destroy callbacks run', async () => {
  const peerId = newPeerId();
  const one = client('ws', newHash(), { peerId });
  one.c.start();
  await next(one.c, 'update');
  const two = client('ws', newHash(), { peerId });
  two.c.start();
  await next(two.c, 'update');
  await destroy(one.c);
  await destroy(two.c);
  assert.deepEqual([...one.problems, ...two.problems], []);
});

type Files = Map<string, Map<string, unknown>>;
const filesOf = (body: Uint8Array) => (decode(Buffer.from(body)) as Map<string, unknown>).get('files') as Files;

test('http: a multi-hash scrape by hand (fetch + bencode) names both torrents', async () => {
  const [h1, h2] = [randomBytes(20), randomBytes(20)];
  const r = await fetch(`http://127.0.0.1:${tracker.tcp4}/scrape?info_hash=${percentEncode(h1)}&info_hash=${percentEncode(h2)}`);
  assert.equal(r.status, 200);
  const files = filesOf(new Uint8Array(await r.arrayBuffer()));
  assert.equal(files.size, 2);
  for (const h of [h1, h2]) {
    const entry = files.get(h.toString('latin1'));
    assert.ok(entry, 'entry present');
    for (const key of ['complete', 'incomplete', 'downloaded']) assert.equal(typeof entry.get(key), 'number');
  }
});

test('http: a full scrape (no info_hash) lists the torrent announced before it', async () => {
  const alone = await startTestTracker();
  try {
    const hash = newHash();
    const c = new Client({ infoHash: hash, announce: `http://127.0.0.1:${alone.tcp4}/announce`, peerId: newPeerId(), port: PORT, wrtc: {} });
    c.start();
    await next(c, 'update');
    const r = await fetch(`http://127.0.0.1:${alone.tcp4}/scrape`);
    assert.equal(r.status, 200);
    const files = filesOf(new Uint8Array(await r.arrayBuffer()));
    assert.deepEqual([...files.keys()], [Buffer.from(hash, 'hex').toString('latin1')]);
    await destroy(c);
  } finally {
    await alone.close();
  }
});

// Not a case of the original suite (it fakes its offers): two clients with real WebRTC
// (@roamhq/wrtc, in place of webrtc-polyfill) find each other through swarmd, and their data
// channel carries bytes both ways. Each uses its own URL for the same tracker: the client pools
// one socket per URL, and swarmd allows one peer_id per torrent on a connection.
test('ws: two clients exchange real WebRTC offers and answers through swarmd and talk over the data channel', async () => {
  const hash = newHash();
  type SimplePeer = {
    once: (e: string, f: () => void) => void;
    on: (e: string, f: (d: unknown) => void) => void;
    send: (d: string) => void;
    destroy: () => void;
  };
  // The peers handed out are the application's to close (their native WebRTC threads keep the process alive).
  const peers: SimplePeer[] = [];
  const make = (path: string, left: number) => {
    // No STUN servers: host candidates on loopback are all it takes, and nothing leaves the machine.
    const c = new Client({
      infoHash: hash,
      peerId: newPeerId(),
      announce: urlOf('ws', path),
      port: PORT,
      getAnnounceOpts: () => ({ left }),
      rtcConfig: { iceServers: [] },
    });
    const problems: Error[] = [];
    c.on('warning', (e: Error) => problems.push(e));
    c.on('error', (e: Error) => problems.push(e));
    const talk = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message over WebRTC')), 30_000);
      c.on('peer', (p: SimplePeer) => {
        peers.push(p);
        p.once('connect', () => p.send(`hello from ${path}`));
        p.on('data', (d) => {
          clearTimeout(timer);
          resolve(Buffer.from(d as Uint8Array).toString());
        });
        p.on('error', () => {}); // a second, unused connection attempt may fail: the first one carries the test
      });
    });
    return { c, problems, talk };
  };
  const before = tracker.counters();
  const seeder = make('/seeder', 0);
  seeder.c.start();
  await next(seeder.c, 'update');
  const leecher = make('/leecher', 1000);
  leecher.c.start();
  const data = await next(leecher.c, 'update');
  assert.equal(data.complete, 1);
  assert.equal(data.incomplete, 1);
  assert.deepEqual(await Promise.all([seeder.talk, leecher.talk]), ['hello from /leecher', 'hello from /seeder']);
  const after = tracker.counters();
  assert.ok(after.ws_offers_relayed > before.ws_offers_relayed);
  assert.ok(after.ws_answers_relayed > before.ws_answers_relayed);
  for (const p of peers) p.destroy();
  await destroy(seeder.c);
  await destroy(leecher.c);
  assert.deepEqual([...seeder.problems, ...leecher.problems], []);
});
