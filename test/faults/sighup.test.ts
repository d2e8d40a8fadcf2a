// SIGHUP to a running swarmd (a child process with a whitelist) under announce load: every
// reload takes effect and not one request fails.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from '../helpers/http-client.ts';
import { percentEncode } from '../helpers/tracker.ts';
import { waitUntil } from '../helpers/process.ts';
import { startChildTracker, udpLoad } from '../helpers/child-tracker.ts';
import type { ChildTracker } from '../helpers/child-tracker.ts';

const dir = mkdtempSync(join(tmpdir(), 'swarmd-hup-'));
let tracker: ChildTracker | undefined;
after(() => {
  tracker?.child.kill();
  rmSync(dir, { recursive: true, force: true });
});

const hash = (t: number) => Buffer.alloc(20, t + 1);
const RELOADS = 8;

async function httpAnnounce(port: number, infoHash: Buffer, peerPort: number): Promise<string> {
  const r = await get('127.0.0.1', port, `/announce?info_hash=${percentEncode(infoHash)}&peer_id=-HU0001-000000000000&port=${peerPort}&left=1&compact=1`);
  return r.body.toString('latin1');
}

test('SIGHUP reloads under load with zero failed requests', { timeout: 120_000 }, async () => {
  const list = join(dir, 'whitelist');
  const write = (n: number) => writeFileSync(list, Array.from({ length: n }, (_, t) => hash(t).toString('hex')).join('\n') + '\n');
  write(10);
  tracker = await startChildTracker(['--whitelist', list, '--log-level', 'info']);
  const port = tracker.port;
  const load = udpLoad(port, { streams: 4, announce: (n) => ({ infoHash: hash(n % 10), port: 1024 + (n % 5000) }) });
  let httpSent = 0;
  const httpFailed: string[] = [];
  let httpRunning = true;
  const httpLoop = (async () => {
    while (httpRunning) {
      const body = await httpAnnounce(port, hash(httpSent % 10), 30000 + (httpSent % 1000)).catch((e: Error) => `error ${e.message}`);
      if (!body.includes('8:intervali')) httpFailed.push(body.slice(0, 100));
      httpSent++;
    }
  })();

  for (let r = 1; r <= RELOADS; r++) {
    // Each reload comes while announces of both kinds are going on (however slowly the machine serves them).
    const [h0, u0] = [httpSent, load.result.sent];
    await waitUntil(
      () => httpSent >= h0 + 8 && load.result.sent >= u0 + 70,
      30_000,
      () => `reload ${r}: the load did not go on (${httpSent - h0} HTTP, ${load.result.sent - u0} UDP)`,
    );
    const added = hash(10 + r);
    assert.match(await httpAnnounce(port, added, 40000), /failure reason/, `reload ${r}: not listed yet`);
    write(11 + r);
    tracker.child.process.kill('SIGHUP');
    await waitUntil(
      async () => (await httpAnnounce(port, added, 40000)).includes('8:intervali'),
      10_000,
      () => `reload ${r} never took effect`,
    );
  }
  httpRunning = false;
  await httpLoop;
  const udp = await load.stop();
  assert.deepEqual(udp.failed, [], `${udp.failed.length} of ${udp.sent} UDP announces failed`);
  assert.deepEqual(httpFailed, [], `${httpFailed.length} of ${httpSent} HTTP announces failed`);
  assert.ok(udp.sent > 500 && httpSent > 50, `${udp.sent} UDP and ${httpSent} HTTP announces during ${RELOADS} reloads`);
  assert.ok(tracker.child.running, 'swarmd is still running');
  assert.equal(tracker.lines.filter((l) => l.includes('reloading the access list')).length, RELOADS);
  await tracker.child.stop('SIGTERM');
});
