import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Counts, PEER_COMPLETED, PEER_SEEDER } from '../../src/store/swarm-store.ts';
import type { SwarmStore } from '../../src/store/swarm-store.ts';
import { writePeerState, loadPeerState, PeerStateReader, PeerStateError, isPeerState, RECORD_PEERS, MAX_BLOCK } from '../../src/state/peer-state.ts';
import type { PeerStateCounts } from '../../src/state/peer-state.ts';
import { newStore, fillSwarms, swarmContents, setMinute, hashOf, announcePeer } from '../helpers/swarm-contents.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-peer-state-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

async function bytesOf(store: SwarmStore, counts?: PeerStateCounts): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of writePeerState(store, counts)) chunks.push(c);
  return Buffer.concat(chunks);
}

function fileWith(bytes: Uint8Array): string {
  const file = path.join(dir, `state-${++files}`);
  fs.writeFileSync(file, bytes);
  return file;
}

function empty(store: SwarmStore): boolean {
  const t = store.totals();
  return t.torrents === 0 && t.peers4 + t.peers6 === 0;
}

test('round trip: every torrent and peer comes back with its completed count, flags and minute', async () => {
  const store = newStore();
  const peers = fillSwarms(store, 20000);
  // One swarm bigger than a record, in both families, so it goes on over several records and blocks.
  const big = hashOf(-1);
  for (let k = 0; k < RECORD_PEERS + 5000; k++) announcePeer(store, big, { id: 1e7 + k, seeder: k % 2 === 0 });
  for (let k = 0; k < RECORD_PEERS; k++) announcePeer(store, big, { v6: true, id: 2e7 + k, port: 50000 });
  const counts: PeerStateCounts = { records: 0, torrents: 0, peers4: 0, peers6: 0 };
  const bytes = await bytesOf(store, counts);
  assert.ok(isPeerState(bytes));
  const totals = store.totals();
  assert.equal(counts.torrents, totals.torrents);
  assert.equal(counts.peers4 + counts.peers6, peers + RECORD_PEERS * 2 + 5000);
  assert.ok(counts.records >= counts.torrents + 2, 'the big swarm took several records');
  assert.ok(bytes.length > 2 * MAX_BLOCK, 'several blocks');

  const file = fileWith(bytes);
  const copy = newStore();
  setMinute(copy, store.now);
  const load = await loadPeerState(copy, file);
  assert.equal(load.ok, true, load.error);
  assert.equal(load.error, undefined);
  assert.deepEqual(load.written, counts);
  assert.equal(load.peers, counts.peers4 + counts.peers6);
  assert.equal(load.expired, 0);
  assert.equal(load.torrents, totals.torrents);
  // (`completed` counts completions announced since the start: none here yet.)
  assert.deepEqual(copy.totals(), { ...totals, completed: 0 });
  assert.deepEqual(swarmContents(copy), swarmContents(store));
  // Announces go on as before: a known peer is a renewal, the scrape counts match.
  const c1 = new Counts();
  const c2 = new Counts();
  store.scrape(big, 0, c1);
  copy.scrape(big, 0, c2);
  assert.deepEqual(c2, c1);
});

test('an empty store writes a file that loads as empty', async () => {
  const bytes = await bytesOf(newStore());
  const copy = newStore();
  const load = await loadPeerState(copy, fileWith(bytes));
  assert.equal(load.ok, true, load.error);
  assert.deepEqual(load.written, { records: 0, torrents: 0, peers4: 0, peers6: 0 });
  assert.ok(empty(copy));
});

