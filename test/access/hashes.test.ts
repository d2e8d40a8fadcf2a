import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { KEY_WORDS, hexOfKey, isHashLine, keyFromHex, parseList, sortUnique } from '../../src/access/hashes.ts';

const A = 'a'.repeat(40);
const HEX1 = '0123456789abcdef0123456789abcdef01234567';

function hexes(list: { keys: Int32Array; count: number }): string[] {
  return Array.from({ length: list.count }, (_, k) => hexOfKey(list.keys, k));
}

const parse = (text: string) => parseList(Buffer.from(text, 'latin1'));

test("file format: opentracker's rule (40 hex digits, then no 41st), the rest of the line ignored", () => {
  const text = [
    '# comment', // 1: comment
    '', // 2: blank
    A, // 3: hash
    `${HEX1.toUpperCase()}  the rest is ignored`, // 4: uppercase, trailing text
    `${'6'.repeat(40)}#x`, // 5: 41st is '#': a hash
    `${'b'.repeat(41)}`, // 6: 41 hex digits: junk
    'not a hash', // 7: junk
    `${'c'.repeat(39)}`, // 8: too short: junk
    `  ${'d'.repeat(40)}`, // 9: leading blanks: junk (as opentracker)
    `${'e'.repeat(40)}\r`, // 10: CRLF
    A, // 11: duplicate
    `${'f'.repeat(39)}g`, // 12: a non-hex digit: junk
    '   \t', // 13: blank
    `${'0'.repeat(64)}`, // 14: a SHA-256 (v2) hash: junk
  ].join('\n');
  const list = parse(text + '\n' + '9'.repeat(40)); // 15: last line without a newline
  assert.deepEqual(hexes(list), [HEX1, '6'.repeat(40), '9'.repeat(40), A, 'e'.repeat(40)]);
  assert.equal(list.count, 5);
  assert.equal(list.lines, 6); // hash lines read, the duplicate included
  assert.equal(list.junk, 6);
  assert.deepEqual(list.junkLines, [6, 7, 8, 9, 12, 14]);
});

test('junk: only the first 10 line numbers are kept, all are counted', () => {
  const lines = Array.from({ length: 25 }, (_, i) => (i % 2 === 0 ? `junk ${i}` : randomBytes(20).toString('hex')));
  const list = parse(lines.join('\n'));
  assert.equal(list.junk, 13);
  assert.deepEqual(list.junkLines, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
  assert.equal(list.count, 12);
});

test('an empty file, a file of junk, a lone hash without newline', () => {
  assert.deepEqual({ ...parse(''), keys: null }, { keys: null, count: 0, lines: 0, junk: 0, junkLines: [] });
  assert.equal(parse('x\ny\n').junk, 2);
  assert.deepEqual(hexes(parse(HEX1)), [HEX1]);
  assert.deepEqual(hexes(parse(HEX1.toUpperCase())), [HEX1]);
  assert.deepEqual(hexes(parse('\n\n' + HEX1 + '\n\n')), [HEX1]);
});

test('isHashLine and keyFromHex', () => {
  const b = Buffer.from(`${A}g`);
  assert.equal(isHashLine(b, 0, 40), true);
  assert.equal(isHashLine(b, 0, 41), true); // 'g' is not hex
  assert.equal(isHashLine(b, 1, 41), false); // 39 hex digits then 'g'
  assert.equal(hexOfKey(keyFromHex(HEX1.toUpperCase()), 0), HEX1);
  assert.throws(() => keyFromHex('abc'));
  assert.throws(() => keyFromHex('z'.repeat(40)));
});

/** Keys for the given hex strings, in the given order. */
function keysOf(list: string[]): Int32Array {
  const keys = new Int32Array(list.length * KEY_WORDS);
  list.forEach((h, k) => keyFromHex(h, keys, k));
  return keys;
}

test('sortUnique sorts in byte order and removes duplicates (property)', () => {
  // Hashes drawn from a small alphabet so that prefixes and duplicates are common.
  const hex = fc.constantFrom('0', '1', '7', '8', 'f');
  const hash = fc.array(hex, { minLength: 40, maxLength: 40 }).map((a) => a.join(''));
  fc.assert(
    fc.property(fc.array(hash, { maxLength: 200 }), (list) => {
      const keys = keysOf(list);
      const n = sortUnique(keys, list.length);
      const expected = [...new Set(list)].sort();
      assert.deepEqual(
        Array.from({ length: n }, (_, k) => hexOfKey(keys, k)),
        expected,
      );
    }),
    { numRuns: 300 },
  );
});

test('sortUnique: large clustered and repeated inputs (radix passes all the way down)', () => {
  const list: string[] = [];
  for (let i = 0; i < 20000; i++) list.push('00000000000000000000000000000000' + (i % 7000).toString(16).padStart(8, '0'));
  for (let i = 0; i < 5000; i++) list.push('ff'.repeat(20));
  for (let i = 0; i < 5000; i++) list.push(randomBytes(20).toString('hex'));
  const keys = keysOf(list);
  const n = sortUnique(keys, list.length);
  const expected = [...new Set(list)].sort();
  assert.equal(n, expected.length);
  assert.deepEqual(
    Array.from({ length: n }, (_, k) => hexOfKey(keys, k)),
    expected,
  );
});

test('a list of 1M hashes loads: every hash, sorted, comments ignored (how fast: npm run bench, timings row)', () => {
  const N = 1_000_000;
  const raw = randomBytes(N * 20);
  const lines: string[] = [];
  for (let i = 0; i < N; i++) lines.push(raw.toString('hex', i * 20, i * 20 + 20) + (i % 10 === 0 ? ' # comment' : ''));
  const list = parseList(Buffer.from(lines.join('\n') + '\n'));
  assert.equal(list.count, N);
  assert.equal(list.junk, 0);
  // Sorted.
  for (let k = 1; k < 1000; k++) assert.ok(hexOfKey(list.keys, k - 1) < hexOfKey(list.keys, k));
});
