import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BencodeError, decode, encode, writeBytes, writeDecimal, writeInt, writeLatin1, writeLatin1String, type BValue } from '../../src/protocol/bencode.ts';

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');

test('writeDecimal: digits for 0 .. 2^53 and negatives', () => {
  const buf = Buffer.alloc(64);
  const cases = [0, 1, 9, 10, 99, 100, 12345, 2147483647, 2147483648, 4294967295, 4294967296, 1e15, 9007199254740991, 2 ** 53];
  for (const n of cases) {
    const end = writeDecimal(buf, 3, n);
    assert.equal(buf.toString('latin1', 3, end), String(n));
    const end2 = writeDecimal(buf, 0, -n);
    assert.equal(buf.toString('latin1', 0, end2), n === 0 ? '0' : '-' + String(n));
  }
  fc.assert(
    fc.property(fc.maxSafeNat(), (n) => {
      const end = writeDecimal(buf, 1, n);
      assert.equal(buf.toString('latin1', 1, end), String(n));
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 20 }), (n) => {
      const end = writeDecimal(buf, 0, n);
      assert.equal(buf.toString('latin1', 0, end), String(n));
    }),
  );
});

test('writeInt, writeBytes, writeLatin1, writeLatin1String', () => {
  const buf = Buffer.alloc(400);
  let o = writeInt(buf, 0, -42);
  o = writeInt(buf, o, 0);
  o = writeInt(buf, o, 1979);
  assert.equal(buf.toString('latin1', 0, o), 'i-42ei0ei1979e');
  const src = Buffer.from('xxhello worldyy');
  o = writeBytes(buf, 0, src, 2, 11);
  assert.equal(buf.toString('latin1', 0, o), '11:hello world');
  const big = Buffer.alloc(300, 7);
  o = writeBytes(buf, 0, big, 0, 300);
  assert.equal(o, 4 + 300);
  assert.equal(buf.toString('latin1', 0, 4), '300:');
  assert.ok(buf.subarray(4, 304).every((b) => b === 7));
  o = writeLatin1(buf, 0, 'd8:completei');
  assert.equal(buf.toString('latin1', 0, o), 'd8:completei');
  o = writeLatin1String(buf, 0, 'failure reason');
  assert.equal(buf.toString('latin1', 0, o), '14:failure reason');
});

test('encode: sorted keys, strings as UTF-8, the usual shapes', () => {
  assert.equal(encode({ b: 1, a: 'x', c: [1, 'y'] }).toString('latin1'), 'd1:a1:x1:bi1e1:cli1e1:yee');
  assert.equal(
    encode(
      new Map<string, BValue>([
        ['z', 1],
        ['\u00ff', 2],
        ['a', 3],
      ]),
    ).toString('latin1'),
    'd1:ai3e1:zi1e1:\u00ffi2ee',
  );
  assert.equal(encode(-0).toString(), 'i0e');
  assert.equal(encode(12345678901234567890n).toString(), 'i12345678901234567890e');
  assert.equal(encode('é').toString('latin1'), '2:\u00c3\u00a9');
  assert.equal(encode([]).toString(), 'le');
  assert.equal(encode({}).toString(), 'de');
  assert.throws(() => encode(1.5), BencodeError);
  assert.throws(() => encode({ '\u0100': 1 }), BencodeError);
  assert.throws(() => encode(null as never), BencodeError);
});

test('decode: valid inputs', () => {
  assert.equal(decode(Buffer.from('i0e')), 0);
  assert.equal(decode(Buffer.from('i-17e')), -17);
  assert.equal(decode(Buffer.from('i9007199254740991e')), 9007199254740991);
  assert.equal(decode(Buffer.from('i9007199254740992e')), 9007199254740992n);
  assert.equal(decode(Buffer.from('i-123456789012345678901234567890e')), -123456789012345678901234567890n);
  assert.equal(latin1(decode(Buffer.from('0:')) as Uint8Array), '');
  assert.equal(latin1(decode(Buffer.from('4:spam')) as Uint8Array), 'spam');
  const d = decode(Buffer.from('d3:cow3:moo4:spaml1:a1:bee')) as Map<string, BValue>;
  assert.deepEqual([...d.keys()], ['cow', 'spam']);
  assert.equal(latin1(d.get('cow') as Uint8Array), 'moo');
  // lenient key order
  const u = decode(Buffer.from('d1:bi1e1:ai2ee')) as Map<string, BValue>;
  assert.equal(u.get('a'), 2);
  assert.equal(u.get('b'), 1);
  // byte strings never alias the input
  const input = Buffer.from('3:abc');
  const s = decode(input) as Uint8Array;
  input[2] = 0x7a;
  assert.equal(latin1(s), 'abc');
});

