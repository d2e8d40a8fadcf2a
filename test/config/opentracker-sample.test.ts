// opentracker's own sample config (test/fixtures/opentracker.conf.sample, a verbatim copy of
// opentracker.conf.sample at commit 716dcfb of the brandon1024/opentracker mirror) must load, and
// each example line in its comments must load or fail with the right message.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, defaultConfig } from '../../src/config/config.ts';
import type { Config } from '../../src/config/config.ts';
import { parseConfigFile } from '../../src/config/config-file.ts';

const sample = fs.readFileSync(new URL('../fixtures/opentracker.conf.sample', import.meta.url), 'utf8');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-sample-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the sample as shipped (every line commented) loads with the defaults', () => {
  const file = path.join(dir, 'opentracker.conf');
  fs.writeFileSync(file, sample);
  const { config, warnings } = parseConfigFile(file);
  assert.deepEqual({ ...config, configFile: null }, defaultConfig());
  assert.deepEqual(warnings, []);
});

/** The example lines: `# key value` (one space after the #; prose is indented further). */
const examples = sample
  .split('\n')
  .map((line, i) => ({ n: i + 1, m: /^# ([a-z_]+(?:\.[a-z_]+)+)\s+(\S.*)$/.exec(line) }))
  .filter((e) => e.m !== null)
  .map((e) => ({ n: e.n, line: `${e.m![1]} ${e.m![2]}`, key: e.m![1]! }));

const nats = (key: string) =>
  `${key} is not supported: swarmd clusters over NATS instead: set cluster.nats and the other cluster.* keys (README: "Running a cluster")`;

/** For each example: what it sets (checked on the Config), or the error or warning it gives. */
const expectations: Record<string, { check?: (c: Config) => void; error?: string; crossError?: string; warning?: string; conflicts?: boolean }> = {
  'listen.udp.workers 4': { check: (c) => assert.equal(c.workers, 4) },
  'listen.tcp_udp 0.0.0.0': {
    check: (c) =>
      assert.deepEqual(c.listeners, [
        { proto: 'tcp', host: '0.0.0.0', port: 6969 },
        { proto: 'udp', host: '0.0.0.0', port: 6969 },
      ]),
  },
  'listen.tcp_udp 192.168.0.1:80': {
    check: (c) =>
      assert.deepEqual(c.listeners, [
        { proto: 'tcp', host: '192.168.0.1', port: 80 },
        { proto: 'udp', host: '192.168.0.1', port: 80 },
      ]),
  },
  'listen.tcp_udp 10.0.0.5:6969': {
    check: (c) =>
      assert.deepEqual(
        c.listeners.map((l) => `${l.proto} ${l.host}:${l.port}`),
        ['tcp 10.0.0.5:6969', 'udp 10.0.0.5:6969'],
      ),
  },
  'listen.tcp 0.0.0.0': { check: (c) => assert.deepEqual(c.listeners, [{ proto: 'tcp', host: '0.0.0.0', port: 6969 }]) },
  'listen.udp 192.168.0.1:6969': {
    check: (c) => assert.deepEqual(c.listeners, [{ proto: 'udp', host: '192.168.0.1', port: 6969 }]),
  },
  'access.whitelist /path/to/whitelist': { check: (c) => assert.equal(c.access.whitelist, '/path/to/whitelist') },
  // Together with the whitelist line: "can't be used together" (tested below).
  'access.blacklist ./blacklist': { check: (c) => assert.equal(c.access.blacklist, './blacklist'), conflicts: true },
  // Alone, without a list to change: an error from the checks across settings (no line number).
  'access.fifo_add /var/run/opentracker/adder.fifo': {
    crossError: 'access.fifo_add needs access.whitelist or access.blacklist (it changes that list)',
  },
  'access.fifo_delete /var/run/opentracker/deleter.fifo': {
    crossError: 'access.fifo_delete needs access.whitelist or access.blacklist (it changes that list)',
  },
  'access.stats 192.168.0.23': { check: (c) => assert.deepEqual(c.statsNetworks, ['192.168.0.23/32']) },
  'access.stats 10.1.1.23': { check: (c) => assert.deepEqual(c.statsNetworks, ['10.1.1.23/32']) },
  'access.stats_path stats': { check: (c) => assert.equal(c.statsPath, 'stats') },
  'access.proxy 10.0.1.23': { check: (c) => assert.deepEqual(c.proxyNetworks, ['10.0.1.23/32']) },
  'access.proxy 192.0.0.0/8': { check: (c) => assert.deepEqual(c.proxyNetworks, ['192.0.0.0/8']) },
  'livesync.cluster.listen 192.168.0.1:9696': { error: nats('livesync.cluster.listen') },
  'livesync.cluster.node_ip 192.168.0.4': { error: nats('livesync.cluster.node_ip') },
  'livesync.cluster.node_ip 192.168.0.5': { error: nats('livesync.cluster.node_ip') },
  'livesync.cluster.node_ip 192.168.0.6': { error: nats('livesync.cluster.node_ip') },
  'batchsync.cluster.admin_ip 10.1.1.1': {
    warning: 'batchsync.cluster.admin_ip has no effect (opentracker never read it either); ignored',
  },
  'tracker.rootdir /usr/local/etc/opentracker': { check: (c) => assert.equal(c.rootdir, '/usr/local/etc/opentracker') },
  'tracker.user nobody': { check: (c) => assert.equal(c.user, 'nobody') },
  'tracker.redirect_url https://your.tracker.local/': {
    check: (c) => assert.equal(c.redirectUrl, 'https://your.tracker.local/'),
  },
};

test('every example line of the sample is found and has an expectation', () => {
  const normalized = examples.map((e) => e.line.replace(/\s+/g, ' '));
  assert.deepEqual(normalized.sort(), Object.keys(expectations).sort());
});

for (const { n, line } of examples) {
  const expected = expectations[line.replace(/\s+/g, ' ')]!;
  test(`sample line ${n}: ${line}`, () => {
    // The line uncommented, in place: the other lines stay as they are (comments).
    const lines = sample.split('\n');
    lines[n - 1] = line;
    const file = path.join(dir, `line-${n}.conf`);
    fs.writeFileSync(file, lines.join('\n'));
    if (expected.error) {
      assert.throws(
        () => parseConfigFile(file),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.deepEqual(e.errors, [`${file}:${n}: ${expected.error} [line: ${JSON.stringify(line)}]`]);
          return true;
        },
      );
    } else if (expected.crossError) {
      assert.throws(
        () => parseConfigFile(file),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.deepEqual(e.errors, [expected.crossError]);
          return true;
        },
      );
    } else {
      const { config, warnings } = parseConfigFile(file);
      assert.deepEqual(warnings, expected.warning ? [`${file}:${n}: ${expected.warning}`] : []);
      expected.check?.(config);
    }
  });
}

test('all supported example lines together load', () => {
  // The access.fifo_* lines are fine next to access.whitelist; access.blacklist is left out (one list or the other).
  const supported = examples.filter((e) => {
    const x = expectations[e.line.replace(/\s+/g, ' ')]!;
    return !x.error && !x.conflicts;
  });
  const file = path.join(dir, 'supported.conf');
  fs.writeFileSync(file, supported.map((e) => e.line).join('\n') + '\n');
  const { config, warnings } = parseConfigFile(file);
  // 'listen.tcp 0.0.0.0' repeats the tcp half of 'listen.tcp_udp 0.0.0.0'; batchsync has no effect.
  // (Line 15: the whitelist and FIFO lines come before it.)
  assert.deepEqual(warnings, [
    `${file}:5: listen.tcp: tcp 0.0.0.0:6969 is already listed; ignored`,
    `${file}:15: batchsync.cluster.admin_ip has no effect (opentracker never read it either); ignored`,
  ]);
  assert.deepEqual(
    config.listeners.map((l) => `${l.proto} ${l.host}:${l.port}`),
    ['tcp 0.0.0.0:6969', 'udp 0.0.0.0:6969', 'tcp 192.168.0.1:80', 'udp 192.168.0.1:80', 'tcp 10.0.0.5:6969', 'udp 10.0.0.5:6969', 'udp 192.168.0.1:6969'],
  );
  assert.equal(config.workers, 4);
  assert.equal(config.user, 'nobody');
  assert.deepEqual(config.statsNetworks, ['192.168.0.23/32', '10.1.1.23/32']);
  assert.deepEqual(config.proxyNetworks, ['10.0.1.23/32', '192.0.0.0/8']);
  assert.deepEqual(config.access, {
    whitelist: '/path/to/whitelist',
    blacklist: null,
    fifoAdd: '/var/run/opentracker/adder.fifo',
    fifoDelete: '/var/run/opentracker/deleter.fifo',
    changesFile: null,
  });
});

test('all example lines together: every unsupported one is reported, each with its line', () => {
  const file = path.join(dir, 'all.conf');
  fs.writeFileSync(file, examples.map((e) => e.line).join('\n') + '\n');
  assert.throws(
    () => parseConfigFile(file),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const errorLines = examples.filter((x) => expectations[x.line.replace(/\s+/g, ' ')]!.error);
      assert.deepEqual(
        e.errors.slice(0, -1).map((m) => m.split(': ')[0]),
        errorLines.map((x) => `${file}:${examples.indexOf(x) + 1}`),
      );
      // Then the checks across settings: the sample shows both a whitelist and a blacklist.
      assert.deepEqual(e.errors.slice(-1), ["access.whitelist (/path/to/whitelist) and access.blacklist (./blacklist) can't be used together: choose one"]);
      return true;
    },
  );
});
