import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { EVENT_COMPLETED, EVENT_NONE, EVENT_PAUSED, EVENT_STARTED, EVENT_STOPPED } from '../../src/protocol/events.ts';
import {
  AnnounceQuery,
  QUERY_DUPLICATE_INFO_HASH,
  QUERY_ERROR_MESSAGES,
  QUERY_ERROR_NAMES,
  QUERY_INVALID_INFO_HASH,
  QUERY_INVALID_PORT,
  LENIENT_COMPACT,
  LENIENT_DOWNLOADED,
  LENIENT_EVENT,
  LENIENT_IP,
  LENIENT_IP_NAME,
  LENIENT_LEFT,
  LENIENT_NUMWANT,
  LENIENT_PEER_ID,
  LENIENT_REPEATED,
  LENIENT_UPLOADED,
  QUERY_MISSING_INFO_HASH,
  QUERY_OK,
  ScrapeQuery,
  parseAnnounceQuery,
  parseScrapeQuery,
} from '../../src/protocol/query.ts';

const HASH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
const pct = (b: Uint8Array) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');
/** Escapes like libtorrent: unreserved bytes as is, the rest %XX. */
const urlEscape = (b: Uint8Array) =>
  [...b].map((x) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(x)) ? String.fromCharCode(x) : '%' + x.toString(16).toUpperCase().padStart(2, '0'))).join('');

const q = new AnnounceQuery();
function announce(s: string, pad = 5): number {
  // embed in a bigger buffer to check that start/end are honoured
  const buf = Buffer.from('x'.repeat(pad) + s + ' HTTP/1.1', 'latin1');
  return parseAnnounceQuery(buf, pad, pad + Buffer.byteLength(s, 'latin1'), q);
}
const withHash = (rest: string) => `info_hash=${pct(HASH)}&${rest}`;

test('a typical libtorrent announce', () => {
  const peerId = Buffer.from('-lt2080-k(3jd!9qz*x~');
  const s =
    `info_hash=${urlEscape(HASH)}&peer_id=${urlEscape(peerId)}&port=6881&uploaded=0&downloaded=0&left=1234567890123` +
    `&corrupt=0&key=7A3B1C2D&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0`;
  assert.equal(announce(s), QUERY_OK);
  assert.ok(q.hasInfoHash && q.infoHash.equals(HASH));
  assert.ok(q.hasPeerId && q.peerId.equals(peerId));
  assert.equal(q.port, 6881);
  assert.equal(q.uploaded, 0);
  assert.equal(q.downloaded, 0);
  assert.equal(q.left, 1234567890123);
  assert.equal(q.event, EVENT_STARTED);
  assert.equal(q.numwant, 200);
  assert.equal(q.compact, 1);
  assert.equal(q.noPeerId, true);
  assert.equal(q.ipFamily, 0);
  // reuse: reset between parses
  assert.equal(announce(withHash('port=1')), QUERY_OK);
  assert.equal(q.hasPeerId, false);
  assert.equal(q.left, -1);
  assert.equal(q.numwant, -1);
  assert.equal(q.compact, -1);
  assert.equal(q.event, EVENT_NONE);
  assert.equal(q.noPeerId, false);
});

