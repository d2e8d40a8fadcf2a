// A full disk and then a read-only one under the state file (a small tmpfs, mounted for the
// test; root or password-less sudo needed, which CI has): each failed dump keeps the previous
// dump as it was and logs an error; once the disk is writable again, dumps resume.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from '../helpers/http-client.ts';
import { UdpClient, announcePacket } from '../helpers/udp-client.ts';
import { waitUntil } from '../helpers/process.ts';
import { startChildTracker } from '../helpers/child-tracker.ts';
import type { ChildTracker } from '../helpers/child-tracker.ts';
import { Tmpfs, fill, tmpfsSkip } from '../helpers/tmpfs.ts';

const dir = mkdtempSync(join(tmpdir(), 'swarmd-disk-'));
const mnt = join(dir, 'mnt');
let disk: Tmpfs | undefined;
let tracker: ChildTracker | undefined;
after(() => {
  tracker?.child.kill();
  disk?.unmount();
  rmSync(dir, { recursive: true, force: true });
});

type DumpFigures = { dumps: number; failures: number };
async function dumpFigures(port: number): Promise<DumpFigures> {
  const s = JSON.parse((await get('127.0.0.1', port, '/stats.json?top=0&history=0')).body.toString()) as { state_dump: DumpFigures };
  return s.state_dump;
}

test('a full disk or a read-only state directory keeps the previous dump and logs an error', { skip: tmpfsSkip, timeout: 120_000 }, async () => {
  disk = new Tmpfs(mnt, '64k');
  const file = join(mnt, 'state');
  tracker = await startChildTracker(['--state-file', file, '--state-interval', '1', '--log-level', 'info']);
  const port = tracker.port;
  const client = await UdpClient.open('127.0.0.1', port);
  const complete = async (from: number, to: number) => {
    const cid = await client.connect();
    for (let t = from; t < to; t++) {
      const reply = await client.request(
        announcePacket({
          connectionId: cid,
          transactionId: client.nextTransactionId(),
          infoHash: Buffer.alloc(20, 0)
            .fill(t & 255, 0, 1)
            .fill(t >> 8, 1, 2),
          event: 1,
          left: 0n,
          port: 7000,
        }),
      );
      assert.ok(reply && reply.readUInt32BE(0) === 1, `announce for torrent ${t}`);
    }
  };
  const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  try {
    await complete(0, 20);
    await waitUntil(
      () => {
        try {
          return lines() === 20;
        } catch {
          return false;
        }
      },
      10_000,
      () => 'no dump of the first 20 torrents',
    );
    const good = readFileSync(file);

    // Full: the next dump (1,000 more torrents, ~50 KB) can't fit.
    fill(join(mnt, 'filler'));
    await complete(20, 1020);
    const errorsBefore = tracker.lines.filter((l) => l.includes('"level":50') && l.includes('state dump failed')).length;
    await waitUntil(
      async () => (await dumpFigures(port)).failures >= 2,
      10_000,
      () => 'no failed dump on a full disk',
    );
    assert.ok(readFileSync(file).equals(good), 'the previous dump is kept on a full disk');
    assert.ok(
      tracker.lines.some((l) => l.includes('"level":50') && l.includes('state dump failed') && l.includes('ENOSPC')),
      'the error is logged',
    );
    assert.ok(tracker.lines.filter((l) => l.includes('"level":50') && l.includes('state dump failed')).length > errorsBefore);

    // Read-only: room again, but nothing may be written.
    rmSync(join(mnt, 'filler'));
    disk.readOnly(true);
    const failed = (await dumpFigures(port)).failures;
    await waitUntil(
      async () => (await dumpFigures(port)).failures >= failed + 2,
      10_000,
      () => 'no failed dump on a read-only disk',
    );
    assert.ok(readFileSync(file).equals(good), 'the previous dump is kept on a read-only disk');
    assert.ok(
      tracker.lines.some((l) => l.includes('state dump failed') && l.includes('EROFS')),
      'the error is logged',
    );

    // Writable again: the next dump has every torrent, and no temporary file is left behind.
    disk.readOnly(false);
    await waitUntil(
      () => lines() === 1020,
      10_000,
      () => 'dumps did not resume',
    );
    assert.deepEqual(readdirSync(mnt), ['state']);
    assert.ok(tracker.child.running);
  } finally {
    client.close();
  }
  await tracker.child.stop('SIGTERM');
});
