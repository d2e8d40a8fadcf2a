// Watches a 1 ms timer while long work runs, to check that the work lets the event loop turn.

export type TimerGaps = { ticks: number; maxGapMs: number };

/** Starts watching; the returned function stops and gives how often the timer fired and its longest gap. */
export function watchTimerGaps(): () => TimerGaps {
  let ticks = 0;
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
  }, 1);
  return () => {
    clearInterval(timer);
    return { ticks, maxGapMs };
  };
}
