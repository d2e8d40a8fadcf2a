import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HEAD_BAD_CONTENT_LENGTH,
  HEAD_BAD_TARGET,
  HEAD_ERROR_NAMES,
  HEAD_ERROR_STATUS,
  HEAD_MALFORMED,
  HEAD_TOO_LARGE,
  HEAD_TOO_MANY_HEADERS,
  HEAD_TRANSFER_ENCODING,
  HEAD_UNSUPPORTED_VERSION,
  HttpHead,
  METHOD_GET,
  METHOD_HEAD,
  METHOD_OTHER,
  parseHttpHead,
} from '../../src/protocol/http-head.ts';

const head = new HttpHead();
const MAX = 8192;
function parse(s: string | Buffer, max = MAX): number {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return parseHttpHead(b, b.length, head, max);
}
const str = (b: Buffer, s: number, e: number) => b.toString('latin1', s, e);

const TYPICAL =
  'GET /announce?info_hash=%12%34V%78%9A%BC%DE%F0%12%34V%78%9A%BC%DE%F0%12%34V%78&peer_id=-lt2080-k%283jd%219qz%2Ax~&port=6881' +
  '&uploaded=0&downloaded=0&left=1234567890&corrupt=0&key=7A3B1C2D&event=started&numwant=200&compact=1&no_peer_id=1 HTTP/1.1\r\n' +
  'Host: tracker.example.org:6969\r\nUser-Agent: libtorrent/2.0.8.0\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n';

test('a typical libtorrent request', () => {
  const b = Buffer.from(TYPICAL + 'GET /next HTTP/1.1\r\n\r\n', 'latin1');
  const n = parseHttpHead(b, b.length, head, MAX);
  assert.equal(n, TYPICAL.length);
  assert.equal(head.headLength, n);
  assert.equal(head.method, METHOD_GET);
  assert.equal(str(b, head.targetStart, head.pathEnd), '/announce');
  assert.ok(str(b, head.pathEnd, head.targetEnd).startsWith('?info_hash=%12'));
  assert.ok(str(b, head.targetStart, head.targetEnd).endsWith('no_peer_id=1'));
  assert.equal(head.versionMinor, 1);
  assert.equal(head.keepAlive, false);
  assert.equal(head.acceptGzip, true);
  assert.equal(head.acceptZstd, false);
  assert.equal(head.upgradeWebSocket, false);
  assert.equal(head.contentLength, 0);
  assert.equal(head.headerCount, 4);
  const h = head.findHeader(b, 'host');
  assert.equal(str(b, head.headerValueStart[h], head.headerValueEnd[h]), 'tracker.example.org:6969');
  assert.equal(head.findHeader(b, 'user-agent'), 1);
  assert.equal(head.findHeader(b, 'cookie'), -1);
  // the pipelined second request
  const rest = b.subarray(n);
  assert.equal(parseHttpHead(rest, rest.length, head, MAX), rest.length);
  assert.equal(str(rest, head.targetStart, head.targetEnd), '/next');
  assert.equal(head.pathEnd, head.targetEnd);
  assert.equal(head.keepAlive, true);
});

test('every strict prefix of a valid head needs more bytes; bare LF works too', () => {
  for (const s of [TYPICAL, TYPICAL.replaceAll('\r\n', '\n'), 'GET / HTTP/1.0\n\n', '\r\n\nHEAD /x HTTP/1.1\r\nA: b\n\r\n']) {
    const b = Buffer.from(s, 'latin1');
    for (let i = 0; i < b.length; i++) assert.equal(parseHttpHead(b, i, head, MAX), 0, `prefix ${i} of ${JSON.stringify(s)}`);
    assert.equal(parseHttpHead(b, b.length, head, MAX), b.length);
  }
  assert.equal(parse('\r\n\nHEAD /x HTTP/1.1\r\nA: b\n\r\n'), 28);
  assert.equal(head.method, METHOD_HEAD);
  assert.equal(head.findHeader(Buffer.from('\r\n\nHEAD /x HTTP/1.1\r\nA: b\n\r\n'), 'a'), 0);
});

