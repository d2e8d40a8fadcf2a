import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { infoHash } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { startNoticeTracker, notice } from '../helpers/notice-tracker.ts';
import type { PublicNotice } from '../../src/notices/registry.ts';

const A = infoHash('public-a').toString('hex');
const B = infoHash('public-b').toString('hex');

test('/transparency lists every notice with its hashes and counts, as JSON and as an escaped HTML page, without the notes', async () => {
  const t = await startNoticeTracker();
  try {
    await t.api('POST', '/notices', notice('T-1', [A, A], { sender: '<script>alert(1)</script> & Co', note: 'internal: do not publish' }));
    await t.api('POST', '/notices', notice('T-2', [A, B], { on_behalf_of: 'Studio "Quotes"' }));
    await t.api('POST', '/notices/T-2/lift', { reason: 'withdrawn by the sender', hashes: [B] });

    const json = await get('127.0.0.1', t.tcp4, '/transparency');
    assert.equal(json.status, 200);
    assert.match(json.headers.get('content-type')!, /^application\/json/);
    const doc = JSON.parse(json.body.toString());
    assert.equal(doc.schema, 'swarmd-transparency/1');
    assert.deepEqual([doc.notices, doc.hashes_listed, doc.hashes_blocked], [2, 4, 1]);
    assert.deepEqual(
      doc.list.map((n: PublicNotice) => [n.id, n.received, n.listed, n.new, n.duplicates, n.lifted, n.hashes]),
      [
        ['T-1', '2024-05-01', 2, 1, 1, 0, [A]],
        ['T-2', '2024-05-01', 2, 1, 1, 1, [A, B]],
      ],
    );
    assert.equal(doc.list[0].sender, '<script>alert(1)</script> & Co');
    assert.equal(doc.list[1].lifts[0].reason, 'withdrawn by the sender');
    assert.ok(!json.body.toString().includes('internal'), 'the note is not published');

    const html = await get('127.0.0.1', t.tcp4, '/transparency', 'Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n');
    assert.match(html.headers.get('content-type')!, /^text\/html/);
    const page = html.body.toString();
    assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co') && !page.includes('<script>'), 'escaped');
    assert.ok(page.includes('Studio &quot;Quotes&quot;'));
    assert.match(page, /<strong>1 info hashes blocked<\/strong>/);
    assert.ok(page.includes(A) && page.includes(B) && !page.includes('internal'));
    assert.match(html.headers.get('content-security-policy')!, /default-src 'none'/);

    const forced = await get('127.0.0.1', t.tcp4, '/transparency?format=json', 'Accept: text/html\r\n');
    assert.match(forced.headers.get('content-type')!, /^application\/json/);
    const gz = await get('127.0.0.1', t.tcp4, '/transparency', 'Accept-Encoding: gzip\r\n');
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.equal(JSON.parse(gunzipSync(gz.body).toString()).notices, 2);
    assert.equal((await get('127.0.0.1', t.tcp4, '/transparency?format=xml')).status, 400);
  } finally {
    await t.close();
  }
});

test('the transparency page can be moved or turned off, and is absent without notices', async () => {
  const off = await startNoticeTracker({ transparencyPath: '' });
  try {
    assert.equal((await get('127.0.0.1', off.tcp4, '/transparency')).status, 404);
  } finally {
    await off.close();
  }
  const moved = await startNoticeTracker({ transparencyPath: 'legal/dmca' });
  try {
    assert.equal((await get('127.0.0.1', moved.tcp4, '/legal/dmca')).status, 200);
    assert.equal((await get('127.0.0.1', moved.tcp4, '/transparency')).status, 404);
  } finally {
    await moved.close();
  }
  const none = await startNoticeTracker({ noticesJournal: null });
  try {
    assert.equal(none.admin, null);
    assert.equal((await get('127.0.0.1', none.tcp4, '/transparency')).status, 404);
  } finally {
    await none.close();
  }
});
