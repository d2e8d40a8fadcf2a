import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEX_LOWER, HEX_UPPER, HEX_VALUE } from '../../src/text/hex.ts';

test('HEX_VALUE: the 22 hex digits have their value, every other byte is -1', () => {
  for (let b = 0; b < 256; b++) {
    const ch = String.fromCharCode(b);
    const expected = /^[0-9a-fA-F]$/.test(ch) ? parseInt(ch, 16) : -1;
    assert.equal(HEX_VALUE[b], expected, `byte ${b}`);
  }
});

test('HEX_UPPER and HEX_LOWER: each byte value as its two digits, as Buffer writes them', () => {
  for (let b = 0; b < 256; b++) {
    const lower = Buffer.from([b]).toString('hex');
    assert.equal(String.fromCharCode(HEX_LOWER[2 * b]!, HEX_LOWER[2 * b + 1]!), lower);
    assert.equal(String.fromCharCode(HEX_UPPER[2 * b]!, HEX_UPPER[2 * b + 1]!), lower.toUpperCase());
  }
});

test('the tables decode what they encode', () => {
  for (let b = 0; b < 256; b++) {
    for (const table of [HEX_UPPER, HEX_LOWER]) {
      assert.equal((HEX_VALUE[table[2 * b]!]! << 4) | HEX_VALUE[table[2 * b + 1]!]!, b);
    }
  }
});
