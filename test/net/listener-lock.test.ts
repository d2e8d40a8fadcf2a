import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { once } from 'node:events';

// Ports in these names are never bound: only the locks' abstract sockets are. Picked per run so
// that tests running at the same time on this host do not meet.
const base = 20000 + ((process.pid * 7) % 30000);
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

type Line = { ok?: boolean; error?: string; name?: string; allowed?: string; takenOver?: boolean };

class Holder {
  readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(listeners: object[], take?: string) {
    this.child = spawn(process.execPath, [new URL('./lock-child.ts', import.meta.url).pathname, JSON.stringify(listeners)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, SWARMD_TAKE: take ?? '' },
    });
    children.push(this.child);
    this.lines = readline.createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  async next(): Promise<Line> {
    const r = await this.lines.next();
    assert.equal(r.done, false, 'the child ended without a line');
    return JSON.parse(r.value) as Line;
  }
  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.send('exit');
    await once(this.child, 'exit');
  }
}

test('a second process on a listener in use is refused, and the error names the first', async () => {
  const port = base + 1;
  const first = new Holder([
    { proto: 'udp', host: '127.0.0.1', port },
    { proto: 'tcp', host: '127.0.0.1', port },
  ]);
  assert.deepEqual(await first.next(), { ok: true, locks: 2 });
  const second = new Holder([{ proto: 'tcp', host: '127.0.0.1', port }]);
  const refused = await second.next();
  assert.equal(refused.name, 'ListenerInUseError');
  assert.match(
    refused.error!,
    new RegExp(
      `^tcp 127\\.0\\.0\\.1:${port} is in use by swarmd pid ${first.child.pid} \\(version test-1\\.2\\.3, started 2023-11-14T22:13:20\\.000Z\\): stop it first`,
    ),
  );
  // Another port, or another protocol on a free port, is fine.
  const other = new Holder([{ proto: 'udp', host: '127.0.0.1', port: port + 1000 }]);
  assert.deepEqual(await other.next(), { ok: true, locks: 1 });
  await Promise.all([first.exit(), other.exit()]);
  // Released: now it is free.
  const third = new Holder([{ proto: 'tcp', host: '127.0.0.1', port }]);
  assert.deepEqual(await third.next(), { ok: true, locks: 1 });
  await third.exit();
});

test('a wildcard address conflicts with the addresses it covers, both ways', async () => {
  const port = base + 2;
  const wild = new Holder([{ proto: 'udp', host: '0.0.0.0', port }]);
  assert.equal((await wild.next()).ok, true);
  const one = new Holder([{ proto: 'udp', host: '127.0.0.1', port }]);
  assert.match(
    (await one.next()).error!,
    new RegExp(`^udp 127\\.0\\.0\\.1:${port} is in use by swarmd pid ${wild.child.pid} .*on udp 0\\.0\\.0\\.0:${port}\\)`),
  );
  const v6 = new Holder([{ proto: 'udp', host: '::1', port }]);
  assert.equal((await v6.next()).ok, true, 'an IPv6 address is not covered by 0.0.0.0');
  const dual = new Holder([{ proto: 'udp', host: '::', port }]);
  assert.match((await dual.next()).error!, /is in use by swarmd pid/);
  await Promise.all([wild.exit(), v6.exit()]);
});

test('a process killed outright leaves no lock behind', async () => {
  const port = base + 3;
  const first = new Holder([{ proto: 'udp', host: '127.0.0.1', port }]);
  assert.equal((await first.next()).ok, true);
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  const second = new Holder([{ proto: 'udp', host: '127.0.0.1', port }]);
  assert.equal((await second.next()).ok, true);
  await second.exit();
});

test('an upgrade: the holder hands its locks to the process with its token, and only to it', async () => {
  const port = base + 4;
  const listeners = [
    { proto: 'udp', host: '127.0.0.1', port },
    { proto: 'tcp', host: '0.0.0.0', port },
  ];
  const old = new Holder(listeners);
  assert.equal((await old.next()).ok, true);
  // Without the holder's consent, a token is worth nothing.
  const early = new Holder(listeners, `secret:${old.child.pid}`);
  assert.match((await early.next()).error!, new RegExp(`in use by swarmd pid ${old.child.pid}`));
  old.send('allow secret');
  assert.deepEqual(await old.next(), { allowed: 'secret' });
  const wrong = new Holder(listeners, `guess:${old.child.pid}`);
  assert.match((await wrong.next()).error!, new RegExp(`in use by swarmd pid ${old.child.pid}`));
  const next = new Holder(listeners, `secret:${old.child.pid}`);
  assert.deepEqual(await next.next(), { ok: true, locks: 2 });
  assert.deepEqual(await old.next(), { takenOver: true });
  // The old process still runs (finishing its work), but the locks are the new one's now.
  const third = new Holder(listeners);
  assert.match((await third.next()).error!, new RegExp(`in use by swarmd pid ${next.child.pid}`));
  // A token is good once.
  const again = new Holder(listeners, `secret:${next.child.pid}`);
  assert.match((await again.next()).error!, new RegExp(`in use by swarmd pid ${next.child.pid}`));
  await Promise.all([old.exit(), next.exit()]);
});

test('a socket that does not answer as swarmd is reported as such', async () => {
  const net = await import('node:net');
  const port = base + 5;
  const squatter = net.createServer((s) => s.end('hello\n'));
  await new Promise<void>((r) => squatter.listen({ path: `\0swarmd:udp:127.0.0.1:${port}` }, r));
  const h = new Holder([{ proto: 'udp', host: '127.0.0.1', port }]);
  assert.match((await h.next()).error!, /is in use by another process that does not answer as swarmd \(abstract socket @swarmd:udp:127\.0\.0\.1:\d+\)/);
  squatter.close();
});
