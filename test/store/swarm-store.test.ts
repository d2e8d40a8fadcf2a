import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { Announce, Counts, SwarmStore, createStoreShared, STRIPES, ANNOUNCE_OK, ANNOUNCE_FULL } from '../../src/store/swarm-store.ts';
import { EVENT_COMPLETED, EVENT_STOPPED, EVENT_STARTED, EVENT_NONE } from '../../src/protocol/events.ts';
import { SETTINGS, newStore } from '../helpers/store.ts';

function hashOf(n: number): Uint8Array {
  const h = new Uint8Array(20);
  for (let i = 0; i < 20; i++) h[i] = (Math.imul(n + 1, 2654435761 + i * 97) >>> (i % 24)) & 0xff;
  return h;
}

/** An announce from 10.0.x.y (or fd00::x:y) : port. */
function announce(
  store: SwarmStore,
  hash: Uint8Array,
  peer: number,
  opts: {
    port?: number;
    seeder?: boolean;
    event?: number;
    want?: number;
    v6?: boolean;
    families?: number;
  } = {},
): Announce {
  const a = new Announce();
  a.hash = hash;
  a.family = opts.v6 ? 6 : 4;
  a.address = new Uint8Array(16);
  if (opts.v6) {
    a.address[0] = 0xfd;
    a.address[14] = peer >> 8;
    a.address[15] = peer & 0xff;
  } else {
    a.address.set([10, 0, peer >> 8, peer & 0xff]);
  }
  a.port = opts.port ?? 6881;
  a.seeder = opts.seeder ?? false;
  a.event = opts.event ?? EVENT_NONE;
  a.want = opts.want ?? 50;
  a.families = opts.families ?? 3;
  a.out = new Uint8Array(a.want * 18 * 2);
  a.out4Offset = 0;
  a.out6Offset = a.want * 6;
  assert.equal(store.announce(a), ANNOUNCE_OK);
  return a;
}

function peers4(a: Announce): string[] {
  const r: string[] = [];
  for (let i = 0; i < a.peers4; i++) {
    const o = a.out4Offset + i * 6;
    r.push(`${a.out[o]}.${a.out[o + 1]}.${a.out[o + 2]}.${a.out[o + 3]}:${(a.out[o + 4] << 8) | a.out[o + 5]}`);
  }
  return r.sort();
}

test('a first announce creates the torrent and gets no peers back (not even itself)', () => {
  const store = newStore();
  const a = announce(store, hashOf(1), 1, { event: EVENT_STARTED });
  assert.equal(a.isNew, true);
  assert.deepEqual([a.seeders, a.leechers, a.downloaded, a.peers4, a.peers6], [0, 1, 0, 0, 0]);
  assert.deepEqual(store.totals(), { torrents: 1, peers4: 1, peers6: 0, seeders: 0, completed: 0 });
});

test('peers get each other, identified by address and port', () => {
  const store = newStore();
  const h = hashOf(2);
  announce(store, h, 1);
  announce(store, h, 1, { port: 7000, seeder: true });
  const c = announce(store, h, 2);
  assert.deepEqual(peers4(c), ['10.0.0.1:6881', '10.0.0.1:7000']);
  assert.deepEqual([c.seeders, c.leechers], [1, 2]);
  const again = announce(store, h, 2);
  assert.equal(again.isNew, false);
  assert.deepEqual([again.seeders, again.leechers], [1, 2]);
});

test('a completion counts once per peer, and only for a seeder', () => {
  const store = newStore();
  const h = hashOf(3);
  announce(store, h, 1, { event: EVENT_COMPLETED }); // left > 0: not counted
  let a = announce(store, h, 1, { event: EVENT_COMPLETED, seeder: true });
  assert.equal(a.completed, true);
  a = announce(store, h, 1, { event: EVENT_COMPLETED, seeder: true });
  assert.equal(a.completed, false);
  assert.deepEqual([a.seeders, a.leechers, a.downloaded], [1, 0, 1]);
  assert.equal(store.totals().completed, 1);
});

test('stopped removes the peer; a stop for an unknown torrent creates nothing', () => {
  const store = newStore();
  const h = hashOf(4);
  announce(store, h, 1, { seeder: true });
  announce(store, h, 2);
  const s = announce(store, h, 1, { event: EVENT_STOPPED, seeder: true });
  assert.deepEqual([s.seeders, s.leechers, s.peers4], [0, 1, 0]);
  announce(store, h, 2, { event: EVENT_STOPPED });
  assert.equal(store.totals().torrents, 0, 'a torrent without peers or completions is dropped');
  announce(store, hashOf(5), 9, { event: EVENT_STOPPED });
  assert.equal(store.totals().torrents, 0);
});

