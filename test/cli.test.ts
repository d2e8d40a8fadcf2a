import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { get } from './helpers/http-client.ts';
import { freePort } from './helpers/process.ts';

const BIN = new URL('../bin/swarmd.js', import.meta.url).pathname;

test('--help lists the switches and long options', () => {
  const r = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const s of ['-i', '-p', '-P', '-f', '-d', '-u', '-r', '--workers', '--log-level']) assert.ok(r.stdout.includes(s), s);
});

test('a bad config line is an error naming the file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmd-cli-'));
  const file = join(dir, 'bad.conf');
  writeFileSync(file, '# comment\nlisten.tcp 127.0.0.1:6969\nno.such.key 1\n');
  const r = spawnSync(process.execPath, [BIN, '-f', file], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`${file}:3`));
});

/**
 * A Node.js older than 24 on this machine (the system's: Debian's node is 20), found on PATH or
 * in /usr/bin, or null.
 */
function oldNode(): { path: string; version: string } | null {
  const found = spawnSync('sh', ['-c', 'which -a node nodejs; ls /usr/bin/node /usr/bin/nodejs /usr/local/bin/node 2>/dev/null'], { encoding: 'utf8' }).stdout;
  for (const path of new Set(found.split('\n').filter(Boolean))) {
    const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    const major = Number(/^v(\d+)\./.exec(version)?.[1]);
    if (major > 0 && major < 24) return { path, version };
  }
  return null;
}

const OLD_NODE = oldNode();
const CI = process.env.CI === 'true';

test(
  'an unsupported Node.js is refused with a clear message',
  { skip: !CI && OLD_NODE === null && "no Node.js older than 24 on this machine (Debian's nodejs package is one)" },
  () => {
    assert.ok(OLD_NODE, 'CI: no Node.js older than 24 found (the system node, /usr/bin/node, is 20 on Debian)');
    const r = spawnSync(OLD_NODE.path, [BIN, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 1, `${OLD_NODE.path} (${OLD_NODE.version}) ran swarmd: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`needs Node\\.js 24 or later; this is Node\\.js ${OLD_NODE.version.slice(1).replaceAll('.', '\\.')}`));
    assert.match(r.stderr, /Install Node\.js 24 .*"Running in production"/);
    assert.match(r.stderr, /run it through npm \(npm start\)/);
  },
);

test('starts, logs its sockets, answers, and stops cleanly on SIGTERM', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, '-i', '127.0.0.1', '-p', String(port), '-P', String(port), '--workers', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const rl = createInterface({ input: child.stdout! });
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    rl.on('line', (line) => {
      const entry = JSON.parse(line);
      lines.push(entry);
      if (entry.msg === 'swarmd listening') resolve(entry);
    });
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  const start = await listening;
  assert.deepEqual(start.listening, [`tcp://127.0.0.1:${port}`, `udp://127.0.0.1:${port}`]);
  assert.match(String(start.udpIo), /recvmmsg|dgram/);
  const r = await get('127.0.0.1', port, `/announce?info_hash=${'%61'.repeat(20)}&port=1&left=0`);
  assert.equal(r.status, 200);
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
  assert.ok(lines.some((l) => l.msg === 'swarmd stopped'));
});

const ROOT = process.getuid?.() === 0;

// CI runs as root (so does scripts/test-setup.sh's apt-get); there a missing root fails the test.
test(
  '-u drops root for that user once the sockets are bound; -d changes directory',
  { skip: !CI && !ROOT && 'needs root (run the tests as root to check -u)' },
  async () => {
    assert.ok(ROOT, 'CI: the tests must run as root to check -u');
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'swarmd-rootdir-'));
    const child = spawn(process.execPath, [BIN, '-i', '127.0.0.1', '-p', String(port), '-P', String(port), '--workers', '1', '-u', 'nobody', '-d', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Record<string, unknown>[] = [];
    const rl = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      rl.on('line', (line) => {
        lines.push(JSON.parse(line));
        if (lines.at(-1)!.msg === 'dropped privileges') resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.equal(realpathSync(`/proc/${child.pid}/cwd`), realpathSync(dir));
    assert.ok(lines.some((l) => String(l.msg).includes('cannot chroot')));
    const r = await get('127.0.0.1', port, `/announce?info_hash=${'%62'.repeat(20)}&port=1&left=0`);
    assert.equal(r.status, 200);
    const exit = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  },
);

test('SIGHUP reloads the access list and the tracker keeps running', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'swarmd-hup-'));
  const list = join(dir, 'whitelist.txt');
  writeFileSync(list, `${'61'.repeat(20)}\n`);
  const child = spawn(process.execPath, [BIN, '-i', '127.0.0.1', '-p', String(port), '--workers', '1', '-w', list], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const seen = (msg: string) => lines.some((l) => String(l.msg).includes(msg));
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
  const until = async (msg: string) => {
    for (let i = 0; i < 100 && !seen(msg); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(seen(msg), `log line "${msg}"`);
  };
  await until('swarmd listening');
  const announce = (byte: string) => get('127.0.0.1', port, `/announce?info_hash=${`%${byte}`.repeat(20)}&port=1&left=0`);
  assert.match((await announce('62')).body.toString(), /not authorized/);
  writeFileSync(list, `${'61'.repeat(20)}\n${'62'.repeat(20)}\n`);
  child.kill('SIGHUP');
  await until('reloading the access list');
  let body = '';
  for (let i = 0; i < 40 && /not authorized/.test((body = (await announce('62')).body.toString())); i++) await new Promise((r) => setTimeout(r, 50));
  assert.doesNotMatch(body, /not authorized/);
  const exit = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
});
