// Keeps a thread's event-loop delay and heap size in its gauges, refreshed every second over a
// ten-second window, so a stats reader sees how responsive every worker is.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { G } from './counters.ts';

const WINDOW_SECONDS = 10;

export function trackEventLoop(row: Float64Array): () => void {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let ticks = 0;
  const timer = setInterval(() => {
    row[G.event_loop_p50_ms] = h.percentile(50) / 1e6;
    row[G.event_loop_p99_ms] = h.percentile(99) / 1e6;
    row[G.event_loop_max_ms] = h.max / 1e6;
    row[G.heap_used_bytes] = getHeapStatistics().used_heap_size;
    if (++ticks % WINDOW_SECONDS === 0) h.reset();
  }, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    h.disable();
  };
}
