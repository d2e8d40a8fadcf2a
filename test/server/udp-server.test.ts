import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestTracker, infoHash } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { UdpClient, announcePacket, scrapePacket, parseAnnounceReply } from '../helpers/udp-client.ts';
import { nativeUdpStatus } from '../../src/io/udp-socket.ts';

const native = nativeUdpStatus();

for (const io of ['native', 'dgram'] as const) {
  const skip = io === 'native' && !native.available && process.env.CI !== 'true' ? `native UDP I/O unavailable: ${native.reason}` : false;

  describe(`UDP tracker (${io} I/O)`, { skip }, () => {
    let tracker: TestTracker;
    before(async () => {
      tracker = await startTestTracker({ udpIo: io });
      assert.ok(tracker.listening.filter((l) => l.proto === 'udp').every((l) => l.io === (io === 'native' ? 'recvmmsg' : 'dgram')));
    });
    after(() => tracker.close());

    test("connect, then announce: peers find each other, with opentracker's interval", async () => {
      const hash = infoHash(`udp-basic-${io}`);
      const a = await UdpClient.open('127.0.0.1', tracker.udp4);
      const b = await UdpClient.open('127.0.0.1', tracker.udp4);
      try {
        const idA = await a.connect();
        const first = parseAnnounceReply(
          (await a.request(announcePacket({ connectionId: idA, transactionId: 7, infoHash: hash, port: 6881, event: 2 })))!,
          false,
        );
        assert.deepEqual([first.leechers, first.seeders, first.peers], [1, 0, []]);
        assert.ok(first.interval >= 1620 && first.interval <= 1979, `interval ${first.interval}`);
        const idB = await b.connect();
        const reply = (await b.request(announcePacket({ connectionId: idB, transactionId: 8, infoHash: hash, port: 6882, left: 0n })))!;
        assert.equal(reply.readUInt32BE(4), 8, 'transaction id echoed');
        const second = parseAnnounceReply(reply, false);
        assert.deepEqual([second.leechers, second.seeders, second.peers], [1, 1, ['127.0.0.1:6881']]);
      } finally {
        a.close();
        b.close();
      }
    });

    test('a forged connection ID gets an error packet no larger than the request', async () => {
      const c = await UdpClient.open('127.0.0.1', tracker.udp4);
      try {
        const packet = announcePacket({ connectionId: Buffer.from('0123456789abcdef', 'hex'), transactionId: 99, infoHash: infoHash('forged'), port: 1 });
        const r = (await c.request(packet))!;
        assert.equal(r.readUInt32BE(0), 3);
        assert.equal(r.readUInt32BE(4), 99);
        assert.match(r.subarray(8).toString('latin1'), /Connection ID/);
        assert.ok(r.length <= packet.length);
        const scrape = scrapePacket(Buffer.alloc(8), 5, [infoHash('x')]);
        const s = (await c.request(scrape))!;
        assert.equal(s.readUInt32BE(0), 3);
        assert.ok(s.length <= scrape.length, `${s.length} > ${scrape.length}`);
      } finally {
        c.close();
      }
    });

    test('a connection ID is bound to the client address', async () => {
      const a = await UdpClient.open('127.0.0.1', tracker.udp4);
      const other = await UdpClient.open('127.0.0.1', tracker.udp4, '127.0.0.2');
      try {
        const id = await a.connect();
        const r = (await other.request(announcePacket({ connectionId: id, transactionId: 1, infoHash: infoHash('moved'), port: 1 })))!;
        assert.equal(r.readUInt32BE(0), 3);
        const ok = (await a.request(announcePacket({ connectionId: id, transactionId: 2, infoHash: infoHash('moved'), port: 1 })))!;
        assert.equal(ok.readUInt32BE(0), 1);
      } finally {
        a.close();
        other.close();
      }
    });

    test('malformed datagrams are dropped without a reply and counted', async () => {
      const c = await UdpClient.open('127.0.0.1', tracker.udp4);
      try {
        const before = tracker.counters().udp_malformed;
        const bad = [Buffer.alloc(3), Buffer.from('00000417271019800000000500000001', 'hex'), Buffer.alloc(16, 0xff)];
        for (const p of bad) assert.equal(await c.request(p, 300), null);
        const id = await c.connect();
        const shortAnnounce = announcePacket({ connectionId: id, transactionId: 3, infoHash: infoHash('short'), port: 1 }).subarray(0, 90);
        assert.equal(await c.request(shortAnnounce, 300), null);
        assert.equal(tracker.counters().udp_malformed - before, 4);
      } finally {
        c.close();
      }
    });

    test('scrape answers every hash in order, zeros for unknown torrents', async () => {
      const c = await UdpClient.open('127.0.0.1', tracker.udp4);
      try {
        const id = await c.connect();
        const known = infoHash(`scraped-${io}`);
        await c.request(announcePacket({ connectionId: id, transactionId: 1, infoHash: known, port: 7000, left: 0n, event: 1 }));
        const r = (await c.request(scrapePacket(id, 4, [infoHash('nobody'), known])))!;
        assert.equal(r.length, 8 + 2 * 12);
        assert.deepEqual([r.readUInt32BE(0), r.readUInt32BE(4)], [2, 4]);
        assert.deepEqual([r.readUInt32BE(8), r.readUInt32BE(12), r.readUInt32BE(16)], [0, 0, 0]);
        assert.deepEqual([r.readUInt32BE(20), r.readUInt32BE(24), r.readUInt32BE(28)], [1, 1, 0], 'seeders, completed, leechers');
        const max = Array.from({ length: 74 }, (_, i) => infoHash(`m${i}`));
        assert.equal((await c.request(scrapePacket(id, 5, max)))!.length, 8 + 74 * 12);
      } finally {
        c.close();
      }
    });

    test('IPv6 clients get IPv6 peers, 18 bytes each', async () => {
      const hash = infoHash(`v6-${io}`);
      const a = await UdpClient.open('::1', tracker.udp6);
      const b = await UdpClient.open('::1', tracker.udp6);
      try {
        await a.request(announcePacket({ connectionId: await a.connect(), transactionId: 1, infoHash: hash, port: 5001 }));
        const r = parseAnnounceReply(
          (await b.request(announcePacket({ connectionId: await b.connect(), transactionId: 2, infoHash: hash, port: 5002 })))!,
          true,
        );
        assert.deepEqual(r.peers, ['[0:0:0:0:0:0:0:1]:5001']);
        assert.equal(r.leechers, 2);
      } finally {
        a.close();
        b.close();
      }
    });

    test('BEP 41 options after the announce are accepted, even truncated ones', async () => {
      const c = await UdpClient.open('127.0.0.1', tracker.udp4);
      try {
        const id = await c.connect();
        const base = announcePacket({ connectionId: id, transactionId: 1, infoHash: infoHash('bep41'), port: 1234 });
        const url = Buffer.from('/announce?passkey=abc');
        for (const tail of [Buffer.concat([Buffer.from([2, url.length]), url, Buffer.from([1, 0])]), Buffer.from([2, 200, 0x41])]) {
          const r = (await c.request(Buffer.concat([base, tail])))!;
          assert.equal(r.readUInt32BE(0), 1);
        }
      } finally {
        c.close();
      }
    });

    test('numwant is capped at 200, stopped removes the peer', async () => {
      const hash = infoHash(`crowd-${io}`);
      const c = await UdpClient.open('127.0.0.1', tracker.udp4);
      try {
        const id = await c.connect();
        for (let port = 1; port <= 250; port++) {
          await c.request(announcePacket({ connectionId: id, transactionId: port, infoHash: hash, port, numwant: 0 }));
        }
        const all = parseAnnounceReply(
          (await c.request(announcePacket({ connectionId: id, transactionId: 1, infoHash: hash, port: 999, numwant: 1000 })))!,
          false,
        );
        assert.equal(all.peers.length, 200);
        assert.equal(new Set(all.peers).size, 200);
        const stop = parseAnnounceReply((await c.request(announcePacket({ connectionId: id, transactionId: 2, infoHash: hash, port: 999, event: 3 })))!, false);
        assert.deepEqual([stop.leechers, stop.peers.length], [250, 0]);
      } finally {
        c.close();
      }
    });
  });
}
