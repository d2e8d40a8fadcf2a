import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infoHash, percentEncode } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { startNoticeTracker, notice, TOKEN } from '../helpers/notice-tracker.ts';

const BIN = new URL('../../bin/swarmd.js', import.meta.url).pathname;
const A = infoHash('cli-a').toString('hex');
const B = infoHash('cli-b');

/** Runs `swarmd notices ARGS` as a child process (asynchronously: the tracker runs in this process). */
function swarmd(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'notices', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(stdin);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('swarmd notices add, list, show and lift talk to a running tracker', async () => {
  const t = await startNoticeTracker();
  const dir = mkdtempSync(join(tmpdir(), 'swarmd-notices-cli-'));
  const env = { SWARMD_ADMIN_URL: `http://127.0.0.1:${t.admin!.port}`, SWARMD_ADMIN_TOKEN: TOKEN };
  try {
    const json = join(dir, 'notice.json');
    writeFileSync(json, JSON.stringify(notice('CLI-1', [A, A])));
    const added = await swarmd(['add', json], env);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, 'notice CLI-1 filed: 2 info hashes listed, 1 new, 1 duplicates\n');

    // A plain list of hashes, the fields given as options (and from standard input).
    const list = `# from the e-mail\nmagnet:?xt=urn:btih:${B.toString('hex')}&dn=x\n\n${A.toUpperCase()}\n`;
    const plain = await swarmd(
      ['add', '-', '--id', 'CLI-2', '--received', '2024-06-01', '--sender', 'Agency', '--on-behalf-of', 'Label', '--note', 'by mail'],
      env,
      list,
    );
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /notice CLI-2 filed: 2 info hashes listed, 1 new, 1 duplicates/);
    const blocked = await get('127.0.0.1', t.tcp4, `/announce?info_hash=${percentEncode(B)}&port=1&left=1`);
    assert.match(blocked.body.toString(), /blocked by takedown notice CLI-2/);

    const missing = await swarmd(['add', '-', '--id', 'CLI-3', '--received', '2024-06-01', '--sender', 'Agency'], env, A);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /refused \(400\): 1 bad field/);
    assert.match(missing.stderr, /on_behalf_of: is required/);

    const table = await swarmd(['list'], env);
    assert.equal(table.code, 0);
    const rows = table.stdout.trim().split('\n');
    assert.match(rows[0]!, /^ID\s+RECEIVED\s+SENDER/);
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(/\s+/)[0]),
      ['CLI-1', 'CLI-2'],
    );
    assert.equal(JSON.parse((await swarmd(['list', '--json'], env)).stdout).length, 2);
    const shown = JSON.parse((await swarmd(['show', 'CLI-2'], env)).stdout);
    assert.equal(shown.note, 'by mail');

    const lifted = await swarmd(['lift', 'CLI-2', '--reason', 'counter-notice', '--hash', B.toString('hex')], env);
    assert.equal(lifted.code, 0, lifted.stderr);
    assert.equal(lifted.stdout, 'notice CLI-2: 1 of its 2 info hashes lifted\n');
    assert.equal((await swarmd(['lift', 'CLI-9', '--reason', 'x'], env)).code, 1);
    const noReason = await swarmd(['lift', 'CLI-2'], env);
    assert.deepEqual([noReason.code, /needs --reason/.test(noReason.stderr)], [2, true]);
  } finally {
    await t.close();
  }
});

test('swarmd notices finds the API and token in the config file; a wrong token or no API is a clear error', async () => {
  const t = await startNoticeTracker();
  const dir = mkdtempSync(join(tmpdir(), 'swarmd-notices-cli-'));
  try {
    const conf = join(dir, 'swarmd.conf');
    writeFileSync(conf, `admin.listen 127.0.0.1:${t.admin!.port}\nadmin.token ${TOKEN}\nnotices.journal ${join(dir, 'j')}\n`);
    const listed = await swarmd(['list', '--config', conf]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal((await swarmd(['list'], { SWARMD_CONFIG: conf })).code, 0);

    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'a-wrong-token-of-some-length\n');
    const wrong = await swarmd(['list', '-f', conf, '--token-file', tokenFile]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused \(401\): wrong token/);

    const nowhere = await swarmd(['list']);
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /where is the admin API\?/);
    const down = await swarmd(['list', '--url', 'http://127.0.0.1:1'], { SWARMD_ADMIN_TOKEN: TOKEN });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /can't reach the admin API/);
    assert.equal((await swarmd(['frobnicate'], { SWARMD_ADMIN_URL: 'http://x', SWARMD_ADMIN_TOKEN: TOKEN })).code, 2);
  } finally {
    await t.close();
  }
});
