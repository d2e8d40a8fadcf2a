import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { halfSipHash, halfSipHashRounds, hashInfoHash } from '../../src/protocol/siphash.ts';

// Key bytes 00 01 .. 07, so k0 = 0x03020100, k1 = 0x07060504; vector n hashes the bytes 0 .. n-1.
const K0 = 0x03020100;
const K1 = 0x07060504;

// HalfSipHash-2-4, 32-bit output: vectors_hsip32 of the reference implementation (github.com/veorq/SipHash,
// vectors.h), stored there as little-endian byte strings, given here as the u32 they encode.
const HSIP24 = [
  0x5b9f35a9, 0xb85a4727, 0x03a662fa, 0x04e7fe8a, 0x89466e2a, 0x69b6fac5, 0x23fc6358, 0xc563cf8b, 0x8f84b8d0, 0x79e706f8, 0x3479b094, 0x50300808, 0x2f87f057,
  0xff63e677, 0x7cf8ffd6, 0x972bfe74, 0x84acb5d9, 0x5b6474c4, 0x9b8d5b46, 0x87e3ef7b, 0x45104de3, 0xb3623f61, 0xfe67f370, 0xbdb8ade6, 0x630c4027, 0x75787826,
  0x5f7b564f, 0x69e6b03a, 0x004064b0, 0xb40f67ff, 0x8b339e50, 0x1a9f585d, 0x1221e7fe, 0x59327533, 0x8c4f436a, 0x29b728fe, 0xecc65ce7, 0x548d7e69, 0x0f8b6863,
  0xb4620b65, 0x4018bcb6, 0x0545075d, 0x2efd4224, 0x3a86b77b, 0x48d50577, 0xb10852d7, 0xc899d4b6, 0x2e209208, 0xe32ce169, 0xe580b58d, 0xc6649736, 0x04026e01,
  0xd4f3853b, 0xbe66dbfe, 0x3a2a691e, 0xc08489c6, 0x40b9c5a5, 0x8ce8e99b, 0x4081bc7d, 0xc58e077c, 0x736ce7d4, 0xb9cb8f42, 0x7a9983bd, 0x744aea59,
];

// HalfSipHash-1-3, 32-bit output: Linux lib/siphash_kunit.c test_vectors_hsiphash (the 32-bit build, which is
// HalfSipHash-1-3 with the key 00 01 .. 07), generated with the reference source at cROUNDS=1, dROUNDS=3.
const HSIP13 = [
  0x5814c896, 0xe7e864ca, 0xbc4b0e30, 0x01539939, 0x7e059ea6, 0x88e3d89b, 0xa0080b65, 0x9d38d9d6, 0x577999b1, 0xc839caed, 0xe4fa32cf, 0x959246ee, 0x6b28096c,
  0x66dd9cd6, 0x16658a7c, 0xd0257b04, 0x8b31d501, 0x2b1cd04b, 0x06712339, 0x522aca67, 0x911bb605, 0x90a65f0e, 0xf826ef7b, 0x62512deb, 0x57150ad7, 0x5d473507,
  0x1ec47442, 0xab64afd3, 0x0a4100d0, 0x6d2ce652, 0x2331b6a3, 0x08d8791a, 0xbc6dda8d, 0xe0f6c934, 0xb0652033, 0x9b9851cc, 0x7c46fb7f, 0x732ba8cb, 0xf142997a,
  0xfcc9aa1b, 0x05327eb2, 0xe110131c, 0xf9e5e7c0, 0xa7d708a6, 0x11795ab1, 0x65671619, 0x9f5fff91, 0xd89c5267, 0x007783eb, 0x95766243, 0xab639262, 0x9c7e1390,
  0xc368dda6, 0x38ddc455, 0xfa13d379, 0x979ea4e8, 0x53ecd77e, 0x2ee80657, 0x33dbb66a, 0xae3f0577, 0x88b4c4cc, 0x3e7f480b, 0x74c1ebf8, 0x87178304,
];

const input = new Uint8Array(64 + 7);

test('HalfSipHash-2-4 reference vectors (at several buffer offsets)', () => {
  for (const shift of [0, 1, 3, 7]) {
    for (let i = 0; i < 64; i++) input[shift + i] = i;
    for (let n = 0; n < 64; n++) {
      assert.equal(halfSipHashRounds(2, 4, K0, K1, input, shift, n) >>> 0, HSIP24[n], `len ${n} offset ${shift}`);
    }
  }
});

test('HalfSipHash-1-3 reference vectors, generic and specialised', () => {
  for (const shift of [0, 1, 2, 5]) {
    input.fill(0xaa);
    for (let i = 0; i < 64; i++) input[shift + i] = i;
    for (let n = 0; n < 64; n++) {
      assert.equal(halfSipHashRounds(1, 3, K0, K1, input, shift, n) >>> 0, HSIP13[n], `rounds len ${n}`);
      assert.equal(halfSipHash(K0, K1, input, shift, n) >>> 0, HSIP13[n], `len ${n} offset ${shift}`);
    }
    assert.equal(hashInfoHash(K0, K1, input, shift) >>> 0, HSIP13[20]);
  }
});

test('hashInfoHash equals halfSipHash over 20 bytes for any key and bytes', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.uint8Array({ minLength: 20, maxLength: 40 }),
      fc.nat(20),
      (k0, k1, bytes, o) => {
        const off = Math.min(o, bytes.length - 20);
        const h = hashInfoHash(k0, k1, bytes, off);
        assert.equal(h, halfSipHash(k0, k1, bytes, off, 20));
        assert.ok(h === (h | 0), 'an int32');
      },
    ),
    { numRuns: 2000 },
  );
});

test('results are int32 (Smi), never boxed: the sign bit shows as a negative number', () => {
  let negative = 0;
  const b = Buffer.alloc(20);
  for (let i = 0; i < 1000; i++) {
    b.writeUInt32LE(i, 0);
    const h = hashInfoHash(K0, K1, b, 0);
    assert.equal(h, h | 0);
    if (h < 0) negative++;
  }
  assert.ok(negative > 400 && negative < 600);
});

test('keys given as signed int32 hash the same as unsigned', () => {
  const b = Buffer.from('0123456789abcdefghij');
  assert.equal(halfSipHash(-1, -2, b, 0, 20), halfSipHash(0xffffffff, 0xfffffffe, b, 0, 20));
});