test('info_hash rules', () => {
  assert.equal(announce('port=1'), QUERY_MISSING_INFO_HASH);
  assert.equal(announce(''), QUERY_MISSING_INFO_HASH);
  assert.equal(QUERY_ERROR_MESSAGES[QUERY_MISSING_INFO_HASH], "Your client forgot to send your torrent's info_hash. Please upgrade your client.");
  assert.equal(announce('info_hash=' + pct(HASH.subarray(0, 19))), QUERY_INVALID_INFO_HASH);
  assert.equal(announce('info_hash=' + pct(HASH) + '%00'), QUERY_INVALID_INFO_HASH);
  assert.equal(announce('info_hash=' + pct(HASH).slice(0, -1)), QUERY_INVALID_INFO_HASH);
  assert.equal(announce('info_hash=' + pct(HASH).slice(0, -2) + '%zz'), QUERY_INVALID_INFO_HASH);
  assert.equal(announce('info_hash'), QUERY_INVALID_INFO_HASH);
  assert.equal(announce('info_hash='), QUERY_INVALID_INFO_HASH);
  assert.equal(announce(withHash('info_hash=' + pct(Buffer.alloc(20)))), QUERY_DUPLICATE_INFO_HASH);
  // the same hash twice is answered
  assert.equal(announce(withHash('info_hash=' + pct(HASH))), QUERY_OK);
  assert.equal(q.lenient, LENIENT_REPEATED);
  assert.equal(announce(withHash('info_hash=' + pct(HASH).slice(3))), QUERY_INVALID_INFO_HASH);
  // raw (unescaped) 20 bytes, upper-case hex escapes, '+' kept
  assert.equal(announce('info_hash=abcdefghij+lmnopqrst'), QUERY_OK);
  assert.equal(q.infoHash.toString('latin1'), 'abcdefghij+lmnopqrst');
  assert.equal(announce('info_hash=' + pct(HASH).toUpperCase()), QUERY_OK);
  assert.ok(q.infoHash.equals(HASH));
  // a %-encoded name
  assert.equal(announce('info%5Fhash=' + pct(HASH)), QUERY_OK);
  assert.ok(q.infoHash.equals(HASH));
  // names are case-sensitive
  assert.equal(announce('INFO_HASH=' + pct(HASH)), QUERY_MISSING_INFO_HASH);
});

test('peer_id rules', () => {
  // a malformed peer_id is ignored (peers are told apart by address and port)
  assert.equal(announce(withHash('peer_id=short&port=7')), QUERY_OK);
  assert.equal(q.hasPeerId, false);
  assert.equal(q.lenient, LENIENT_PEER_ID);
  assert.equal(q.port, 7);
  assert.equal(announce(withHash('peer_id=' + pct(HASH))), QUERY_OK);
  assert.ok(q.peerId.equals(HASH));
  assert.equal(announce(withHash('peer_id=%4')), QUERY_OK);
  assert.equal(q.lenient, LENIENT_PEER_ID);
});

test('port', () => {
  for (const [v, want] of [
    ['6881', 6881],
    ['1', 1],
    ['65535', 65535],
    ['06881', 6881],
    ['%36881', 6881],
  ] as const) {
    assert.equal(announce(withHash('port=' + v)), QUERY_OK, v);
    assert.equal(q.port, want);
  }
  for (const v of ['0', '65536', '70000', '-1', '', 'abc', '1x', '+1', '999999999999', '%3', '0000006881']) {
    assert.equal(announce(withHash('port=' + v)), QUERY_INVALID_PORT, v);
  }
  assert.equal(announce(withHash('port')), QUERY_INVALID_PORT);
  assert.equal(announce(withHash('')), QUERY_OK);
  assert.equal(q.port, -1);
});

test('uploaded, downloaded, left: 64-bit, saturating, no wrap', () => {
  assert.equal(announce(withHash('left=4294967296')), QUERY_OK);
  assert.equal(q.left, 4294967296);
  assert.equal(announce(withHash('left=0')), QUERY_OK);
  assert.equal(q.left, 0);
  assert.equal(announce(withHash('left=9223372036854775807')), QUERY_OK);
  assert.equal(q.left, 2 ** 63);
  assert.equal(announce(withHash('left=99999999999999999999999999')), QUERY_OK);
  assert.equal(q.left, 2 ** 63);
  assert.equal(announce(withHash('uploaded=123&downloaded=456')), QUERY_OK);
  assert.equal(q.uploaded, 123);
  assert.equal(q.downloaded, 456);
  // negative, empty or junk: left is absent (a leecher), uploaded/downloaded are 0; each is flagged
  for (const v of ['-1', '', 'x', '1.5', '%2D1', '%zz', 'abc']) {
    assert.equal(announce(withHash('left=' + v)), QUERY_OK, v);
    assert.equal(q.left, -1, v);
    assert.equal(q.lenient, LENIENT_LEFT, v);
    assert.equal(announce(withHash('uploaded=' + v)), QUERY_OK, v);
    assert.equal(q.uploaded, 0, v);
    assert.equal(q.lenient, LENIENT_UPLOADED, v);
    assert.equal(announce(withHash('downloaded=' + v)), QUERY_OK, v);
    assert.equal(q.downloaded, 0, v);
    assert.equal(q.lenient, LENIENT_DOWNLOADED, v);
  }
});

