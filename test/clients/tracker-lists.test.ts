// What public tracker lists check before listing a tracker (newTrackon, behind ngosang/trackerslist:
// scraper.py's announce_udp and announce_http), done the same way against a running tracker in its
// default, open configuration, over IPv4 and IPv6: a UDP connect and an announce with event=started,
// left=0 and num_want=-1, answered from the exact address and port asked; an HTTP announce with
// compact=1 (and ipv6=None, as a host without IPv6 sends it) answered with 200, no redirect, a
// bencoded body under 1 MB with peers or peers6 and an interval between 300 and 10,800 s. Hashes are
// random (unknown to the tracker). BEP 24's external ip, when turned on, is the checker's address.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import { get } from '../helpers/http-client.ts';
import { startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { CLIENT_QUERIES } from '../helpers/client-queries.ts';
import { decode } from '../../src/protocol/bencode.ts';

const NEWTRACKON = CLIENT_QUERIES.find((c) => c.client.includes('ipv6=None'))!;

/** One request, one reply, and where the reply came from. */
function exchange(socket: dgram.Socket, packet: Buffer, host: string, port: number): Promise<{ msg: Buffer; from: dgram.RemoteInfo }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('UDP timeout')), 5000);
    socket.once('message', (msg, from) => {
      clearTimeout(timer);
      resolve({ msg, from });
    });
    socket.send(packet, port, host);
  });
}

async function checkUdp(host: string, port: number): Promise<void> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((r) => socket.bind(0, host, r));
  try {
    const tid = randomInt(256);
    const connect = Buffer.alloc(16);
    connect.writeBigUInt64BE(0x41727101980n, 0);
    connect.writeUInt32BE(tid, 12);
    const c = await exchange(socket, connect, host, port);
    assert.equal(c.from.address, host);
    assert.equal(c.from.port, port);
    assert.equal(c.msg.length, 16);
    assert.equal(c.msg.readUInt32BE(0), 0);
    assert.equal(c.msg.readUInt32BE(4), tid);
    const hash = randomBytes(20);
    const a = Buffer.alloc(98);
    c.msg.copy(a, 0, 8, 16);
    a.writeUInt32BE(1, 8);
    a.writeUInt32BE(tid + 1, 12);
    hash.copy(a, 16);
    hash.copy(a, 36); // newTrackon sends the hash as its peer id too
    a.writeUInt32BE(2, 80); // started; downloaded, left, uploaded, ip 0
    a.writeInt32BE(randomInt(256), 88);
    a.writeInt32BE(-1, 92);
    a.writeUInt16BE(0x76fd, 96);
    const r = await exchange(socket, a, host, port);
    assert.equal(r.from.address, host);
    assert.equal(r.from.port, port);
    assert.ok(r.msg.length >= 20);
    assert.equal(r.msg.readUInt32BE(0), 1);
    assert.equal(r.msg.readUInt32BE(4), tid + 1);
    const interval = r.msg.readUInt32BE(8);
    assert.ok(interval >= 300 && interval <= 10800, String(interval));
    assert.equal(r.msg.readUInt32BE(16), 1); // the checker itself, as a seeder (left=0)
  } finally {
    socket.close();
  }
}

async function checkHttp(host: string, port: number): Promise<Map<string, unknown>> {
  const hash = randomBytes(20);
  const r = await get(
    host,
    port,
    `/announce?${NEWTRACKON.build(hash, Buffer.from('-qB4390-' + randomBytes(6).toString('hex')), 6881)}`,
    'User-Agent: qBittorrent/4.3.9\r\nAccept-Encoding: gzip\r\n',
  );
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('location'), undefined);
  assert.ok(r.body.length > 0 && r.body.length < 1024 * 1024);
  const body = decode(r.body) as Map<string, unknown>;
  assert.equal(body.get('failure reason'), undefined);
  assert.ok(body.has('peers') || body.has('peers6'));
  const interval = body.get('interval') as number;
  assert.ok(interval >= 300 && interval <= 10800, String(interval));
  return body;
}

describe('what tracker lists check', () => {
  let tracker: TestTracker;
  before(async () => {
    tracker = await startTestTracker();
  });
  after(() => tracker.close());

  test('UDP over IPv4 and IPv6: connect, then announce started/left=0/num_want=-1, from the address asked', async () => {
    await checkUdp('127.0.0.1', tracker.udp4);
    await checkUdp('::1', tracker.udp6);
  });

  test('HTTP over IPv4 and IPv6: compact=1, 200, no redirect, bencoded under 1 MB, peers, interval', async () => {
    const v4 = await checkHttp('127.0.0.1', tracker.tcp4);
    const v6 = await checkHttp('::1', tracker.tcp6);
    assert.equal(v4.get('external ip'), undefined); // off by default
    assert.equal(v6.get('external ip'), undefined);
  });
});

test('BEP 24: http.external_ip puts the address the tracker saw in announce answers', async () => {
  const tracker = await startTestTracker({ externalIp: true });
  try {
    const v4 = await checkHttp('127.0.0.1', tracker.tcp4);
    assert.deepEqual([...(v4.get('external ip') as Uint8Array)], [127, 0, 0, 1]);
    const v6 = await checkHttp('::1', tracker.tcp6);
    assert.deepEqual([...(v6.get('external ip') as Uint8Array)], [...Buffer.from('00000000000000000000000000000001', 'hex')]);
  } finally {
    await tracker.close();
  }
});
