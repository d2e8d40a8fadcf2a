import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestTracker, infoHash, percentEncode } from './helpers/tracker.ts';
import { get } from './helpers/http-client.ts';
import { UdpClient, announcePacket, parseAnnounceReply } from './helpers/udp-client.ts';
import { decode } from '../src/protocol/bencode.ts';

test('HTTP and UDP clients on different workers share one swarm', async () => {
  const tracker = await startTestTracker({ workers: 2 });
  try {
    const hash = infoHash('shared-swarm');
    const udp = await UdpClient.open('127.0.0.1', tracker.udp4);
    await udp.request(announcePacket({ connectionId: await udp.connect(), transactionId: 1, infoHash: hash, port: 4001 }));
    udp.close();
    for (let i = 0; i < 8; i++) {
      // New connections land on either worker (SO_REUSEPORT); each one sees the UDP peer.
      const r = await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(hash)}&port=${5000 + i}&left=1`);
      const d = decode(r.body) as Map<string, unknown>;
      assert.equal(d.get('incomplete'), 2 + i);
    }
    assert.deepEqual(tracker.totals().peers4, 9);
  } finally {
    await tracker.close();
  }
});

test('a worker that dies is restarted, and the swarm survives it', async () => {
  const tracker = await startTestTracker({ workers: 2 });
  try {
    const hash = infoHash('survivor');
    const c = await UdpClient.open('127.0.0.1', tracker.udp4);
    const id = await c.connect();
    await c.request(announcePacket({ connectionId: id, transactionId: 1, infoHash: hash, port: 4001 }));
    await tracker.terminateWorker(0);
    await tracker.terminateWorker(1);
    const deadline = Date.now() + 10_000;
    let reply: Buffer | null = null;
    while (reply === null && Date.now() < deadline) reply = await c.request(announcePacket({ connectionId: id, transactionId: 2, infoHash: hash, port: 4002 }), 300);
    assert.ok(reply, 'answered again after the restart');
    assert.deepEqual(parseAnnounceReply(reply, false).peers, ['127.0.0.1:4001']);
    assert.equal(tracker.restarts, 2);
    c.close();
  } finally {
    await tracker.close();
  }
});