test('methods, versions, keep-alive', () => {
  assert.equal(parse('POST / HTTP/1.1\r\n\r\n') > 0, true);
  assert.equal(head.method, METHOD_OTHER);
  assert.equal(parse('get / HTTP/1.1\r\n\r\n') > 0, true);
  assert.equal(head.method, METHOD_OTHER);
  assert.ok(parse('GET / HTTP/1.0\r\n\r\n') > 0);
  assert.equal(head.versionMinor, 0);
  assert.equal(head.keepAlive, false);
  assert.ok(parse('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n') > 0);
  assert.equal(head.keepAlive, true);
  assert.ok(parse('GET / HTTP/1.1\r\nConnection: keep-alive, CLOSE\r\n\r\n') > 0);
  assert.equal(head.keepAlive, false);
  assert.ok(parse('GET / HTTP/1.1\r\nConnection: closed\r\n\r\n') > 0);
  assert.equal(head.keepAlive, true);
  assert.equal(parse('GET / HTTP/2.0\r\n\r\n'), HEAD_UNSUPPORTED_VERSION);
  assert.equal(parse('GET / HTTP/0.9\r\n\r\n'), HEAD_UNSUPPORTED_VERSION);
  assert.equal(parse('GET /\r\n\r\n'), HEAD_UNSUPPORTED_VERSION);
  assert.equal(parse('GET / HTTP/1.x\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / HTTPS/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / http/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / HTTP/1.1 \r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / HTTP/1.1\rX\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / X'), HEAD_MALFORMED, 'rejected before the line is complete');
});

