import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createWsSwarms, WsSwarms, WsSwarmCounts } from '../../src/store/ws-swarms.ts';

const hashOf = (n: number) => {
  const h = Buffer.alloc(20);
  h.writeUInt32BE(n, 16);
  return h;
};

test('the table agrees with a model through sets, removals and a dead worker', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('set' as const), hash: fc.nat(40), worker: fc.nat(2), seeders: fc.nat(3), leechers: fc.nat(3) }),
          fc.record({ kind: fc.constant('drop' as const), worker: fc.nat(2) }),
        ),
        { maxLength: 300 },
      ),
      (ops) => {
        const table = new WsSwarms(createWsSwarms(32, 3)); // 64 slots: removals shift probe runs around
        const model = new Map<number, number[][]>();
        for (const op of ops) {
          if (op.kind === 'drop') {
            table.dropWorker(op.worker);
            for (const per of model.values()) per[op.worker] = [0, 0];
            continue;
          }
          const per = model.get(op.hash) ?? [
            [0, 0],
            [0, 0],
            [0, 0],
          ];
          const isNew = per.every(([s, l]) => s + l === 0);
          const ok = table.set(hashOf(op.hash), 0, op.worker, op.seeders, op.leechers);
          if (!ok) {
            assert.ok(isNew && table.size >= table.limit, 'only a new swarm may be refused, when full');
            continue;
          }
          per[op.worker] = [op.seeders, op.leechers];
          model.set(op.hash, per);
        }
        const counts = new WsSwarmCounts(3);
        let live = 0;
        for (let h = 0; h <= 40; h++) {
          table.read(hashOf(h), 0, counts);
          const per = model.get(h) ?? [
            [0, 0],
            [0, 0],
            [0, 0],
          ];
          assert.equal(
            counts.seeders,
            per.reduce((a, [s]) => a + s!, 0),
          );
          assert.equal(
            counts.leechers,
            per.reduce((a, [, l]) => a + l!, 0),
          );
          per.forEach(([s, l], w) => assert.equal(counts.peersOf[w], s! + l!));
          if (per.some(([s, l]) => s! + l! > 0)) live++;
        }
        assert.equal(table.size, live);
      },
    ),
  );
});

test("ws.max_swarms is the limit even below the table's smallest size", () => {
  const table = new WsSwarms(createWsSwarms(1, 1));
  assert.ok(table.set(hashOf(0), 0, 0, 0, 1));
  assert.equal(table.set(hashOf(1), 0, 0, 0, 1), false);
});

test('a full table refuses new swarms and still updates the ones it has', () => {
  const table = new WsSwarms(createWsSwarms(8, 1));
  let i = 0;
  while (table.set(hashOf(i), 0, 0, 0, 1)) i++;
  assert.equal(i, 8, 'as many swarms as asked for (ws.max_swarms)');
  assert.equal(i, table.limit);
  assert.ok(table.set(hashOf(0), 0, 0, 5, 0));
  const c = new WsSwarmCounts(1);
  table.read(hashOf(0), 0, c);
  assert.equal(c.seeders, 5);
});
