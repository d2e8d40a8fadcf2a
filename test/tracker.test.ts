// The running tracker as a whole: workers sharing one store, a worker restarted after a crash,
// the main thread's periodic cleaning, and what every transport answers once the store is full.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { startTestTracker, infoHash, percentEncode } from './helpers/tracker.ts';
import { get, scrape } from './helpers/http-client.ts';
import { UdpClient, announcePacket, parseAnnounceReply } from './helpers/udp-client.ts';
import { WsTestClient, bin20 } from './helpers/ws-client.ts';
import { waitUntil } from './helpers/process.ts';
import { addPeer } from './helpers/store.ts';
import { currentMinute, Announce, ANNOUNCE_FULL } from '../src/store/swarm-store.ts';
import { defaultConfig, MIN_MEMORY_LIMIT } from '../src/config/config.ts';
import { decode } from '../src/protocol/bencode.ts';

test('HTTP and UDP clients on different workers share one swarm', async () => {
  const tracker = await startTestTracker({ workers: 2 });
  try {
    const hash = infoHash('shared-swarm');
    const udp = await UdpClient.open('127.0.0.1', tracker.udp4);
    await udp.request(announcePacket({ connectionId: await udp.connect(), transactionId: 1, infoHash: hash, port: 4001 }));
    udp.close();
    for (let i = 0; i < 8; i++) {
      // New connections land on either worker (SO_REUSEPORT); each one sees the UDP peer.
      const r = await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(hash)}&port=${5000 + i}&left=1`);
      const d = decode(r.body) as Map<string, unknown>;
      assert.equal(d.get('incomplete'), 2 + i);
    }
    assert.deepEqual(tracker.totals().peers4, 9);
  } finally {
    await tracker.close();
  }
});

test('a worker that dies is restarted, and the swarm survives it', async () => {
  const tracker = await startTestTracker({ workers: 2 });
  try {
    const hash = infoHash('survivor');
    const c = await UdpClient.open('127.0.0.1', tracker.udp4);
    const id = await c.connect();
    await c.request(announcePacket({ connectionId: id, transactionId: 1, infoHash: hash, port: 4001 }));
    await tracker.terminateWorker(0);
    await tracker.terminateWorker(1);
    const deadline = Date.now() + 10_000;
    let reply: Buffer | null = null;
    while (reply === null && Date.now() < deadline)
      reply = await c.request(announcePacket({ connectionId: id, transactionId: 2, infoHash: hash, port: 4002 }), 300);
    assert.ok(reply, 'answered again after the restart');
    assert.deepEqual(parseAnnounceReply(reply, false).peers, ['127.0.0.1:4001']);
    assert.equal(tracker.restarts, 2);
    c.close();
  } finally {
    await tracker.close();
  }
});

test(
  'tracker.clean_interval: a cleaning pass drops expired peers and dead torrents in a running tracker, and keeps live ones',
  { timeout: 60_000 },
  async () => {
    // Peers are timed in minutes: the stale ones are put into the shared store as a worker would
    // have stored them ten minutes ago (the main thread's view of the store, its clock set back).
    const tracker = await startTestTracker({ cleanInterval: 1, peerTimeout: 60, torrentTimeout: 120 });
    try {
      const [stale, dead, live] = [infoHash('clean-stale'), infoHash('clean-dead'), infoHash('clean-live')];
      const store = tracker.store;
      const now = currentMinute();
      store.setClock(now - 10);
      addPeer(store, stale, 1, { seeder: true, completed: true });
      addPeer(store, stale, 2);
      store.restoreTorrent(dead, 0, 5, now - 10); // completions, no peer, idle past tracker.torrent_timeout
      store.setClock(now);
      const udp = await UdpClient.open('127.0.0.1', tracker.udp4);
      assert.ok(await udp.request(announcePacket({ connectionId: await udp.connect(), transactionId: 1, infoHash: live, port: 6881 })));
      udp.close();
      assert.equal(tracker.totals().torrents, 3);
      // A whole pass takes tracker.clean_interval (1 s; the default 120 s would time this out).
      await waitUntil(
        () => tracker.totals().torrents === 1,
        15_000,
        () => `${tracker.totals().torrents} torrents left`,
      );
      assert.deepEqual(await scrape(tracker.tcp4, live), { complete: 0, incomplete: 1, downloaded: 0 });
      assert.deepEqual(await scrape(tracker.tcp4, stale), { complete: 0, incomplete: 0, downloaded: 0 });
      assert.equal(tracker.totals().peers4, 1);
    } finally {
      await tracker.close();
    }
  },
);

test(
  'a full store answers "tracker full, try later" over HTTP and UDP, a full WebSocket table over WebSocket, and counts them',
  { timeout: 60_000 },
  async () => {
    const tracker = await startTestTracker({ memoryLimit: MIN_MEMORY_LIMIT, ws: { ...defaultConfig().ws, maxSwarms: 1 } });
    try {
      // Fill the shared store with torrents of random hashes, two peers each, until it refuses one:
      // a torrent with two peers is never evicted to make room (test/store/eviction.test.ts has the
      // junk a full store does evict), so nothing can make room for that torrent.
      const fresh = Buffer.alloc(20);
      const a = new Announce();
      let torrents = 0;
      for (let full = false; !full; torrents++) {
        a.hash = randomFillSync(fresh);
        for (let peer = 1; peer <= 2 && !full; peer++) {
          a.address.set([10, 0, 0, peer]);
          a.port = 6881;
          full = tracker.store.announce(a) === ANNOUNCE_FULL;
        }
      }
      assert.ok(torrents > 1000, `${torrents} torrents in ${MIN_MEMORY_LIMIT} bytes`);
      assert.equal(tracker.store.evictions().torrents, 0);
      const http = await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(fresh)}&port=6881&left=1`);
      assert.equal(http.status, 200);
      assert.equal(Buffer.from((decode(http.body) as Map<string, Uint8Array>).get('failure reason')!).toString(), 'tracker full, try later');
      const udp = await UdpClient.open('127.0.0.1', tracker.udp4);
      const reply = await udp.request(announcePacket({ connectionId: await udp.connect(), transactionId: 7, infoHash: fresh, port: 6882 }));
      udp.close();
      assert.ok(reply);
      assert.deepEqual([reply.readUInt32BE(0), reply.readUInt32BE(4), reply.subarray(8).toString()], [3, 7, 'tracker full, try later']);
      // WebSocket peers live in their own table, ws.max_swarms torrents big (1 here).
      const ws = await WsTestClient.open(`ws://127.0.0.1:${tracker.tcp4}`);
      ws.send({ action: 'announce', info_hash: bin20('ws-first'), peer_id: bin20('p'), event: 'started', left: 1, numwant: 0 });
      assert.equal((await ws.next()).incomplete, 1);
      ws.send({ action: 'announce', info_hash: bin20('ws-second'), peer_id: bin20('p'), event: 'started', left: 1, numwant: 0 });
      assert.deepEqual(await ws.next(), { 'failure reason': 'tracker full, try later', action: 'announce', info_hash: bin20('ws-second') });
      ws.close();
      const c = tracker.counters();
      assert.deepEqual([c.store_full, c.udp_store_full, c.ws_full], [2, 1, 1]);
      const metrics = (await get('127.0.0.1', tracker.tcp4, '/metrics')).body.toString();
      for (const protocol of ['http', 'udp', 'ws']) {
        assert.match(metrics, new RegExp(`swarmd_requests_total\\{protocol="${protocol}",action="announce",outcome="full"\\} 1\n`), protocol);
      }
    } finally {
      await tracker.close();
    }
  },
);