test('request line: spaces, control bytes, targets', () => {
  assert.equal(parse('GET  / HTTP/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse(' GET / HTTP/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET /a b HTTP/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET /a\x01b HTTP/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET /a\x7f HTTP/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET /a\tb HTTP/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET /\xff HTTP/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('G\x00T / HTTP/1.1\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('\x16\x03\x01\x02\x00'), HEAD_MALFORMED, 'TLS on the plain port fails at once');
  assert.equal(parse('GET * HTTP/1.1\r\n\r\n'), HEAD_BAD_TARGET);
  assert.equal(parse('CONNECT host:443 HTTP/1.1\r\n\r\n'), HEAD_BAD_TARGET);
  assert.equal(parse('GET http://host HTTP/1.1\r\n\r\n'), HEAD_BAD_TARGET);
  assert.equal(parse('GET http://host?x=1 HTTP/1.1\r\n\r\n'), HEAD_BAD_TARGET);
  assert.equal(parse('GET ftp://host/x HTTP/1.1\r\n\r\n'), HEAD_BAD_TARGET);
  const abs = 'GET HTTPS://tracker.example:443/announce?x=/y HTTP/1.1\r\n\r\n';
  assert.ok(parse(abs) > 0);
  const b = Buffer.from(abs);
  assert.equal(str(b, head.targetStart, head.pathEnd), '/announce');
  assert.equal(str(b, head.pathEnd, head.targetEnd), '?x=/y');
  assert.ok(parse('GET /?a?b HTTP/1.1\r\n\r\n') > 0);
  assert.equal(head.pathEnd, 5);
  assert.equal(head.targetEnd, 9);
});

test('header fields', () => {
  assert.equal(parse('GET / HTTP/1.1\r\n folded: x\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / HTTP/1.1\r\nA: b\r\n  c\r\n\r\n'), HEAD_MALFORMED, 'obs-fold');
  assert.equal(parse('GET / HTTP/1.1\r\nA : b\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / HTTP/1.1\r\n: b\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / HTTP/1.1\r\nA(b: c\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n'), HEAD_MALFORMED);
  assert.equal(parse('GET / HTTP/1.1\r\nNoColon\r\n\r\n'), HEAD_MALFORMED);
  const s = 'GET / HTTP/1.1\r\nX-A:\t v\xe9 \t\r\nX-Empty:\r\nX-B:  \r\n\r\n';
  assert.equal(parse(s), s.length);
  const b = Buffer.from(s, 'latin1');
  assert.equal(str(b, head.headerValueStart[0], head.headerValueEnd[0]), 'v\xe9');
  assert.equal(head.headerValueStart[1], head.headerValueEnd[1]);
  assert.equal(head.headerValueStart[2], head.headerValueEnd[2]);
  assert.equal(head.findHeader(b, 'x-b'), 2);
  // 64 headers fine, 65 not
  const many = (n: number) => 'GET / HTTP/1.1\r\n' + Array.from({ length: n }, (_, i) => `H${i}: ${i}\r\n`).join('') + '\r\n';
  assert.ok(parse(many(64)) > 0);
  assert.equal(head.headerCount, 64);
  assert.equal(parse(many(65)), HEAD_TOO_MANY_HEADERS);
});

test('content-length and transfer-encoding', () => {
  assert.ok(parse('GET / HTTP/1.1\r\nContent-Length: 12\r\n\r\n') > 0);
  assert.equal(head.contentLength, 12);
  assert.ok(parse('GET / HTTP/1.1\r\ncontent-length: 5\r\nContent-Length: 5\r\n\r\n') > 0);
  assert.equal(head.contentLength, 5);
  for (const v of ['', '-1', '1x', '5, 5', '99999999999999999', '+5']) {
    assert.equal(parse(`GET / HTTP/1.1\r\nContent-Length: ${v}\r\n\r\n`), HEAD_BAD_CONTENT_LENGTH, v);
  }
  assert.equal(parse('GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'), HEAD_BAD_CONTENT_LENGTH);
  assert.equal(parse('GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'), HEAD_TRANSFER_ENCODING);
});

test('accept-encoding', () => {
  const ae = (v: string) => {
    assert.ok(parse(`GET / HTTP/1.1\r\nAccept-Encoding: ${v}\r\n\r\n`) > 0, v);
    return [head.acceptGzip, head.acceptZstd];
  };
  assert.deepEqual(ae('gzip, deflate, br, zstd'), [true, true]);
  assert.deepEqual(ae('GZIP;q=0.5'), [true, false]);
  assert.deepEqual(ae('gzip;q=0, zstd;q=1.0'), [false, true]);
  assert.deepEqual(ae('gzip; q=0.000'), [false, false]);
  assert.deepEqual(ae('x-gzip'), [true, false]);
  assert.deepEqual(ae('*'), [true, true]);
  assert.deepEqual(ae('*;q=0.1, gzip;q=0'), [false, true]);
  assert.deepEqual(ae('identity'), [false, false]);
  assert.deepEqual(ae('gzipx, zst'), [false, false]);
  assert.deepEqual(ae(''), [false, false]);
  assert.ok(parse('GET / HTTP/1.1\r\nAccept-Encoding: br\r\nAccept-Encoding: zstd\r\n\r\n') > 0);
  assert.equal(head.acceptZstd, true);
});

test('websocket upgrade', () => {
  assert.ok(parse('GET /announce HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\n\r\n') > 0);
  assert.equal(head.upgradeWebSocket, true);
  assert.ok(parse('GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket/13, h2c\r\n\r\n') > 0);
  assert.equal(head.upgradeWebSocket, true);
  assert.ok(parse('GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n') > 0);
  assert.equal(head.upgradeWebSocket, false);
  assert.ok(parse('GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n') > 0);
  assert.equal(head.upgradeWebSocket, false);
  assert.ok(parse('POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n') > 0);
  assert.equal(head.upgradeWebSocket, false);
});

test('size limit', () => {
  const big = 'GET /' + 'a'.repeat(9000) + ' HTTP/1.1\r\n\r\n';
  assert.equal(parse(big.slice(0, 100)), 0);
  assert.equal(parse(big.slice(0, 8192)), HEAD_TOO_LARGE);
  assert.equal(parse(big), HEAD_TOO_LARGE);
  const ok = 'GET / HTTP/1.1\r\n\r\n';
  assert.equal(parse(ok, ok.length), ok.length, 'exactly at the limit');
  assert.equal(parse(ok, ok.length - 1), HEAD_TOO_LARGE);
  assert.equal(parse(ok + 'garbage beyond the limit', ok.length), ok.length);
});

test('error tables', () => {
  for (const c of [
    HEAD_TOO_LARGE,
    HEAD_MALFORMED,
    HEAD_TOO_MANY_HEADERS,
    HEAD_UNSUPPORTED_VERSION,
    HEAD_BAD_TARGET,
    HEAD_BAD_CONTENT_LENGTH,
    HEAD_TRANSFER_ENCODING,
  ]) {
    assert.equal(typeof HEAD_ERROR_NAMES[-c], 'string');
    assert.equal(typeof HEAD_ERROR_STATUS[-c], 'number');
  }
});

test('property: garbage never throws; results are in range and consistent', () => {
  const tokens = fc.constantFrom(
    'GET',
    'HEAD',
    ' ',
    '/',
    '?',
    'a',
    '=',
    '&',
    'HTTP/1.1',
    'HTTP/1.0',
    '\r\n',
    '\n',
    '\r',
    ':',
    'Connection',
    'close',
    'Content-Length',
    '5',
    'Accept-Encoding',
    'gzip',
    ';q=0',
    ',',
    '\t',
    '\x00',
    '\xff',
    'http://h',
    'Upgrade',
    'websocket',
  );
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.array(tokens, { maxLength: 60 }).map((a) => Buffer.from(a.join(''), 'latin1')),
  );
  fc.assert(
    fc.property(arb, fc.integer({ min: 1, max: 400 }), (b, max) => {
      const r = parseHttpHead(b, b.length, head, max);
      assert.ok(Number.isInteger(r) && r >= -7 && r <= Math.min(b.length, max));
      if (r > 0) {
        assert.ok(head.targetStart < head.targetEnd && head.targetEnd <= r);
        assert.equal(b[head.targetStart], 0x2f);
        assert.ok(head.pathEnd >= head.targetStart && head.pathEnd <= head.targetEnd);
        assert.ok(head.headerCount <= 64);
        for (let h = 0; h < head.headerCount; h++) {
          assert.ok(head.headerNameStart[h] < head.headerNameEnd[h] && head.headerValueStart[h] <= head.headerValueEnd[h]);
          assert.ok(head.headerValueEnd[h] <= r);
        }
        // parsing the same bytes with more after them gives the same head length
        const more = Buffer.concat([b.subarray(0, r), Buffer.from('XYZ')]);
        assert.equal(parseHttpHead(more, more.length, head, max + 3), r);
      }
      if (r === 0) assert.ok(b.length < max);
    }),
    { numRuns: 20000 },
  );
});

test('property: generated requests round trip (CRLF or LF, any header case, pipelined)', () => {
  const tokenChar = fc.constantFrom(..."abcXYZ019-_.!#$%&'*+^`|~".split(''));
  const visible = fc.constantFrom(..."abc/?=&%+-._~:@!$'()*,;".split(''));
  fc.assert(
    fc.property(
      fc.record({
        method: fc.constantFrom('GET', 'HEAD', 'POST', 'OPTIONS'),
        path: fc.array(visible, { maxLength: 40 }).map((a) => '/' + a.join('')),
        minor: fc.nat(1),
        headers: fc.array(
          fc.tuple(
            fc.array(tokenChar, { minLength: 1, maxLength: 12 }).map((a) => a.join('')),
            fc.string({ maxLength: 20 }).map((v) => v.replace(/[\x00-\x1f\x7f]/g, '').trim()),
          ),
          { maxLength: 10 },
        ),
        lf: fc.boolean(),
        close: fc.option(fc.constantFrom('close', 'keep-alive', 'Close', 'KEEP-ALIVE')),
      }),
      (r) => {
        const eol = r.lf ? '\n' : '\r\n';
        const headers = r.headers.filter(
          ([k]) => !['content-length', 'transfer-encoding', 'connection', 'upgrade', 'accept-encoding'].includes(k.toLowerCase()),
        );
        if (r.close) headers.push(['Connection', r.close]);
        const text = `${r.method} ${r.path} HTTP/1.${r.minor}${eol}` + headers.map(([k, v]) => `${k}: ${v}${eol}`).join('') + eol;
        const b = Buffer.from(text + 'GET /again HTTP/1.1\r\n\r\n', 'latin1');
        const n = parseHttpHead(b, b.length, head, 4096);
        assert.equal(n, Buffer.byteLength(text, 'latin1'), JSON.stringify(text));
        assert.equal(head.method, r.method === 'GET' ? METHOD_GET : r.method === 'HEAD' ? METHOD_HEAD : METHOD_OTHER);
        assert.equal(str(b, head.targetStart, head.targetEnd), r.path);
        const qm = r.path.indexOf('?');
        assert.equal(head.pathEnd, head.targetStart + (qm < 0 ? r.path.length : qm));
        assert.equal(head.versionMinor, r.minor);
        const close = r.close?.toLowerCase();
        assert.equal(head.keepAlive, close === 'close' ? false : r.minor === 1 ? true : close === 'keep-alive');
        assert.equal(head.headerCount, headers.length);
        headers.forEach(([k, v], i) => {
          assert.equal(str(b, head.headerNameStart[i], head.headerNameEnd[i]), k);
          assert.equal(str(b, head.headerValueStart[i], head.headerValueEnd[i]), v);
        });
        for (const [k] of headers) assert.ok(head.findHeader(b, k.toLowerCase()) >= 0);
      },
    ),
    { numRuns: 3000 },
  );
});
