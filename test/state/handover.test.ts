import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setImmediate as turn } from 'node:timers/promises';
import { ChangeLog, ChangeReader, createChangeRing } from '../../src/cluster/change-log.ts';
import { createCounters, counterRow, C } from '../../src/stats/counters.ts';
import { sendHandover, receiveHandover, HandoverError } from '../../src/state/handover.ts';
import type { HandoverSource } from '../../src/state/handover.ts';
import type { SwarmStore } from '../../src/store/swarm-store.ts';
import { newStore, fillSwarms, swarmContents, setMinute, hashOf, announcePeer } from '../helpers/swarm-contents.ts';

let sockets = 0;

/** A real Unix socket pair: the old side's server end and the new side's client end. */
async function socketPair(): Promise<{ old: net.Socket; next: net.Socket; close: () => void }> {
  const name = `\0swarmd-handover-test-${process.pid}-${++sockets}`;
  const server = net.createServer();
  server.listen({ path: name });
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const next = net.connect({ path: name });
  const [old] = (await accepted) as [net.Socket];
  await once(next, 'connect');
  return { old, next, close: () => server.close() };
}

/** Announces on the old store as its workers would: each recorded in the change ring. */
class Traffic {
  private readonly store: SwarmStore;
  private readonly log: ChangeLog;
  private n = 0;
  running = true;
  made = 0;

  constructor(store: SwarmStore, log: ChangeLog) {
    this.store = store;
    this.log = log;
  }

  /** One announce of every kind: new peers on torrents early and late in the walk, stops, completions. */
  one(): void {
    const i = this.n++;
    const torrent = (i * 7919) % 20000;
    const hash = hashOf(torrent);
    const kind = i % 4;
    const a =
      kind === 0
        ? announcePeer(this.store, hash, { id: 5_000_000 + i, v6: i % 8 === 0, seeder: i % 3 === 0 })
        : kind === 1
          ? announcePeer(this.store, hashOf(100_000 + i), { id: 6_000_000 + i }) // a torrent new to the store
          : kind === 2
            ? announcePeer(this.store, hashOf(torrent), { id: 5_000_000 + i - 2, stopped: true }) // stops the kind-0 peer before it
            : announcePeer(this.store, hashOf(torrent), { id: 7_000_000 + i, seeder: true, completed: true });
    this.log.record(a);
    this.made++;
  }

  async run(): Promise<void> {
    while (this.running) {
      for (let k = 0; k < 20; k++) this.one();
      await turn();
    }
  }
}

test('the new process gets the old store and every change announced during the transfer', async () => {
  const old = newStore();
  fillSwarms(old, 20000);
  const counters = counterRow(createCounters(1), 0);
  const ring = createChangeRing();
  const log = new ChangeLog(ring, counters);
  const changes = new ChangeReader(ring);
  const traffic = new Traffic(old, log);
  const running = traffic.run();
  const copy = newStore();
  setMinute(copy, old.now);
  const { old: oldEnd, next: newEnd, close } = await socketPair();
  const keys = Buffer.from('0123456789abcdef');
  const source: HandoverSource = {
    store: old,
    drainChanges: (visit) => changes.drain(visit),
    quiesce: async () => {
      traffic.running = false;
      await running;
      for (let k = 0; k < 50; k++) traffic.one(); // the requests still in flight
    },
    sections: { 'connection-id-keys': keys },
    version: '9.9.9-test',
  };
  const sections: Record<string, Buffer> = {};
  let newAnswers = false;
  const quiesce = source.quiesce;
  source.quiesce = async () => {
    assert.equal(newAnswers, true, 'the old process stops only once the new one answers');
    await quiesce();
  };
  const [sent, received] = await Promise.all([
    sendHandover(oldEnd, source),
    receiveHandover(newEnd, copy, {
      onSection: (name, bytes) => (sections[name] = bytes),
      whenSnapshotIn: async () => {
        await turn(); // binding the listeners
        newAnswers = true;
      },
    }),
  ]);
  close();
  assert.equal(counters[C.cluster_ring_dropped], 0);
  assert.ok(traffic.made > 100, `traffic went on during the transfer (${traffic.made} announces)`);
  assert.equal(sent.changes, traffic.made);
  assert.equal(received.changes, traffic.made);
  assert.deepEqual(received.from, { pid: process.pid, version: '9.9.9-test' });
  assert.deepEqual(sections, { 'connection-id-keys': keys });
  assert.equal(sent.peers, received.peers);
  assert.ok(sent.bytes > 1_000_000);
  assert.deepEqual(swarmContents(copy), swarmContents(old));
  assert.deepEqual(copy.totals().peers4 + copy.totals().peers6, old.totals().peers4 + old.totals().peers6);
});

test('an old process that goes away mid-transfer fails the handover on both sides', async () => {
  const old = newStore();
  fillSwarms(old, 5000);
  const { old: oldEnd, next: newEnd, close } = await socketPair();
  const source: HandoverSource = {
    store: old,
    drainChanges: null,
    quiesce: async () => {
      oldEnd.destroy(); // the old process dies before its last changes
    },
    version: 'test',
  };
  const [sent, received] = await Promise.allSettled([sendHandover(oldEnd, source), receiveHandover(newEnd, newStore())]);
  close();
  assert.equal(sent.status, 'rejected');
  assert.ok((sent as PromiseRejectedResult).reason instanceof HandoverError);
  assert.equal(received.status, 'rejected');
  assert.match(String((received as PromiseRejectedResult).reason), /the old process closed the socket before it was done/);
});

test('a new process that goes away fails the handover on the old side, which learns it', async () => {
  const old = newStore();
  fillSwarms(old, 20000);
  const { old: oldEnd, next: newEnd, close } = await socketPair();
  let quiesced = false;
  const source: HandoverSource = { store: old, drainChanges: null, quiesce: async () => void (quiesced = true), version: 'test' };
  newEnd.once('data', () => newEnd.destroy());
  await assert.rejects(sendHandover(oldEnd, source), (err: Error) => {
    assert.ok(err instanceof HandoverError, err.message);
    assert.match(err.message, /^handover: the (socket (closed|failed)|new process closed)/);
    return true;
  });
  close();
  // It failed before the old process stopped answering: it simply goes on.
  assert.equal(quiesced, false);
});

test('a stream that is not a handover is refused', async () => {
  const { old: oldEnd, next: newEnd, close } = await socketPair();
  oldEnd.end(Buffer.from([3, 4, 0, 0, 0, 1, 2, 3, 4]));
  await assert.rejects(receiveHandover(newEnd, newStore()), /the old process did not say hello/);
  close();
});