test('event', () => {
  const cases: [string, number][] = [
    ['started', EVENT_STARTED],
    ['completed', EVENT_COMPLETED],
    ['stopped', EVENT_STOPPED],
    ['paused', EVENT_PAUSED],
    ['', EVENT_NONE],
    ['empty', EVENT_NONE],
    ['Started', EVENT_NONE],
    ['bogus', EVENT_NONE],
    ['stoppe', EVENT_NONE],
    ['st%61rted', EVENT_STARTED],
    ['startex', EVENT_NONE],
    ['compleTed', EVENT_NONE],
  ];
  for (const [v, want] of cases) {
    assert.equal(announce(withHash('event=' + v)), QUERY_OK, v);
    assert.equal(q.event, want, v);
    // an unknown value is flagged; an empty one means "no event" (BEP 3)
    assert.equal(q.lenient, want === EVENT_NONE && v !== '' ? LENIENT_EVENT : 0, v);
  }
  assert.equal(announce(withHash('event=%GG')), QUERY_OK);
  assert.equal(q.event, EVENT_NONE);
  assert.equal(q.lenient, LENIENT_EVENT);
});

test('numwant, compact, no_peer_id', () => {
  for (const [v, want] of [
    ['50', 50],
    ['0', 0],
    ['-1', -1],
    ['-200', -1],
    ['99999999999', 0x7fffffff],
  ] as const) {
    assert.equal(announce(withHash('numwant=' + v)), QUERY_OK, v);
    assert.equal(q.numwant, want, v);
  }
  for (const v of ['abc', '', '-', '-x', '1e3', '%zz']) {
    assert.equal(announce(withHash('numwant=' + v)), QUERY_OK, v);
    assert.equal(q.numwant, -1, v);
    assert.equal(q.lenient, LENIENT_NUMWANT, v);
  }
  for (const [v, want] of [
    ['1', 1],
    ['0', 0],
    ['00', 0],
    ['2', 1],
    ['-1', 1],
    ['-0', 0],
  ] as const) {
    assert.equal(announce(withHash('compact=' + v)), QUERY_OK, v);
    assert.equal(q.compact, want, v);
  }
  for (const v of ['', 'yes', '1x', '-']) {
    assert.equal(announce(withHash('compact=' + v)), QUERY_OK, v);
    assert.equal(q.compact, -1, v);
    assert.equal(q.lenient, LENIENT_COMPACT, v);
  }
  for (const v of ['no_peer_id', 'no_peer_id=', 'no_peer_id=0', 'no_peer_id=%zz']) {
    assert.equal(announce(withHash(v)), QUERY_OK, v);
    assert.equal(q.noPeerId, true);
  }
});

test('unknown params are skipped unparsed; empty segments are fine; last value wins', () => {
  assert.equal(announce(withHash('key=%zz&x="&&&=&foo&trackerid=%&port=1&port=2')), QUERY_OK);
  assert.equal(q.port, 2);
  assert.equal(q.lenient, LENIENT_REPEATED);
  assert.equal(announce('&&' + withHash('&&')), QUERY_OK);
  // a name with a bad escape is an unknown name
  assert.equal(announce(withHash('po%zzrt=abc')), QUERY_OK);
});

