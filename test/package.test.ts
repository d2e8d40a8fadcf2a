// The npm package as an operator installs it: `npm pack` of the checkout, then the README's
// "Running in production" block run line by line on a stand-in for a fresh server (a Node.js
// 24 that is not the dev tree's, nothing of the checkout on PATH, the global install and /etc,
// /var/lib moved into a temporary directory), then swarmd started with the systemd unit's own
// ExecStart= line from the installed package, and announced to over HTTP and UDP.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { NODE_VERSION, ROOT, announceOverHttpAndUdp, freshEnv, packTarball, systemNodeBin, tarballFiles, workDir } from './helpers/package.ts';
import { freePort, startSwarmd } from './helpers/swarmd-process.ts';
import { get } from './helpers/http-client.ts';

/** The README's production block, as lines (comments after ` #` removed). */
function productionSteps(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Running in production'));
  const block = /```sh\n([^]*?)```/.exec(section);
  assert.ok(block, 'the production section has a sh block');
  return block[1]!
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/** Lines that change the machine itself, checked by other tests (systemd-analyze verify). */
const NOT_RUN = /^(useradd|chgrp|systemctl) /;

describe('the npm package', { timeout: 300_000 }, () => {
  const work = workDir('package');
  let tgz = '';
  let nodeBin = '';
  before(() => {
    nodeBin = systemNodeBin();
    tgz = packTarball(work.dir);
  });
  after(() => work.remove());

  test('the tarball holds what runs and what operators need, and no tests, bench or TypeScript', () => {
    const files = tarballFiles(tgz);
    for (const f of [
      'bin/swarmd.js',
      'dist/cli.js',
      'dist/tracker.js',
      'dist/server/worker.js',
      'dist/stats/dashboard/index.html',
      'dist/stats/dashboard/app.js',
      'dist/stats/dashboard/style.css',
      'native/binding.gyp',
      'native/udp_batch.c',
      'scripts/build-native.js',
      'contrib/swarmd.service',
      'contrib/prometheus/alerts.yml',
      'contrib/grafana/swarmd.json',
      'contrib/docker/healthcheck.js',
      'swarmd.1',
      'README.md',
      'LICENSE',
      'package.json',
    ]) {
      assert.ok(files.includes(f), `${f} in the tarball`);
    }
    // Every source the addons build from (a new header missed here fails the install's build).
    for (const f of readdirSync(join(ROOT, 'native')).filter((n) => /\.(c|h|gyp)$/.test(n))) {
      assert.ok(files.includes(`native/${f}`), `native/${f} in the tarball`);
    }
    assert.deepEqual(
      files.filter((f) => /^(test|bench|src)\//.test(f) || /\.ts$/.test(f) || f.startsWith('native/build/')),
      [],
    );
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.license, 'MIT');
    assert.ok(pkg.repository?.url, 'repository');
    assert.equal(pkg.engines.node, '>=24');
    assert.equal(pkg.bin.swarmd, 'bin/swarmd.js');
  });

  test("the README's production steps work on a fresh Node.js 24, and the unit's ExecStart serves announces", async () => {
    const root = join(work.dir, 'root');
    const prefix = join(work.dir, 'prefix');
    const cwd = join(work.dir, 'admin');
    mkdirSync(cwd);
    mkdirSync(join(root, 'etc', 'systemd', 'system'), { recursive: true });
    const port = await freePort();
    writeFileSync(join(cwd, 'swarmd.conf'), `listen.tcp 127.0.0.1:${port}\nlisten.udp 127.0.0.1:${port}\ntracker.workers 2\n`);
    const env = freshEnv(`${nodeBin}:${prefix}/bin`, { NPM_CONFIG_PREFIX: prefix });
    const steps = productionSteps();
    assert.ok(
      steps.some((l) => l.includes(basename(tgz))),
      `the README installs ${basename(tgz)}`,
    );
    const skipped: string[] = [];
    for (const line of steps) {
      if (NOT_RUN.test(line)) {
        skipped.push(line);
        continue;
      }
      const cmd = line
        .replaceAll(basename(tgz), tgz)
        .replaceAll(' /etc/', ` ${root}/etc/`)
        .replaceAll('"/etc/', `"${root}/etc/`)
        .replaceAll('/var/lib/', `${root}/var/lib/`);
      // stdin ignored: bash takes a socket on stdin (libuv's pipes) for a remote shell and reads bashrc.
      const r = spawnSync('bash', ['-eo', 'pipefail', '-c', cmd], { cwd, env, encoding: 'utf8', timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(r.status, 0, `${line}\n${r.stdout}\n${r.stderr}`);
      if (line.startsWith('node --version')) assert.equal(r.stdout.trim(), `v${NODE_VERSION}`);
      if (line === 'swarmd --version') assert.match(r.stdout, new RegExp(`^swarmd \\S+ \\(Node\\.js ${NODE_VERSION}\\)`));
    }
    assert.deepEqual(
      skipped.map((l) => l.split(' ')[0]),
      ['useradd', 'chgrp', 'systemctl', 'systemctl'],
    );
    assert.ok(existsSync(join(prefix, 'share', 'man', 'man1', 'swarmd.1')), 'man swarmd works');
    const installed = join(prefix, 'lib', 'node_modules', 'swarmd');
    assert.ok(existsSync(join(installed, 'native', 'build', 'Release', 'swarmd_udp.node')), 'the native addon was built at install');

    // Start it as the installed unit does (StateDirectory= made /var/lib/swarmd).
    const unit = readFileSync(join(root, 'etc', 'systemd', 'system', 'swarmd.service'), 'utf8');
    const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!.replaceAll('/etc/', `${root}/etc/`).replaceAll('/var/lib/', `${root}/var/lib/`).split(' ');
    assert.equal(execStart[0], 'swarmd');
    mkdirSync(join(root, 'var', 'lib', 'swarmd'), { recursive: true });
    const swarmd = await startSwarmd(join(prefix, 'bin', 'swarmd'), execStart.slice(1), { cwd, env });
    try {
      const listening = swarmd.lines.find((l) => l.msg === 'swarmd listening')!;
      assert.equal(listening.udpIo, 'recvmmsg', 'the addon loads from dist/');
      await announceOverHttpAndUdp(port, 'package');
      const metrics = (await get('127.0.0.1', port, '/metrics')).body.toString();
      assert.match(metrics, new RegExp(`^swarmd_build_info\\{version="[^"]+",node="${NODE_VERSION}"\\} 1$`, 'm'));
      const page = await get('127.0.0.1', port, '/stats', 'Accept: text/html\r\n');
      assert.equal(page.status, 200);
      assert.match(page.body.toString(), /<html/);
      assert.equal((await get('127.0.0.1', port, '/stats?asset=uPlot.min.js')).status, 200, 'uPlot found from the installed package');
    } finally {
      assert.equal(await swarmd.stop(), 0);
    }
    assert.ok(existsSync(join(root, 'var', 'lib', 'swarmd', 'swarmd.state')), 'the state dump was written to the state directory');
  });
});
