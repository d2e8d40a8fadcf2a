import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { FloodControl, FLOOD_OK, FLOOD_OVER } from '../../src/limits/flood.ts';
import { SourceTable } from '../../src/limits/source-table.ts';
import { TopSources } from '../../src/limits/top-sources.ts';

const v4 = (...b: number[]) => Uint8Array.from(b);
const v6 = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const T0 = 1_800_000_000_000; // wall-clock ms

test('a source gets burst + 1 at once, then its rate', () => {
  const t = new SourceTable({ rate: 10, burst: 4, rowCells: 1024 });
  const a = v4(10, 0, 0, 1);
  let ok = 0;
  for (let i = 0; i < 20; i++) if (t.take(4, a, 0, T0)) ok++;
  assert.equal(ok, 5);
  assert.equal(t.isOver(4, a, 0, T0), true);
  // 10/s: one more every 100 ms
  assert.equal(t.take(4, a, 0, T0 + 99), false);
  assert.equal(t.take(4, a, 0, T0 + 100), true);
  assert.equal(t.take(4, a, 0, T0 + 100), false);
  // a second later, 10 more (the bucket holds 5)
  ok = 0;
  for (let i = 0; i < 20; i++) if (t.take(4, a, 0, T0 + 1100)) ok++;
  assert.equal(ok, 5);
  // over a long run the rate holds: 10 a second
  ok = 0;
  for (let ms = 2000; ms < 12000; ms += 10) if (t.take(4, a, 0, T0 + ms)) ok++;
  assert.ok(ok >= 100 && ok <= 105, String(ok));
});

test('sources are apart: IPv4 addresses, IPv6 /64s; the rest of a /64 is the same source', () => {
  const t = new SourceTable({ rate: 1, burst: 0, rowCells: 4096 });
  assert.equal(t.take(4, v4(10, 0, 0, 1), 0, T0), true);
  assert.equal(t.take(4, v4(10, 0, 0, 1), 0, T0), false);
  assert.equal(t.take(4, v4(10, 0, 0, 2), 0, T0), true);
  assert.equal(t.take(6, v6('20010db8000000010000000000000001'), 0, T0), true);
  assert.equal(t.take(6, v6('20010db80000000100000000000000ff'), 0, T0), false);
  assert.equal(t.take(6, v6('20010db8000000020000000000000001'), 0, T0), true);
  // the offset is honoured
  const buf = Buffer.concat([Buffer.alloc(7), Buffer.from([10, 0, 0, 3])]);
  assert.equal(t.take(4, buf, 7, T0), true);
  assert.equal(t.take(4, v4(10, 0, 0, 3), 0, T0), false);
});

test('a flooder that shares a cell leaves others their budget (two rows, min)', () => {
  // a tiny table: 16 cells per row, 200 sources; one floods
  const t = new SourceTable({ rate: 1, burst: 2, rowCells: 16 });
  const flooder = v4(192, 0, 2, 1);
  for (let i = 0; i < 1000; i++) t.take(4, flooder, 0, T0);
  let refused = 0;
  for (let s = 0; s < 200; s++) if (!t.take(4, v4(10, 1, s >> 8, s & 255), 0, T0)) refused++;
  // a source is refused only when both its cells were taken by the flooder or earlier sources:
  // with 16 cells, 200 sources fill them, but the first ones in each cell are never refused
  assert.ok(refused < 200, String(refused));
  const roomy = new SourceTable({ rate: 1, burst: 2, rowCells: 65536 });
  for (let i = 0; i < 1000; i++) roomy.take(4, flooder, 0, T0);
  refused = 0;
  for (let s = 0; s < 2000; s++) if (!roomy.take(4, v4(10, 1, s >> 8, s & 255), 0, T0)) refused++;
  assert.equal(refused, 0);
});

