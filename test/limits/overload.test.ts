import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { OverloadSignal } from '../../src/limits/overload.ts';

test('fast up, slow down, with hysteresis', () => {
  const o = new OverloadSignal({ delayMs: 100, maxFactor: 4, calmSamples: 3 });
  assert.equal(o.observe(20), 1);
  assert.equal(o.observe(99), 1);
  assert.equal(o.behind, false);
  // behind: at least 2, more with more pressure, at most the maximum
  assert.equal(o.observe(100), 2);
  assert.equal(o.observe(300), 3);
  assert.equal(o.observe(2000), 4);
  assert.equal(o.episodes, 1);
  // between half the threshold and the threshold: held
  for (let i = 0; i < 10; i++) assert.equal(o.observe(60), 4);
  // calm: halves after 3 calm samples in a row; a busy sample starts the count again
  assert.equal(o.observe(10), 4);
  assert.equal(o.observe(10), 4);
  assert.equal(o.observe(70), 4);
  assert.equal(o.observe(10), 4);
  assert.equal(o.observe(10), 4);
  assert.equal(o.observe(10), 2);
  assert.equal(o.stretch(1800), 3600);
  for (let i = 0; i < 3; i++) o.observe(0);
  assert.equal(o.factor, 1);
  assert.equal(o.behind, false);
  assert.equal(o.stretch(1800), 1800);
  o.observe(150);
  assert.equal(o.episodes, 2);
  assert.ok(o.behindSamples > 10);
});

test('full receive batches count as being behind', () => {
  const o = new OverloadSignal({ delayMs: 100, maxFactor: 3 });
  assert.equal(o.observe(0, 0.3), 1);
  assert.equal(o.observe(0, 0.5), 2);
  assert.equal(o.observe(0, 1), 2);
  assert.equal(o.observe(0, 0.75), 2);
});

test('off: delay 0 or a maximum of 1', () => {
  assert.equal(new OverloadSignal({ delayMs: 0, maxFactor: 4 }).observe(10_000, 1), 1);
  assert.equal(new OverloadSignal({ delayMs: 10, maxFactor: 1 }).observe(10_000, 1), 1);
  assert.throws(() => new OverloadSignal({ delayMs: -1, maxFactor: 2 }), RangeError);
});

test('a real blocked event loop makes a worker behind, and it recovers', async () => {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const o = new OverloadSignal({ delayMs: 50, maxFactor: 4, calmSamples: 2 });
  // block the loop for 150 ms a few times
  for (let i = 0; i < 3; i++) {
    const until = Date.now() + 150;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 20));
  }
  o.observe(h.percentile(99) / 1e6 - 10);
  assert.ok(o.behind, `p99 ${h.percentile(99) / 1e6} ms`);
  h.reset();
  for (let i = 0; i < 6 && o.behind; i++) {
    await new Promise((r) => setTimeout(r, 100));
    o.observe(h.percentile(99) / 1e6 - 10);
    h.reset();
  }
  h.disable();
  assert.equal(o.behind, false);
});
