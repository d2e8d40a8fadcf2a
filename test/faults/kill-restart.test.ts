// kill -9 under announce load, then a restart with the same state file: the completed counts
// are back exactly as the last dump before the kill had them.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from '../helpers/process.ts';
import { scrape } from '../helpers/http-client.ts';
import { startChildTracker, udpLoad } from '../helpers/child-tracker.ts';
import type { ChildTracker } from '../helpers/child-tracker.ts';

const dir = mkdtempSync(join(tmpdir(), 'swarmd-kill-'));
const running: ChildTracker[] = [];
after(() => {
  for (const t of running) t.child.kill();
  rmSync(dir, { recursive: true, force: true });
});

const TORRENTS = 50;
const hash = (t: number) => Buffer.alloc(20, 0x40 + t);

/** The state file as a map from hex info hash to completed count. */
function readDump(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [h, , completed] = line.split(':');
    m.set(h.toLowerCase(), Number(completed));
  }
  return m;
}

test('after kill -9 under load, a restart has the completed counts of the last dump', { timeout: 120_000 }, async () => {
  const file = join(dir, 'state');
  const args = ['--state-file', file, '--state-interval', '1', '--log-level', 'info'];
  const first = await startChildTracker(args);
  running.push(first);
  // every announce is a new peer completing a download of one of the torrents
  const load = udpLoad(first.port, { streams: 4, announce: (n) => ({ infoHash: hash(n % TORRENTS), event: 1, left: 0n, port: 1024 + n }) });
  await waitUntil(
    () => load.result.sent > 3000,
    60_000,
    () => `only ${load.result.sent} announces sent`,
  );
  // a dump has been written under load, with every torrent and over 1000 completions in it
  const completions = (dump: Map<string, number>) => [...dump.values()].reduce((a, b) => a + b, 0);
  await waitUntil(
    () => {
      try {
        const dump = readDump(file);
        return dump.size === TORRENTS && completions(dump) > 1000;
      } catch {
        return false;
      }
    },
    60_000,
    () => 'no dump with every torrent and over 1000 completions',
  );
  first.child.process.kill('SIGKILL');
  await first.child.exited;
  const { failed, sent } = await load.stop();
  const lastDump = readDump(file);
  const dumped = completions(lastDump);
  assert.ok(dumped > 1000 && dumped <= sent, `${dumped} completions in the last dump of ${sent} announces`);
  assert.ok(failed.length < sent, 'the load was answered before the kill');

  const second = await startChildTracker(args, first.port);
  running.push(second);
  for (let t = 0; t < TORRENTS; t++) {
    const counts = await scrape(second.port, hash(t));
    assert.equal(counts.downloaded, lastDump.get(hash(t).toString('hex')), `torrent ${t}: completed as in the last dump`);
  }
  await second.child.stop('SIGTERM');
});
