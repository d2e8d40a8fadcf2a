// contrib/swarmd.service: complete ([Unit], [Service], [Install]), with the settings the README
// promises, and clean under `systemd-analyze verify` (Debian's systemd package; in CI its
// absence fails the test). verify checks that each command is executable, so the copy it reads
// has `swarmd` resolved to this checkout's bin/swarmd.js, as systemd resolves it in /usr/bin or
// /usr/local/bin on a server; nothing else is changed. The unit's own ExecStartPre line (the
// configuration check) is then run, with its paths moved into a temporary directory.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SWARMD_BIN } from '../helpers/swarmd-process.ts';

const UNIT = readFileSync(new URL('../../contrib/swarmd.service', import.meta.url), 'utf8');
const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const skip = !analyze && (process.env.CI === 'true' ? false : "systemd-analyze missing (scripts/test-setup.sh installs Debian's systemd)");

/** The unit's settings: section -> key -> values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const kv = /^(\w+)=(.*)$/.exec(line);
    assert.ok(kv && current, `a setting inside a section: ${line}`);
    current.set(kv[1]!, [...(current.get(kv[1]!) ?? []), kv[2]!]);
  }
  return sections;
}

describe('contrib/swarmd.service', { skip }, () => {
  const unit = parseUnit(UNIT);
  const service = unit.get('Service')!;
  const one = (key: string) => service.get(key)?.at(-1);

  test('is complete: [Unit], [Service], [Install], and what the issue and README ask of it', () => {
    assert.deepEqual([...unit.keys()], ['Unit', 'Service', 'Install']);
    assert.equal(unit.get('Install')!.get('WantedBy')?.[0], 'multi-user.target');
    assert.equal(one('User'), 'swarmd');
    assert.equal(one('StateDirectory'), 'swarmd');
    assert.equal(one('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.match(one('ExecReload')!, /^kill -HUP \$MAINPID$/);
    assert.ok(Number(one('LimitNOFILE')) >= 65536);
    // The state dump goes where ProtectSystem=strict still lets it write.
    assert.match(one('ExecStart')!, /--state-file \/var\/lib\/swarmd\//);
    assert.match(one('ExecStart')!, /--peer-state-file \/var\/lib\/swarmd\//);
    assert.equal(service.get('MemoryDenyWriteExecute'), undefined, "V8's JIT needs W+X memory");
  });

  test('systemd-analyze verify passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmd-unit-'));
    const file = join(dir, 'swarmd.service');
    writeFileSync(file, UNIT.replace(/^(ExecStart(?:Pre)?=)swarmd /gm, `$1${SWARMD_BIN} `));
    // --man=no: the man page is installed by `npm install --global`, not on this machine.
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), '');
  });

  test('its ExecStartPre line checks a configuration and passes on a good one, fails on a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmd-unit-'));
    const move = (cmd: string) => cmd.replace('/etc/swarmd/', `${dir}/`).replace('/var/lib/swarmd/', `${dir}/`).split(' ');
    const [program, ...args] = move(one('ExecStartPre')!);
    assert.equal(program, 'swarmd');
    writeFileSync(join(dir, 'swarmd.conf'), 'listen.tcp 127.0.0.1:6969\nlisten.udp 127.0.0.1:6969\n');
    const ok = spawnSync(process.execPath, [SWARMD_BIN, ...args], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    writeFileSync(join(dir, 'swarmd.conf'), 'listen.tcp 127.0.0.1:6969\ntracker.intervall 60\n');
    const bad = spawnSync(process.execPath, [SWARMD_BIN, ...args], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.equal(one('RestartPreventExitStatus'), '1', 'a configuration error is not restarted in a loop');
  });
});
