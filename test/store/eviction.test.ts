// A full store makes room: junk info hashes announced once each, from many sources, fill a small
// store; real torrents (two peers, or one that announces again, or with completions) stay, and a new
// real torrent is accepted. The eviction counters move.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Announce, Counts, SwarmStore, createStoreShared, ANNOUNCE_OK } from '../../src/store/swarm-store.ts';
import { EVENT_COMPLETED } from '../../src/protocol/events.ts';

const SETTINGS = { peerTimeoutMinutes: 45, torrentTimeoutMinutes: 24 * 60 };

function real(label: string): Uint8Array {
  const h = new Uint8Array(20);
  Buffer.from(label.padEnd(20, '!')).copy(h);
  return h;
}

/** Announces `hash` from 10.a.b.c:port; returns the status. */
function announceFrom(store: SwarmStore, a: Announce, hash: Uint8Array, source: number, port = 6881, event = 0): number {
  a.hash = hash;
  a.family = 4;
  a.address.set([10, (source >> 16) & 255, (source >> 8) & 255, source & 255]);
  a.port = port;
  a.event = event;
  a.seeder = event === EVENT_COMPLETED;
  a.want = 0;
  return store.announce(a);
}

function peersOf(store: SwarmStore, hash: Uint8Array): number {
  const c = new Counts();
  store.scrape(hash, 0, c);
  return c.found ? c.seeders + c.leechers : -1;
}

test('junk from many sources fills a small store; real torrents stay and a new one is accepted', () => {
  const store = new SwarmStore(createStoreShared(16 << 20), SETTINGS);
  const a = new Announce();
  const t0 = store.now;
  // real torrents from before the flood: two peers; one peer that announced again; one peer and a completion
  const twoPeers = real('two peers');
  const renewed = real('renewed');
  const completed = real('completed');
  assert.equal(announceFrom(store, a, twoPeers, 1), ANNOUNCE_OK);
  assert.equal(announceFrom(store, a, twoPeers, 2), ANNOUNCE_OK);
  assert.equal(announceFrom(store, a, renewed, 3), ANNOUNCE_OK);
  assert.equal(announceFrom(store, a, completed, 4, 6881, EVENT_COMPLETED), ANNOUNCE_OK);
  store.setClock(t0 + 30);
  assert.equal(announceFrom(store, a, renewed, 3), ANNOUNCE_OK);
  // the flood: random hashes, each once, each from its own source, over the next minutes
  const junk = new Uint8Array(20);
  let refused = 0;
  let reported = 0; // what announces report evicting (the shared rules count it in store_evicted)
  for (let i = 0; i < 600_000; i++) {
    if (i % 100_000 === 0) store.setClock(t0 + 31 + i / 100_000);
    for (let k = 0; k < 20; k += 4) junk.set([i & 255, (i >> 8) & 255, (i >> 16) & 255, (k * 37 + i) & 255], k);
    junk[0] = (i * 2654435761) >>> 24;
    if (announceFrom(store, a, junk, 100_000 + i) !== ANNOUNCE_OK) refused++;
    reported += a.evicted;
  }
  assert.equal(refused, 0);
  const ev = store.evictions();
  assert.ok(ev.torrents > 100_000, JSON.stringify(ev));
  assert.equal(reported, ev.torrents);
  assert.ok(store.arena.stats().failedAllocations > 0, 'the store was full');
  // the real ones are all there
  assert.equal(peersOf(store, twoPeers), 2);
  assert.equal(peersOf(store, renewed), 1);
  assert.equal(peersOf(store, completed), 1);
  // a new real torrent is accepted, its second peer too, and it stays through more junk
  const fresh = real('fresh');
  assert.equal(announceFrom(store, a, fresh, 7, 7000), ANNOUNCE_OK);
  assert.equal(announceFrom(store, a, fresh, 8, 7001), ANNOUNCE_OK);
  for (let i = 600_000; i < 700_000; i++) {
    for (let k = 0; k < 20; k += 4) junk.set([i & 255, (i >> 8) & 255, (i >> 16) & 255, (k * 37 + i) & 255], k);
    junk[0] = (i * 2654435761) >>> 24;
    assert.equal(announceFrom(store, a, junk, 100_000 + i), ANNOUNCE_OK);
  }
  assert.equal(peersOf(store, fresh), 2);
  assert.equal(peersOf(store, twoPeers), 2);
  // totals agree with what is left
  const totals = store.totals();
  assert.ok(totals.torrents > 50_000 && totals.torrents < 700_000, JSON.stringify(totals));
  // every torrent has one peer but the two with two
  assert.equal(totals.peers4, totals.torrents + 2);
});

test('junk that announces again outranks junk that did not; the oldest go first', () => {
  const store = new SwarmStore(createStoreShared(16 << 20), SETTINGS);
  const a = new Announce();
  const t0 = store.now;
  const hash = new Uint8Array(20);
  const fill = (i: number) => {
    hash.fill(0);
    hash[0] = (i * 2654435761) >>> 24;
    hash[1] = i & 255;
    hash[2] = (i >> 8) & 255;
    hash[3] = (i >> 16) & 255;
    hash[4] = 0x5a;
    return hash;
  };
  // 1000 torrents announced twice by their peer at minute 0, then a flood from minute 1 on
  for (let i = 0; i < 1000; i++) announceFrom(store, a, fill(i), i);
  for (let i = 0; i < 1000; i++) announceFrom(store, a, fill(i), i);
  const firstJunk = 1_000_000;
  for (let i = firstJunk; i < firstJunk + 400_000; i++) {
    store.setClock(t0 + 1 + Math.floor((i - firstJunk) / 50_000));
    assert.equal(announceFrom(store, a, fill(i), i & 0xffffff), ANNOUNCE_OK);
  }
  assert.ok(store.evictions().torrents > 0);
  let kept = 0;
  for (let i = 0; i < 1000; i++) if (peersOf(store, fill(i)) === 1) kept++;
  assert.equal(kept, 1000);
  // the oldest junk went first: the first junk hash is gone, the last is there
  assert.equal(peersOf(store, fill(firstJunk)), -1);
  assert.equal(peersOf(store, fill(firstJunk + 399_999)), 1);
});