test('ip, ipv4, ipv6', () => {
  const ok: [string, number, string, number?][] = [
    ['ip=1.2.3.4', 4, '01020304'],
    ['ip=255.255.255.255', 4, 'ffffffff'],
    ['ip=::1', 6, '00000000000000000000000000000001'],
    ['ip=2001:db8::8a2e:370:7334', 6, '20010db80000000000008a2e03707334'],
    ['ip=2001%3Adb8%3A%3A1', 6, '20010db8000000000000000000000001'],
    ['ip=::ffff:10.0.0.1', 4, '0a000001'],
    ['ip=::FFFF:a00:2', 4, '0a000002'],
    ['ipv4=10.1.2.3:6881', 4, '0a010203', 6881],
    ['ipv6=[fe80::1]:51413', 6, 'fe800000000000000000000000000001', 51413],
    ['ipv6=[fe80::1]', 6, 'fe800000000000000000000000000001'],
    ['ipv6=::', 6, '00000000000000000000000000000000'],
    ['ipv6=1:2:3:4:5:6:7:8', 6, '00010002000300040005000600070008'],
    ['ipv6=1:2:3:4:5:6:1.2.3.4', 6, '00010002000300040005000601020304'],
    ['ipv6=1::', 6, '00010000000000000000000000000000'],
    ['ipv6=1:2:3:4:5:6:7::', 6, '00010002000300040005000600070000'],
  ];
  for (const [v, fam, hex, port] of ok) {
    assert.equal(announce(withHash(v)), QUERY_OK, v);
    assert.equal(q.ipFamily, fam, v);
    assert.equal(q.ip.subarray(0, fam === 4 ? 4 : 16).toString('hex'), hex, v);
    assert.equal(q.ipPort, port ?? -1, v);
  }
  const bad = [
    'ip=',
    'ip=1.2.3',
    'ip=1.2.3.4.5',
    'ip=01.2.3.4',
    'ip=256.1.1.1',
    'ip=1.2.3.4:0',
    'ip=1.2.3.4:65536',
    'ip=1.2.3.4:',
    'ip=:::',
    'ip=1:::2',
    'ip=1::2::3',
    'ip=12345::',
    'ip=1:2:3:4:5:6:7:8:9',
    'ip=1:2:3:4:5:6:7',
    'ip=::1:',
    'ip=:1::',
    'ip=[::1',
    'ip=[::1]x',
    'ip=[::1]:',
    'ip=fe80::1%25eth0',
    'ip=::1.2.3',
    'ip=1:2:3:4:5:6:7:1.2.3.4',
    'ip=g::',
    'ip=localhost',
    'ip=%zz',
    'ipv6=1.2.3.4x',
    'ipv6=None',
    'ipv4=',
    'ip=1.2.3.400',
  ];
  // not an address: ignored and flagged, never refused
  for (const v of bad) {
    assert.equal(announce(withHash(v)), QUERY_OK, v);
    assert.equal(q.ipFamily, 0, v);
    assert.equal(q.lenient, LENIENT_IP, v);
  }
  // a DNS name (BEP 3 allows one) is flagged apart
  for (const v of ['ip=example.com', 'ip=tracker-1.example.org', 'ip=EXAMPLE.COM']) {
    assert.equal(announce(withHash(v)), QUERY_OK, v);
    assert.equal(q.ipFamily, 0, v);
    assert.equal(q.lenient, LENIENT_IP_NAME, v);
  }
  // an ignored value leaves an address read before as it was
  assert.equal(announce(withHash('ipv4=10.1.2.3:6881&ipv4=10.9.9&ipv6=None')), QUERY_OK);
  assert.equal(q.ipFamily, 4);
  assert.equal(q.ip.subarray(0, 4).toString('hex'), '0a010203');
  assert.equal(q.ipPort, 6881);
  assert.equal(q.lenient, LENIENT_IP | LENIENT_REPEATED);
  // ip= wins over ipv4=/ipv6= in any order; ipv4/ipv6: last wins
  assert.equal(announce(withHash('ip=1.1.1.1&ipv6=::2')), QUERY_OK);
  assert.equal(q.ip.subarray(0, 4).toString('hex'), '01010101');
  assert.equal(q.ipFamily, 4);
  assert.equal(announce(withHash('ipv6=::2&ip=1.1.1.1')), QUERY_OK);
  assert.equal(q.ipFamily, 4);
  assert.equal(announce(withHash('ipv4=1.1.1.1&ipv6=::2')), QUERY_OK);
  assert.equal(q.ipFamily, 6);
  assert.equal(announce(withHash('ip=1.1.1.1&ipv6=zz')), QUERY_OK);
  assert.equal(q.ipFamily, 4);
  assert.equal(q.lenient, LENIENT_IP);
});

