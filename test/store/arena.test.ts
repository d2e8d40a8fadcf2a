import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena, createArenaShared, sizeClass } from '../../src/store/arena.ts';
import { pageRelease } from '../../src/store/release-pages.ts';

test('blocks come in power-of-two sizes and freed ones are reused', () => {
  const arena = new Arena(createArenaShared(64 << 20));
  assert.deepEqual([sizeClass(1), sizeClass(2), sizeClass(3), sizeClass(12), sizeClass(4096)], [1, 1, 2, 4, 12]);
  const a = arena.alloc(3);
  const b = arena.alloc(3);
  assert.equal(b - a, 8);
  arena.free(a, 3);
  assert.equal(arena.alloc(3), a);
  assert.equal(arena.stats().usedBytes, 2 * 8 * 4);
});

test('a freed big block is split for smaller ones before the arena grows', () => {
  const arena = new Arena(createArenaShared(64 << 20));
  const big = arena.alloc(10);
  const guard = arena.alloc(1); // keeps the big block from being the top
  arena.free(big, 10);
  const small = [arena.alloc(2), arena.alloc(2), arena.alloc(5), arena.alloc(9)];
  assert.equal(small[0], big, 'cut from the freed block');
  for (const s of small) assert.ok(s >= big && s < big + 1024, `block ${s} inside the freed one`);
  assert.equal(new Set(small).size, 4);
  assert.ok(guard > big);
});

test('the arena grows on demand and refuses past its limit', () => {
  const arena = new Arena(createArenaShared(16 << 20));
  const before = arena.stats().sizeBytes;
  const blocks: number[] = [];
  for (let i = 0; i < 3; i++) blocks.push(arena.alloc(20)); // 4 MiB each
  assert.ok(blocks.every((b) => b > 0));
  assert.equal(arena.alloc(22), 0, '16 MiB more than the limit');
  assert.equal(arena.stats().failedAllocations, 1);
  assert.ok(arena.stats().sizeBytes >= before);
});

test(
  'freed big blocks give their pages back to the kernel (native addon)',
  { skip: pageRelease.release === null && process.env.CI !== 'true' ? pageRelease.reason : false },
  () => {
    assert.ok(pageRelease.release, pageRelease.reason);
    const arena = new Arena(createArenaShared(64 << 20));
    const block = arena.alloc(16); // 256 KiB
    arena.words.fill(7, block, block + 2 ** 16);
    arena.alloc(1);
    arena.free(block, 16);
    assert.ok(arena.stats().releasedBytes >= 240 * 1024, `${arena.stats().releasedBytes} bytes released`);
    assert.equal(arena.words[block + 2 ** 15], 0, 'released pages read as zeros');
    const again = arena.alloc(16);
    assert.equal(again, block);
  },
);
