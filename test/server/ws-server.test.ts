// WebTorrent signalling with raw WebSocket clients against a real tracker of two workers: offers
// reach other peers of the swarm (on either worker), answers go back to the offerer with their
// offer_id, counts include WebSocket and HTTP peers, scrapes, the access list, /metrics.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestTracker, percentEncode } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { WsTestClient, bin20 } from '../helpers/ws-client.ts';
import { waitUntil } from '../helpers/process.ts';
import type { WsMessage } from '../helpers/ws-client.ts';
import { defaultConfig } from '../../src/config/config.ts';

const offer = (i: number) => ({ offer_id: bin20(`offer-${i}`), offer: { type: 'offer', sdp: `v=0 sdp ${i}` } });

/** Opens `n` clients and announces each into the swarm as a leecher; returns them once all are answered. */
async function joinSwarm(url: string, hash: string, n: number, prefix: string): Promise<WsTestClient[]> {
  const clients: WsTestClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await WsTestClient.open(url);
    c.send({ action: 'announce', info_hash: hash, peer_id: bin20(`${prefix}-${i}`), event: 'started', left: 10, numwant: 0 });
    const reply = await c.next();
    assert.equal(reply.info_hash, hash);
    clients.push(c);
  }
  return clients;
}

describe('WebSocket signalling on two workers', () => {
  let tracker: TestTracker;
  let url: string;
  before(async () => {
    tracker = await startTestTracker({ ws: { ...defaultConfig().ws, numwantMax: 20 } });
    url = `ws://127.0.0.1:${tracker.tcp4}`;
  });
  after(() => tracker.close());

  test('an offer reaches another peer, its answer comes back with the offer_id, every message names the info_hash', async () => {
    const hash = bin20('swarm-pair\u00ff\u0080');
    const [b] = await joinSwarm(url, hash, 1, 'pair-b');
    const a = await WsTestClient.open(url);
    a.send({ action: 'announce', info_hash: hash, peer_id: bin20('pair-a'), event: 'started', left: 0, numwant: 5, offers: [offer(1)] });
    const reply = await a.next();
    assert.deepEqual(reply, { action: 'announce', interval: 120, info_hash: hash, complete: 1, incomplete: 1 });
    const got = await b!.next();
    assert.deepEqual(got, { action: 'announce', info_hash: hash, peer_id: bin20('pair-a'), offer_id: bin20('offer-1'), offer: offer(1).offer });
    b!.send({
      action: 'announce',
      info_hash: hash,
      peer_id: bin20('pair-b-0'),
      to_peer_id: bin20('pair-a'),
      offer_id: bin20('offer-1'),
      answer: { type: 'answer', sdp: 'v=0 answer' },
    });
    const answer = await a.next();
    assert.deepEqual(answer, {
      action: 'announce',
      info_hash: hash,
      peer_id: bin20('pair-b-0'),
      offer_id: bin20('offer-1'),
      answer: { type: 'answer', sdp: 'v=0 answer' },
    });
    // The same answer twice: the offer was answered already.
    b!.send({
      action: 'announce',
      info_hash: hash,
      peer_id: bin20('pair-b-0'),
      to_peer_id: bin20('pair-a'),
      offer_id: bin20('offer-1'),
      answer: { type: 'answer', sdp: 'again' },
    });
    assert.equal((await b!.next())['failure reason'], 'no such offer was relayed to you');
    a.close();
    b!.close();
  });

  test('offers are relayed to peers on both workers, at most one per peer, never to the offerer', async () => {
    const before = tracker.counters();
    const hash = bin20('swarm-wide');
    // 12 connections: the kernel spreads them over the two workers (all on one: 2 in 2^11).
    const peers = await joinSwarm(url, hash, 12, 'wide');
    const offerer = await WsTestClient.open(url);
    const offers = Array.from({ length: 14 }, (_, i) => offer(100 + i));
    offerer.send({ action: 'announce', info_hash: hash, peer_id: bin20('wide-offerer'), event: 'started', left: 10, numwant: 14, offers });
    const reply = await offerer.next();
    assert.equal(reply.incomplete, 13);
    const received = await Promise.all(peers.map((p) => p.next()));
    const ids = new Set(received.map((m) => m.offer_id));
    assert.equal(ids.size, 12, 'each peer got a different offer');
    for (const m of received) assert.equal(m.peer_id, bin20('wide-offerer'));
    // Every offer delivered (on either worker) or counted as placed nowhere; then nothing more
    // reached any peer.
    await waitUntil(
      () => {
        const c = tracker.counters();
        return c.ws_offers_relayed - before.ws_offers_relayed + c.ws_offers_unplaced - before.ws_offers_unplaced === 14;
      },
      10_000,
      () => 'not every offer was relayed or counted as unplaced',
    );
    for (const p of peers) assert.deepEqual(await p.sync(), [], 'no second offer to a peer');
    const after = tracker.counters();
    assert.ok(after.ws_offers_forwarded > before.ws_offers_forwarded, 'some offers went to the other worker');
    assert.equal(after.ws_offers_relayed - before.ws_offers_relayed, 12);
    assert.equal(after.ws_offers_unplaced - before.ws_offers_unplaced, 2, 'two offers had nobody left');
    // Every peer answers; each answer comes back to the offerer, whichever worker holds it.
    peers.forEach((p, i) =>
      p.send({
        action: 'announce',
        info_hash: hash,
        peer_id: bin20(`wide-${i}`),
        to_peer_id: bin20('wide-offerer'),
        offer_id: received[i]!.offer_id,
        answer: { type: 'answer', sdp: `answer ${i}` },
      }),
    );
    const answers: WsMessage[] = [];
    for (let i = 0; i < 12; i++) answers.push(await offerer.next());
    assert.deepEqual(new Set(answers.map((m) => m.offer_id)), ids);
    for (const c of [...peers, offerer]) c.close();
  });

  test('complete and incomplete add WebSocket and HTTP peers; a closed connection leaves its swarms', async () => {
    const hash = bin20('swarm-mixed');
    const http = await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(Buffer.from(hash, 'latin1'))}&port=7000&left=0`);
    assert.equal(http.status, 200);
    const [leecher] = await joinSwarm(url, hash, 1, 'mixed');
    const probe = await WsTestClient.open(url);
    probe.send({ action: 'scrape', info_hash: hash });
    const scrape = await probe.next();
    assert.deepEqual(scrape.files, { [hash]: { complete: 1, incomplete: 1, downloaded: 0 } });
    leecher!.close();
    const deadline = Date.now() + 5000;
    for (;;) {
      probe.send({ action: 'scrape', info_hash: [hash, bin20('never-seen')] });
      const files = (await probe.next()).files as Record<string, { incomplete: number }>;
      assert.equal(files[bin20('never-seen')]!.incomplete, 0, 'an unknown torrent scrapes as zeros');
      if (files[hash]!.incomplete === 0) break;
      assert.ok(Date.now() < deadline, 'the closed connection still counts');
      await new Promise((r) => setTimeout(r, 50));
    }
    probe.close();
  });

  test('a stopped peer leaves at once and gets an answer; a full scrape is refused', async () => {
    const hash = bin20('swarm-stop');
    const [c] = await joinSwarm(url, hash, 1, 'stop');
    c!.send({ action: 'announce', info_hash: hash, peer_id: bin20('stop-0'), event: 'stopped', left: 10 });
    assert.deepEqual(await c!.next(), { action: 'announce', interval: 120, info_hash: hash, complete: 0, incomplete: 0 });
    c!.send({ action: 'scrape' });
    assert.equal((await c!.next())['failure reason'], 'full scrapes are not available over WebSocket');
    c!.close();
  });

  test('a completed WebSocket peer counts once in downloaded, over WebSocket and HTTP scrapes', async () => {
    const hash = bin20('swarm-done');
    const [c] = await joinSwarm(url, hash, 1, 'done');
    for (let i = 0; i < 2; i++) {
      c!.send({ action: 'announce', info_hash: hash, peer_id: bin20('done-0'), event: 'completed', left: 0, numwant: 0 });
      assert.deepEqual(await c!.next(), { action: 'announce', interval: 120, info_hash: hash, complete: 1, incomplete: 0 });
    }
    c!.send({ action: 'scrape', info_hash: hash });
    assert.deepEqual((await c!.next()).files, { [hash]: { complete: 1, incomplete: 0, downloaded: 1 } });
    const hex = Buffer.from(hash, 'latin1');
    const http = await get('127.0.0.1', tracker.tcp4, `/scrape?info_hash=${percentEncode(hex)}`);
    assert.match(http.body.toString('latin1'), /10:downloadedi1e/);
    c!.close();
  });

  test("a worker that dies takes its connections' peers out of the shared counts", async () => {
    const hash = bin20('swarm-crash');
    const clients = await joinSwarm(url, hash, 8, 'crash');
    let open = clients.length;
    for (const c of clients) void c.closed.then(() => open--);
    await tracker.terminateWorker(0);
    const deadline = Date.now() + 10_000;
    for (;;) {
      // a new connection lands on the surviving worker (or on the restarted one)
      const probe = await WsTestClient.open(url).catch(() => null);
      if (probe !== null) {
        probe.send({ action: 'scrape', info_hash: hash });
        const files = (await probe.next().catch(() => ({ files: null }))).files as Record<string, { incomplete: number }> | null;
        probe.close();
        if (files !== null && files[hash]!.incomplete === open && open < clients.length) break;
      }
      assert.ok(Date.now() < deadline, `counts never matched the ${open} open connections`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const c of clients) c.close();
  });

  test('/metrics shows the WebSocket requests and bytes with protocol="ws"', async () => {
    const text = (await get('127.0.0.1', tracker.tcp4, '/metrics')).body.toString();
    assert.match(text, /swarmd_requests_total\{protocol="ws",action="announce",outcome="ok"\} [1-9]/);
    assert.match(text, /swarmd_received_bytes_total\{protocol="ws"\} [1-9]/);
    assert.match(text, /swarmd_ws_offers_total\{outcome="relayed"\} [1-9]/);
    assert.match(text, /swarmd_ws_answers_total\{outcome="refused"\} [1-9]/);
  });
});

test('access list: a blacklisted torrent is refused over WebSocket and scrapes as unknown', async () => {
  const denied = bin20('denied-torrent');
  const file = join(mkdtempSync(join(tmpdir(), 'swarmd-ws-access-')), 'black.txt');
  writeFileSync(file, `${Buffer.from(denied, 'latin1').toString('hex')}\n`);
  const tracker = await startTestTracker({ access: { ...defaultConfig().access, blacklist: file } });
  try {
    const c = await WsTestClient.open(`ws://127.0.0.1:${tracker.tcp4}`);
    c.send({ action: 'announce', info_hash: denied, peer_id: bin20('p'), event: 'started', left: 1 });
    assert.deepEqual(await c.next(), {
      'failure reason': 'Requested download is not authorized for use with this tracker.',
      action: 'announce',
      info_hash: denied,
    });
    c.send({ action: 'scrape', info_hash: denied });
    assert.deepEqual((await c.next()).files, { [denied]: { complete: 0, incomplete: 0, downloaded: 0 } });
    c.close();
    const n = tracker.counters();
    assert.equal(n.ws_announce_denied, 1);
    assert.equal(n.ws_scrape_denied, 1);
  } finally {
    await tracker.close();
  }
});

test('ws.enabled off: an upgrade request is an ordinary HTTP request', async () => {
  const tracker = await startTestTracker({ ws: { ...defaultConfig().ws, enabled: false } });
  try {
    await assert.rejects(WsTestClient.open(`ws://127.0.0.1:${tracker.tcp4}/announce`), /HTTP 200/);
  } finally {
    await tracker.close();
  }
});