function ipOf(text: string): string | null {
  const s = 'ip=' + text;
  assert.equal(announce(withHash(s)), QUERY_OK, s);
  if (q.ipFamily === 0) return null; // not an address: ignored
  return q.ipFamily + ':' + q.ip.subarray(0, q.ipFamily === 4 ? 4 : 16).toString('hex');
}

test('property: IPv6/IPv4 text validity agrees with node:net, and bytes agree with the WHATWG URL parser', () => {
  const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.:::'.split(''));
  const arb = fc.oneof(
    fc.array(chars, { maxLength: 45 }).map((a) => a.join('')),
    fc.array(fc.constantFrom(...'0123456789.'.split('')), { maxLength: 16 }).map((a) => a.join('')),
    fc
      .array(fc.constantFrom('0', '1', 'ff', 'FfFf', '0db8', '12345', '00000', '1.2.3.4', '255.0.0.01', ':', ':', '::', ':::', '.'), { maxLength: 14 })
      .map((a) => a.join('')),
  );
  fc.assert(
    fc.property(arb, (text) => {
      const mine = ipOf(text);
      if (mine !== null && q.ipPort >= 0) {
        // a BEP 7 endpoint a.b.c.d:port
        const colon = text.lastIndexOf(':');
        assert.ok(net.isIPv4(text.slice(0, colon)), text);
        assert.equal(String(q.ipPort), text.slice(colon + 1).replace(/^0+(?=\d)/, ''), text);
        return;
      }
      const family = net.isIP(text);
      assert.equal(mine !== null, family !== 0, text);
      if (family === 6) {
        const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        assert.equal(ipOf(canonical), mine, text + ' vs ' + canonical);
      }
    }),
    { numRuns: 20000 },
  );
});

test('property: random IPv6 addresses in their text forms decode to their bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(7), fc.nat(8), fc.boolean(), (bytes, zs, zl, upper) => {
      // force a zero run to exercise '::'
      for (let i = zs; i < Math.min(8, zs + zl); i++) bytes[2 * i] = bytes[2 * i + 1] = 0;
      const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16));
      const full = groups.join(':');
      const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
      const want = mapped ? '4:' + Buffer.from(bytes.subarray(12)).toString('hex') : '6:' + Buffer.from(bytes).toString('hex');
      const forms = [full, new URL(`http://[${full}]/`).hostname.slice(1, -1), groups.slice(0, 6).join(':') + ':' + bytes.subarray(12).join('.')];
      if (zl > 0 && zs + zl <= 8) forms.push(groups.slice(0, zs).join(':') + '::' + groups.slice(zs + zl).join(':'));
      for (const f of forms) {
        assert.equal(ipOf(upper ? f.toUpperCase() : f), want, f);
        assert.equal(ipOf(`[${f}]:1`), want, f);
      }
    }),
    { numRuns: 3000 },
  );
});

