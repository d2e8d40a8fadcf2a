import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPACITY, ChangeLog, ChangeReader, WAKE, createChangeRing } from '../../src/cluster/change-log.ts';
import { REC_COMPLETED, REC_PEER, REC_STOPPED } from '../../src/cluster/codec.ts';
import { Announce } from '../../src/store/swarm-store.ts';
import { EVENT_COMPLETED, EVENT_NONE, EVENT_STOPPED } from '../../src/protocol/events.ts';
import { C, COUNTER_NAMES } from '../../src/stats/counters.ts';

function announce(port: number, event: number, opts: { family?: number; completed?: boolean; seeder?: boolean } = {}): Announce {
  const a = new Announce();
  a.hash = Buffer.alloc(40, 0xab);
  a.hashOffset = 10;
  a.family = opts.family ?? 4;
  a.address = Buffer.from('00000000fe800000000000000000000000000001', 'hex');
  a.addressOffset = 4;
  a.port = port;
  a.event = event;
  a.seeder = opts.seeder ?? false;
  a.completed = opts.completed ?? false;
  return a;
}

function drainAll(reader: ChangeReader) {
  const out: { tag: number; seeder: boolean; family: number; port: number; hash: string; address: string }[] = [];
  reader.drain((tag, seeder, family, port, bytes, ho, ao) =>
    out.push({
      tag,
      seeder,
      family,
      port,
      hash: Buffer.from(bytes.subarray(ho, ho + 20)).toString('hex'),
      address: Buffer.from(bytes.subarray(ao, ao + (family === 4 ? 4 : 16))).toString('hex'),
    }),
  );
  return out;
}

test('the changes a worker records are drained in order, with their kind', () => {
  const ring = createChangeRing();
  const counters = new Float64Array(COUNTER_NAMES.length);
  const log = new ChangeLog(ring, counters);
  log.record(announce(1, EVENT_NONE, { seeder: true }));
  log.record(announce(2, EVENT_COMPLETED, { completed: true, seeder: true }));
  log.record(announce(3, EVENT_STOPPED, { family: 6, seeder: true })); // a seeder stopping: not a seeder record
  const got = drainAll(new ChangeReader(ring));
  assert.deepEqual(
    got.map((r) => [r.tag, r.seeder, r.family, r.port]),
    [
      [REC_PEER, true, 4, 1],
      [REC_COMPLETED, true, 4, 2],
      [REC_STOPPED, false, 6, 3],
    ],
  );
  assert.equal(got[0].hash, 'ab'.repeat(20));
  assert.equal(got[0].address, 'fe800000');
  assert.equal(got[2].address, 'fe800000000000000000000000000001');
  assert.deepEqual(drainAll(new ChangeReader(ring)), [], 'a drained record is gone');
});

test('a full ring drops and counts the change, and wakes the reader at half full', () => {
  const ring = createChangeRing();
  const counters = new Float64Array(COUNTER_NAMES.length);
  const log = new ChangeLog(ring, counters);
  const reader = new ChangeReader(ring);
  for (let i = 0; i < CAPACITY / 2; i++) log.record(announce(1 + (i % 60000), EVENT_NONE));
  assert.equal(Atomics.load(reader.control, WAKE), 1);
  for (let i = CAPACITY / 2; i < CAPACITY + 5; i++) log.record(announce(1 + (i % 60000), EVENT_NONE));
  assert.equal(counters[C.cluster_ring_dropped], 5);
  const got = drainAll(reader);
  assert.equal(got.length, CAPACITY);
  assert.equal(got.at(-1)!.port, 1 + ((CAPACITY - 1) % 60000));
  assert.equal(Atomics.load(reader.control, WAKE), 0);
  log.record(announce(9, EVENT_NONE));
  assert.deepEqual(
    drainAll(reader).map((r) => r.port),
    [9],
    'after a drain the ring takes records again',
  );
});