test('peers whose timeout passed while the tracker was down are left out; completed counts stay', async () => {
  const store = newStore();
  const now = store.now;
  const h = hashOf(7);
  store.restoreTorrent(h, 0, 9, now);
  for (let age = 39; age >= 0; age--) {
    setMinute(store, now - age);
    announcePeer(store, h, { id: age + 1, seeder: age % 2 === 1 });
    announcePeer(store, h, { id: age + 1, v6: true });
  }
  setMinute(store, now);
  const file = fileWith(await bytesOf(store));
  // Loaded 10 minutes later: peers aged 35..39 then are 45 minutes old or more (timeout 45).
  const later = newStore();
  setMinute(later, now + 10);
  const load = await loadPeerState(later, file);
  assert.equal(load.ok, true, load.error);
  assert.equal(load.expired, 2 * 5);
  assert.equal(load.peers, 2 * 35);
  const c = new Counts();
  later.scrape(h, 0, c);
  assert.deepEqual([c.seeders + c.leechers, c.downloaded], [70, 9]);
  assert.equal(c.seeders, 17); // odd ages 1..33
  const minutes = swarmContents(later)
    .filter((l) => l.includes(' at '))
    .map((l) => Number(l.split(' at ')[1]));
  assert.equal(Math.min(...minutes), now - 34);
  // The cleaner then drops them as their time comes, as if they had been announced here.
  setMinute(later, now + 11);
  later.cleanAll();
  later.scrape(h, 0, c);
  assert.equal(c.seeders + c.leechers, 2 * 34);

  // Loaded a day later: every peer is gone, the completed count is kept.
  const dayLater = newStore();
  setMinute(dayLater, now + 24 * 60 - 1);
  const late = await loadPeerState(dayLater, file);
  assert.equal(late.ok, true, late.error);
  assert.deepEqual([late.peers, late.expired, late.torrents], [0, 80, 1]);
  dayLater.scrape(h, 0, c);
  assert.deepEqual([c.found, c.seeders + c.leechers, c.downloaded], [true, 0, 9]);
});

test('loading into a store that has peers: the newer announce of a peer wins, nothing is counted twice', async () => {
  const store = newStore();
  const now = store.now;
  const h = hashOf(3);
  setMinute(store, now - 20);
  announcePeer(store, h, { id: 1, seeder: true, completed: true });
  announcePeer(store, h, { id: 2 });
  setMinute(store, now);
  const file = fileWith(await bytesOf(store));
  const live = newStore();
  setMinute(live, now - 30);
  announcePeer(live, h, { id: 3 });
  setMinute(live, now);
  announcePeer(live, h, { id: 2, seeder: true, completed: true }); // renewed here since
  const load = await loadPeerState(live, file);
  assert.equal(load.ok, true, load.error);
  const lines = swarmContents(live);
  assert.equal(lines.length, 4); // torrent + 3 peers
  assert.match(
    lines.find((l) => l.includes('0a000001'))!,
    new RegExp(`flags ${PEER_SEEDER | PEER_COMPLETED} at ${now - 20}$`),
  );
  assert.match(
    lines.find((l) => l.includes('0a000002'))!,
    new RegExp(`flags ${PEER_SEEDER | PEER_COMPLETED} at ${now}$`),
  );
  const c = new Counts();
  live.scrape(h, 0, c);
  // The completed count is the larger of the two, never their sum (a state loaded twice adds nothing).
  assert.deepEqual([c.seeders, c.leechers, c.downloaded], [2, 1, 1]);
});

test('the access list and notices keep refused torrents out', async () => {
  const store = newStore();
  fillSwarms(store, 200);
  const file = fileWith(await bytesOf(store));
  const copy = newStore();
  setMinute(copy, store.now);
  const load = await loadPeerState(copy, file, { allows: (hash, o) => hash[o] < 0x80 });
  assert.equal(load.ok, true, load.error);
  assert.ok(load.refused > 0);
  assert.deepEqual(
    swarmContents(copy),
    swarmContents(store).filter((l) => parseInt(l.slice(0, 2), 16) < 0x80),
  );
});

// A state of a few blocks, damaged in every way: nothing is loaded and the error says what.
const sample = (async () => {
  const store = newStore();
  fillSwarms(store, 30000);
  return { bytes: await bytesOf(store), store };
})();

async function loadBroken(bytes: Uint8Array): Promise<{ error: string | undefined; store: SwarmStore }> {
  const store = newStore();
  const load = await loadPeerState(store, fileWith(bytes));
  assert.equal(load.ok, false);
  assert.ok(empty(store), 'nothing loaded from a bad file');
  return { error: load.error, store };
}

