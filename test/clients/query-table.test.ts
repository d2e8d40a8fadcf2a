// Query strings as real clients and tracker-list checkers send them (test/helpers/client-queries.ts),
// sent over a real socket to a running tracker: every one gets a 200 with a bencoded answer and no
// failure reason, with tracker.ip_from_query off (the default) and on.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../src/protocol/bencode.ts';
import { get } from '../helpers/http-client.ts';
import { infoHash, startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { CLIENT_QUERIES } from '../helpers/client-queries.ts';

for (const ipFromQuery of [false, true]) {
  describe(`real client queries over HTTP, ip_from_query ${ipFromQuery ? 'on' : 'off'}`, () => {
    let tracker: TestTracker;
    before(async () => {
      tracker = await startTestTracker({ ipFromQuery });
    });
    after(() => tracker.close());

    test('none is refused', async () => {
      for (const [i, c] of CLIENT_QUERIES.entries()) {
        const hash = infoHash(`table-${i}`);
        const peerId = Buffer.from(`-QT0001-${String(i).padStart(12, '0')}`);
        for (const host of ['127.0.0.1', '::1']) {
          const port = host === '::1' ? tracker.tcp6 : tracker.tcp4;
          const r = await get(host, port, `/announce?${c.build(hash, peerId, 40000 + i)}`);
          assert.equal(r.status, 200, c.client);
          const body = decode(r.body) as Map<string, unknown>;
          assert.equal(body.get('failure reason'), undefined, `${c.client}: ${String(body.get('failure reason'))}`);
          assert.equal(typeof body.get('interval'), 'number', c.client);
          assert.ok(body.has('peers') || body.has('peers6') || body.get('complete') !== undefined, c.client);
        }
      }
    });
  });
}
