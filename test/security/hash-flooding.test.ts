// Hash flooding: info hashes chosen to pile up in the store (one stripe, since the top 12 bits
// pick it, and hashes equal but for their last bytes, the best an attacker can do without the
// SipHash key that picks the home slot). Checked as behaviour: every such announce is answered and
// stored, and under a secret key their home slots spread over a stripe's table as random hashes'
// do, so the linear probes stay as short. How fast they announce next to random hashes is
// `npm run bench`'s timings row.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { UdpClient, announcePacket } from '../helpers/udp-client.ts';
import { hashInfoHash } from '../../src/protocol/siphash.ts';

const TORRENTS = 20_000;
const WINDOW = 100;

let tracker: TestTracker;
before(async () => {
  tracker = await startTestTracker({ workers: 1 });
});
after(() => tracker.close());

/** `n` hashes that share their first 16 bytes (one stripe), as a flood would send them. */
function colliding(n: number): Buffer[] {
  const prefix = randomBytes(16);
  return Array.from({ length: n }, (_, i) => {
    const h = Buffer.alloc(20);
    prefix.copy(h);
    h.writeUInt32BE(i, 16);
    return h;
  });
}

/** Announces once on every hash, WINDOW at a time; every announce must be answered. */
async function announceAll(hashes: Buffer[]): Promise<void> {
  const c = await UdpClient.open('127.0.0.1', tracker.udp4);
  try {
    const cid = await c.connect();
    for (let i = 0; i < hashes.length; i += WINDOW) {
      const batch = hashes.slice(i, i + WINDOW);
      const replies = new Promise<number>((resolve) => {
        let got = 0;
        const timer = setTimeout(() => done(), 10_000);
        const onMessage = (m: Buffer) => {
          if (m.readUInt32BE(0) === 1 && ++got === batch.length) done();
        };
        const done = () => {
          clearTimeout(timer);
          c.socket.off('message', onMessage);
          resolve(got);
        };
        c.socket.on('message', onMessage);
      });
      for (const h of batch)
        c.socket.send(announcePacket({ connectionId: cid, transactionId: c.nextTransactionId(), infoHash: h, port: 6881 }), tracker.udp4, '127.0.0.1');
      assert.equal(await replies, batch.length, 'every announce is answered');
    }
  } finally {
    c.close();
  }
}

/** The longest linear probe when `hashes` are put into a table of `slots` by their keyed home slot (as the store does). */
function longestProbe(hashes: Buffer[], k0: number, k1: number, slots: number): number {
  const used = new Uint8Array(slots);
  let longest = 0;
  for (const h of hashes) {
    let i = Math.floor(((hashInfoHash(k0, k1, h, 0) >>> 0) * slots) / 4294967296);
    let probe = 0;
    while (used[i]) {
      i = (i + 1) % slots;
      probe++;
    }
    used[i] = 1;
    longest = Math.max(longest, probe);
  }
  return longest;
}

test('hashes built to collide in one stripe are all answered and stored', { timeout: 120_000 }, async () => {
  await announceAll(Array.from({ length: TORRENTS }, () => randomBytes(20)));
  await announceAll(colliding(TORRENTS));
  assert.equal(tracker.totals().torrents, 2 * TORRENTS);
  assert.equal(tracker.counters().udp_announce, 2 * TORRENTS);
});

test('under a secret key, colliding hashes spread over the table as random ones do', () => {
  // Half full, as a stripe's table may be before it grows: random hashes probe a few dozen slots at most.
  const slots = 2 * TORRENTS;
  for (let round = 0; round < 5; round++) {
    const [k0, k1] = [randomInt(2 ** 31), randomInt(2 ** 31)];
    const flood = longestProbe(colliding(TORRENTS), k0, k1, slots);
    const random = longestProbe(
      Array.from({ length: TORRENTS }, () => randomBytes(20)),
      k0,
      k1,
      slots,
    );
    assert.ok(flood <= 4 * random + 20, `round ${round}: longest probe ${flood} for colliding hashes, ${random} for random ones`);
  }
});
