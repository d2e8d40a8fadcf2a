import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { defaultConfig } from '../../src/config/config.ts';
import type { Config } from '../../src/config/config.ts';
import { Counts, STRIPES } from '../../src/store/swarm-store.ts';
import type { TorrentRows } from '../../src/store/swarm-store.ts';
import type { SwarmStore } from '../../src/store/swarm-store.ts';
import { StatePersistence } from '../../src/state/persistence.ts';
import { tempName } from '../../src/fs/atomic-file.ts';
import { newStore, addPeer } from '../helpers/store.ts';
import { capture } from '../helpers/log-capture.ts';
import { fillSwarms, swarmContents, announcePeer, hashOf } from '../helpers/swarm-contents.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-persistence-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => path.join(dir, `${name}-${++n}`);

function config(over: Partial<Config>): Config {
  return { ...defaultConfig(), ...over };
}

function downloaded(store: SwarmStore, hexHash: string): number {
  const c = new Counts();
  store.scrape(Buffer.from(hexHash, 'hex'), 0, c);
  return c.downloaded;
}

const A = 'aa'.repeat(20);
const B = 'bb'.repeat(20);
const C = 'cc'.repeat(20);

test('start loads the state file, dumps on schedule and once more at close', async () => {
  const file = fresh('state');
  fs.writeFileSync(file, `${A.toUpperCase()}:29000000:5\n`);
  const store = newStore();
  const { log, at } = capture();
  const p = await StatePersistence.start(config({ stateFile: file, stateInterval: 1 }), store, log);
  assert.equal(downloaded(store, A), 5);
  assert.equal(p.stats().loads.length, 1);
  assert.equal(p.stats().loads[0].restored, 1);
  assert.equal(p.stats().file, file);

  // A completion after the start reaches the next periodic dump.
  addPeer(store, Buffer.from(B, 'hex'), 1, { seeder: true, completed: true });
  const deadline = Date.now() + 5000;
  while (p.stats().dumps === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(p.stats().dumps, 1);
  assert.match(fs.readFileSync(file, 'latin1'), new RegExp(`^${B.toUpperCase()}:\\d+:1$`, 'm'));

  // And one made just before close() reaches the final dump.
  addPeer(store, Buffer.from(C, 'hex'), 2, { seeder: true, completed: true });
  await p.close();
  const text = fs.readFileSync(file, 'latin1');
  assert.match(text, new RegExp(`^${C.toUpperCase()}:\\d+:1$`, 'm'));
  assert.match(text, new RegExp(`^${A.toUpperCase()}:\\d+:5$`, 'm'));
  const s = p.stats();
  assert.ok(s.dumps >= 2);
  assert.equal(s.dumpFailures, 0);
  assert.equal(s.lastDump!.ok, true);
  assert.equal(s.dumping, false);
  assert.ok(s.lastGoodDumpAt! <= Date.now());
  assert.ok(at('info').some((e) => e.msg === 'state dumped'));
  await p.close(); // twice is harmless
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
  );
});

test('a first start: no file yet is a warning, and the first dump creates it', async () => {
  const file = fresh('first');
  const store = newStore();
  const { log, at } = capture();
  const p = await StatePersistence.start(config({ stateFile: file }), store, log);
  assert.equal(p.stats().loads[0].found, false);
  assert.equal(at('error').length, 0);
  assert.equal(at('warn').length, 1);
  addPeer(store, Buffer.from(A, 'hex'), 1, { seeder: true, completed: true });
  const r = await p.dumpNow();
  assert.equal(r!.ok, true);
  assert.equal(r!.torrents, 1);
  await p.close();
  const again = newStore();
  const q = await StatePersistence.start(config({ stateFile: file }), again, capture().log);
  assert.equal(downloaded(again, A), 1);
  await q.close();
});

test('-l alone: loads its file and dumps back to it (an opentracker gzipped dump becomes plain)', async () => {
  const file = fresh('opentracker-dump');
  fs.writeFileSync(file, zlib.gzipSync(`${A.toUpperCase()}:29921922:3\n${B.toUpperCase()}:29921923:0\n`));
  const store = newStore();
  const p = await StatePersistence.start(config({ loadState: file }), store, capture().log);
  assert.equal(downloaded(store, A), 3);
  assert.equal(p.stats().file, file);
  await p.close();
  assert.match(fs.readFileSync(file, 'latin1'), new RegExp(`^${A.toUpperCase()}:\\d+:3\\n$`));
});

test('-l with a state file: both are loaded (the larger count wins), dumps go to the state file', async () => {
  const l = fresh('l');
  const state = fresh('statefile');
  fs.writeFileSync(l, `${A}:29000000:7\n${B}:29000000:1\n`);
  fs.writeFileSync(state, `${A}:29000000:4\n${C}:29000000:2\n`);
  const store = newStore();
  const p = await StatePersistence.start(config({ loadState: l, stateFile: state }), store, capture().log);
  assert.deepEqual([downloaded(store, A), downloaded(store, B), downloaded(store, C)], [7, 1, 2]);
  assert.equal(p.stats().loads.length, 2);
  await p.close();
  assert.equal(fs.readFileSync(l, 'latin1'), `${A}:29000000:7\n${B}:29000000:1\n`); // untouched
  assert.equal(fs.readFileSync(state, 'latin1').split('\n').length, 4);
  // A missing -l file next to a state file is an error in the log (a typo?), not a failure.
  const cap = capture();
  const q = await StatePersistence.start(config({ loadState: fresh('missing'), stateFile: state }), newStore(), cap.log);
  assert.ok(cap.at('error').some((e) => /given with -l does not exist/.test(e.msg)));
  await q.close();
});

