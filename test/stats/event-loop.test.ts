// The event-loop gauges: the delay beyond Node's sampling period, refreshed every second. The
// checks are what the gauges mean, not how fast the machine is: an idle loop reads below the
// sampling period (a gauge that kept the period in would read at least that), a loop blocked for
// 80 ms reads at least what that block left after the period. How large the delays are on a
// given machine is `npm run bench`'s to say (the scale row reads them from /metrics).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { trackEventLoop } from '../../src/stats/event-loop.ts';
import { createCounters, counterRow, G } from '../../src/stats/counters.ts';

/** Node's sampling period in src/stats/event-loop.ts. */
const RESOLUTION_MS = 20;

/** Waits for the next refresh of the gauges (the heap gauge is never 0 once written). */
async function refreshed(row: Float64Array): Promise<void> {
  row[G.heap_used_bytes] = 0;
  while (row[G.heap_used_bytes] === 0) await sleep(50);
}

test('an idle event loop reads below the sampling period: the gauge is the delay alone', async () => {
  const row = counterRow(createCounters(1), 0);
  const stop = trackEventLoop(row);
  try {
    await refreshed(row);
    assert.ok(row[G.event_loop_p50_ms]! < RESOLUTION_MS, `p50 ${row[G.event_loop_p50_ms]} ms`);
    assert.ok(row[G.event_loop_p50_ms]! >= 0);
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
    await refreshed(row);
    assert.ok(row[G.event_loop_max_ms]! >= 80 - RESOLUTION_MS, `max ${row[G.event_loop_max_ms]} ms`);
    assert.ok(row[G.event_loop_p50_ms]! < row[G.event_loop_max_ms]!, 'one blocked sample is the maximum, not the median');
  } finally {
    stop();
  }
});
