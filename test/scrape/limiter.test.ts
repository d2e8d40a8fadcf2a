import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { FullScrapeLimiter, DEFAULT_LIMITER_SLOTS } from '../../src/scrape/limiter.ts';
import { addressBytes } from '../../src/net/address.ts';

function addr(text: string): [number, Uint8Array, number] {
  const b = new Uint8Array(16);
  const family = addressBytes(text, b);
  assert.ok(family !== 0, text);
  return [family, b, 0];
}

const T0 = 1_700_000_000_000;

test('one full scrape per address per interval; Retry-After counts down', () => {
  const l = new FullScrapeLimiter(300);
  assert.equal(l.check(...addr('192.0.2.1'), T0), 0);
  assert.equal(l.check(...addr('192.0.2.1'), T0), 300);
  assert.equal(l.check(...addr('192.0.2.1'), T0 + 100_000), 200);
  assert.equal(l.check(...addr('192.0.2.1'), T0 + 299_000), 1);
  assert.equal(l.check(...addr('192.0.2.1'), T0 + 300_000), 0); // a new interval starts here
  assert.equal(l.check(...addr('192.0.2.1'), T0 + 300_500), 300);
  // Other addresses are not affected.
  assert.equal(l.check(...addr('192.0.2.2'), T0 + 1000), 0);
  assert.equal(l.check(...addr('::ffff:192.0.2.3'), T0), 0);
  assert.equal(l.check(...addr('192.0.2.3'), T0), 300); // the same client on a dual-stack socket
});

test('IPv6 clients count per /64; IPv4 and IPv6 keys never mix', () => {
  const l = new FullScrapeLimiter(60);
  assert.equal(l.check(...addr('2001:db8:1:2::1'), T0), 0);
  assert.equal(l.check(...addr('2001:db8:1:2:ffff:ffff:ffff:ffff'), T0), 60);
  assert.equal(l.check(...addr('2001:db8:1:3::1'), T0), 0);
  // An IPv4 address whose bytes equal the start of an IPv6 one.
  assert.equal(l.check(...addr('32.1.13.184'), T0), 0); // 0x20010db8
  assert.equal(l.check(...addr('2001:db8::'), T0), 0);
});

test('0 means no limit', () => {
  const l = new FullScrapeLimiter(0);
  for (let i = 0; i < 5; i++) assert.equal(l.check(...addr('192.0.2.1'), T0), 0);
  assert.equal(l.size(T0), 0);
});

test('old entries are forgotten, and the table never grows', () => {
  const l = new FullScrapeLimiter(300, FullScrapeLimiter.createShared(1024));
  assert.equal(l.capacity(), 1024);
  const b = new Uint8Array(4);
  for (let i = 0; i < 100_000; i++) {
    b[0] = 10;
    b[1] = i >> 16;
    b[2] = i >> 8;
    b[3] = i;
    assert.equal(l.check(4, b, 0, T0 + i), 0); // each address once: always allowed
  }
  assert.ok(l.size(T0 + 100_000) <= 1024);
  assert.ok(l.size(T0 + 100_000) > 900);
  assert.equal(l.size(T0 + 100_000 + 300_000), 0); // all intervals over
  assert.equal(FullScrapeLimiter.createShared().byteLength, (4 + DEFAULT_LIMITER_SLOTS * 4) * 4);
  // Recent addresses survive a flood better than old ones: the oldest of a full set goes first.
  const l2 = new FullScrapeLimiter(300, FullScrapeLimiter.createShared(8));
  for (let i = 0; i < 8; i++) l2.check(...addr(`198.51.100.${i}`), T0 + i * 1000);
  l2.check(...addr('198.51.100.200'), T0 + 10_000);
  assert.equal(l2.check(...addr('198.51.100.0'), T0 + 10_000), 0); // the oldest was dropped
  assert.ok(l2.check(...addr('198.51.100.7'), T0 + 10_000) > 0);
});

test('workers share one table', async () => {
  const shared = FullScrapeLimiter.createShared();
  const here = new FullScrapeLimiter(300, shared);
  assert.equal(here.check(...addr('203.0.113.9'), T0), 0);
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.url).then(({ FullScrapeLimiter }) => {
      const l = new FullScrapeLimiter(300, workerData.shared);
      const b = new Uint8Array([203, 0, 113, 9]);
      const c = new Uint8Array([203, 0, 113, 10]);
      parentPort.postMessage([l.check(4, b, 0, workerData.t), l.check(4, c, 0, workerData.t)]);
    });
  `;
  const url = new URL('../../src/scrape/limiter.ts', import.meta.url).href;
  const worker = new Worker(code, { eval: true, workerData: { shared, url, t: T0 + 5000 } });
  const [again, other] = await new Promise<number[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.equal(again, 295);
  assert.equal(other, 0);
  assert.equal(here.check(...addr('203.0.113.10'), T0 + 6000), 299);
});
