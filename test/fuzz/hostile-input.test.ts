import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestTracker } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { UDP_OUTCOMES, fuzzTracker } from './hostile-input.ts';

test('random and mutated datagrams and requests: no crash, every malformed input counted, valid announces still answered', async () => {
  const tracker = await startTestTracker({
    workers: 2,
    http: { idleTimeout: 2, headerTimeout: 1, maxRequestBytes: 8192, keepAlive: true, maxConnections: 1000 },
  });
  try {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100000);
    const r = await fuzzTracker({ udpPort: tracker.udp4, tcpPort: tracker.tcp4, datagrams: 20_000, requests: 400, seed });
    assert.deepEqual(r.validWrong, [], `seed ${seed}`);
    assert.ok(r.validAnswered >= 40, `${r.validAnswered} valid announces answered`);
    const c = tracker.counters();
    assert.equal(r.httpHung, 0, `every hostile HTTP request is answered or closed on time (seed ${seed}): ${r.httpHungRequests.join('\n')}`);
    assert.equal(
      UDP_OUTCOMES.reduce((n, k) => n + c[k], 0),
      c.udp_received,
      'every datagram received is counted in exactly one outcome',
    );
    assert.ok(c.udp_received >= 0.95 * r.datagrams, `${c.udp_received} of ${r.datagrams} datagrams reached swarmd`);
    assert.ok(c.udp_malformed + c.udp_bad_connection_id + c.udp_bad_connection_id_ignored + c.udp_invalid > 1000, 'malformed datagrams are counted');
    assert.ok(c.http_malformed + c.http_too_large + c.http_invalid + c.http_not_found + c.http_method > 50, 'malformed requests are counted');
    assert.equal(tracker.restarts, 0, 'no worker died');
    assert.equal((await get('127.0.0.1', tracker.tcp4, '/stats?mode=version')).status, 200);
  } finally {
    await tracker.close();
  }
});