test('a stale cell (over 35 minutes old, wrapped) reads as a full bucket', () => {
  const t = new SourceTable({ rate: 1, burst: 0, rowCells: 64 });
  const a = v4(10, 9, 9, 9);
  assert.equal(t.take(4, a, 0, T0), true);
  assert.equal(t.take(4, a, 0, T0), false);
  for (const later of [36 * 60_000, 71.6 * 60_000, 3 * 3600_000 + 17]) assert.equal(t.take(4, a, 0, T0 + later), true, String(later));
});

test('an unused cell is a full bucket at any time (0 is not a time)', () => {
  // slow budgets count in ms, fast ones in µs: either way a fresh source is within budget, whatever the clock
  for (const rate of [1 / 60, 1, 100, 5000]) {
    for (let k = 0; k < 2000; k++) {
      const t = new SourceTable({ rate, burst: 0, rowCells: 1 });
      const now = T0 + k * 1_234_567.891;
      assert.equal(t.take(4, v4(10, 0, 0, 1), 0, now), true, `rate ${rate} at ${now}`);
    }
  }
});

test('the hash key differs between tables and is shared with views', () => {
  const a = new SourceTable({ rate: 1, burst: 0 });
  const b = new SourceTable({ rate: 1, burst: 0 });
  const addr = v4(1, 2, 3, 4);
  assert.notEqual(a.hash(4, addr, 0), b.hash(4, addr, 0));
  assert.equal(new SourceTable(a.buffer).hash(4, addr, 0), a.hash(4, addr, 0));
});

test('bad options are refused', () => {
  assert.throws(() => new SourceTable({ rate: 0, burst: 1 }), RangeError);
  assert.throws(() => new SourceTable({ rate: 1, burst: -1 }), RangeError);
  assert.throws(() => new SourceTable({ rate: 1, burst: 1, rowCells: 1000 }), RangeError);
  assert.throws(() => new SourceTable({ rate: 0.001, burst: 10_000 }), RangeError);
});

test('FloodControl counts and reports the sources over budget', () => {
  const top = new TopSources(4);
  const f = new FloodControl({ rate: 5, burst: 0, rowCells: 256 }, top);
  const a = v4(203, 0, 113, 9);
  const b = v6('20010db8abcd00010000000000000042');
  for (let i = 0; i < 50; i++) f.take(4, a, 0, T0);
  for (let i = 0; i < 10; i++) f.take(6, b, 0, T0);
  assert.equal(f.take(4, v4(203, 0, 113, 10), 0, T0), FLOOD_OK);
  assert.equal(f.take(4, a, 0, T0), FLOOD_OVER);
  assert.equal(f.over, 49 + 9 + 1);
  const list = top.list();
  assert.equal(list.length, 2);
  assert.equal(list[0].family, 4);
  assert.equal(list[0].address.toString('hex'), 'cb007109');
  assert.equal(list[0].count, 50);
  assert.equal(list[1].family, 6);
  assert.equal(list[1].address.toString('hex'), '20010db8abcd00010000000000000000');
  assert.equal(list[1].count, 9);
  assert.equal(f.retryAfterSeconds(), 1);
});

test('workers share one budget (worker_threads)', async () => {
  const f = new FloodControl({ rate: 1, burst: 999, rowCells: 1024 });
  const run = (addr: number[]) =>
    new Promise<{ ok: number; over: number }>((resolve, reject) => {
      const w = new Worker(new URL('./flood-worker.ts', import.meta.url), { workerData: { shared: f.shared(), count: 1000, nowMs: T0, addr } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const results = await Promise.all([run([10, 0, 0, 7]), run([10, 0, 0, 7]), run([10, 0, 0, 7]), run([10, 0, 0, 8])]);
  const same = results.slice(0, 3).reduce((n, r) => n + r.ok, 0);
  // three threads, 3000 requests, one budget of 1000 (a race can let a very few more through)
  assert.ok(same >= 1000 && same <= 1010, String(same));
  // another source on another thread had its own
  assert.equal(results[3].ok, 1000);
  // and the main thread sees the reports the workers made
  const top = f.top.list();
  assert.equal(top[0].address.toString('hex'), '0a000007');
  assert.equal(top[0].count, 3000 - same);
});
