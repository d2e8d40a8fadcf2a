// A full disk under the takedown-notices journal (a small tmpfs): a notice that can't be written
// whole is refused with 503 and changes nothing, not even half a line in the journal; once there
// is room again it is filed, and a restart replays every notice that was accepted.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from '../helpers/http-client.ts';
import { infoHash, percentEncode } from '../helpers/tracker.ts';
import { decode } from '../../src/protocol/bencode.ts';
import { startNoticeTracker, notice } from '../helpers/notice-tracker.ts';
import type { NoticeTracker } from '../helpers/notice-tracker.ts';
import { Tmpfs, fill, tmpfsSkip } from '../helpers/tmpfs.ts';

const dir = mkdtempSync(join(tmpdir(), 'swarmd-notices-disk-'));
let disk: Tmpfs | undefined;
let tracker: NoticeTracker | undefined;
after(async () => {
  await tracker?.close();
  disk?.unmount();
  rmSync(dir, { recursive: true, force: true });
});

async function failureReason(t: NoticeTracker, hash: Buffer): Promise<string> {
  const body = (await get('127.0.0.1', t.tcp4, `/announce?info_hash=${percentEncode(hash)}&port=1000&left=1`)).body;
  return Buffer.from((decode(body) as Map<string, Uint8Array>).get('failure reason') ?? []).toString();
}

test('a full disk refuses a notice whole (503, journal unchanged) and files it once there is room', { skip: tmpfsSkip, timeout: 60_000 }, async () => {
  disk = new Tmpfs(join(dir, 'mnt'), '64k');
  const journal = join(disk.dir, 'notices.jsonl');
  tracker = await startNoticeTracker({}, journal);
  const first = infoHash('disk-first');
  assert.equal((await tracker.api('POST', '/notices', notice('D-1', [first.toString('hex')]))).status, 201);
  const before = readFileSync(journal);

  // 300 hashes: about 13 KB, more than the room left in the journal's last page, so the write
  // fails part of the way through.
  const hashes = Array.from({ length: 300 }, (_, i) => infoHash(`disk-second-${i}`));
  const second = notice(
    'D-2',
    hashes.map((h) => h.toString('hex')),
  );
  fill(join(disk.dir, 'filler'));
  const refused = await tracker.api('POST', '/notices', second);
  assert.equal(refused.status, 503, JSON.stringify(refused.body));
  assert.match(refused.body.error!, /journal could not be written \(ENOSPC/);
  assert.ok(readFileSync(journal).equals(before), 'no part of the notice stays in the journal');
  assert.equal(await failureReason(tracker, hashes[0]!), '', 'nothing was blocked');
  assert.deepEqual(
    (await tracker.api('GET', '/notices')).body.notices!.map((n: { id: string }) => n.id),
    ['D-1'],
  );

  rmSync(join(disk.dir, 'filler'));
  assert.equal((await tracker.api('POST', '/notices', second)).status, 201, 'filed once there is room');
  assert.equal(await failureReason(tracker, hashes[299]!), 'blocked by takedown notice D-2');
  await tracker.close();

  tracker = await startNoticeTracker({}, journal);
  assert.equal(await failureReason(tracker, first), 'blocked by takedown notice D-1');
  assert.equal(await failureReason(tracker, hashes[150]!), 'blocked by takedown notice D-2');
  assert.deepEqual(
    (await tracker.api('GET', '/notices')).body.notices!.map((n: { id: string }) => n.id),
    ['D-1', 'D-2'],
  );
});
