import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BATCH_LIVE,
  BATCH_SNAPSHOT_END,
  BatchWriter,
  HEADER_BYTES,
  MAX_BATCH_BYTES,
  PEER_RECORD_BYTES4,
  REC_COMPLETED,
  REC_PEER,
  REC_STOPPED,
  encodeControl,
  readBatch,
} from '../../src/cluster/codec.ts';
import type { Control, RecordSink } from '../../src/cluster/codec.ts';

type Rec =
  | { k: 'peer'; tag: number; hash: string; family: number; address: string; port: number; seeder: boolean }
  | { k: 'torrent'; hash: string; completed: number }
  | { k: 'control'; kind: string; data: unknown };

/** Collects what a batch hands out, as plain values. */
function collect(msg: Uint8Array): { header: ReturnType<typeof readBatch>; records: Rec[] } {
  const records: Rec[] = [];
  const hex = (b: Uint8Array, o: number, n: number) => Buffer.from(b.subarray(o, o + n)).toString('hex');
  const sink: RecordSink = {
    peer: (tag, hash, ho, family, address, ao, port, seeder) =>
      records.push({ k: 'peer', tag, hash: hex(hash, ho, 20), family, address: hex(address, ao, family === 4 ? 4 : 16), port, seeder }),
    torrent: (hash, ho, completed) => records.push({ k: 'torrent', hash: hex(hash, ho, 20), completed }),
    control: (c: Control) => records.push({ k: 'control', kind: c.kind, data: c.data }),
  };
  return { header: readBatch(msg, sink), records };
}

const hexBytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
const peerRec = fc
  .record({
    k: fc.constant('peer' as const),
    tag: fc.constantFrom(REC_PEER, REC_STOPPED, REC_COMPLETED),
    hash: hexBytes(20),
    family: fc.constantFrom(4, 6),
    address: hexBytes(16),
    port: fc.integer({ min: 1, max: 65535 }),
    seeder: fc.boolean(),
  })
  .map((r) => ({
    ...r,
    address: r.family === 4 ? r.address.slice(0, 8) : r.address,
    seeder: r.tag === REC_STOPPED ? false : r.tag === REC_COMPLETED ? true : r.seeder,
  }));
const torrentRec = fc.record({ k: fc.constant('torrent' as const), hash: hexBytes(20), completed: fc.nat({ max: 0xffffffff }) });
const controlRec = fc
  .record({ k: fc.constant('control' as const), kind: fc.string({ minLength: 1, maxLength: 20 }), data: fc.jsonValue({ maxDepth: 2 }) })
  .map((r) => ({ ...r, data: JSON.parse(JSON.stringify(r.data ?? null)) as unknown }));
const anyRec = fc.oneof(peerRec, torrentRec, controlRec);

function write(w: BatchWriter, r: Rec): void {
  if (r.k === 'peer') w.peer(r.tag, Buffer.from(r.hash, 'hex'), 0, r.family, Buffer.from(r.address, 'hex'), 0, r.port, r.seeder);
  else if (r.k === 'torrent') w.torrent(Buffer.from(r.hash, 'hex'), 0, r.completed);
  else w.control(encodeControl(r.kind, r.data));
}

test('every record written comes back as written, in order, with the header', () => {
  fc.assert(
    fc.property(fc.array(anyRec, { maxLength: 60 }), fc.nat({ max: 2 ** 32 - 1 }), (recs, nodeId) => {
      const w = new BatchWriter(nodeId);
      for (const r of recs) write(w, r);
      const first = collect(w.take(BATCH_LIVE));
      assert.deepEqual(
        first.records,
        recs.map((r) => ({ ...r })),
      );
      assert.deepEqual(first.header, { type: BATCH_LIVE, nodeId, sequence: 0, count: recs.length });
      assert.equal(collect(w.take(BATCH_SNAPSHOT_END)).header?.sequence, 1);
    }),
  );
});

