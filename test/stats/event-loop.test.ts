import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { trackEventLoop } from '../../src/stats/event-loop.ts';
import { createCounters, counterRow, G } from '../../src/stats/counters.ts';

test('an idle event loop reads as (almost) no delay, not as the sampling period', async () => {
  const row = counterRow(createCounters(1), 0);
  const stop = trackEventLoop(row);
  try {
    await sleep(1300);
    assert.ok(row[G.event_loop_p50_ms]! < 5, `p50 ${row[G.event_loop_p50_ms]} ms`);
  } finally {
    stop();
  }
});

test('a blocked event loop reads as the time it was blocked', async () => {
  const row = counterRow(createCounters(1), 0);
  const stop = trackEventLoop(row);
  try {
    await sleep(50);
    const until = performance.now() + 80;
    while (performance.now() < until); // block the loop for 80 ms
    await sleep(1100);
    assert.ok(row[G.event_loop_max_ms]! >= 60, `max ${row[G.event_loop_max_ms]} ms`);
    assert.ok(row[G.event_loop_max_ms]! < 200, `max ${row[G.event_loop_max_ms]} ms`);
  } finally {
    stop();
  }
});
