// The overload signal in a running tracker: a worker made slow on purpose (a helper thread holds the
// store lock of the stripe its announces need, stalling its event loop) answers with a longer
// interval on every protocol it serves, adds BEP 31's retry in to HTTP failures, and moves its
// counters; when the stall ends it goes back to the configured interval.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { UdpClient, announcePacket, parseAnnounceReply } from '../helpers/udp-client.ts';
import { get } from '../helpers/http-client.ts';
import { infoHash, percentEncode, startTestTracker } from '../helpers/tracker.ts';
import { defaultConfig } from '../../src/config/config.ts';
import { decode } from '../../src/protocol/bencode.ts';

const HEADER_WORDS = 16; // src/store/swarm-store.ts: header words, then 16 per stripe, the lock first
const STRIPE_WORDS = 16;

async function udpInterval(client: UdpClient, hash: Buffer): Promise<number> {
  const id = await client.connect();
  const r = await client.request(announcePacket({ connectionId: id, transactionId: 5, infoHash: hash, port: 6881 }), 5000);
  assert.ok(r !== null);
  return parseAnnounceReply(r, false).interval;
}

async function httpInterval(port: number, hash: Buffer): Promise<number> {
  const r = await get('127.0.0.1', port, `/announce?info_hash=${percentEncode(hash)}&port=6881`);
  return (decode(r.body) as Map<string, unknown>).get('interval') as number;
}

test('a slow worker stretches its interval, says retry in, and recovers', { timeout: 90_000 }, async () => {
  const tracker = await startTestTracker({
    workers: 1,
    interval: 1800,
    intervalVariation: 0,
    limits: { ...defaultConfig().limits, overloadDelay: 50, overloadMaxFactor: 4 },
  });
  const client = await UdpClient.open('127.0.0.1', tracker.udp4);
  const calm = infoHash('calm stripe');
  try {
    assert.equal(await udpInterval(client, calm), 1800);
    assert.equal(await httpInterval(tracker.tcp4, calm), 1800);
    // stall: hold the lock of a hash's stripe 150 ms of every 200, and announce that hash meanwhile
    const slow = Buffer.from(infoHash('slow stripe'));
    slow[0] = calm[0] ^ 0x80; // another stripe than the calm hash's
    const stop = new SharedArrayBuffer(4);
    const word = HEADER_WORDS + ((slow[0] << 4) | (slow[1] >> 4)) * STRIPE_WORDS;
    const locker = new Worker(new URL('./stripe-locker.ts', import.meta.url), {
      workerData: { stripes: tracker.store.shared.stripes, word, holdMs: 150, periodMs: 200, stop },
    });
    const deadline = Date.now() + 20_000;
    let stretched = 0;
    while (Date.now() < deadline) {
      const slowClient = await UdpClient.open('127.0.0.1', tracker.udp4);
      const id = await slowClient.connect();
      for (let i = 0; i < 5; i++)
        slowClient.socket.send(announcePacket({ connectionId: id, transactionId: 10 + i, infoHash: slow, port: 7000 + i }), tracker.udp4, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 300));
      slowClient.close();
      stretched = await udpInterval(client, calm);
      if (stretched > 1800) break;
    }
    assert.ok(stretched >= 3600 && stretched <= 4 * 1800, `interval ${stretched}`);
    // every protocol, through the shared policy; HTTP failures say when to come back
    assert.ok((await httpInterval(tracker.tcp4, calm)) >= 3600);
    const failure = await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(calm)}`);
    const body = decode(failure.body) as Map<string, unknown>;
    assert.equal(Buffer.from(body.get('failure reason') as Uint8Array).toString(), 'missing port');
    assert.ok((body.get('retry in') as number) >= 60, String(body.get('retry in')));
    assert.ok(tracker.counters().overload_episodes >= 1);
    const metrics = (await get('127.0.0.1', tracker.tcp4, '/metrics')).body.toString();
    assert.match(metrics, /swarmd_overload_factor\{thread="[^"]+"\} [2-4]/);
    Atomics.store(new Int32Array(stop), 0, 1);
    Atomics.notify(new Int32Array(stop), 0);
    await locker.terminate();
    // back to normal once the delay window has passed and the calm samples are in
    let interval = stretched;
    const back = Date.now() + 40_000;
    while (interval !== 1800 && Date.now() < back) {
      await new Promise((r) => setTimeout(r, 1000));
      interval = await udpInterval(client, calm);
    }
    assert.equal(interval, 1800);
    const failure2 = decode((await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(calm)}`)).body) as Map<string, unknown>;
    assert.equal(failure2.get('retry in'), undefined);
  } finally {
    client.close();
    await tracker.close();
  }
});
