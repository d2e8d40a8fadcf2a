import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RequestLog } from '../../src/stats/request-log.ts';
import type { LineLogger } from '../../src/stats/request-log.ts';
import { createCounters, counterRow, C } from '../../src/stats/counters.ts';

class Lines implements LineLogger {
  readonly lines: { level: string; obj: object; msg: string }[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
}

/** A seeded generator, so the sampling tests are repeatable. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('request log: off by default, sampled, capped', () => {
  test('rate 0 never samples', () => {
    const log = new RequestLog(new Lines(), 0, null);
    for (let i = 0; i < 100_000; i++) assert.equal(log.sample(), false);
  });

  test('no logger: off whatever the rate', () => {
    const log = new RequestLog(null, 1, null);
    assert.equal(log.sample(), false);
  });

  test('rate 1 samples every request; rate 0.01 about one in a hundred', () => {
    const all = new RequestLog(new Lines(), 1, null);
    for (let i = 0; i < 100; i++) assert.equal(all.sample(), true);
    const some = new RequestLog(new Lines(), 0.01, null, 100, seeded(42));
    let n = 0;
    for (let i = 0; i < 1_000_000; i++) if (some.sample()) n++;
    assert.ok(n > 9000 && n < 11000, `${n} sampled of 1,000,000`);
  });

  test('at most maxPerSecond lines a second; the rest are dropped and counted', () => {
    const lines = new Lines();
    const counters = createCounters(2);
    const row = counterRow(counters, 1);
    const log = new RequestLog(lines, 1, row, 10);
    for (let i = 0; i < 25; i++) log.write({ client: '192.0.2.1', i }, 5_000_400);
    assert.equal(lines.lines.length, 10);
    assert.equal(row[C.log_requests], 10);
    assert.equal(row[C.log_requests_dropped], 15);
    log.write({ i: 'next second' }, 5_001_000);
    assert.equal(lines.lines.length, 11);
    assert.deepEqual(lines.lines[10], { level: 'info', obj: { i: 'next second' }, msg: 'request' });
  });

  test('a sampling rate outside 0..1 is refused', () => {
    assert.throws(() => new RequestLog(null, 2, null), RangeError);
    assert.throws(() => new RequestLog(null, -0.1, null), RangeError);
  });
});
