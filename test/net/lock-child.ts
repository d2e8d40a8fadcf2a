// A process that holds listener locks, for the lock tests: argv[2] is the listeners as JSON,
// SWARMD_TAKE=<token>:<pid> makes it the new half of an upgrade. It prints one JSON line (its
// locks, or the error), then obeys lines on stdin: `allow <token>` (let an upgrade take over),
// `exit`.

import readline from 'node:readline';
import { acquireListenerLocks } from '../../src/net/listener-lock.ts';

const listeners = JSON.parse(process.argv[2]);
const take = process.env.SWARMD_TAKE ? { token: process.env.SWARMD_TAKE.split(':')[0], pid: Number(process.env.SWARMD_TAKE.split(':')[1]) } : null;
try {
  const locks = await acquireListenerLocks(listeners, { pid: process.pid, version: 'test-1.2.3', startedAt: 1700000000000 }, take);
  process.stdout.write(`${JSON.stringify({ ok: true, locks: locks.length })}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, arg] = line.split(' ');
    if (cmd === 'allow') {
      let taken = 0;
      for (const l of locks) {
        l.allowTakeOver(arg, () => {
          if (++taken === locks.length) process.stdout.write(`${JSON.stringify({ takenOver: true })}\n`);
        });
      }
      process.stdout.write(`${JSON.stringify({ allowed: arg })}\n`);
    } else if (cmd === 'exit') break;
  }
  await Promise.all(locks.map((l) => l.close()));
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message, name: (err as Error).name })}\n`);
}
process.exit(0);