test('scrape', () => {
  const sq = new ScrapeQuery(3);
  const h = (i: number) => Buffer.alloc(20, i);
  const mk = (s: string) => Buffer.from('/scrape?' + s + ' HTTP/1.1');
  const run = (s: string) => parseScrapeQuery(mk(s), 8, 8 + s.length, sq);
  assert.equal(run(`info_hash=${pct(h(1))}&info_hash=${pct(h(2))}&info_hash=${pct(h(1))}`), QUERY_OK);
  assert.equal(sq.count, 3);
  assert.ok(sq.hashes.subarray(0, 20).equals(h(1)) && sq.hashes.subarray(20, 40).equals(h(2)) && sq.hashes.subarray(40, 60).equals(h(1)));
  assert.equal(sq.truncated, false);
  assert.equal(run([1, 2, 3, 4, 5].map((i) => `info_hash=${pct(h(i))}`).join('&') + '&x=%zz'), QUERY_OK);
  assert.equal(sq.count, 3);
  assert.equal(sq.truncated, true);
  assert.equal(sq.truncatedCount, 2);
  assert.equal(run(`info_hash=${pct(h(1))}&info_hash=abc`), QUERY_INVALID_INFO_HASH);
  assert.equal(run([1, 2, 3, 4].map((i) => `info_hash=${pct(h(i))}`).join('&') + '&info_hash=%1'), QUERY_INVALID_INFO_HASH);
  assert.equal(run(''), QUERY_MISSING_INFO_HASH);
  assert.equal(run('foo=bar'), QUERY_MISSING_INFO_HASH);
  assert.equal(sq.count, 0);
});

test('error tables are complete', () => {
  for (let c = 0; c <= QUERY_INVALID_PORT; c++) {
    assert.equal(typeof QUERY_ERROR_MESSAGES[c], 'string');
    assert.equal(typeof QUERY_ERROR_NAMES[c], 'string');
  }
  assert.equal(QUERY_ERROR_MESSAGES.length, QUERY_ERROR_NAMES.length);
});

test('property: garbage never throws, always returns a known code', () => {
  const sq = new ScrapeQuery(4);
  const parts = fc.constantFrom(
    'info_hash',
    'peer_id',
    'port',
    'left',
    'event',
    'numwant',
    'compact',
    'ip',
    'ipv6',
    '=',
    '&',
    '%',
    '%4',
    '%41',
    '[',
    ']',
    ':',
    '.',
    '1',
    '-',
    'x',
    '\u00ff',
  );
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.array(parts, { maxLength: 40 }).map((a) => Buffer.from(a.join(''), 'latin1')),
  );
  fc.assert(
    fc.property(arb, fc.nat(10), fc.nat(10), (bytes, a, b) => {
      const buf = Buffer.from(bytes);
      const start = Math.min(a, buf.length);
      const end = Math.max(start, buf.length - b);
      const r1 = parseAnnounceQuery(buf, start, end, q);
      assert.ok(Number.isInteger(r1) && r1 >= 0 && r1 < QUERY_ERROR_MESSAGES.length);
      const r2 = parseScrapeQuery(buf, start, end, sq);
      assert.ok(Number.isInteger(r2) && r2 >= 0 && r2 < QUERY_ERROR_MESSAGES.length);
      assert.ok(sq.count <= 4);
    }),
    { numRuns: 20000 },
  );
});

test('property: any 20-byte hash, escaped in any mix, round trips', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }), (hash, esc) => {
      const enc = [...hash]
        .map((b, i) => {
          const ch = String.fromCharCode(b);
          const safe = b > 0x20 && b < 0x7f && !'&=%'.includes(ch);
          return safe && !esc[i] ? ch : '%' + b.toString(16).padStart(2, '0');
        })
        .join('');
      assert.equal(announce('info_hash=' + enc + '&port=80'), QUERY_OK);
      assert.ok(q.infoHash.equals(hash));
      assert.equal(q.port, 80);
    }),
    { numRuns: 3000 },
  );
});

