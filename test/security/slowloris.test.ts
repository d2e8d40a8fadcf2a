// Slowloris: connections that trickle a request head a byte at a time are closed when the head
// timeout runs out (the trickle does not restart it), and while they hang on, others are served.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestTracker, infoHash, percentEncode } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';

let tracker: TestTracker;
before(async () => {
  tracker = await startTestTracker({ workers: 2, http: { idleTimeout: 2, headerTimeout: 1, maxRequestBytes: 8192, keepAlive: true, maxConnections: 1000 } });
});
after(() => tracker.close());

/** Opens a connection that sends one byte of a request head every `everyMs`; resolves with how long it lasted and whether swarmd closed it. */
function trickle(everyMs: number): Promise<{ ms: number; closedByServer: boolean }> {
  return new Promise((resolve) => {
    // A well-formed head that never ends (one long header, well under http.max_request_size):
    // only the head timeout can close it before the 30 s give-up.
    const head = Buffer.from(`GET /announce?info_hash=${'%41'.repeat(20)}&port=1&left=0 HTTP/1.1\r\nHost: x\r\nX-Trickle: ${'a'.repeat(2000)}`);
    const started = Date.now();
    const s = net.connect({ host: '127.0.0.1', port: tracker.tcp4 });
    let i = 0;
    const timer = setInterval(() => {
      if (i < head.length) s.write(head.subarray(i, ++i));
    }, everyMs);
    const done = (closedByServer: boolean) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      s.destroy();
      resolve({ ms: Date.now() - started, closedByServer });
    };
    s.on('close', () => done(true));
    s.on('error', () => done(true)); // a reset
    const giveUp = setTimeout(() => done(false), 30_000); // 30 times the head timeout
  });
}

test('connections trickling a head byte by byte are closed on time while others are served', { timeout: 60_000 }, async () => {
  const before = tracker.counters().http_timeouts;
  const slow = Array.from({ length: 50 }, () => trickle(100));
  const announce = `/announce?info_hash=${percentEncode(infoHash('slowloris'))}&peer_id=-SL0001-000000000000&port=7001&left=0&compact=1`;
  for (let i = 0; i < 5; i++) {
    const r = await get('127.0.0.1', tracker.tcp4, announce);
    assert.equal(r.status, 200);
    assert.match(r.body.toString('latin1'), /8:intervali/);
  }
  const kept = await Promise.all(slow);
  assert.ok(
    kept.every((k) => k.closedByServer),
    `${kept.filter((k) => !k.closedByServer).length} trickling connections were never closed`,
  );
  const ms = kept.map((k) => k.ms);
  assert.ok(
    ms.every((m) => m >= 800 && m < 10_000),
    `kept for ${Math.min(...ms)}–${Math.max(...ms)} ms with a 1 s head timeout`,
  );
  assert.ok(tracker.counters().http_timeouts - before >= 50, 'each is counted as a timeout');
});