test('numwant samples without duplicates and without the requester', () => {
  const store = newStore();
  const h = hashOf(6);
  for (let i = 1; i <= 300; i++) announce(store, h, i);
  for (let round = 0; round < 50; round++) {
    const a = announce(store, h, 1 + (round % 300), { want: 37 });
    const list = peers4(a);
    assert.equal(list.length, 37);
    assert.equal(new Set(list).size, 37);
    assert.ok(!list.includes(`10.0.${(1 + (round % 300)) >> 8}.${(1 + (round % 300)) & 255}:6881`));
  }
  // Every peer is eventually sampled (the sample is spread over the whole swarm).
  const seen = new Set<string>();
  for (let round = 0; round < 200; round++) for (const p of peers4(announce(store, h, 1, { want: 10 }))) seen.add(p);
  assert.ok(seen.size > 280, `sampled ${seen.size} of 299`);
});

test("IPv6 peers are kept apart and both families share the reply by opentracker's split", () => {
  const store = newStore();
  const h = hashOf(7);
  for (let i = 1; i <= 100; i++) announce(store, h, i);
  for (let i = 1; i <= 10; i++) announce(store, h, i, { v6: true });
  const both = announce(store, h, 200, { want: 40 });
  assert.equal(both.peers6, 10);
  assert.equal(both.peers4, 30);
  const o = both.out6Offset;
  assert.equal(both.out[o], 0xfd);
  const onlyV4 = announce(store, h, 200, { want: 40, families: 1 });
  assert.deepEqual([onlyV4.peers4, onlyV4.peers6], [40, 0]);
  const v6 = announce(store, h, 11, { v6: true, want: 100, families: 2 });
  assert.deepEqual([v6.peers4, v6.peers6, v6.leechers], [0, 10, 112]);
  assert.deepEqual(store.totals(), { torrents: 1, peers4: 101, peers6: 11, seeders: 0, completed: 0 });
});

test('peers expire after the timeout; torrents with completions outlive their peers', () => {
  const store = newStore();
  const done = hashOf(8);
  const plain = hashOf(9);
  announce(store, done, 1, { seeder: true, event: EVENT_COMPLETED });
  announce(store, plain, 1);
  store.setClock(store.now + 30);
  announce(store, plain, 2);
  store.setClock(store.now + 20); // peer 1 is 50 minutes old, peer 2 is 20
  const c = new Counts();
  store.scrape(plain, 0, c);
  assert.deepEqual([c.seeders, c.leechers, c.found], [0, 1, true]);
  store.cleanAll();
  store.scrape(done, 0, c);
  assert.deepEqual([c.seeders, c.leechers, c.downloaded, c.found], [0, 0, 1, true]);
  store.setClock(store.now + 30);
  store.cleanAll();
  store.scrape(plain, 0, c);
  assert.equal(c.found, false);
  store.setClock(store.now + 24 * 60);
  store.cleanAll();
  store.scrape(done, 0, c);
  assert.equal(c.found, false);
  assert.deepEqual(store.totals(), { torrents: 0, peers4: 0, peers6: 0, seeders: 0, completed: 1 });
});

test('scrape of an unknown torrent gives zeros', () => {
  const c = new Counts();
  newStore().scrape(hashOf(10), 0, c);
  assert.deepEqual([c.seeders, c.leechers, c.downloaded, c.found], [0, 0, 0, false]);
});

test('many torrents: tables grow and shrink, every torrent stays findable', () => {
  const store = newStore();
  const n = 50_000;
  for (let i = 0; i < n; i++) announce(store, hashOf(i), i & 0xffff, { want: 0, seeder: i % 3 === 0 });
  assert.equal(store.totals().torrents, n);
  const c = new Counts();
  for (let i = 0; i < n; i += 7) {
    store.scrape(hashOf(i), 0, c);
    assert.equal(c.found, true);
    assert.equal(c.seeders + c.leechers, 1);
  }
  for (let i = 0; i < n; i += 2) announce(store, hashOf(i), i & 0xffff, { event: EVENT_STOPPED, want: 0 });
  store.cleanAll();
  assert.equal(store.totals().torrents, n / 2);
  for (let i = 1; i < n; i += 2) {
    store.scrape(hashOf(i), 0, c);
    assert.equal(c.found, true);
  }
});

