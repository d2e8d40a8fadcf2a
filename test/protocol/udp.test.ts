import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  ACTION_SCRAPE,
  DROP_BAD_MAGIC,
  DROP_SCRAPE_NO_HASH,
  DROP_SCRAPE_PARTIAL_HASH,
  DROP_SCRAPE_TOO_MANY,
  DROP_SHORT_ANNOUNCE,
  DROP_TOO_SHORT,
  DROP_UNKNOWN_ACTION,
  UDP_DROP_NAMES,
  UdpRequest,
  parseUdpRequest,
  writeAnnounceReplyHeader,
  writeConnectReply,
  writeErrorReply,
  writeScrapeEntry,
  writeScrapeReplyHeader,
} from '../../src/protocol/udp.ts';

const SLOT = 2048;
const req = new UdpRequest();

function connect(tid: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(0x41727101980n, 0);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(tid, 12);
  return b;
}

interface Ann {
  cid?: bigint;
  tid?: number;
  hash?: Buffer;
  peer?: Buffer;
  downloaded?: bigint;
  left?: bigint;
  uploaded?: bigint;
  event?: number;
  ip?: number;
  key?: number;
  numwant?: number;
  port?: number;
  options?: Buffer;
}
function announce(a: Ann = {}): Buffer {
  const b = Buffer.alloc(98);
  b.writeBigUInt64BE(a.cid ?? 0x1122334455667788n, 0);
  b.writeUInt32BE(1, 8);
  b.writeUInt32BE(a.tid ?? 0xdeadbeef, 12);
  (a.hash ?? Buffer.alloc(20, 0xaa)).copy(b, 16);
  (a.peer ?? Buffer.alloc(20, 0xbb)).copy(b, 36);
  b.writeBigUInt64BE(a.downloaded ?? 1n, 56);
  b.writeBigUInt64BE(a.left ?? 2n, 64);
  b.writeBigUInt64BE(a.uploaded ?? 3n, 72);
  b.writeUInt32BE(a.event ?? 2, 80);
  b.writeUInt32BE(a.ip ?? 0, 84);
  b.writeUInt32BE(a.key ?? 0x12345678, 88);
  b.writeInt32BE(a.numwant ?? -1, 92);
  b.writeUInt16BE(a.port ?? 6881, 96);
  return a.options ? Buffer.concat([b, a.options]) : b;
}

function scrape(n: number, extra = 0): Buffer {
  const b = Buffer.alloc(16 + 20 * n + extra);
  b.writeBigUInt64BE(0x99n, 0);
  b.writeUInt32BE(2, 8);
  b.writeUInt32BE(7, 12);
  for (let i = 0; i < n; i++) b.fill(i + 1, 16 + 20 * i, 36 + 20 * i);
  return b;
}

/** Places a datagram at slot i of a batch buffer (garbage around it) and parses it there. */
function parseAt(d: Buffer, slot = 3): number {
  const batch = Buffer.alloc(SLOT * 5, 0xee);
  d.copy(batch, slot * SLOT);
  return parseUdpRequest(batch, slot * SLOT, d.length, req);
}

test('connect', () => {
  assert.equal(parseAt(connect(0xcafebabe)), 0);
  assert.equal(req.action, ACTION_CONNECT);
  assert.equal(req.transactionId >>> 0, 0xcafebabe);
  assert.equal(req.transactionId, req.transactionId | 0, 'an int32');
  const bad = connect(1);
  bad[7] ^= 1;
  assert.equal(parseAt(bad), DROP_BAD_MAGIC);
  assert.equal(parseAt(connect(1).subarray(0, 15)), DROP_TOO_SHORT);
  assert.equal(parseAt(Buffer.concat([connect(5), Buffer.alloc(10)])), 0); // padding is fine
});

test('announce fields', () => {
  const hash = Buffer.alloc(20, 0x42);
  const d = announce({
    tid: 99,
    hash,
    downloaded: 2n ** 40n,
    left: 0n,
    uploaded: 2n ** 64n - 1n,
    event: 3,
    ip: 0xc0a80001,
    key: 0xffffffff,
    numwant: 50,
    port: 65535,
  });
  assert.equal(parseAt(d, 2), 0);
  assert.equal(req.action, ACTION_ANNOUNCE);
  assert.equal(req.transactionId, 99);
  assert.equal(req.infoHashOffset, 16);
  assert.equal(req.peerIdOffset, 36);
  assert.equal(req.downloaded, 2 ** 40);
  assert.equal(req.left, 0);
  assert.equal(req.uploaded, 2 ** 64);
  assert.equal(req.event, 3);
  assert.equal(req.ip >>> 0, 0xc0a80001);
  assert.equal(req.key, -1);
  assert.equal(req.numwant, 50);
  assert.equal(req.port, 65535);
  assert.equal(req.urlDataLength, 0);
  assert.equal(parseAt(announce({ numwant: -1, event: 9 })), 0);
  assert.equal(req.numwant, -1);
  assert.equal(req.event, 0);
  assert.equal(parseAt(announce().subarray(0, 97)), DROP_SHORT_ANNOUNCE);
});

