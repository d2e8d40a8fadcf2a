// Keeps a thread's event-loop delay and heap size in its gauges, refreshed every second over a
// ten-second window, so a stats reader sees how responsive every worker is.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { G } from './counters.ts';

const WINDOW_SECONDS = 10;
/** Node samples the loop with a timer of this period (ms), and each sample is the whole time
 * between two firings: the period plus the delay. The gauges hold the delay alone. Every firing
 * wakes an idle thread: at 10 ms those wake-ups were 13 of the 14 ms of CPU per second that an
 * idle tracker with one worker used; at 20 ms it uses 8, and a 10 s window still has 500 samples. */
const RESOLUTION_MS = 20;

/** A sample (ns) as the delay beyond the timer's period (ms). */
function delayMs(sampleNs: number): number {
  return Math.max(0, sampleNs / 1e6 - RESOLUTION_MS);
}

/** The delay (ms) added up over the window's samples: their mean less the period, times their count. */
function windowSumMs(h: { mean: number; count: number }): number {
  return h.count === 0 ? 0 : h.count * delayMs(h.mean);
}

/**
 * The quantiles cover the last ten seconds; the sum and count (a Prometheus summary's) cover
 * the thread's life: the windows already reset are carried in `pastSum` and `pastCount`.
 */
export function trackEventLoop(row: Float64Array): () => void {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  let ticks = 0;
  let pastSum = 0;
  let pastCount = 0;
  const timer = setInterval(() => {
    row[G.event_loop_p50_ms] = delayMs(h.percentile(50));
    row[G.event_loop_p99_ms] = delayMs(h.percentile(99));
    row[G.event_loop_max_ms] = delayMs(h.max);
    row[G.event_loop_delay_sum_ms] = pastSum + windowSumMs(h);
    row[G.event_loop_samples] = pastCount + h.count;
    row[G.heap_used_bytes] = getHeapStatistics().used_heap_size;
    if (++ticks % WINDOW_SECONDS === 0) {
      pastSum += windowSumMs(h);
      pastCount += h.count;
      h.reset();
    }
  }, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    h.disable();
  };
}
