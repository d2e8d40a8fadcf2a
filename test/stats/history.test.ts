import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { History, HISTORY_COLUMNS, historyJson, takeSample, startHistorySampler } from '../../src/stats/history.ts';
import { REQUEST_CELLS } from '../../src/stats/figures.ts';
import { createCounters, counterRow, C } from '../../src/stats/counters.ts';
import { newStore, addPeer, hashOf } from '../helpers/store.ts';

const WIDTH = HISTORY_COLUMNS.length;
const col = (name: string) => HISTORY_COLUMNS.findIndex((c) => c.name === name);

function row(t: number, fill: (r: Float64Array) => void = () => {}): Float64Array {
  const r = new Float64Array(WIDTH);
  r[0] = t;
  fill(r);
  return r;
}

describe('history: the last hour in a shared ring', () => {
  test('an hour of 5-second samples; the oldest are overwritten', () => {
    const h = new History(History.create(5000, 3600));
    assert.equal(h.capacity, 721);
    for (let i = 1; i <= 1000; i++) h.append(row(i * 1000, (r) => (r[1] = i)));
    const r = h.read();
    assert.equal(r.rows.length, 720);
    assert.equal(r.rows[0][1], 281);
    assert.equal(r.rows[719][1], 1000);
    assert.equal(h.count, 1000);
  });

  test('read(since) returns the newer rows and the one before them', () => {
    const h = new History(History.create(1000, 60));
    for (let i = 1; i <= 10; i++) h.append(row(i * 1000));
    const r = h.read(7000);
    assert.deepEqual(
      r.rows.map((x) => x[0]),
      [8000, 9000, 10000],
    );
    assert.equal(r.before?.[0], 7000);
  });

  test('rates are differences over time; the first one counts from the start', () => {
    const buffer = History.create(1000, 60);
    const h = new History(buffer);
    const started = h.read().startedMs;
    const okUdp = col('requests.udp.announce.ok');
    const connect = col('requests.udp.connect.ok');
    const bytes = col('bytes.udp.out');
    h.append(
      row(started + 2000, (r) => {
        r[okUdp] = 20;
        r[connect] = 2;
        r[bytes] = 100;
        r[col('torrents')] = 3;
      }),
    );
    h.append(
      row(started + 4000, (r) => {
        r[okUdp] = 60;
        r[connect] = 2;
        r[bytes] = 300;
        r[col('torrents')] = 5;
      }),
    );
    const j = historyJson(h);
    assert.deepEqual(j.requests_per_second.udp.ok, [11, 20]); // (20 + 2) / 2 s, then 40 / 2 s
    assert.deepEqual(j.bytes_per_second.udp.out, [50, 100]);
    assert.deepEqual(j.torrents, [3, 5]);
    assert.equal(j.interval_seconds, 1);
    const since = historyJson(h, started + 2000);
    assert.deepEqual(since.requests_per_second.udp.ok, [20], 'the rate of the first new point uses the row before it');
    assert.deepEqual(
      Object.keys(j.requests_per_second.http).sort(),
      [...new Set(REQUEST_CELLS.filter((c) => c.protocol === 'http').map((c) => c.outcome))].sort(),
    );
  });

  test('a sample reads the store and the counters', () => {
    const counters = createCounters(2);
    counterRow(counters, 1)[C.udp_connect] = 9;
    counterRow(counters, 1)[C.completed] = 4;
    const store = newStore();
    addPeer(store, hashOf(1), 1, { seeder: true });
    addPeer(store, hashOf(1), 2, { v6: true });
    const s = takeSample({ counters, store }, undefined, 1234);
    assert.equal(s[0], 1234);
    assert.equal(s[col('torrents')], 1);
    assert.equal(s[col('peers_ipv4')], 1);
    assert.equal(s[col('peers_ipv6')], 1);
    assert.equal(s[col('seeders')], 1);
    assert.equal(s[col('requests.udp.connect.ok')], 9);
    assert.equal(s[col('completed')], 4);
    assert.ok(s[col('rss_bytes')] > 0);
  });

  test('the sampler samples at once and then every interval', async () => {
    const buffer = History.create(100, 10);
    const stop = startHistorySampler(buffer, { counters: createCounters(2), store: newStore() });
    const history = new History(buffer);
    assert.equal(history.count, 1, 'the first sample is taken at once');
    while (history.count < 4) await new Promise((r) => setTimeout(r, 20));
    stop();
    const times = history.read().rows.map((row) => row[0]!);
    assert.equal(times.length, 4);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 90, `samples ${times.join(', ')}: one every 100 ms`);
  });

  test('a reader in another thread never sees a torn sample, though its reads overlap writes', { timeout: 120_000 }, async () => {
    const buffer = History.create(100, 2); // a small ring, overwritten all the time
    const h = new History(buffer);
    // Every column of sample i holds i: a reader that mixed two samples would see two values. A
    // read overlapped a write when the ring's sequence number (header word 0, odd during a
    // write) was odd before it or changed during it; the reader reads until 1000 did.
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.module).then(({ History }) => {
         const h = new History(workerData.buffer);
         const seq = new Int32Array(workerData.buffer, 0, 1);
         let reads = 0, torn = 0, rows = 0, overlapped = 0;
         const end = Date.now() + 60_000;
         while (overlapped < 1000 && Date.now() < end) {
           const before = Atomics.load(seq, 0);
           const r = h.read();
           if ((before & 1) === 1 || Atomics.load(seq, 0) !== before) overlapped++;
           reads++;
           rows += r.rows.length;
           for (const row of r.rows) if (row.some((v) => v !== row[0])) torn++;
         }
         parentPort.postMessage({ reads, torn, rows, overlapped });
       });`,
      { eval: true, workerData: { buffer, module: new URL('../../src/stats/history.ts', import.meta.url).href } },
    );
    let done = false;
    const result = new Promise<{ reads: number; torn: number; rows: number; overlapped: number }>((resolve) =>
      worker.once('message', (m) => {
        done = true;
        resolve(m);
      }),
    );
    for (let i = 1; !done;) {
      for (let k = 0; k < 100; k++, i++) h.append(new Float64Array(WIDTH).fill(i));
      await new Promise((r) => setImmediate(r));
    }
    const { reads, torn, rows, overlapped } = await result;
    await worker.terminate();
    assert.ok(overlapped >= 1000, `only ${overlapped} of ${reads} reads overlapped a write`);
    assert.ok(rows > 0, `${reads} reads, ${rows} rows`);
    assert.equal(torn, 0);
  });
});
