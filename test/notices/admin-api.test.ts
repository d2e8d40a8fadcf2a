import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config/config.ts';
import { infoHash } from '../helpers/tracker.ts';
import { rawExchange } from '../helpers/http-client.ts';
import { startNoticeTracker, notice, TOKEN } from '../helpers/notice-tracker.ts';

const A = infoHash('admin-a').toString('hex');

test('every request needs the right bearer token', async () => {
  const t = await startNoticeTracker();
  try {
    const none = await t.api('GET', '/notices', undefined, { Authorization: '' });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(none.body.error!, /Authorization: Bearer/);
    for (const wrong of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer x', `Basic ${TOKEN}`, TOKEN]) {
      const r = await t.api('POST', '/notices', notice('N', [A]), { Authorization: wrong });
      assert.equal(r.status, 401, wrong);
    }
    assert.equal((await t.api('GET', '/notices')).status, 200);
    assert.equal((await t.api('GET', '/notices')).body.notices!.length, 0, 'nothing was filed by the refused requests');
    assert.equal(t.counters().admin_refused, 6);
  } finally {
    await t.close();
  }
});

test('admin.networks: clients from elsewhere are refused before the token is looked at', async () => {
  const admin = (networks: string[]) => ({ ...defaultConfig().admin, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, networks });
  const outside = await startNoticeTracker({ admin: admin(['10.0.0.0/8', '::1/128']) });
  try {
    const r = await outside.api('GET', '/notices');
    assert.equal(r.status, 403);
    assert.match(r.body.error!, /127\.0\.0\.1 is not in admin\.networks/);
  } finally {
    await outside.close();
  }
  const inside = await startNoticeTracker({ admin: admin(['127.0.0.0/8']) });
  try {
    assert.equal((await inside.api('GET', '/notices')).status, 200);
  } finally {
    await inside.close();
  }
});

test('bad notices get one error per bad field; malformed hashes are named by their place', async () => {
  const t = await startNoticeTracker();
  try {
    const r = await t.api('POST', '/notices', {
      id: 'has space',
      received: 'yesterday',
      sender: 'S',
      hashes: [A, 'deadbeef', 'magnet:?dn=x', `magnet:?xt=urn:btih:${'1'.repeat(32)}`, { a: 1 }],
      colour: 'red',
    });
    assert.equal(r.status, 400);
    assert.match(r.body.error!, /^8 bad fields/);
    const fields = Object.fromEntries(r.body.errors!.map((e: { field: string; message: string }) => [e.field, e.message]));
    assert.deepEqual(Object.keys(fields).sort(), ['colour', 'hashes[1]', 'hashes[2]', 'hashes[3]', 'hashes[4]', 'id', 'on_behalf_of', 'received']);
    assert.match(fields['hashes[1]'], /"deadbeef" is not an info hash/);
    assert.match(fields['hashes[2]'], /without an xt=urn:btih/);
    assert.match(fields['hashes[3]'], /btih is not/);
    assert.match(fields['hashes[4]'], /not a string/);
    assert.equal((await t.api('GET', '/notices')).body.notices!.length, 0);

    assert.equal((await t.api('POST', '/notices', notice('dup', [A]))).status, 201);
    const again = await t.api('POST', '/notices', notice('dup', [A], { sender: 'Someone else' }));
    assert.equal(again.status, 409);
    assert.match(again.body.error!, /was filed already/);
    assert.equal((await t.api('POST', '/notices', notice('dup', [A]))).status, 200, 'the same notice again is no change');
  } finally {
    await t.close();
  }
});

test('bodies that are not JSON objects, too large, or of another type are refused; unknown endpoints and methods too', async () => {
  const t = await startNoticeTracker({ admin: { ...defaultConfig().admin, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, maxBodyBytes: 2048 } });
  try {
    const notJson = await t.api('POST', '/notices', '{"id": ');
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.error!, /not JSON/);
    assert.equal((await t.api('POST', '/notices', '[]')).status, 400);
    assert.match((await t.api('POST', '/notices', '')).body.error!, /empty/);
    const form = await t.api('POST', '/notices', 'id=1', { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);

    // Too large by its Content-Length, and too large while streamed (chunked, no length).
    const big = JSON.stringify(notice('big', Array(100).fill(A)));
    const declared = await t.api('POST', '/notices', big);
    assert.equal(declared.status, 413);
    assert.match(declared.body.error!, /admin\.max_body \(2048 bytes\)/);
    const streamed = await rawExchange(
      '127.0.0.1',
      t.admin!.port,
      `POST /notices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
      { timeoutMs: 5000 },
    );
    assert.equal(streamed.responses[0]?.status, 413);
    assert.ok(streamed.closedByServer, 'the connection is closed instead of reading the rest');

    const unknown = await t.api('GET', '/blocks');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error!, /endpoints: POST \/notices/);
    assert.equal((await t.api('GET', '/notices/nope')).status, 404);
    assert.equal((await t.api('GET', '/notices/..%2F..%2Fetc')).status, 404);
    assert.equal((await t.api('GET', '/notices/%E0%A4%A')).status, 404);
    const method = await t.api('DELETE', '/notices');
    assert.deepEqual([method.status, method.headers.get('allow')], [405, 'GET, POST']);
    assert.equal((await t.api('GET', '/notices/x/lift')).status, 405);
  } finally {
    await t.close();
  }
});

test('the admin API is off unless configured; the tracker port never takes admin requests', async () => {
  const t = await startNoticeTracker({ admin: defaultConfig().admin });
  try {
    assert.equal(t.admin, null);
    assert.ok(t.notices !== null, 'notices work without the API (the journal is replayed)');
    const r = await rawExchange('127.0.0.1', t.tcp4, 'POST /notices HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
    assert.equal(r.responses[0]?.status, 405, 'the tracker port does not take admin requests');
  } finally {
    await t.close();
  }
});
