// A public tracker's defences against a running tracker, over real sockets on loopback addresses
// (127.0.0.0/8 gives each client its own source): per-source budgets for UDP (no answer) and HTTP
// (429 with Retry-After), the bad-connection-ID ban with a client that reuses one expired ID and
// recovers, and the counters, /stats?mode=flooders and /metrics lines they move.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { UdpClient, announcePacket, parseAnnounceReply } from '../helpers/udp-client.ts';
import { infoHash, percentEncode, startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { defaultConfig } from '../../src/config/config.ts';

/** GET from a chosen local address (node:http, no keep-alive). */
function getFrom(localAddress: string, port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
}

const connectPacket = (tid: number) => {
  const p = Buffer.alloc(16);
  p.writeUInt32BE(0x417, 0);
  p.writeUInt32BE(0x27101980, 4);
  p.writeUInt32BE(0, 8);
  p.writeUInt32BE(tid, 12);
  return p;
};

/** Sends `n` packets at once and counts the replies that come within `ms`. */
async function burst(client: UdpClient, packets: Buffer[], port: number, host: string, ms = 500): Promise<number> {
  let replies = 0;
  const onMessage = () => replies++;
  client.socket.on('message', onMessage);
  for (const p of packets) client.socket.send(p, port, host);
  await new Promise((r) => setTimeout(r, ms));
  client.socket.off('message', onMessage);
  return replies;
}

describe('public tracker defences', () => {
  let tracker: TestTracker;
  before(async () => {
    tracker = await startTestTracker({
      limits: { ...defaultConfig().limits, udpPerSource: 2, httpPerSource: 2, burst: 9, badConnectionIds: 3, badConnectionIdBan: 600 },
    });
  });
  after(() => tracker.close());

  test('UDP: a flooding source gets its budget and no more; another source is answered', async () => {
    const flooder = await UdpClient.open('127.0.0.1', tracker.udp4, '127.0.0.11');
    const other = await UdpClient.open('127.0.0.1', tracker.udp4, '127.0.0.12');
    const before = tracker.counters().udp_flood_dropped;
    const answered = await burst(
      flooder,
      Array.from({ length: 200 }, (_, i) => connectPacket(i + 1)),
      tracker.udp4,
      '127.0.0.1',
    );
    // burst 9: ten at once, and perhaps one more as the budget refills (2 a second)
    assert.ok(answered >= 10 && answered <= 12, String(answered));
    assert.ok(tracker.counters().udp_flood_dropped - before >= 188);
    // the other source is answered, announce included
    const id = await other.connect();
    const r = await other.request(announcePacket({ connectionId: id, transactionId: 9, infoHash: infoHash('udp-flood-other'), port: 6881 }));
    assert.ok(r !== null);
    assert.equal(parseAnnounceReply(r, false).leechers, 1);
    flooder.close();
    other.close();
  });

  test('HTTP: over budget, 429 with Retry-After before the request is parsed; another source is answered', async () => {
    const path = `/announce?info_hash=${percentEncode(infoHash('http-flood'))}&port=6881`;
    const statuses: number[] = [];
    let retryAfter = '';
    for (let i = 0; i < 15; i++) {
      const r = await getFrom('127.0.0.21', tracker.tcp4, i % 2 === 0 ? path : '/announce?junk');
      statuses.push(r.status);
      if (r.status === 429) retryAfter = String(r.headers['retry-after']);
    }
    assert.ok(
      statuses.slice(0, 10).every((s) => s === 200),
      statuses.join(' '),
    );
    assert.ok(
      statuses.slice(11).every((s) => s === 429),
      statuses.join(' '),
    );
    assert.equal(retryAfter, '1');
    assert.ok(tracker.counters().http_flood_refused >= 4);
    const other = await getFrom('127.0.0.22', tracker.tcp4, path);
    assert.equal(other.status, 200);
    // the flooders are listed (from this source and the UDP one), and in /metrics
    const stats = await getFrom('127.0.0.23', tracker.tcp4, '/stats?mode=flooders');
    assert.match(stats.body.toString(), /127\.0\.0\.21/);
    const metrics = (await getFrom('127.0.0.24', tracker.tcp4, '/metrics')).body.toString();
    assert.match(metrics, /swarmd_flood_top_source_refused\{source="127\.0\.0\.21"\} \d+/);
    assert.match(metrics, /swarmd_flood_refused_total\{protocol="http"\} [1-9]/);
    assert.match(metrics, /swarmd_flood_refused_total\{protocol="udp"\} [1-9]/);
  });

  test('bad connection IDs: one expired ID is answered and the client recovers; a source that keeps at it is ignored', async () => {
    const stale = Buffer.from('0123456789abcdef', 'hex');
    const client = await UdpClient.open('127.0.0.1', tracker.udp4, '127.0.0.31');
    // a client reusing an expired ID gets the error packet, reconnects, and is answered
    const err = await client.request(announcePacket({ connectionId: stale, transactionId: 77, infoHash: infoHash('bad-id'), port: 6881 }));
    assert.ok(err !== null);
    assert.equal(err.readUInt32BE(0), 3);
    assert.equal(err.readUInt32BE(4), 77);
    const id = await client.connect();
    const ok = await client.request(announcePacket({ connectionId: id, transactionId: 78, infoHash: infoHash('bad-id'), port: 6881 }));
    assert.ok(ok !== null && ok.readUInt32BE(0) === 1);
    client.close();
    // a source that keeps sending bad IDs: three error packets, then silence
    const before = tracker.counters();
    const hostile = await UdpClient.open('127.0.0.1', tracker.udp4, '127.0.0.32');
    const packets = Array.from({ length: 10 }, (_, i) =>
      announcePacket({ connectionId: stale, transactionId: 100 + i, infoHash: infoHash('bad-id'), port: 6881 }),
    );
    let replies = 0;
    for (const p of packets) if ((await hostile.request(p, 200)) !== null) replies++;
    assert.equal(replies, 3);
    const after = tracker.counters();
    assert.equal(after.udp_bad_connection_id_ignored - before.udp_bad_connection_id_ignored, 7);
    assert.equal(after.udp_bad_connection_id_bans - before.udp_bad_connection_id_bans, 1);
    assert.equal(after.udp_bad_connection_id - before.udp_bad_connection_id, 3);
    // while ignored, it can still connect and announce with a valid ID: it recovers
    const fresh = await hostile.connect();
    const r = await hostile.request(announcePacket({ connectionId: fresh, transactionId: 200, infoHash: infoHash('bad-id'), port: 6882 }));
    assert.ok(r !== null && r.readUInt32BE(0) === 1);
    hostile.close();
    const metrics = (await getFrom('127.0.0.33', tracker.tcp4, '/metrics')).body.toString();
    assert.match(metrics, /swarmd_udp_bad_connection_id_bans_total [1-9]/);
    assert.match(metrics, /swarmd_udp_bad_connection_ids_total\{outcome="ignored"\} [1-9]/);
  });

  test('lenient parameters are counted by name', async () => {
    const before = tracker.counters();
    const r = await getFrom('127.0.0.41', tracker.tcp4, `/announce?info_hash=${percentEncode(infoHash('lenient'))}&port=6881&ipv6=None&uploaded=abc&left=-1`);
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.body.toString('latin1'), /failure reason/);
    const after = tracker.counters();
    assert.equal(after.http_lenient_ip - before.http_lenient_ip, 1);
    assert.equal(after.http_lenient_uploaded - before.http_lenient_uploaded, 1);
    assert.equal(after.http_lenient_left - before.http_lenient_left, 1);
    const metrics = (await getFrom('127.0.0.42', tracker.tcp4, '/metrics')).body.toString();
    assert.match(metrics, /swarmd_lenient_parameters_total\{parameter="ip"\} [1-9]/);
  });
});