test('state_interval 0 loads only; nothing configured does nothing', async () => {
  const file = fresh('readonly');
  fs.writeFileSync(file, `${A}:29000000:7\n`);
  const store = newStore();
  const p = await StatePersistence.start(config({ stateFile: file, stateInterval: 0 }), store, capture().log);
  assert.equal(downloaded(store, A), 7);
  addPeer(store, Buffer.from(B, 'hex'), 1, { seeder: true, completed: true });
  assert.equal(await p.dumpNow(), null);
  await p.close();
  assert.equal(fs.readFileSync(file, 'latin1'), `${A}:29000000:7\n`);
  assert.equal(p.stats().file, null);
  const none = await StatePersistence.start(defaultConfig(), newStore(), capture().log);
  assert.deepEqual(none.stats().loads, []);
  assert.equal(await none.dumpNow(), null);
  await none.close();
});

test('dumps never overlap; failures are counted; leftovers of dead processes are removed at start', async () => {
  const sub = fs.mkdtempSync(path.join(dir, 'sub-'));
  const file = path.join(sub, 'state');
  fs.writeFileSync(tempName(file, 999_999_999), 'left by a crash');
  fs.writeFileSync(tempName(file, process.ppid), 'being written by a live process');
  const store = newStore();
  for (let i = 0; i < 2000; i++) store.restoreTorrent(Buffer.alloc(20, i & 255).fill(i >> 8, 0, 1), 0, 1, 29000000);
  // Every dump walks the stripes 0, 1, ... in order, yielding between them: the stripes the
  // store is asked for show whether one dump started before the one before it had finished.
  const walked: number[] = [];
  const watched = new Proxy(store, {
    get(target, key) {
      if (key === 'snapshotStripe') return (i: number, rows: TorrentRows) => (walked.push(i), target.snapshotStripe(i, rows));
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
    set: (target, key, value) => Reflect.set(target, key, value, target),
  });
  const p = await StatePersistence.start(config({ stateFile: file }), watched, capture().log);
  assert.deepEqual(fs.readdirSync(sub).sort(), [path.basename(tempName(file, process.ppid))]);
  const results = await Promise.all([p.dumpNow(), p.dumpNow(), p.dumpNow()]);
  assert.ok(results.every((r) => r!.ok));
  assert.equal(p.stats().dumps, 3);
  const walk = Array.from({ length: STRIPES }, (_, i) => i);
  assert.equal(walked.length, 3 * STRIPES, 'three whole walks');
  assert.deepEqual(walked, [...walk, ...walk, ...walk], 'each dump walked the store alone, one after the other');
  // Make the next dump fail: the state file's place taken by a directory.
  fs.rmSync(file);
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, 'x'), '');
  const failed = await p.dumpNow();
  assert.equal(failed!.ok, false);
  assert.equal(p.stats().dumpFailures, 1);
  assert.equal(p.stats().lastDump!.ok, false);
  await p.close();
  assert.deepEqual(
    fs.readdirSync(sub).filter((f) => f.includes(`.tmp-${process.pid}`)),
    [],
  );
});

test('peer state: written at close and on schedule, loaded at the next start with every peer', async () => {
  const file = fresh('peers');
  const store = newStore();
  const { log, at } = capture();
  const p = await StatePersistence.start(config({ peerStateFile: file, peerStateInterval: 1 }), store, log);
  assert.equal(p.stats().peers!.load.found, false);
  assert.ok(at('warn').some((e) => e.msg === 'no peer state to load (a first start?)'));
  fillSwarms(store, 500);
  const deadline = Date.now() + 5000;
  while (p.stats().peers!.writes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(p.stats().peers!.writes, 1, 'a periodic write');
  announcePeer(store, hashOf(100_000), { id: 1, seeder: true, completed: true }); // just before the stop
  await p.close();
  assert.equal(p.stats().peers!.lastWrite!.ok, true);
  assert.ok(at('info').some((e) => e.msg === 'peer state written'));

  const next = newStore();
  const q = await StatePersistence.start(config({ peerStateFile: file }), next, capture().log);
  assert.equal(q.stats().peers!.load.ok, true);
  assert.deepEqual(swarmContents(next), swarmContents(store));
  await q.close();
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
  );
});

test('a damaged peer state is reported and nothing of it loaded; the state dump still is', async () => {
  const file = fresh('peers');
  const store = newStore();
  fillSwarms(store, 200);
  const p = await StatePersistence.start(config({ peerStateFile: file }), store, capture().log);
  await p.close();
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 30] ^= 1;
  fs.writeFileSync(file, bytes);
  const dump = fresh('state');
  fs.writeFileSync(dump, `${A.toUpperCase()}:29000000:5\n`);
  const next = newStore();
  const { log, at } = capture();
  const q = await StatePersistence.start(config({ peerStateFile: file, stateFile: dump, stateInterval: 0 }), next, log);
  const errors = at('error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].msg, 'the peer state file is damaged or unreadable: nothing of it is loaded, starting without its peers');
  assert.match(String(errors[0].error), /block checksum mismatch: the data is damaged \(at byte \d+\)/);
  assert.equal(q.stats().peers!.load.ok, false);
  assert.deepEqual(next.totals(), { torrents: 1, peers4: 0, peers6: 0, seeders: 0, completed: 0 });
  assert.equal(downloaded(next, A), 5);
  await q.close(); // rewrites the peer state from what is in the store now
  const again = newStore();
  const r = await StatePersistence.start(config({ peerStateFile: file }), again, capture().log);
  assert.equal(r.stats().peers!.load.ok, true);
  assert.equal(downloaded(again, A), 5);
  await r.close();
});
