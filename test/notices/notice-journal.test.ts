import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { infoHash, percentEncode } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { decode } from '../../src/protocol/bencode.ts';
import { NoticeRegistry } from '../../src/notices/registry.ts';
import { capture } from '../helpers/log-capture.ts';
import { startNoticeTracker, notice, journalPath } from '../helpers/notice-tracker.ts';
import type { NoticeTracker } from '../helpers/notice-tracker.ts';

const A = infoHash('journal-a');
const B = infoHash('journal-b');
const C = infoHash('journal-c');
const hex = (h: Buffer) => h.toString('hex');

async function announce(t: NoticeTracker, hash: Buffer): Promise<string> {
  const body = (await get('127.0.0.1', t.tcp4, `/announce?info_hash=${percentEncode(hash)}&port=7&left=1`)).body;
  return Buffer.from((decode(body) as Map<string, Uint8Array>).get('failure reason') ?? []).toString();
}

test('a restart keeps every notice and lift acknowledged, and blocks before answering anyone', async () => {
  const journal = journalPath();
  const first = await startNoticeTracker({}, journal);
  try {
    await first.api('POST', '/notices', notice('R-1', [hex(A), hex(B)], { note: 'kept' }));
    await first.api('POST', '/notices', notice('R-2', [hex(B), hex(C)]));
    await first.api('POST', '/notices/R-1/lift', { reason: 'mistake', hashes: [hex(A)] });
    await first.api('POST', '/notices/R-1/lift', { reason: 'again', hashes: [hex(A)] });
    await first.api('POST', '/notices', notice('R-2', [hex(B), hex(C)]));
  } finally {
    await first.close();
  }
  assert.equal(
    readFileSync(journal, 'utf8').split('\n').filter(Boolean).length,
    3,
    'one line per notice or lift; repeats that change nothing are not journaled',
  );
  const second = await startNoticeTracker({}, journal);
  try {
    assert.equal(await announce(second, A), '');
    assert.equal(await announce(second, B), 'blocked by takedown notice R-1');
    assert.equal(await announce(second, C), 'blocked by takedown notice R-2');
    const r1 = (await second.api('GET', '/notices/R-1')).body;
    assert.deepEqual([r1.note, r1.new, r1.lifted, r1.lifts![0].reason], ['kept', 2, 1, 'mistake']);
    const r2 = (await second.api('GET', '/notices/R-2')).body;
    assert.deepEqual([r2.new, r2.duplicates], [1, 1], 'counted as when filed');
  } finally {
    await second.close();
  }
});

test('a torn last line (a crash mid-write) is reported, skipped and cut off; later notices start on their own line', async () => {
  const journal = journalPath();
  const first = await startNoticeTracker({}, journal);
  await first.api('POST', '/notices', notice('whole', [hex(A)]));
  await first.close();
  appendFileSync(journal, `{"type":"notice","filed":"2024-05-02T00:00:00.000Z","id":"torn","received":"2024-05-01","sender":"S","on_beh`);

  const { log, at } = capture();
  const registry = await NoticeRegistry.open(journal, log);
  await registry.close();
  const warning = at('warn').find((e) => /incomplete/.test(e.msg));
  assert.ok(warning, 'the torn line is reported');
  assert.equal(warning.line, 2);
  assert.ok(readFileSync(journal, 'utf8').endsWith('}\n'), 'and cut off the file');

  appendFileSync(journal, `{"type":"notice","id":"torn-again","recei`);
  const second = await startNoticeTracker({}, journal);
  try {
    assert.equal(await announce(second, A), 'blocked by takedown notice whole');
    assert.deepEqual(
      (await second.api('GET', '/notices')).body.notices!.map((n: { id: string }) => n.id),
      ['whole'],
    );
    assert.equal((await second.api('POST', '/notices', notice('next', [hex(B)]))).status, 201);
  } finally {
    await second.close();
  }
  const lines = readFileSync(journal, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).id),
    ['whole', 'next'],
  );
});

test('a journal that cannot be opened stops the start with a message naming it', async () => {
  await assert.rejects(startNoticeTracker({}, '/nonexistent-dir/notices.jsonl'), /notices\.journal: can't open \/nonexistent-dir\/notices\.jsonl: ENOENT/);
});

test('unreadable or inconsistent lines in the middle are reported with their numbers and skipped, never fatal', async () => {
  const journal = journalPath();
  const good = JSON.stringify({ type: 'notice', filed: '2024-05-02T00:00:00.000Z', ...notice('ok', [hex(A)]), note: '' });
  writeFileSync(
    journal,
    [
      'not json',
      good,
      JSON.stringify({ type: 'notice', filed: 'x', ...notice('bad', ['nope']) }),
      JSON.stringify({ type: 'lift', id: 'unknown', at: '2024-05-03T00:00:00Z', reason: 'r', hashes: null }),
      JSON.stringify({ type: 'other' }),
      '',
    ].join('\n'),
  );
  const { log, at } = capture();
  const registry = await NoticeRegistry.open(journal, log);
  try {
    assert.deepEqual(
      registry.list().map((n) => n.id),
      ['ok'],
    );
    assert.equal(registry.blockedCount, 1);
    const errors = at('error').map((e) => [e.line, e.msg]);
    assert.deepEqual(
      errors.map((e) => e[0]),
      [1, 3, 4, 5],
    );
    assert.match(String(errors[1]![1]), /filed: is not an ISO 8601 time; hashes\[0\]/);
    assert.match(String(errors[2]![1]), /no notice with the id unknown/);
  } finally {
    await registry.close();
  }
});
