import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { AccessList, buildState, indexBits, stateKeys } from '../../src/access/access-list.ts';
import type { AccessMode } from '../../src/access/access-list.ts';
import { KEY_WORDS, hexOfKey, keyFromHex, sortUnique } from '../../src/access/hashes.ts';

/** A table of the given 20-byte hashes (any order, duplicates allowed). */
function table(mode: AccessMode, hashes: Buffer[], generation = 1) {
  const keys = new Int32Array(Math.max(1, hashes.length) * KEY_WORDS);
  hashes.forEach((h, k) => keyFromHex(h.toString('hex'), keys, k));
  const n = sortUnique(keys, hashes.length);
  return buildState(mode, generation, keys, n);
}

const hash = (byte: number) => Buffer.alloc(20, byte);

test('no list: everything is allowed', () => {
  const list = new AccessList(null);
  assert.equal(list.allows(randomBytes(20), 0), true);
  assert.equal(list.generation, 0);
});

test('whitelist allows the listed hashes only; blacklist refuses them only', () => {
  const listed = [hash(1), hash(0x80), hash(0xff), Buffer.from('00000000000000000000000000000000000000ff', 'hex')];
  const others = [hash(0), hash(2), hash(0x7f), Buffer.from('00000000000000000000000000000000000001ff', 'hex')];
  const white = new AccessList(table('whitelist', listed));
  const black = new AccessList(table('blacklist', listed));
  for (const h of listed) {
    assert.equal(white.allows(h, 0), true, h.toString('hex'));
    assert.equal(black.allows(h, 0), false, h.toString('hex'));
  }
  for (const h of others) {
    assert.equal(white.allows(h, 0), false, h.toString('hex'));
    assert.equal(black.allows(h, 0), true, h.toString('hex'));
  }
});

test('the hash is read at the given offset', () => {
  const list = new AccessList(table('whitelist', [hash(7)]));
  const packet = Buffer.concat([Buffer.alloc(16, 7), Buffer.alloc(3), hash(7), Buffer.alloc(5)]);
  assert.equal(list.allows(packet, 19), true);
  assert.equal(list.allows(packet, 18), false);
  assert.equal(list.allows(new Uint8Array(packet), 19), true); // a plain Uint8Array too
});

test('empty lists: a whitelist refuses everything, a blacklist allows everything', () => {
  assert.equal(new AccessList(table('whitelist', [])).allows(hash(1), 0), false);
  assert.equal(new AccessList(table('blacklist', [])).allows(hash(1), 0), true);
});

test('update swaps the table, mode and generation at once', () => {
  const list = new AccessList(table('whitelist', [hash(1)], 1));
  assert.equal(list.allows(hash(1), 0), true);
  list.update(table('whitelist', [hash(2)], 2));
  assert.equal(list.generation, 2);
  assert.equal(list.allows(hash(1), 0), false);
  assert.equal(list.allows(hash(2), 0), true);
  list.update(table('blacklist', [hash(2)], 3));
  assert.equal(list.allows(hash(1), 0), true);
  assert.equal(list.allows(hash(2), 0), false);
  list.update(null);
  assert.equal(list.allows(hash(2), 0), true);
});

test('the state is structured-clonable and shares its buffer', () => {
  const state = table('whitelist', [hash(3)]);
  const copy = structuredClone(state);
  assert.equal(copy.buffer instanceof SharedArrayBuffer, true);
  assert.equal(new AccessList(copy).allows(hash(3), 0), true);
  assert.equal(hexOfKey(stateKeys(copy), 0), '03'.repeat(20));
});

test('lookups agree with a Set (property), for list sizes around the index sizes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 20, maxLength: 20 }), { maxLength: 300 }),
      fc.array(fc.uint8Array({ minLength: 20, maxLength: 20 }), { maxLength: 50 }),
      fc.nat(255),
      (listed, probes, prefix) => {
        // Share first bytes so that lookups have to compare past the first word.
        const all = [...listed, ...probes].map((h) => Buffer.from(h));
        for (const h of all.slice(0, all.length >> 1)) h.fill(prefix, 0, 6);
        const inList = all.slice(0, listed.length);
        const set = new Set(inList.map((h) => h.toString('hex')));
        const list = new AccessList(table('whitelist', inList));
        for (const h of all) assert.equal(list.allows(h, 0), set.has(h.toString('hex')));
      },
    ),
    { numRuns: 300 },
  );
});

test('index bits grow with the list', () => {
  assert.equal(indexBits(0), 1);
  assert.equal(indexBits(1), 1);
  assert.equal(indexBits(1000), 7);
  assert.equal(indexBits(1_000_000), 17);
  assert.equal(indexBits(1e9), 20);
});

test('a 1M-hash table finds every listed hash and no other (how fast: npm run bench, timings row)', () => {
  const N = 1_000_000;
  const raw = randomBytes(N * 20);
  const keys = new Int32Array(N * KEY_WORDS);
  for (let k = 0; k < N; k++) keyFromHex(raw.toString('hex', k * 20, k * 20 + 20), keys, k);
  const list = new AccessList(buildState('whitelist', 1, keys, sortUnique(keys, N)));
  let found = 0;
  for (let k = 0; k < N; k++) if (list.allows(raw, k * 20)) found++;
  assert.equal(found, N);
  const misses = randomBytes((1 << 17) * 20); // random hashes: none of them listed
  let allowed = 0;
  for (let i = 0; i < 1 << 17; i++) if (list.allows(misses, i * 20)) allowed++;
  assert.equal(allowed, 0);
});
