import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopSources } from '../../src/limits/top-sources.ts';

const T0 = 1_800_000_000_000;
const v4 = (n: number) => Uint8Array.from([10, 0, n >> 8, n & 255]);

test('Space-Saving keeps every heavy hitter, with bounded error', () => {
  const top = new TopSources(8);
  // 3 heavy sources among 500 light ones, interleaved
  const truth = new Map<number, number>();
  let total = 0;
  for (let round = 0; round < 100; round++) {
    for (const heavy of [1, 2, 3]) {
      for (let k = 0; k < heavy * 10; k++) {
        top.report(4, v4(heavy), 0, heavy, T0 + round);
        truth.set(heavy, (truth.get(heavy) ?? 0) + 1);
        total++;
      }
    }
    for (let k = 0; k < 5; k++) {
      const light = 100 + ((round * 5 + k) % 500);
      top.report(4, v4(light), 0, light, T0 + round);
      total++;
    }
  }
  const list = top.list(3);
  assert.deepEqual(
    list.map((e) => e.address[3]),
    [3, 2, 1],
  );
  for (const e of list) {
    const real = truth.get(e.address[3])!;
    assert.ok(e.count >= real && e.count - e.error <= real, `${e.count} ${e.error} ${real}`);
    assert.ok(e.error <= total / 8);
  }
  assert.equal(list[0].firstMs, T0);
  assert.equal(list[0].lastMs, T0 + 99);
});

test('decay halves counts and frees the ones that reach zero; views share the table', () => {
  const top = new TopSources(4);
  for (let i = 0; i < 8; i++) top.report(4, v4(1), 0, 1, T0);
  top.report(6, Uint8Array.from(Buffer.from('20010db8000000010000000000000005', 'hex')), 0, 2, T0);
  const view = new TopSources(top.buffer);
  assert.equal(view.capacity, 4);
  assert.equal(view.list().length, 2);
  view.decay();
  const list = top.list();
  assert.equal(list.length, 1);
  assert.equal(list[0].count, 4);
  assert.throws(() => new TopSources(0), RangeError);
});
