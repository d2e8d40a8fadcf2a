import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { ConnectionIds, createConnectionIdKeys, rotateConnectionIdKey } from '../../src/protocol/connection-id.ts';

const V4 = Buffer.from([10, 0, 0, 1]);
const V4b = Buffer.from([10, 0, 0, 2]);
const V6 = Buffer.from('20010db8000000000000000000000001', 'hex');
const T = 1_700_000_000;

test('an ID checks for its address within its lifetime, and not otherwise', () => {
  const keys = createConnectionIdKeys();
  const ids = new ConnectionIds(keys, 120);
  const id = Buffer.alloc(8 + 5);
  ids.write(id, 5, V4, 0, 4, T);
  assert.equal(ids.check(id, 5, V4, 0, 4, T), true);
  assert.equal(ids.check(id, 5, V4, 0, 4, T + 120), true);
  assert.equal(ids.check(id, 5, V4, 0, 4, T + 121), false, 'expired');
  assert.equal(ids.check(id, 5, V4, 0, 4, T - 5), true, 'small clock skew');
  assert.equal(ids.check(id, 5, V4, 0, 4, T - 6), false, 'from the future');
  assert.equal(ids.check(id, 5, V4b, 0, 4, T), false, 'another address');
  // the same 4 bytes as the start of a v6 address are another address
  const v6like = Buffer.concat([V4, Buffer.alloc(12)]);
  assert.equal(ids.check(id, 5, v6like, 0, 16, T), false, 'another family');

  const id6 = Buffer.alloc(8);
  ids.write(id6, 0, V6, 0, 16, T);
  assert.equal(ids.check(id6, 0, V6, 0, 16, T + 60), true);
  const other6 = Buffer.from(V6);
  other6[15] ^= 1;
  assert.equal(ids.check(id6, 0, other6, 0, 16, T), false);
});

test('forged IDs fail: every single-bit flip, and a forged issue time', () => {
  const ids = new ConnectionIds(createConnectionIdKeys(), 120);
  const id = Buffer.alloc(8);
  ids.write(id, 0, V4, 0, 4, T);
  for (let bit = 0; bit < 64; bit++) {
    const f = Buffer.from(id);
    f[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(ids.check(f, 0, V4, 0, 4, T), false, `bit ${bit}`);
  }
  // moving the time forward to extend the ID's life breaks the MAC
  const f = Buffer.from(id);
  f.writeUInt32BE(((T + 100) & 0x7fffffff) * 2 + (id[3] & 1), 0);
  assert.equal(ids.check(f, 0, V4, 0, 4, T + 150), false);
  // random IDs don't check
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (b) => {
      assert.equal(ids.check(Buffer.from(b), 0, V4, 0, 4, T), false);
    }),
    { numRuns: 2000 },
  );
  // another tracker (other keys) doesn't accept our IDs
  const other = new ConnectionIds(createConnectionIdKeys(), 120);
  assert.equal(other.check(id, 0, V4, 0, 4, T), false);
});

test('IDs survive one key rotation, not two; new IDs use the new key', () => {
  const keys = createConnectionIdKeys();
  const ids = new ConnectionIds(keys, 120);
  const a = Buffer.alloc(8);
  ids.write(a, 0, V4, 0, 4, T);
  rotateConnectionIdKey(keys);
  assert.equal(ids.check(a, 0, V4, 0, 4, T + 10), true, 'after one rotation');
  const b = Buffer.alloc(8);
  ids.write(b, 0, V4, 0, 4, T + 10);
  assert.notEqual(a[3] & 1, b[3] & 1, 'signed by the other slot');
  rotateConnectionIdKey(keys);
  assert.equal(ids.check(a, 0, V4, 0, 4, T + 20), false, 'after two rotations');
  assert.equal(ids.check(b, 0, V4, 0, 4, T + 20), true);
});

test('two ConnectionIds on the same keys verify each other', () => {
  const keys = createConnectionIdKeys();
  const x = new ConnectionIds(keys, 120);
  const y = new ConnectionIds(keys, 120);
  const id = Buffer.alloc(8);
  x.write(id, 0, V6, 0, 16, T);
  assert.equal(y.check(id, 0, V6, 0, 16, T + 1), true);
  rotateConnectionIdKey(keys);
  assert.equal(y.check(id, 0, V6, 0, 16, T + 2), true);
  y.write(id, 0, V4, 0, 4, T + 2);
  assert.equal(x.check(id, 0, V4, 0, 4, T + 3), true);
});

test('IDs written in a worker thread check in the main thread, across a rotation', async () => {
  const keys = createConnectionIdKeys();
  const url = new URL('../../src/protocol/connection-id.ts', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(({ ConnectionIds }) => {
      const ids = new ConnectionIds(workerData.keys, 120);
      const out = Buffer.alloc(8);
      ids.write(out, 0, Buffer.from([10, 0, 0, 1]), 0, 4, workerData.t);
      parentPort.postMessage(out);
    });`;
  const w = new Worker(code, { eval: true, workerData: { keys, url, t: T } });
  const id = Buffer.from(
    await new Promise<Uint8Array>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }),
  );
  await w.terminate();
  const ids = new ConnectionIds(keys, 120);
  assert.equal(ids.check(id, 0, V4, 0, 4, T + 1), true);
  rotateConnectionIdKey(keys);
  assert.equal(ids.check(id, 0, V4, 0, 4, T + 2), true);
});

test('time wraps modulo 2^31 without breaking', () => {
  const ids = new ConnectionIds(createConnectionIdKeys(), 120);
  const id = Buffer.alloc(8);
  const t = 2 ** 31 - 10;
  ids.write(id, 0, V4, 0, 4, t);
  assert.equal(ids.check(id, 0, V4, 0, 4, t + 20), true);
  assert.equal(ids.check(id, 0, V4, 0, 4, t + 200), false);
});