test('property: a whole announce round trips through its query string (any order, any escaping, noise params)', () => {
  const escapeSome = (bytes: Uint8Array, mask: number) =>
    [...bytes]
      .map((b, i) => {
        const ch = String.fromCharCode(b);
        const plain = b > 0x20 && b < 0x7f && !'&=%#'.includes(ch);
        return plain && ((mask >>> (i % 31)) & 1) === 0
          ? ch
          : '%' +
              b
                .toString(16)
                .padStart(2, (mask & 1) === 0 ? '0' : '0')
                .toUpperCase();
      })
      .join('');
  const events = ['', 'started', 'completed', 'stopped', 'paused'];
  const eventCodes = [EVENT_NONE, EVENT_STARTED, EVENT_COMPLETED, EVENT_STOPPED, EVENT_PAUSED];
  fc.assert(
    fc.property(
      fc.record({
        hash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
        peer: fc.option(fc.uint8Array({ minLength: 20, maxLength: 20 })),
        port: fc.option(fc.integer({ min: 1, max: 65535 })),
        uploaded: fc.option(fc.maxSafeNat()),
        downloaded: fc.option(fc.maxSafeNat()),
        left: fc.option(fc.maxSafeNat()),
        event: fc.option(fc.nat(4)),
        numwant: fc.option(fc.integer({ min: -5, max: 100000 })),
        compact: fc.option(fc.nat(1)),
        noPeerId: fc.boolean(),
        ip: fc.option(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 }))),
        noise: fc.array(fc.tuple(fc.constantFrom('key', 'corrupt', 'x', 'supportcrypto', 'info_hashx', 'por'), fc.string({ maxLength: 8 })), { maxLength: 4 }),
        mask: fc.integer(),
        order: fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
      }),
      (r) => {
        const params: string[] = [`info_hash=${escapeSome(r.hash, r.mask)}`];
        if (r.peer) params.push(`peer_id=${escapeSome(r.peer, r.mask >>> 3)}`);
        if (r.port !== null) params.push(`port=${r.port}`);
        if (r.uploaded !== null) params.push(`uploaded=${r.uploaded}`);
        if (r.downloaded !== null) params.push(`downloaded=${r.downloaded}`);
        if (r.left !== null) params.push(`l%65ft=${r.left}`);
        if (r.event !== null) params.push(`event=${events[r.event]}`);
        if (r.numwant !== null) params.push(`numwant=${r.numwant}`);
        if (r.compact !== null) params.push(`compact=${r.compact}`);
        if (r.noPeerId) params.push('no_peer_id=1');
        let ipText = '';
        if (r.ip) {
          ipText =
            r.ip.length === 4
              ? r.ip.join('.')
              : new URL(
                  `http://[${Buffer.from(r.ip)
                    .toString('hex')
                    .replace(/(.{4})(?!$)/g, '$1:')}]/`,
                ).hostname.slice(1, -1);
          params.push(`ip=${encodeURIComponent(ipText)}`);
        }
        for (const [k, v] of r.noise) params.push(`${k}=${encodeURIComponent(v)}`);
        const shuffled = params
          .map((p, i) => [r.order[i % 20] + i / 100, p] as const)
          .sort((a, b) => a[0] - b[0])
          .map((x) => x[1]);
        assert.equal(announce(shuffled.join('&')), QUERY_OK, shuffled.join('&'));
        assert.ok(q.infoHash.equals(r.hash));
        assert.equal(q.hasPeerId, r.peer !== null);
        if (r.peer) assert.ok(q.peerId.equals(r.peer));
        assert.equal(q.port, r.port ?? -1);
        assert.equal(q.uploaded, r.uploaded ?? 0);
        assert.equal(q.downloaded, r.downloaded ?? 0);
        assert.equal(q.left, r.left ?? -1);
        assert.equal(q.event, r.event === null ? EVENT_NONE : eventCodes[r.event]);
        assert.equal(q.numwant, r.numwant === null || r.numwant < 0 ? -1 : r.numwant);
        assert.equal(q.compact, r.compact ?? -1);
        assert.equal(q.noPeerId, r.noPeerId);
        if (r.ip) {
          const mapped = r.ip.length === 16 && r.ip.subarray(0, 10).every((b) => b === 0) && r.ip[10] === 0xff && r.ip[11] === 0xff;
          const fam = r.ip.length === 4 || mapped ? 4 : 6;
          assert.equal(q.ipFamily, fam, ipText);
          assert.ok(q.ip.subarray(0, fam === 4 ? 4 : 16).equals(fam === 4 && mapped ? r.ip.subarray(12) : r.ip), ipText);
        } else {
          assert.equal(q.ipFamily, 0);
        }
      },
    ),
    { numRuns: 3000 },
  );
});
