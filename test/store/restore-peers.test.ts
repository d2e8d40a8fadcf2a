import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PEER_SEEDER, PEER_SYNCED, PeerBatch } from '../../src/store/swarm-store.ts';
import { newStore, swarmContents, hashOf, SETTINGS } from '../helpers/swarm-contents.ts';

// restorePeers' usual case (a sorted batch into an empty list) is covered by the peer-state round trips.

test('restorePeers takes unsorted and duplicated peers too, and a full store says so', () => {
  const store = newStore();
  const h = hashOf(11);
  const b = new PeerBatch();
  b.reserve(4);
  b.family = 4;
  b.count = 4;
  b.addresses.set([10, 0, 0, 9, 10, 0, 0, 1, 10, 0, 0, 9, 10, 0, 0, 5]);
  b.ports.set([1, 2, 1, 3]);
  b.flags.set([PEER_SEEDER, 0, PEER_SEEDER | PEER_SYNCED, 0]);
  b.minutes.set([store.now - 3, store.now, store.now - 1, store.now - SETTINGS.peerTimeoutMinutes]);
  assert.equal(store.restorePeers(h, 0, b), true);
  assert.deepEqual([b.restored, b.expired], [3, 1]);
  const lines = swarmContents(store);
  assert.equal(lines.filter((l) => l.includes(' 4 ')).length, 2);
  assert.ok(lines.some((l) => l.endsWith(`0a000009:1 flags ${PEER_SEEDER | PEER_SYNCED} at ${store.now - 1}`)));
  assert.deepEqual(store.totals(), { torrents: 1, peers4: 2, peers6: 0, seeders: 1, completed: 0 });

  const tiny = newStore(16 * 1024 * 1024);
  const many = new PeerBatch();
  many.reserve(900000); // 18 MB of records: more than the smallest arena (16 MiB)
  many.family = 6;
  many.count = 900000;
  for (let i = 0; i < many.count; i++) {
    many.addresses[i * 16] = 0x20;
    many.addresses[i * 16 + 13] = i >>> 16;
    many.addresses[i * 16 + 14] = i >>> 8;
    many.addresses[i * 16 + 15] = i;
    many.minutes[i] = tiny.now;
  }
  assert.equal(tiny.restorePeers(h, 0, many), false);
});

test('reserveTorrents sizes empty tables once: the torrents then go in without any table growing', () => {
  const store = newStore();
  assert.equal(store.reserveTorrents(100_000), true);
  const used = store.arena.stats().usedBytes;
  const b = new PeerBatch();
  b.reserve(1);
  b.count = 1;
  b.minutes[0] = store.now;
  for (let i = 0; i < 100_000; i++) assert.equal(store.restorePeers(hashOf(i), 0, b), true);
  // Only the peers' blocks were added (8 words each at most), no table was rebuilt bigger.
  assert.ok(store.arena.stats().usedBytes - used <= 100_000 * 8 * 4, `${store.arena.stats().usedBytes - used} bytes more`);
  assert.equal(store.totals().torrents, 100_000);
});
