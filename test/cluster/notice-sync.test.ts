// Takedown notices across a cluster: filed on one node, blocked on every node (also one started
// later), lifted everywhere; large notices travel in parts.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { infoHash } from '../helpers/tracker.ts';
import { NatsServer, natsMissing } from './nats-server.ts';
import { announce, clusterConnected, startNode, stopNode, within } from './node.ts';
import type { Node } from './node.ts';
import { RecordAssembler, splitRecord } from '../../src/cluster/notice-sync.ts';
import type { NoticeRecord } from '../../src/notices/notice-journal.ts';

const missing = natsMissing();

/** `n` distinct hashes in hex, the first being `first`. */
function hashes(n: number, first: Buffer): string[] {
  const out = [first.toString('hex')];
  for (let i = 1; i < n; i++) out.push(i.toString(16).padStart(40, '0'));
  return out;
}

describe('takedown notices filed on one node block on every node', { skip: missing ?? false }, () => {
  let nats: NatsServer;
  const nodes: Node[] = [];
  let dir: string;

  const startNoticeNode = (name: string) =>
    startNode(name, { servers: [nats.url], subjectPrefix: 'notices.test' }, { noticesJournal: path.join(dir, `${name}.jsonl`) });

  before(async () => {
    nats = await NatsServer.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-cluster-notices-'));
    for (const name of ['a', 'b']) nodes.push(await startNoticeNode(name));
    await within(5000, 'connected', async () => nodes.every(clusterConnected));
  });

  after(async () => {
    for (const n of nodes) await stopNode(n);
    await nats?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a notice of 2,500 hashes (three parts) filed on A is refused on B and on a late node; a lift on A lifts it everywhere', async () => {
    const [a, b] = nodes;
    const hash = infoHash('taken down');
    const last = Buffer.from('ff'.repeat(20), 'hex');
    assert.notEqual(await announce(b, hash, 7101), null);
    const list = [...hashes(2499, hash), last.toString('hex')];
    const filed = await a.notices!.file({ id: 'DMCA-1', received: '2026-11-01', sender: 'Studio', on_behalf_of: 'Studio', hashes: list, note: 'n' });
    assert.equal(filed.ok, true);
    await within(3000, 'refused on b', async () => (await announce(b, hash, 7102)) === null);
    await within(3000, 'the last part applied on b', async () => (await announce(b, last, 7103)) === null);
    // B journals it and counts it like its own.
    assert.equal(b.notices!.get('DMCA-1')?.new, 2500);
    assert.match(fs.readFileSync(path.join(dir, 'b.jsonl'), 'utf8'), /"DMCA-1"/);
    const late = await startNoticeNode('late');
    nodes.push(late);
    await within(5000, 'refused on the late node', async () => (await announce(late, hash, 7104)) === null);
    assert.equal(late.notices!.get('DMCA-1')?.listed, 2500);
    const lifted = await a.notices!.lift('DMCA-1', { reason: 'counter-notice' });
    assert.equal(lifted.ok, true);
    await within(3000, 'allowed again on b', async () => (await announce(b, hash, 7105)) !== null);
    await within(3000, 'allowed again on the late node', async () => (await announce(late, hash, 7106)) !== null);
    assert.equal(b.notices!.get('DMCA-1')?.lifts.length, 1);
  });
});

test('a record split into parts is put back together only from all its parts, in order', () => {
  const record: NoticeRecord = {
    type: 'notice',
    filed: '2026-11-22T08:00:00.000Z',
    id: 'X',
    received: '2026-11-21',
    sender: 's',
    on_behalf_of: 'o',
    hashes: hashes(2001, Buffer.alloc(20, 1)),
    note: '',
  };
  const parts = splitRecord(record);
  assert.equal(parts.length, 3);
  const whole = new RecordAssembler();
  assert.equal(whole.add(parts[0]!), null);
  assert.equal(whole.add(parts[1]!), null);
  assert.deepEqual(whole.add(parts[2]!), record);
  const skipped = new RecordAssembler();
  assert.equal(skipped.add(parts[0]!), null);
  assert.equal(skipped.add(parts[2]!), 'bad'); // a part went missing: the record is dropped
  assert.equal(new RecordAssembler().add(parts[1]!), 'bad'); // never saw its first part
  const lift: NoticeRecord = { type: 'lift', id: 'X', at: '2026-11-22T09:00:00.000Z', reason: 'r', hashes: null };
  assert.deepEqual(new RecordAssembler().add(splitRecord(lift)[0]!), lift);
});
