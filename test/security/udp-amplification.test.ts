// No amplification: to an address that has not connected (a spoofed source, say), no UDP reply
// is larger than the datagram that caused it, whatever that datagram holds.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { UdpClient } from '../helpers/udp-client.ts';
import { hostileDatagram, rng } from '../fuzz/hostile-input.ts';

let tracker: TestTracker;
before(async () => {
  tracker = await startTestTracker({ workers: 2 });
});
after(() => tracker.close());

test('a UDP reply to an address that never connected is never larger than its request', { timeout: 60_000 }, async () => {
  // A real client connects from 127.0.0.1; its connection ID is then replayed from 127.0.0.2,
  // as by someone who spoofs a victim's address, along with random and mutated datagrams.
  const client = await UdpClient.open('127.0.0.1', tracker.udp4);
  const stolenId = await client.connect();
  client.close();
  const victim = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => victim.bind(0, '127.0.0.2', resolve));
  const sizes = new Map<number, number>(); // transaction ID -> request size
  const oversized: string[] = [];
  let replies = 0;
  let lastTid = -1;
  let connected: () => void = () => {};
  const connectAnswered = new Promise<void>((resolve) => (connected = resolve));
  victim.on('message', (m) => {
    replies++;
    if (m.length === 16 && m.readUInt32BE(0) === 0 && m.readUInt32BE(4) === lastTid) connected();
    const tid = m.length >= 8 ? m.readUInt32BE(4) : -1;
    const asked = sizes.get(tid);
    if (asked === undefined || m.length > asked) oversized.push(`reply of ${m.length} bytes to tid ${tid} (request ${asked ?? 'unknown'} bytes)`);
  });
  const r = rng(Number(process.env.FUZZ_SEED ?? 4242));
  let tid = 1;
  for (let i = 0; i < 5000; i++) {
    const d = hostileDatagram(r, stolenId);
    if (d.length >= 16) d.writeUInt32BE(tid, 12); // every reply names its request
    sizes.set(tid++, d.length);
    victim.send(d, tracker.udp4, '127.0.0.1');
    if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // A connect is always answered, with exactly as many bytes as it has.
  const connect = Buffer.alloc(16);
  connect.writeBigUInt64BE(0x41727101980n, 0);
  connect.writeUInt32BE(tid, 12);
  sizes.set(tid, 16);
  lastTid = tid;
  victim.send(connect, tracker.udp4, '127.0.0.1');
  // One socket's datagrams go to one worker, which answers them in order: the last one's answer
  // comes after every other answer.
  await connectAnswered;
  victim.close();
  assert.deepEqual(oversized.slice(0, 5), []);
  assert.ok(replies > 100, `${replies} replies checked`);
});