test('decode: malformed inputs throw BencodeError', () => {
  const bad = [
    '',
    'i',
    'ie',
    'i-e',
    'i-0e',
    'i01e',
    'i-01e',
    'i1',
    'i1x',
    'i+1e',
    'i 1e',
    '01:a',
    '1:',
    '2:a',
    '-1:a',
    '1a',
    'l',
    'li1e',
    'd',
    'd1:a',
    'di1ei2ee',
    'd1:ai1e1:ai2ee',
    'x',
    'i1ei2e',
    '4:spamX',
    'le1',
    'e',
    ':',
    '1:ab',
    'd1:ae',
    '99999999999999999999999:a',
  ];
  for (const s of bad) {
    assert.throws(() => decode(Buffer.from(s, 'latin1')), BencodeError, JSON.stringify(s));
  }
  // limits
  assert.throws(() => decode(Buffer.from('llllleeeee'), { maxDepth: 4 }), /nesting deeper than 4/);
  assert.deepEqual(decode(Buffer.from('lllleeee'), { maxDepth: 4 }), [[[[]]]]);
  assert.throws(() => decode(Buffer.from('4:spam'), { maxLength: 5 }), BencodeError);
  // a deep nest with a silly depth limit: still a BencodeError, not a RangeError
  const deep = Buffer.from('l'.repeat(200000) + 'e'.repeat(200000));
  assert.throws(() => decode(deep, { maxDepth: 1e9 }), BencodeError);
  assert.throws(() => decode(deep), BencodeError);
});

const bvalue = fc.letrec<{ v: BValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a) as Uint8Array),
    fc.maxSafeInteger(),
    fc
      .bigInt({ min: -(2n ** 100n), max: 2n ** 100n })
      .map((b) => (b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b)),
    fc.array(tie('v'), { maxLength: 5 }),
    fc
      .array(
        fc.tuple(
          fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a).toString('latin1')),
          tie('v'),
        ),
        { maxLength: 5 },
      )
      .map((entries) => new Map(entries)),
  ),
})).v;

function sortedMaps(v: BValue): BValue {
  if (v instanceof Map) {
    return new Map([...v.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, x]) => [k, sortedMaps(x)]));
  }
  if (Array.isArray(v)) return v.map(sortedMaps);
  if (v instanceof Uint8Array) return Buffer.from(v);
  return v;
}

test('property: decode(encode(x)) round trips, and encode(decode(b)) = b for canonical b', () => {
  fc.assert(
    fc.property(bvalue, (x) => {
      const b = encode(x);
      const y = decode(b);
      assert.deepEqual(y, sortedMaps(x));
      assert.deepEqual(encode(y), b);
    }),
    { numRuns: 3000 },
  );
});

test('property: random bytes never throw anything but BencodeError', () => {
  const alphabet = fc.constantFrom(...Buffer.from('ilde0123456789:-x'));
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.array(alphabet, { maxLength: 64 }).map((a) => Uint8Array.from(a)),
    // mutations of valid encodings
    fc.tuple(bvalue, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([v, i, byte]) => {
      const b = Buffer.from(encode(v));
      if (b.length > 0) b[i % b.length] = byte;
      return b.subarray(0, b.length - (i % 3 === 0 ? 1 : 0));
    }),
  );
  fc.assert(
    fc.property(arb, (bytes) => {
      try {
        decode(bytes, { maxDepth: 8 });
      } catch (e) {
        assert.ok(e instanceof BencodeError, String(e));
      }
    }),
    { numRuns: 20000 },
  );
});
