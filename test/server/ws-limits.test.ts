// The WebSocket abuse limits, each with a raw client doing what no real client does: every one
// ends in a refusal or a closed connection, and is counted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { WsTestClient, bin20 } from '../helpers/ws-client.ts';
import { defaultConfig } from '../../src/config/config.ts';
import type { WsConfig } from '../../src/config/config.ts';

async function withTracker(ws: Partial<WsConfig>, fn: (t: TestTracker, url: string) => Promise<void>, workers = 2): Promise<void> {
  const tracker = await startTestTracker({ workers, ws: { ...defaultConfig().ws, ...ws } });
  try {
    await fn(tracker, `ws://127.0.0.1:${tracker.tcp4}`);
  } finally {
    await tracker.close();
  }
}

const announce = (hash: string, peer: string, extra: Record<string, unknown> = {}) => ({
  action: 'announce',
  info_hash: bin20(hash),
  peer_id: bin20(peer),
  event: 'started',
  left: 1,
  ...extra,
});

test('a message over ws.max_message_size closes the connection (1009) and is counted', () =>
  withTracker({ maxMessageBytes: 1024 }, async (tracker, url) => {
    const c = await WsTestClient.open(url);
    c.send(announce('big', 'p', { pad: 'x'.repeat(2000) }));
    assert.equal(await c.closed, 1009);
    assert.equal(tracker.counters().ws_too_large, 1);
  }));

test('more offers than ws.max_offers refuse the announce; bad JSON and bad fields are malformed', () =>
  withTracker({ maxOffers: 3 }, async (tracker, url) => {
    const c = await WsTestClient.open(url);
    const offers = Array.from({ length: 4 }, (_, i) => ({ offer_id: bin20(`o${i}`), offer: { type: 'offer', sdp: 'x' } }));
    c.send(announce('many', 'p', { offers }));
    assert.deepEqual(await c.next(), { 'failure reason': 'too many offers (at most 3)', action: 'announce', info_hash: bin20('many') });
    c.socket.send('{not json');
    assert.deepEqual(await c.next(), { 'failure reason': 'invalid JSON' });
    c.send({ action: 'announce', info_hash: 'short', peer_id: bin20('p') });
    assert.equal((await c.next())['failure reason'], 'invalid info_hash');
    c.send({ action: 'announce', info_hash: bin20('wide\u0100'), peer_id: bin20('p') });
    assert.equal((await c.next())['failure reason'], 'invalid info_hash', 'a code point over 255 is no byte');
    const n = tracker.counters();
    assert.equal(n.ws_too_many_offers, 1);
    assert.equal(n.ws_malformed, 3);
    c.close();
  }));

test('one peer_id per torrent per connection; a peer_id held by another connection is refused', () =>
  withTracker(
    {},
    async (tracker, url) => {
      const c = await WsTestClient.open(url);
      c.send(announce('t', 'first'));
      assert.equal((await c.next()).complete, 0);
      c.send(announce('t', 'second'));
      assert.equal((await c.next())['failure reason'], 'only one peer_id per torrent per connection');
      c.send(announce('other-torrent', 'second'));
      assert.equal((await c.next())['failure reason'], undefined, 'another torrent may have another peer_id');
      const thief = await WsTestClient.open(url);
      thief.send(announce('t', 'first'));
      assert.equal((await thief.next())['failure reason'], 'this peer_id is in use by another connection');
      assert.equal(tracker.counters().ws_peer_id_refused, 2);
      thief.close();
      c.close();
    },
    1,
  ));

test('an answer to an offer never relayed to that peer is refused and counted', () =>
  withTracker({}, async (tracker, url) => {
    const a = await WsTestClient.open(url);
    a.send(announce('ans', 'a'));
    await a.next();
    const b = await WsTestClient.open(url);
    b.send(announce('ans', 'b'));
    await b.next();
    b.send(announce('ans', 'b', { event: undefined, to_peer_id: bin20('a'), offer_id: bin20('made-up'), answer: { type: 'answer', sdp: 'x' } }));
    assert.deepEqual(await b.next(), { 'failure reason': 'no such offer was relayed to you', action: 'announce', info_hash: bin20('ans') });
    assert.equal(tracker.counters().ws_answers_refused, 1);
    assert.equal(tracker.counters().ws_answers_relayed, 0);
    assert.deepEqual(await a.sync(), [], 'the offerer got nothing');
    a.close();
    b.close();
  }));

test('a client that does not read is dropped once ws.max_queue_size is queued for it', () =>
  withTracker(
    { maxQueuedBytes: 16 * 1024, maxMessageBytes: 64 * 1024 },
    async (tracker, url) => {
      const slow = await WsTestClient.open(url);
      slow.send(announce('flood', 'slow'));
      await slow.next();
      slow.socket.pause(); // stops reading: the kernel buffers fill, then swarmd's queue
      const offerer = await WsTestClient.open(url);
      const sdp = 'v'.repeat(60_000);
      const deadline = Date.now() + 30_000;
      let i = 0;
      while (tracker.counters().ws_slow_dropped === 0) {
        assert.ok(Date.now() < deadline, 'the slow client was never dropped');
        for (let k = 0; k < 20; k++, i++) {
          offerer.send(announce('flood', 'offerer', { offers: [{ offer_id: bin20(`f${i}`), offer: { type: 'offer', sdp } }] }));
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(tracker.counters().ws_slow_dropped, 1);
      offerer.close();
      slow.close();
    },
    1,
  ));

test('upgrades over ws.max_connections get 503 and are counted', () =>
  withTracker(
    { maxConnections: 2 },
    async (tracker, url) => {
      const open = [await WsTestClient.open(url), await WsTestClient.open(url)];
      await assert.rejects(WsTestClient.open(url), /HTTP 503/);
      assert.equal(tracker.counters().ws_refused, 1);
      for (const c of open) c.close();
    },
    1,
  ));

test('a connection without messages for ws.idle_timeout is closed', () =>
  withTracker({ idleTimeout: 1, pingInterval: 60 }, async (tracker, url) => {
    const c = await WsTestClient.open(url);
    const started = Date.now();
    assert.equal(await c.closed, 1001);
    assert.ok(Date.now() - started >= 900);
    assert.equal(tracker.counters().ws_idle_timeouts, 1);
  }));

test('a connection that does not answer a ping before the next one is closed', () =>
  withTracker({ idleTimeout: 60, pingInterval: 1 }, async (tracker, url) => {
    const c = await WsTestClient.open(url);
    c.socket.pause(); // the ping is never read, so never answered
    c.socket.on('error', () => {});
    const deadline = Date.now() + 10_000;
    while (tracker.counters().ws_ping_timeouts === 0) {
      assert.ok(Date.now() < deadline, 'never closed');
      await new Promise((r) => setTimeout(r, 100));
    }
    c.close();
  }));