test('an IPv4 peer record takes 29 bytes and a batch never outgrows its limit', () => {
  const w = new BatchWriter(1);
  let n = 0;
  while (w.fits(PEER_RECORD_BYTES4)) {
    w.peer(REC_PEER, Buffer.alloc(20, 1), 0, 4, Buffer.from([10, 0, 0, 1]), 0, 6881, false);
    n++;
  }
  const batch = w.take(BATCH_LIVE);
  assert.equal(PEER_RECORD_BYTES4, 29);
  assert.equal(batch.length, HEADER_BYTES + n * 29);
  assert.ok(batch.length <= MAX_BATCH_BYTES);
  assert.equal(collect(batch).records.length, n);
});

test('any batch cut short or with a byte changed is either refused whole or still well-formed, never applied in part', () => {
  fc.assert(
    fc.property(fc.array(anyRec, { minLength: 1, maxLength: 20 }), fc.nat(), fc.nat({ max: 255 }), fc.boolean(), (recs, at, value, cut) => {
      const w = new BatchWriter(7);
      for (const r of recs) write(w, r);
      const batch = Buffer.from(w.take(BATCH_LIVE));
      const i = at % batch.length;
      const bad = cut ? batch.subarray(0, i) : Buffer.from(batch);
      if (!cut) bad[i] = value;
      let handed = 0;
      const header = readBatch(bad, { peer: () => handed++, torrent: () => handed++, control: () => handed++ });
      if (header === null) assert.equal(handed, 0, 'nothing of a refused batch is handed out');
      else assert.equal(handed, header.count);
    }),
  );
});

test('malformed batches are refused', () => {
  const good = () => {
    const w = new BatchWriter(3);
    w.peer(REC_PEER, Buffer.alloc(20, 2), 0, 4, Buffer.from([1, 2, 3, 4]), 0, 80, true);
    return Buffer.from(w.take(BATCH_LIVE));
  };
  const none = { peer: () => assert.fail('applied'), torrent: () => assert.fail('applied'), control: () => assert.fail('applied') };
  const cases: [string, (b: Buffer) => Buffer][] = [
    ['empty', () => Buffer.alloc(0)],
    ['header only, cut', (b) => b.subarray(0, HEADER_BYTES - 1)],
    ['unknown version', (b) => ((b[0] = 2), b)],
    ['unknown batch type', (b) => ((b[1] = 9), b)],
    ['count too high', (b) => (b.writeUInt16BE(2, 10), b)],
    ['count too low', (b) => (b.writeUInt16BE(0, 10), b)],
    ['unknown record tag', (b) => ((b[HEADER_BYTES] = 99), b)],
    ['bad family', (b) => ((b[HEADER_BYTES + 22] = 5), b)],
    ['bad flags', (b) => ((b[HEADER_BYTES + 1] = 2), b)],
    ['port 0', (b) => (b.writeUInt16BE(0, HEADER_BYTES + 27), b)],
    ['record cut short', (b) => b.subarray(0, b.length - 1)],
    ['bytes left over', (b) => Buffer.concat([b, Buffer.from([0])])],
    ['stopped marked seeder', (b) => ((b[HEADER_BYTES] = REC_STOPPED), b)],
  ];
  for (const [what, spoil] of cases) assert.equal(readBatch(spoil(good()), none), null, what);
  for (const json of ['nope', '[1]', '{"data":1}', '{"kind":""}', '{"kind":3}']) {
    const w = new BatchWriter(3);
    w.control(Buffer.from(json));
    assert.equal(readBatch(w.take(BATCH_LIVE), none), null, json);
  }
  const w = new BatchWriter(3);
  w.control(Buffer.from([0x7b, 0xff, 0x7d])); // not UTF-8
  assert.equal(readBatch(w.take(BATCH_LIVE), none), null, 'bad UTF-8');
});

test('a control record too large for a batch is an error at once', () => {
  assert.throws(() => encodeControl('big', 'x'.repeat(MAX_BATCH_BYTES)), /over/);
});
