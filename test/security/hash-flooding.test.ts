// Hash flooding: info hashes chosen to pile up in the store (one stripe, since the top 12 bits
// pick it, and hashes equal but for their last bytes, the best an attacker can do without the
// SipHash key that picks the home slot) must not make announces slower than random hashes do.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { UdpClient, announcePacket } from '../helpers/udp-client.ts';

const TORRENTS = 20_000;
const WINDOW = 100;

let tracker: TestTracker;
before(async () => {
  tracker = await startTestTracker({ workers: 1 });
});
after(() => tracker.close());

/** Announces once on every hash (WINDOW at a time), twice over: creating the torrents, then finding them. Returns ms per announce of the second pass. */
async function announceAll(hashes: Buffer[]): Promise<number> {
  const c = await UdpClient.open('127.0.0.1', tracker.udp4);
  try {
    const cid = await c.connect();
    let ms = 0;
    for (let pass = 0; pass < 2; pass++) {
      const started = performance.now();
      for (let i = 0; i < hashes.length; i += WINDOW) {
        const batch = hashes.slice(i, i + WINDOW);
        const replies = new Promise<number>((resolve) => {
          let got = 0;
          const timer = setTimeout(() => done(), 5000);
          const onMessage = () => {
            if (++got === batch.length) done();
          };
          const done = () => {
            clearTimeout(timer);
            c.socket.off('message', onMessage);
            resolve(got);
          };
          c.socket.on('message', onMessage);
        });
        for (const h of batch) c.socket.send(announcePacket({ connectionId: cid, transactionId: c.nextTransactionId(), infoHash: h, port: 6881 }), tracker.udp4, '127.0.0.1');
        assert.equal(await replies, batch.length, 'every announce is answered');
      }
      ms = (performance.now() - started) / hashes.length;
    }
    return ms;
  } finally {
    c.close();
  }
}

test('hashes built to collide in one stripe announce as fast as random ones', { timeout: 120_000 }, async (t) => {
  const prefix = randomBytes(16);
  const colliding = Array.from({ length: TORRENTS }, (_, i) => {
    const h = Buffer.alloc(20);
    prefix.copy(h);
    h.writeUInt32BE(i, 16);
    return h;
  });
  const random = Array.from({ length: TORRENTS }, () => randomBytes(20));
  const randomMs = await announceAll(random);
  const collidingMs = await announceAll(colliding);
  assert.equal(tracker.totals().torrents, 2 * TORRENTS);
  t.diagnostic(`ms per announce: colliding ${collidingMs.toFixed(4)}, random ${randomMs.toFixed(4)}`);
  // generous: the machine is shared; a flood that worked would be orders of magnitude slower
  assert.ok(collidingMs < 3 * randomMs + 0.05, `colliding ${collidingMs.toFixed(4)} ms per announce, random ${randomMs.toFixed(4)} ms`);
});
