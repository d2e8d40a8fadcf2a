// Request logging that can't flood the disk: off by default (`log.requests 0`); when on, a random
// sample of the requests (each one with probability `rate`) is logged, at most `maxPerSecond`
// lines per second per worker; lines over the cap are dropped and counted
// (swarmd_log_requests_dropped_total).
//
// The hot-path check is one decrement and one comparison: sample() draws the gap to the next
// sampled request from a geometric distribution instead of drawing a random number per request.

import { C } from './counters.ts';

/** The part of pino's Logger used here. */
export interface LineLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class RequestLog {
  /** Sampling probability, 0 (off) to 1 (every request). */
  readonly rate: number;
  readonly maxPerSecond: number;
  private readonly log: LineLogger | null;
  private readonly counters: Float64Array | null;
  private readonly logOneMinusRate: number;
  private skip: number;
  private second = 0;
  private written = 0;
  private readonly random: () => number;

  constructor(log: LineLogger | null, rate: number, counters: Float64Array | null, maxPerSecond = 100, random: () => number = Math.random) {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError('log.requests: a sampling rate from 0 (off) to 1 (every request)');
    this.log = log;
    this.rate = log === null ? 0 : rate;
    this.counters = counters;
    this.maxPerSecond = Math.max(1, Math.floor(maxPerSecond));
    this.random = random;
    this.logOneMinusRate = this.rate > 0 && this.rate < 1 ? Math.log(1 - this.rate) : 0;
    this.skip = this.rate === 0 ? Number.POSITIVE_INFINITY : this.nextGap();
  }

  /** Whether to log the current request (call once per request; false whenever logging is off). */
  sample(): boolean {
    if (--this.skip > 0) return false;
    this.skip = this.nextGap();
    return true;
  }

  /** Writes one sampled request's line, unless this second's cap is reached. */
  write(fields: object, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.written = 0;
    }
    if (this.written >= this.maxPerSecond) {
      if (this.counters !== null) this.counters[C.log_requests_dropped]++;
      return;
    }
    this.written++;
    if (this.counters !== null) this.counters[C.log_requests]++;
    this.log!.info(fields, 'request');
  }

  /** Requests until the next sampled one (1: the next), geometric with mean 1/rate. */
  private nextGap(): number {
    if (this.rate >= 1) return 1;
    const u = 1 - this.random(); // (0, 1]
    return 1 + Math.floor(Math.log(u) / this.logOneMinusRate);
  }
}