test('damaged files are refused whole with a clear error', async () => {
  const { bytes } = await sample;
  const blocks = Math.floor(bytes.length / MAX_BLOCK);
  assert.ok(blocks >= 1);
  const flip = (at: number) => {
    const b = Buffer.from(bytes);
    b[at] ^= 0x40;
    return b;
  };
  assert.match((await loadBroken(flip(0))).error!, /not a swarmd peer-state file \(bad magic\) \(at byte 0\)/);
  const v2 = Buffer.from(bytes);
  v2.writeUInt32LE(2, 8);
  assert.match((await loadBroken(v2)).error!, /version 2 is not supported \(this swarmd reads version 1\)/);
  assert.match((await loadBroken(flip(17))).error!, /header checksum mismatch/);
  assert.match((await loadBroken(flip(40))).error!, /unknown block type/);
  assert.match((await loadBroken(flip(47))).error!, /bad block length/);
  assert.match((await loadBroken(flip(40 + 12 + 1000))).error!, /block checksum mismatch: the data is damaged \(at byte 40\)/);
  assert.match((await loadBroken(flip(bytes.length - 3))).error!, /block checksum mismatch/);
  // A block left out is caught by the chained checksums, not only by the counts.
  const first = bytes.readUInt32LE(44) + 12;
  const second = bytes.readUInt32LE(40 + first + 4) + 12;
  const dropped = Buffer.concat([bytes.subarray(0, 40 + first), bytes.subarray(40 + first + second)]);
  assert.match((await loadBroken(dropped)).error!, /block checksum mismatch/);
  assert.match((await loadBroken(Buffer.concat([bytes, Buffer.from([0])]))).error!, /data after the end block/);
  assert.match((await loadBroken(Buffer.alloc(0))).error!, /empty/);
  assert.match((await loadBroken(Buffer.from('0123456789ABCDEF0123456789ABCDEF01234567:29921923:5\n'))).error!, /bad magic/);
});

test('a file cut short anywhere is refused whole', async () => {
  const { bytes } = await sample;
  for (const at of [1, 39, 40, 45, 52, 53, 1000, MAX_BLOCK, bytes.length - 17, bytes.length - 16, bytes.length - 1]) {
    const { error } = await loadBroken(bytes.subarray(0, at));
    assert.match(error!, /cut short/, `cut at ${at}`);
  }
});

test('fuzz: any damage is a PeerStateError, never another exception, and never a partial load from a file', async () => {
  const small = newStore();
  fillSwarms(small, 300);
  const bytes = await bytesOf(small);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ at: fc.nat(bytes.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
      fc.nat(bytes.length),
      fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 6 }),
      async (edits, cut, pieces) => {
        const b = Buffer.from(bytes.subarray(0, Math.max(cut, 1)));
        let changed = cut < bytes.length;
        for (const e of edits) {
          if (e.at < b.length && b[e.at] !== e.value) {
            b[e.at] = e.value;
            changed = true;
          }
        }
        // Through the streaming reader, in pieces cut anywhere.
        const reader = new PeerStateReader(newStore());
        try {
          let p = 0;
          for (const n of pieces) {
            reader.push(b.subarray(p, p + n));
            p += n;
          }
          reader.push(b.subarray(p));
          reader.end();
          assert.equal(changed, false, 'a damaged state was read as good');
        } catch (err) {
          if (!(err instanceof PeerStateError)) throw err;
          assert.equal(changed, true);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('fuzz: random swarms round-trip exactly', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          torrent: fc.nat(30),
          peer: fc.nat(2000),
          v6: fc.boolean(),
          port: fc.integer({ min: 1, max: 65535 }),
          seeder: fc.boolean(),
          completed: fc.boolean(),
          synced: fc.boolean(),
          age: fc.nat(44),
        }),
        { maxLength: 300 },
      ),
      async (announces) => {
        const store = newStore(8 * 1024 * 1024);
        const now = store.now;
        for (const a of announces) {
          setMinute(store, now - a.age);
          announcePeer(store, hashOf(a.torrent), { ...a, id: a.peer });
        }
        setMinute(store, now);
        const copy = newStore(8 * 1024 * 1024);
        const reader = new PeerStateReader(copy);
        for await (const c of writePeerState(store)) reader.push(c);
        reader.end();
        assert.deepEqual(swarmContents(copy), swarmContents(store));
      },
    ),
    { numRuns: 60 },
  );
});
