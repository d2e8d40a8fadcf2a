import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { startChildTracker } from '../helpers/child-tracker.ts';
import type { ChildTracker } from '../helpers/child-tracker.ts';
import { get, rawExchange } from '../helpers/http-client.ts';
import { waitUntil } from '../helpers/process.ts';
import { infoHash, percentEncode } from '../helpers/tracker.ts';
import { UdpClient, announcePacket } from '../helpers/udp-client.ts';
import { parsePrometheusText, value } from './prom-text.ts';
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

describe('log.requests in a running swarmd', () => {
  let tracker: ChildTracker;
  after(async () => {
    await tracker?.child.stop('SIGTERM');
  });

  test(
    'every request gets its JSON line (protocol, client, info hash, event, answer size), at most 100 a second per worker',
    { timeout: 120_000 },
    async () => {
      tracker = await startChildTracker(['--log-requests', '1', '--log-level', 'info']);
      const port = tracker.port;
      const requests = () => tracker.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
      const hash = infoHash('logged');
      assert.equal((await get('127.0.0.1', port, `/announce?info_hash=${percentEncode(hash)}&port=6881&left=0&event=started`)).status, 200);
      const udp = await UdpClient.open('127.0.0.1', port);
      await udp.request(announcePacket({ connectionId: await udp.connect(), transactionId: 1, infoHash: hash, port: 6882, event: 3, left: 7n }));
      udp.close();
      await get('127.0.0.1', port, `/scrape?info_hash=${percentEncode(hash)}`);
      await waitUntil(
        () => requests().length >= 3,
        20_000,
        () => `request lines: ${JSON.stringify(requests())}`,
      );
      const [http, viaUdp, scrape] = requests();
      assert.deepEqual(
        { ...http, time: 0 },
        {
          level: 30,
          time: 0,
          name: 'swarmd',
          proto: 'http',
          action: 'announce',
          client: '127.0.0.1',
          port: 6881,
          info_hash: hash.toString('hex'),
          event: 2,
          left: 0,
          numwant: 50,
          peers: 0,
          msg: 'request',
        },
      );
      assert.deepEqual(
        [viaUdp.proto, viaUdp.action, viaUdp.client, viaUdp.port, viaUdp.info_hash, viaUdp.event, viaUdp.left, viaUdp.peers],
        ['udp', 'announce', '127.0.0.1', 6882, hash.toString('hex'), 3, 7, 0],
      ); // stopped: no peers handed out
      assert.deepEqual([scrape.proto, scrape.action, scrape.hashes], ['http', 'scrape', 1]);

      // 400 announces pipelined on one connection (one worker) within a second or two: the worker
      // writes at most 100 lines a second and counts the rest as dropped.
      let pipelined = '';
      for (let i = 0; i < 400; i++) pipelined += `GET /announce?info_hash=${percentEncode(hash)}&port=${10000 + i}&left=1 HTTP/1.1\r\nHost: x\r\n\r\n`;
      const r = await rawExchange('127.0.0.1', port, pipelined, { untilResponses: 400, timeoutMs: 30_000 });
      assert.equal(r.responses.length, 400);
      const m = parsePrometheusText((await get('127.0.0.1', port, '/metrics')).body.toString());
      const written = value(m, 'swarmd_log_requests_total');
      const dropped = value(m, 'swarmd_log_requests_dropped_total');
      assert.ok(dropped > 0, 'lines over the cap are dropped and counted');
      assert.equal(written + dropped, 3 + 400, 'every request was sampled: written or dropped');
      await waitUntil(
        () => requests().length === written,
        20_000,
        () => `${requests().length} request lines, ${written} written`,
      );
      const perSecond = new Map<number, number>();
      for (const l of requests().slice(3))
        perSecond.set(Math.floor((l.time as number) / 1000), (perSecond.get(Math.floor((l.time as number) / 1000)) ?? 0) + 1);
      for (const [second, n] of perSecond) assert.ok(n <= 100, `${n} lines in second ${second} from one worker`);
    },
  );
});
