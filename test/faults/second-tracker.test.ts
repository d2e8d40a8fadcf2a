// A second swarmd on an address and port in use is refused with an error naming the first,
// instead of binding beside it (SO_REUSEPORT) and splitting every swarm between two stores.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Child, waitUntil } from '../helpers/process.ts';
import { startChildTracker } from '../helpers/child-tracker.ts';
import type { ChildTracker } from '../helpers/child-tracker.ts';

const SWARMD = fileURLToPath(new URL('../../bin/swarmd.js', import.meta.url));
const running: ChildTracker[] = [];

/** Started with --log-level info, and past the point where a SIGTERM stops it cleanly (its workers answer before). */
async function start(port?: number): Promise<ChildTracker> {
  const t = await startChildTracker(['--log-level', 'info'], port);
  running.push(t);
  await waitUntil(
    () => t.lines.some((l) => l.includes('"swarmd listening"')),
    20_000,
    () => t.child.output(),
  );
  return t;
}
after(() => {
  for (const t of running) t.child.kill();
});

test('a second swarmd on the same port refuses to start and names the first', { timeout: 60_000 }, async () => {
  const first = await start();
  const second = new Child(process.execPath, [SWARMD, '--listen-udp', `127.0.0.1:${first.port}`, '--workers', '1', '--memory-limit', '64M']);
  assert.equal(await second.exited, 111, second.output());
  const fatal = second
    .output()
    .split('\n')
    .find((l) => l.includes('could not start'));
  assert.ok(fatal, second.output());
  assert.match(
    JSON.parse(fatal).err,
    new RegExp(
      `^udp 127\\.0\\.0\\.1:${first.port} is in use by swarmd pid ${first.child.process.pid} \\(version \\d+\\.\\d+\\.\\d+, started \\d{4}-\\d\\d-\\d\\dT`,
    ),
  );
  // The first one goes on, alone on its port; once it has stopped, the port is free again.
  assert.ok(first.child.running);
  assert.equal(await first.child.stop('SIGTERM'), 0);
  const third = await start(first.port);
  assert.equal(await third.child.stop('SIGTERM'), 0);
});