test('BEP 41 options', () => {
  const url = (s: string) => Buffer.concat([Buffer.from([2, s.length]), Buffer.from(s)]);
  assert.equal(
    parseAt(
      announce({ options: Buffer.concat([Buffer.from([1, 1]), url('/announce'), Buffer.from([1]), url('?passkey=abc'), Buffer.from([0]), url('/ignored')]) }),
    ),
    0,
  );
  assert.equal(req.urlData.toString('latin1', 0, req.urlDataLength), '/announce?passkey=abc');
  assert.equal(req.urlDataTruncated, false);
  // unknown option types are skipped by their length
  assert.equal(parseAt(announce({ options: Buffer.concat([Buffer.from([7, 2, 0, 0]), url('/x')]) })), 0);
  assert.equal(req.urlData.toString('latin1', 0, req.urlDataLength), '/x');
  // truncated options end parsing, the announce still counts
  assert.equal(parseAt(announce({ options: Buffer.concat([url('/a'), Buffer.from([2, 10, 0x41])]) })), 0);
  assert.equal(req.urlData.toString('latin1', 0, req.urlDataLength), '/a');
  assert.equal(req.urlDataTruncated, true);
  assert.equal(parseAt(announce({ options: Buffer.from([2]) })), 0);
  assert.equal(req.urlDataTruncated, true);
  // more than capacity
  const many = Buffer.concat(Array.from({ length: 6 }, () => url('x'.repeat(255))));
  assert.equal(parseAt(announce({ options: many }), 0), 0);
  assert.equal(req.urlDataLength, 1024);
  assert.equal(req.urlDataTruncated, true);
});

test('scrape', () => {
  assert.equal(parseAt(scrape(1)), 0);
  assert.equal(req.action, ACTION_SCRAPE);
  assert.equal(req.scrapeCount, 1);
  assert.equal(req.transactionId, 7);
  assert.equal(parseAt(scrape(74)), 0);
  assert.equal(req.scrapeCount, 74);
  assert.equal(parseAt(scrape(75)), DROP_SCRAPE_TOO_MANY);
  assert.equal(parseAt(scrape(0)), DROP_SCRAPE_NO_HASH);
  assert.equal(parseAt(scrape(3, 19)), DROP_SCRAPE_PARTIAL_HASH);
  assert.equal(parseAt(scrape(0, 1)), DROP_SCRAPE_PARTIAL_HASH);
});

test('unknown actions', () => {
  for (const action of [3, 4, 0xffffffff]) {
    const d = scrape(1);
    d.writeUInt32BE(action, 8);
    assert.equal(parseAt(d), DROP_UNKNOWN_ACTION);
  }
});

test('reply writers', () => {
  const out = Buffer.alloc(200, 0xff);
  assert.equal(writeConnectReply(out, 10, 0x01020304), 18);
  assert.equal(out.toString('hex', 10, 18), '0000000001020304');
  assert.equal(writeAnnounceReplyHeader(out, 0, 0xfffffffe, 1800, 5, 2 ** 40), 20);
  assert.equal(out.toString('hex', 0, 20), '00000001fffffffe000007080000000500000000'.slice(0, 32) + 'ffffffff');
  let o = writeScrapeReplyHeader(out, 100, 77);
  assert.equal(o, 108);
  o = writeScrapeEntry(out, o, 1, 2, 3);
  assert.equal(o, 120);
  assert.equal(out.toString('hex', 100, 120), '000000020000004d' + '000000010000000200000003');
  const msg = Buffer.from('Connection ID missmatch.\0');
  assert.equal(writeErrorReply(out, 0, 0xa7, msg), 33);
  assert.equal(out.toString('hex', 0, 8), '00000003000000a7');
  assert.ok(out.subarray(8, 33).equals(msg));
});

test('property: any bytes parse without throwing into a known code, and fields stay in range', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1600 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), (bytes, action, fixMagic) => {
      const d = Buffer.from(bytes);
      if (d.length >= 12 && action < 3) d.writeUInt32BE(action, 8);
      if (fixMagic && d.length >= 8) d.writeBigUInt64BE(0x41727101980n, 0);
      const r = parseAt(d, 0);
      assert.ok(r >= 0 && r < UDP_DROP_NAMES.length);
      if (r === 0) {
        assert.ok(req.action >= 0 && req.action <= 2);
        assert.ok(req.urlDataLength >= 0 && req.urlDataLength <= 1024);
        assert.ok(req.port >= 0 && req.port <= 65535);
        assert.ok(req.event >= 0 && req.event <= 3);
        if (req.action === ACTION_SCRAPE) assert.equal(16 + 20 * req.scrapeCount, d.length);
      }
    }),
    { numRuns: 5000 },
  );
});

test('property: announce round trip', () => {
  fc.assert(
    fc.property(
      fc.record({
        tid: fc.integer({ min: 0, max: 0xffffffff }),
        left: fc.bigInt({ min: 0n, max: 2n ** 53n }),
        event: fc.integer({ min: 0, max: 3 }),
        numwant: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        port: fc.integer({ min: 0, max: 65535 }),
        ip: fc.integer({ min: 0, max: 0xffffffff }),
      }),
      (a) => {
        assert.equal(parseAt(announce(a), 1), 0);
        assert.equal(req.transactionId >>> 0, a.tid);
        assert.equal(req.left, Number(a.left));
        assert.equal(req.event, a.event);
        assert.equal(req.numwant, a.numwant);
        assert.equal(req.port, a.port);
        assert.equal(req.ip >>> 0, a.ip);
      },
    ),
  );
});
