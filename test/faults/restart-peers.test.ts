// SIGTERM, then a start with the same tracker.peer_state_file: every peer is back (the same full
// scrape, the same peer lists); a peer older than its timeout at load is gone; a damaged or cut
// peer-state file is reported and swarmd starts empty instead of failing.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UdpClient, announcePacket, parseAnnounceReply } from '../helpers/udp-client.ts';
import { startChildTracker } from '../helpers/child-tracker.ts';
import { waitUntil } from '../helpers/process.ts';
import type { ChildTracker } from '../helpers/child-tracker.ts';
import { newStore, setMinute, hashOf, announcePeer } from '../helpers/swarm-contents.ts';
import { writePeerStateFile } from '../../src/state/peer-state.ts';
import { capture } from '../helpers/log-capture.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-restart-peers-'));
const running: ChildTracker[] = [];
after(() => {
  for (const t of running) t.child.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(file: string, port?: number): Promise<ChildTracker> {
  const t = await startChildTracker(['--peer-state-file', file, '--log-level', 'info'], port);
  running.push(t);
  // Its workers answer before the main thread has set up its SIGTERM handler: wait for that.
  await waitUntil(
    () => t.lines.some((l) => l.includes('"swarmd listening"')),
    20_000,
    () => t.child.output(),
  );
  return t;
}

const TORRENTS = 30;
const torrent = (t: number) => Buffer.from(hashOf(t));
/** Peers of torrent t: ports 10000 + t * 100 + k, k < 2 + t % 7; every third a seeder, some of them completed. */
const peersOf = (t: number) => Array.from({ length: 2 + (t % 7) }, (_, k) => ({ port: 10000 + t * 100 + k, seeder: k % 3 === 0, completed: k % 6 === 0 }));

/** One announce; sent again when unanswered, as clients do (this test is about the state, not about loss). */
async function announce(
  c: UdpClient,
  cid: Buffer,
  hash: Buffer,
  port: number,
  opts: { seeder?: boolean; event?: number; numwant?: number } = {},
): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const packet = announcePacket({
      connectionId: cid,
      transactionId: c.nextTransactionId(),
      infoHash: hash,
      port,
      left: opts.seeder ? 0n : 1000n,
      event: opts.event ?? 0,
      numwant: opts.numwant ?? 0,
    });
    const r = await c.request(packet, 3000);
    if (r !== null) return parseAnnounceReply(r, false).peers.sort();
    assert.ok(attempt < 3, 'no answer to three tries');
  }
}

/** The full scrape (a chunked answer) as latin1 text. */
async function fullScrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/scrape`);
  assert.equal(r.status, 200);
  return Buffer.from(await r.arrayBuffer()).toString('latin1');
}

/** The full scrape's bytes and every torrent's peer list (as seen by its first peer renewing). */
async function snapshot(port: number): Promise<{ scrape: string; lists: string[][] }> {
  const scrape = await fullScrape(port);
  const c = await UdpClient.open('127.0.0.1', port);
  try {
    const cid = await c.connect();
    const lists: string[][] = [];
    for (let t = 0; t < TORRENTS; t++) {
      const first = peersOf(t)[0];
      lists.push(await announce(c, cid, torrent(t), first.port, { seeder: first.seeder, numwant: 200 }));
    }
    return { scrape, lists };
  } finally {
    c.close();
  }
}

test('SIGTERM then start: every peer is back, same full scrape and peer lists', { timeout: 120_000 }, async () => {
  const file = path.join(dir, 'peers.state');
  const first = await start(file);
  const c = await UdpClient.open('127.0.0.1', first.port);
  const cid = await c.connect();
  for (let t = 0; t < TORRENTS; t++) {
    for (const p of peersOf(t)) await announce(c, cid, torrent(t), p.port, { seeder: p.seeder, event: p.completed ? 1 : 2 });
  }
  c.close();
  const before = await snapshot(first.port);
  assert.equal(before.lists[6].length, 7, 'torrent 6 has 8 peers: 7 besides the one asking');
  assert.match(before.scrape, /d8:completei\d+e10:downloadedi1e10:incompletei\d+ee/);

  assert.equal(await first.child.stop('SIGTERM'), 0);
  assert.ok(
    first.lines.some((l) => l.includes('"peer state written"')),
    first.child.output(),
  );
  const second = await start(file, first.port);
  const loaded = second.lines.find((l) => l.includes('"peer state loaded"'));
  assert.ok(loaded, second.child.output());
  const peers = Array.from({ length: TORRENTS }, (_, t) => peersOf(t).length).reduce((a, b) => a + b);
  assert.equal(JSON.parse(loaded).peers, peers);
  const after = await snapshot(second.port);
  assert.equal(after.scrape, before.scrape);
  assert.deepEqual(after.lists, before.lists);
  assert.equal(await second.child.stop('SIGTERM'), 0);
});

test('a peer older than its timeout when swarmd starts is gone, the others are back', { timeout: 60_000 }, async () => {
  // A peer state written 10 minutes ago, by a tracker that had a peer 40 minutes old then (50 now).
  const file = path.join(dir, 'old.state');
  const store = newStore();
  const now = store.now;
  const h = hashOf(99);
  setMinute(store, now - 50);
  announcePeer(store, h, { id: 0x7f0001, port: 7001 }); // 10.127.0.1:7001
  setMinute(store, now - 10);
  announcePeer(store, h, { id: 0x7f0001, port: 7002, seeder: true });
  assert.equal((await writePeerStateFile(store, file, capture().log)).peers, 2);

  const t = await start(file);
  const loaded = JSON.parse(t.lines.find((l) => l.includes('"peer state loaded"'))!);
  assert.deepEqual([loaded.peers, loaded.expired], [1, 1]);
  const c = await UdpClient.open('127.0.0.1', t.port);
  const list = await announce(c, await c.connect(), Buffer.from(h), 7003, { numwant: 50 });
  c.close();
  assert.deepEqual(list, ['10.127.0.1:7002']);
  assert.equal(await t.child.stop('SIGTERM'), 0);
});

for (const damage of ['cut short', 'damaged'] as const) {
  test(`a ${damage} peer-state file is reported and swarmd starts empty`, { timeout: 60_000 }, async () => {
    const file = path.join(dir, `${damage.replace(' ', '-')}.state`);
    const store = newStore();
    for (let i = 0; i < 2000; i++) announcePeer(store, hashOf(i), { id: 0x7f0001, port: 1000 + i });
    await writePeerStateFile(store, file, capture().log);
    const bytes = fs.readFileSync(file);
    if (damage === 'cut short') fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    else {
      bytes[5000] ^= 0x10;
      fs.writeFileSync(file, bytes);
    }
    const t = await start(file);
    const error = t.lines.find((l) => l.includes('the peer state file is damaged or unreadable'));
    assert.ok(error, t.child.output());
    assert.match(JSON.parse(error).error, damage === 'cut short' ? /cut short/ : /block checksum mismatch/);
    assert.equal(await fullScrape(t.port), 'd5:filesdee');
    assert.equal(await t.child.stop('SIGTERM'), 0);
  });
}
