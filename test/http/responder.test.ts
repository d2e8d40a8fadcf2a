// The answer writers of the HTTP responder contract: the exact bytes a connection layer sends,
// written at any base offset of a buffer (a native layer's shared output buffer included).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHttpHead } from '../../src/protocol/http-head.ts';
import { C, ROW } from '../../src/stats/counters.ts';
import { HttpRequest, HttpAnswer, ANSWER_KEEP, ANSWER_CLOSE } from '../../src/http/responder.ts';

function request(text: string, keepAlive: boolean): HttpRequest {
  const req = new HttpRequest();
  req.bytes = Buffer.from(text, 'latin1');
  assert.ok(parseHttpHead(req.bytes, req.bytes.length, req.head, 8192) > 0);
  req.keepAlive = keepAlive;
  return req;
}

const written = (out: HttpAnswer) => out.buf.toString('latin1', out.start, out.end);

for (const base of [0, 1000]) {
  test(`a 200 answer gets its head in front of the body written in place (base ${base})`, () => {
    const out = new HttpAnswer(4096, new Float64Array(ROW));
    out.base = base;
    const body = 'd8:completei1ee';
    const start = out.bodyStart();
    assert.ok(start >= base);
    const end = start + out.buf.write(body, start, 'latin1');
    assert.equal(out.ok(end, request('GET /a HTTP/1.1\r\n\r\n', false)), ANSWER_CLOSE);
    assert.equal(written(out), `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\nConnection: close\r\n\r\n${body}`);
    assert.ok(out.start >= base);
    assert.equal(out.ok(end, request('GET /a HTTP/1.1\r\n\r\n', true)), ANSWER_KEEP);
    assert.equal(written(out), `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n\r\n${body}`);
    assert.equal(out.ok(end, request('GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', true)), ANSWER_KEEP);
    assert.equal(written(out), `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\nConnection: keep-alive\r\n\r\n${body}`);
  });
}

test('failures are bencoded reasons with status 200, counted in http_invalid; errors and redirects are plain', () => {
  const counters = new Float64Array(ROW);
  const out = new HttpAnswer(4096, counters);
  assert.equal(out.failure('missing port', request('GET /a HTTP/1.1\r\n\r\n', true)), ANSWER_KEEP);
  assert.match(written(out), /Content-Length: 34\r\n\r\nd14:failure reason12:missing porte$/);
  assert.equal(counters[C.http_invalid], 1);
  assert.equal(out.error(405, 'Method Not Allowed'), ANSWER_CLOSE);
  assert.equal(
    written(out),
    'HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nContent-Length: 23\r\nAllow: GET\r\nConnection: close\r\n\r\n405 Method Not Allowed\n',
  );
  assert.equal(out.redirect('https://example.org/', true), ANSWER_KEEP);
  assert.equal(written(out), 'HTTP/1.1 302 Found\r\nLocation: https://example.org/\r\nContent-Length: 0\r\n\r\n');
});