test('the memory limit refuses new torrents instead of failing, when nothing can be evicted', () => {
  // every torrent has two peers: none is evictable (test/store/eviction.test.ts has the rest)
  const store = newStore(16 << 20);
  let full = 0;
  const a = new Announce();
  a.port = 1;
  const hash = new Uint8Array(20);
  for (let i = 0; i < 400_000 && full === 0; i++) {
    hash[0] = i & 255;
    hash[1] = (i >> 8) & 255;
    hash[2] = i >> 16;
    hash[3] = 7;
    a.hash = hash;
    for (const peer of [1, 2]) {
      a.address.set([10, 0, 0, peer]);
      if (full === 0 && store.announce(a) === ANNOUNCE_FULL) full++;
    }
  }
  assert.equal(full, 1);
  assert.ok(store.arena.stats().failedAllocations > 0);
  assert.equal(store.evictions().torrents, 0);
});

test('the store agrees with a simple model under random operations (property)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          op: fc.constantFrom('announce', 'announce', 'announce', 'stop', 'tick', 'clean'),
          torrent: fc.integer({ min: 0, max: 5 }),
          peer: fc.integer({ min: 0, max: 12 }),
          v6: fc.boolean(),
          seeder: fc.boolean(),
          completed: fc.boolean(),
          minutes: fc.integer({ min: 1, max: 40 }),
        }),
        { maxLength: 200 },
      ),
      (ops) => {
        const store = newStore(32 << 20);
        // model: torrent -> peer key -> {seeder, completed, minute}; downloaded per torrent
        const model = new Map<number, Map<string, { seeder: boolean; completed: boolean; minute: number }>>();
        const downloaded = new Map<number, number>();
        const expire = () => {
          for (const peers of model.values()) for (const [k, p] of peers) if (store.now - p.minute >= 45) peers.delete(k);
        };
        for (const o of ops) {
          const key = `${o.v6}/${o.peer}`;
          if (o.op === 'tick') {
            store.setClock(store.now + o.minutes);
            continue;
          }
          if (o.op === 'clean') {
            store.cleanAll();
            expire();
            continue;
          }
          expire();
          const peers = model.get(o.torrent) ?? new Map();
          if (o.op === 'stop') {
            peers.delete(key);
            announce(store, hashOf(o.torrent), o.peer, { v6: o.v6, event: EVENT_STOPPED, want: 0 });
          } else {
            const old = peers.get(key);
            const counts = o.completed && o.seeder && !old?.completed;
            if (counts) downloaded.set(o.torrent, (downloaded.get(o.torrent) ?? 0) + 1);
            peers.set(key, { seeder: o.seeder, completed: counts || !!old?.completed, minute: store.now });
            announce(store, hashOf(o.torrent), o.peer, { v6: o.v6, seeder: o.seeder, event: o.completed ? EVENT_COMPLETED : EVENT_NONE, want: 0 });
          }
          model.set(o.torrent, peers);
        }
        expire();
        const c = new Counts();
        for (let t = 0; t <= 5; t++) {
          store.scrape(hashOf(t), 0, c);
          const peers = [...(model.get(t)?.values() ?? [])];
          const seeders = peers.filter((p) => p.seeder).length;
          assert.equal(c.seeders, seeders, `torrent ${t} seeders`);
          assert.equal(c.leechers, peers.length - seeders, `torrent ${t} leechers`);
          if (c.found) assert.equal(c.downloaded, downloaded.get(t) ?? 0, `torrent ${t} downloaded`);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('worker threads share one store without losing updates', async () => {
  const shared = createStoreShared(256 << 20);
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.url).then(({ SwarmStore, Announce }) => {
      const store = new SwarmStore(workerData.shared, workerData.settings);
      const a = new Announce();
      a.address[0] = 10; a.address[1] = workerData.id;
      a.out = new Uint8Array(50 * 18 * 2); a.out6Offset = 50 * 6; a.want = 50;
      const h = new Uint8Array(20);
      for (let round = 0; round < 3; round++)
        for (let i = 0; i < 20000; i++) {
          h[0] = i & 255; h[1] = (i >> 8) & 15; h[19] = 1;
          a.hash = h; a.address[2] = i >> 8; a.address[3] = i & 255; a.port = 1000 + round;
          store.announce(a);
        }
      parentPort.postMessage('done');
    });`;
  const url = new URL('../../src/store/swarm-store.ts', import.meta.url).href;
  const workers = [1, 2, 3].map((id) => new Worker(code, { eval: true, workerData: { shared, settings: SETTINGS, url, id } }));
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  await Promise.all(workers.map((w) => w.terminate()));
  const store = new SwarmStore(shared, SETTINGS);
  assert.deepEqual(store.totals(), { torrents: 4096, peers4: 3 * 3 * 20000, peers6: 0, seeders: 0, completed: 0 });
  assert.ok(STRIPES === 4096);
});

test('stripe snapshots list every torrent once, in info-hash order', async () => {
  const { TorrentRows } = await import('../../src/store/swarm-store.ts');
  const store = newStore();
  const hashes = Array.from({ length: 3000 }, (_, i) => hashOf(i + 100));
  // Hashes sharing their first 6 bytes need the full comparison.
  for (let i = 0; i < 40; i++) {
    const h = Uint8Array.from(hashOf(7));
    h[6 + (i % 14)] = (i * 37) & 255;
    h[19] = i;
    hashes.push(h);
  }
  hashes.forEach((h, i) => announce(store, h, 1, { seeder: i % 2 === 0, want: 0 }));
  const rows = new TorrentRows();
  const seen: string[] = [];
  for (let s = 0; s < STRIPES; s++) {
    store.snapshotStripe(s, rows);
    for (let k = 0; k < rows.count; k++) {
      const r = rows.order[k];
      seen.push(Buffer.from(rows.hashes.subarray(r * 20, r * 20 + 20)).toString('hex'));
      assert.equal(rows.seeders[r] + rows.leechers[r], 1);
    }
  }
  const expected = hashes.map((h) => Buffer.from(h).toString('hex')).sort();
  assert.deepEqual(seen, expected);
});

test('restoring a torrent sets its completions without doubling them; removing drops its peers', () => {
  const store = newStore();
  const h = hashOf(77);
  assert.equal(store.restoreTorrent(h, 0, 5, store.now - 10), true);
  assert.equal(store.restoreTorrent(h, 0, 5, store.now - 10), true);
  const c = new Counts();
  store.scrape(h, 0, c);
  assert.deepEqual([c.found, c.downloaded, c.seeders], [true, 5, 0]);
  announce(store, h, 1, { seeder: true });
  assert.equal(store.removeTorrent(h, 0), true);
  store.scrape(h, 0, c);
  assert.equal(c.found, false);
  assert.deepEqual(store.totals(), { torrents: 0, peers4: 0, peers6: 0, seeders: 0, completed: 0 });
  assert.equal(store.removeTorrent(h, 0), false);
});

test('visitStripe hands out every torrent with its completed count and every peer with its flags', () => {
  const store = newStore();
  const h = hashOf(42);
  announce(store, h, 1, { seeder: true, event: EVENT_COMPLETED });
  announce(store, h, 2);
  announce(store, h, 3, { v6: true, port: 51413 });
  const learnt = new Announce();
  learnt.hash = h;
  learnt.address = new Uint8Array([10, 0, 0, 9]);
  learnt.port = 7000;
  learnt.synced = true;
  learnt.want = 0;
  assert.equal(store.announce(learnt), ANNOUNCE_OK);
  const torrents: string[] = [];
  const peers: string[] = [];
  const hex = (b: Uint8Array, o: number, n: number) => Buffer.from(b.subarray(o, o + n)).toString('hex');
  for (let i = 0; i < STRIPES; i++) {
    store.visitStripe(
      i,
      (hash, ho, completed) => torrents.push(`${hex(hash, ho, 20)} ${completed}`),
      (hash, ho, family, address, port, seeder, synced) =>
        peers.push(
          `${hex(hash, ho, 20) === Buffer.from(h).toString('hex')} ${family} ${hex(address, 0, family === 4 ? 4 : 16)}:${port}${seeder ? ' seeder' : ''}${synced ? ' synced' : ''}`,
        ),
    );
  }
  assert.deepEqual(torrents, [`${Buffer.from(h).toString('hex')} 1`]);
  assert.deepEqual(peers.sort(), [
    'true 4 0a000001:6881 seeder',
    'true 4 0a000002:6881',
    'true 4 0a000009:7000 synced',
    'true 6 fd000000000000000000000000000003:51413',
  ]);
});
