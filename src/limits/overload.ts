// Whether a worker is behind, as a factor for the announce interval. A tracker that falls behind and
// keeps answering with the usual interval gets the same load back, plus the retries of the clients it
// was too slow for; answering with a longer interval spreads them out. The signal is the event-loop
// delay (p99, src/stats/event-loop.ts) and the share of UDP receive batches that came back full (the
// socket had more waiting than one batch takes).
//
// Fast up, slow down (hysteresis): the factor rises at once to the pressure (at least 2, at most the
// configured maximum); it halves only after `calmSamples` samples in a row below half the threshold,
// and the worker counts as caught up when it is back to 1. Between half the threshold and the threshold
// it holds. One sample a second is the intended rate.

export type OverloadOptions = {
  /** Event-loop delay (ms) at which a worker is behind; 0 turns the signal off. */
  delayMs: number;
  /** The largest factor (>= 1). */
  maxFactor: number;
  /** Calm samples in a row before the factor halves (default 5). */
  calmSamples?: number;
  /** Share of full receive batches at which a worker is behind (default 0.5). */
  fullBatchShare?: number;
};

export class OverloadSignal {
  /** The interval multiplier now: 1 when all is well. */
  factor = 1;
  /** Times this worker went from caught up to behind. */
  episodes = 0;
  /** Samples taken while behind. */
  behindSamples = 0;
  private readonly delayMs: number;
  private readonly maxFactor: number;
  private readonly calmSamples: number;
  private readonly fullBatchShare: number;
  private calm = 0;

  constructor(options: OverloadOptions) {
    if (!(options.delayMs >= 0) || !(options.maxFactor >= 1)) throw new RangeError('delayMs >= 0 and maxFactor >= 1');
    this.delayMs = options.delayMs;
    this.maxFactor = options.maxFactor;
    this.calmSamples = options.calmSamples ?? 5;
    this.fullBatchShare = options.fullBatchShare ?? 0.5;
  }

  get behind(): boolean {
    return this.factor > 1;
  }

  /**
   * One sample: the event-loop delay (ms) and the share (0..1) of receive batches that came back full
   * since the last sample. Returns the factor.
   */
  observe(delayMs: number, fullBatches = 0): number {
    if (this.delayMs === 0 || this.maxFactor === 1) return this.factor;
    const pressure = Math.max(delayMs / this.delayMs, fullBatches / this.fullBatchShare);
    if (pressure >= 1) {
      if (this.factor === 1) this.episodes++;
      const target = Math.min(this.maxFactor, Math.max(2, pressure));
      if (target > this.factor) this.factor = target;
      this.calm = 0;
    } else if (pressure < 0.5 && this.factor > 1) {
      if (++this.calm >= this.calmSamples) {
        this.factor = Math.max(1, this.factor / 2);
        this.calm = 0;
      }
    } else {
      this.calm = 0;
    }
    if (this.factor > 1) this.behindSamples++;
    return this.factor;
  }

  /** `seconds` stretched by the factor (whole seconds). */
  stretch(seconds: number): number {
    return this.factor === 1 ? seconds : Math.round(seconds * this.factor);
  }
}
