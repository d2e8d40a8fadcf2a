// `swarmd --check-config` (-t) on good and bad configs, and swarmd's exit codes as --help, the
// man page and the README document them (EXIT_STATUS).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { EXIT_STATUS } from '../src/config/command-line.ts';
import { SWARMD_BIN, freePort } from './helpers/swarmd-process.ts';

const swarmd = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [SWARMD_BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });

describe('--check-config', () => {
  test('a good config: exit 0, "configuration OK" on stdout, and nothing written or bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmd-check-'));
    const state = join(dir, 'state');
    mkdirSync(state);
    const port = await freePort();
    // The port is held by someone else: a check that bound it would fail.
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(port, '127.0.0.1', r));
    try {
      const conf = join(dir, 'swarmd.conf');
      writeFileSync(
        conf,
        [
          `listen.tcp 127.0.0.1:${port}`,
          `listen.udp 127.0.0.1:${port}`,
          `tracker.state_file ${join(state, 'swarmd.state')}`,
          `notices.journal ${join(state, 'notices.jsonl')}`,
          `access.whitelist ${conf}`,
          `access.fifo_add ${join(state, 'add.fifo')}`,
          '',
        ].join('\n'),
      );
      const r = swarmd(['--check-config', '-f', conf]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^swarmd: configuration OK \(.*swarmd\.conf; 2 listeners, /);
      assert.deepEqual(readdirSync(state), [], 'no state dump, journal or FIFO created');
      assert.equal(swarmd(['-t', '-f', conf]).status, 0, '-t is --check-config');
    } finally {
      holder.close();
    }
  });

  test('a bad config: exit 1, every error on stderr with its file:line, nothing on stdout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmd-check-'));
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, '# a comment\nlisten.tcp 127.0.0.1:6969\nno.such.key 1\ntracker.interval soon\ntracker.numwant_max 10\ntracker.numwant 50\n');
    const r = swarmd(['--check-config', '-f', conf]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`${conf}:3: unknown key "no.such.key"`));
    assert.match(r.stderr, new RegExp(`${conf}:4: tracker.interval: "soon"`));
    assert.match(r.stderr, /tracker\.numwant \(50\) must not be more than tracker\.numwant_max \(10\)/);
    assert.match(r.stderr, /3 errors/);
  });

  test('what the config names: an unusable certificate, an unwritable state directory, an unknown user, a missing list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmd-check-'));
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'not a certificate\n');
    const conf = join(dir, 'swarmd.conf');
    writeFileSync(
      conf,
      [
        'listen.tcp 127.0.0.1:6969',
        'listen.tls 127.0.0.1:6443',
        `tls.cert ${notPem}`,
        `tls.key ${notPem}`,
        `tracker.state_file ${join(dir, 'no', 'such', 'dir', 'state')}`,
        'tracker.user no-such-user-swarmd',
        `access.blacklist ${join(dir, 'missing.txt')}`,
        '',
      ].join('\n'),
    );
    const r = swarmd(['-t', '-f', conf]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /tls\.cert .*not\.pem .*not a usable certificate and key/);
    assert.match(r.stderr, /tracker\.state_file .*: its directory .*no\/such\/dir is not writable \(ENOENT\)/);
    assert.match(r.stderr, /tracker\.user no-such-user-swarmd: no such user/);
    assert.match(r.stderr, /access\.blacklist .*missing\.txt: can't read it \(ENOENT\)/);
    assert.match(r.stderr, /4 errors/);
  });

  test('switches still apply: a bad switch is an error too', () => {
    const r = swarmd(['--check-config', '--interval', 'x']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--interval: "x"/);
    assert.equal(swarmd(['--check-config=yes']).status, 1, '--check-config takes no value');
  });
});

describe('exit codes', () => {
  test('--help documents every exit code, and each is what swarmd returns', async () => {
    const help = swarmd(['--help']);
    assert.equal(help.status, 0);
    for (const [code] of EXIT_STATUS) assert.match(help.stdout, new RegExp(`^ +${code}  `, 'm'), `exit ${code} in --help`);
    assert.equal(swarmd(['--version']).status, 0);
    const usage = swarmd(['--no-such-option']);
    assert.equal(usage.status, 1);
    assert.equal(usage.stdout, '', 'usage errors go to stderr');
    assert.match(usage.stderr, /unknown option --no-such-option/);
    const notices = swarmd(['notices', 'frobnicate']);
    assert.equal(notices.status, 2);
    assert.match(notices.stderr, /unknown command/);
    // 111: a socket that can't be bound.
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(port, '127.0.0.1', r));
    try {
      const r = swarmd(['-i', '127.0.0.1', '-p', String(port), '--workers', '1']);
      assert.equal(r.status, 111, r.stdout + r.stderr);
      assert.match(r.stdout, /could not start/);
    } finally {
      holder.close();
    }
  });
});
