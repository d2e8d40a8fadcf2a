import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NoticeRegistry } from '../../src/notices/registry.ts';
import type { NoticeRecord } from '../../src/notices/notice-journal.ts';
import { AccessList } from '../../src/access/access-list.ts';
import { createLogger } from '../../src/log.ts';
import { journalPath, notice } from '../helpers/notice-tracker.ts';

const A = 'aa'.repeat(20);
const B = 'bb'.repeat(20);

test('records filed here are passed on once journaled; records from another node are applied, journaled and not passed on', async () => {
  const file = journalPath();
  const registry = await NoticeRegistry.open(file, createLogger('silent'));
  const passedOn: NoticeRecord[] = [];
  const changes: string[][] = [];
  registry.onRecord((r) => passedOn.push(r));
  registry.onChange(async (c) => void changes.push(c.blocked));
  try {
    assert.ok((await registry.file(notice('local', [A]))).ok);
    assert.deepEqual(
      passedOn.map((r) => [r.type, r.id]),
      [['notice', 'local']],
    );
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 1, 'journaled before it was passed on');

    const remote = { ...passedOn[0]!, id: 'remote', hashes: [A, B] };
    const applied = await registry.applyRecord(remote);
    assert.ok(applied.ok && applied.changed);
    assert.deepEqual([applied.notice.new, applied.notice.duplicates], [1, 1]);
    const again = await registry.applyRecord(remote);
    assert.ok(again.ok && !again.changed, 'the same record twice changes nothing');
    const lift = await registry.applyRecord({ type: 'lift', id: 'local', at: new Date().toISOString(), reason: 'elsewhere', hashes: null });
    assert.ok(lift.ok && lift.changed);
    assert.deepEqual(passedOn.length, 1, 'nothing from another node is passed on');
    assert.deepEqual(changes, [[A], [B], []]);
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 3);

    // The table the workers get: A is now blocked by "remote" only, B too.
    const list = new AccessList(null, registry.blocks);
    const notice1 = list.blockedBy(Buffer.from(A, 'hex'), 0);
    assert.equal(list.blockReason(notice1), 'blocked by takedown notice remote');
    assert.equal(list.blockedBy(Buffer.from('cc'.repeat(20), 'hex'), 0), -1);
    const bad = await registry.applyRecord({ type: 'notice', id: 'x' });
    assert.ok(!bad.ok && bad.kind === 'invalid');
  } finally {
    await registry.close();
  }
});
