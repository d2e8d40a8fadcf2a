import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, GIB, KIB, MIB, defaultConfig } from '../../src/config/config.ts';
import type { Config } from '../../src/config/config.ts';
import { IGNORED_KEYS, SETTINGS, UNSUPPORTED, parseConfigFile } from '../../src/config/config-file.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-config-file-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

function write(content: string): string {
  const file = path.join(dir, `test-${++fileCount}.conf`);
  fs.writeFileSync(file, content);
  return file;
}

function load(content: string) {
  return parseConfigFile(write(content));
}

/** The ConfigError's errors, with the temp file's name replaced by FILE. */
function errorsOf(content: string): string[] {
  const file = write(content);
  try {
    parseConfigFile(file);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.errors.map((m) => m.replaceAll(file, 'FILE'));
  }
  assert.fail('expected a ConfigError');
}

test('an empty file, comments and blank lines give the defaults', () => {
  const { config, warnings } = load('# comment\n\n   # indented comment\n\t\n   \n');
  const d = defaultConfig();
  assert.deepEqual({ ...config, configFile: null }, d);
  assert.deepEqual(warnings, []);
});

test('configFile is the absolute path of the file', () => {
  const file = write('');
  const rel = path.relative(process.cwd(), file);
  assert.equal(parseConfigFile(rel).config.configFile, file);
});

test('every swarmd and opentracker key sets its field', () => {
  const { config, warnings } = load(
    [
      'tracker.workers 3',
      'tracker.interval 900',
      'tracker.interval_variation 100',
      'tracker.peer_timeout 1200',
      'tracker.torrent_timeout 3600',
      'tracker.clean_interval 30',
      'tracker.numwant 10',
      'tracker.numwant_max 100',
      'tracker.udp_numwant_max4 150',
      'tracker.udp_numwant_max6 50',
      'tracker.max_scrape_hashes 20',
      'tracker.ip_from_query yes',
      'tracker.memory_limit 2G',
      'listen.udp.io dgram',
      'listen.udp.batch 32',
      'listen.tcp.io net',
      'http.idle_timeout 15',
      'http.header_timeout 5',
      'http.max_request_size 4K',
      'http.keepalive off',
      'http.max_connections 500',
      'udp.connection_id_lifetime 300',
      'log.level debug',
      'tracker.rootdir /var/lib/swarmd',
      'tracker.user _swarmd',
      'tracker.redirect_url https://example.org/',
      'access.stats_path secret/stats',
      'listen.tcp_udp 127.0.0.1:7000',
    ].join('\n'),
  );
  assert.deepEqual(warnings, []);
  const expected: Config = {
    ...defaultConfig(),
    listeners: [
      { proto: 'tcp', host: '127.0.0.1', port: 7000 },
      { proto: 'udp', host: '127.0.0.1', port: 7000 },
    ],
    workers: 3,
    interval: 900,
    intervalVariation: 100,
    peerTimeout: 1200,
    torrentTimeout: 3600,
    cleanInterval: 30,
    numwantDefault: 10,
    numwantMax: 100,
    udpNumwantMax4: 150,
    udpNumwantMax6: 50,
    maxScrapeHashes: 20,
    ipFromQuery: true,
    memoryLimit: 2 * GIB,
    udpIo: 'dgram',
    udpBatchSize: 32,
    tcpIo: 'net',
    http: { idleTimeout: 15, headerTimeout: 5, maxRequestBytes: 4 * KIB, keepAlive: false, maxConnections: 500 },
    connectionIdLifetime: 300,
    logLevel: 'debug',
    rootdir: '/var/lib/swarmd',
    user: '_swarmd',
    redirectUrl: 'https://example.org/',
    statsPath: 'secret/stats',
    configFile: config.configFile,
  };
  assert.deepEqual(config, expected);
});

test('every key in SETTINGS is covered by a test line above or below', () => {
  // A guard: adding a key to SETTINGS without a test fails here.
  const tested = new Set([
    'listen.tcp_udp',
    'listen.tcp',
    'listen.udp',
    'listen.udp.workers',
    'tracker.rootdir',
    'tracker.user',
    'tracker.redirect_url',
    'access.stats_path',
    'tracker.workers',
    'tracker.interval',
    'tracker.interval_variation',
    'tracker.peer_timeout',
    'tracker.torrent_timeout',
    'tracker.clean_interval',
    'tracker.numwant',
    'tracker.numwant_max',
    'tracker.udp_numwant_max4',
    'tracker.udp_numwant_max6',
    'tracker.max_scrape_hashes',
    'tracker.ip_from_query',
    'tracker.memory_limit',
    'listen.udp.io',
    'listen.udp.batch',
    'listen.tcp.io',
    'http.idle_timeout',
    'http.header_timeout',
    'http.max_request_size',
    'http.keepalive',
    'http.max_connections',
    'udp.connection_id_lifetime',
    'log.level',
    'access.stats',
    'access.proxy',
    'access.admin',
    'tracker.deniability',
    'tracker.deniability_range',
    'stats.metrics_path',
    'stats.json_path',
    'stats.history_interval',
    'log.requests',
    'tracker.state_file',
    'tracker.state_interval',
    'tracker.full_scrape',
    'tracker.full_scrape_interval',
    'tracker.peer_state_file',
    'tracker.peer_state_interval',
    'access.whitelist',
    'access.blacklist',
    'access.fifo_add',
    'access.fifo_delete',
    'access.changes_file',
    'cluster.nats',
    'cluster.user',
    'cluster.password',
    'cluster.token',
    'cluster.nkey_seed_file',
    'cluster.creds_file',
    'cluster.subject_prefix',
    'cluster.node_name',
    'listen.tls',
    'tls.cert',
    'tls.key',
    'ws.enabled',
    'ws.max_message_size',
    'ws.max_offers',
    'ws.numwant_max',
    'ws.interval',
    'ws.idle_timeout',
    'ws.ping_interval',
    'ws.max_connections',
    'ws.max_queue_size',
    'ws.max_swarms',
    'notices.journal',
    'transparency.path',
    'admin.listen',
    'admin.token',
    'admin.networks',
    'admin.max_body',
    'limits.udp_per_source',
    'limits.http_per_source',
    'limits.burst',
    'limits.bad_connection_ids',
    'limits.bad_connection_id_ban',
    'limits.overload_delay',
    'limits.overload_max_factor',
    'http.external_ip',
  ]);
  assert.deepEqual(new Set(SETTINGS.map((s) => s.key)), tested);
});

test('the limits keys: budgets per source, bad connection IDs, overload', () => {
  const { config } = load(
    [
      'limits.udp_per_source 50',
      'limits.http_per_source 0',
      'limits.burst 0',
      'limits.bad_connection_ids 3',
      'limits.bad_connection_id_ban 120',
      'limits.overload_delay 0',
      'limits.overload_max_factor 2',
    ].join('\n'),
  );
  assert.deepEqual(config.limits, {
    udpPerSource: 50,
    httpPerSource: 0,
    burst: 0,
    badConnectionIds: 3,
    badConnectionIdBan: 120,
    overloadDelay: 0,
    overloadMaxFactor: 2,
  });
  // off or generous by default
  assert.deepEqual(defaultConfig().limits, {
    udpPerSource: 0,
    httpPerSource: 0,
    burst: 100,
    badConnectionIds: 10,
    badConnectionIdBan: 600,
    overloadDelay: 250,
    overloadMaxFactor: 4,
  });
  assert.deepEqual(errorsOf(['limits.udp_per_source -1', 'limits.bad_connection_id_ban 0', 'limits.overload_max_factor 17'].join('\n')), [
    'FILE:1: limits.udp_per_source: "-1" is not a whole number from 0 to 10000000 [line: "limits.udp_per_source -1"]',
    'FILE:2: limits.bad_connection_id_ban: "0" is not a whole number of seconds from 1 to 2147483 [line: "limits.bad_connection_id_ban 0"]',
    'FILE:3: limits.overload_max_factor: "17" is not a whole number from 1 to 16 [line: "limits.overload_max_factor 17"]',
  ]);
});

test('the cluster keys: servers repeatable or comma-separated, credentials, subject prefix, node name', () => {
  const { config } = load(
    [
      'cluster.nats nats://10.0.0.1:4222, 10.0.0.2',
      'cluster.nats tls://nats.example.org:4443',
      'cluster.user swarm',
      'cluster.password pass word',
      'cluster.subject_prefix trackers.eu',
      'cluster.node_name eu-1',
    ].join('\n'),
  );
  assert.deepEqual(config.cluster, {
    servers: ['nats://10.0.0.1:4222', 'nats://10.0.0.2', 'tls://nats.example.org:4443'],
    user: 'swarm',
    password: 'pass word',
    token: null,
    nkeySeedFile: null,
    credsFile: null,
    subjectPrefix: 'trackers.eu',
    nodeName: 'eu-1',
  });
  assert.equal(load('cluster.nats 127.0.0.1:4222\ncluster.token t0k\n').config.cluster.token, 't0k');
  assert.equal(load('cluster.nats 127.0.0.1:4222\ncluster.nkey_seed_file /etc/swarmd/nkey.seed\n').config.cluster.nkeySeedFile, '/etc/swarmd/nkey.seed');
  assert.equal(load('cluster.nats 127.0.0.1:4222\ncluster.creds_file /etc/swarmd/node.creds\n').config.cluster.credsFile, '/etc/swarmd/node.creds');
  assert.deepEqual(load('').config.cluster.servers, [], 'no cluster by default');
  assert.equal(load('').config.cluster.subjectPrefix, 'swarmd');
});

test('bad cluster settings are errors naming the key', () => {
  assert.deepEqual(
    errorsOf(
      ['cluster.nats http://10.0.0.1', 'cluster.nats nats://user:pw@10.0.0.1', 'cluster.subject_prefix swarmd.>', 'cluster.node_name a b'].join('\n'),
    ).map((e) => e.replace(/ \[line: .*$/, '').replace(/ \(.*$/, '')),
    [
      'FILE:1: cluster.nats: "http://10.0.0.1" is not a NATS server URL',
      'FILE:2: cluster.nats: "nats://user:pw@10.0.0.1" is not a NATS server URL',
      'FILE:3: cluster.subject_prefix: "swarmd.>" is not a NATS subject prefix',
      'FILE:4: cluster.node_name: "a b" is not a node name',
    ],
  );
  assert.deepEqual(errorsOf('cluster.nats 10.0.0.1\ncluster.user u\ncluster.password p\ncluster.token t\n'), [
    "cluster.user and cluster.token can't be used together: give one kind of NATS credentials",
  ]);
  assert.deepEqual(errorsOf('cluster.nats 10.0.0.1\ncluster.user u\n'), ['cluster.user and cluster.password go together: give both']);
  assert.deepEqual(errorsOf('cluster.token t\n'), ['cluster.token needs cluster.nats (the NATS servers to cluster through)']);
});

test('whitespace: leading skipped, tabs between key and value, trailing cut, CRLF', () => {
  const { config } = load('   tracker.interval\t\t 600  \r\n\ttracker.user  some user \t\r\n');
  assert.equal(config.interval, 600);
  assert.equal(config.user, 'some user'); // the value is the rest of the line, as in opentracker
});

test('the last value of a key wins', () => {
  assert.equal(load('tracker.interval 600\ntracker.interval 700\n').config.interval, 700);
});

test('listen lines: forms of ip[:port], repeatable, in order', () => {
  const { config } = load(
    [
      'listen.tcp_udp 0.0.0.0',
      'listen.tcp 192.168.0.1:80',
      'listen.udp [::1]:6970',
      'listen.udp ::1',
      'listen.tcp [2001:DB8:0:0::1]',
      'listen.tcp [::]:81',
      'listen.udp fe80::1',
    ].join('\n'),
  );
  assert.deepEqual(config.listeners, [
    { proto: 'tcp', host: '0.0.0.0', port: 6969 },
    { proto: 'udp', host: '0.0.0.0', port: 6969 },
    { proto: 'tcp', host: '192.168.0.1', port: 80 },
    { proto: 'udp', host: '::1', port: 6970 },
    { proto: 'udp', host: '::1', port: 6969 },
    { proto: 'tcp', host: '2001:db8::1', port: 6969 },
    { proto: 'tcp', host: '::', port: 81 },
    { proto: 'udp', host: 'fe80::1', port: 6969 },
  ]);
});

test('a file that binds nothing gets the default listeners; one that binds gets only its own', () => {
  assert.deepEqual(load('tracker.interval 600').config.listeners, defaultConfig().listeners);
  assert.deepEqual(load('listen.udp 127.0.0.1:5000').config.listeners, [{ proto: 'udp', host: '127.0.0.1', port: 5000 }]);
});

test('a listener given twice is kept once, with a warning', () => {
  const file = write('listen.tcp 127.0.0.1:80\nlisten.tcp_udp 127.0.0.1:80\n');
  const { config, warnings } = parseConfigFile(file);
  assert.deepEqual(config.listeners, [
    { proto: 'tcp', host: '127.0.0.1', port: 80 },
    { proto: 'udp', host: '127.0.0.1', port: 80 },
  ]);
  assert.deepEqual(warnings, [`${file}:2: listen.tcp_udp: tcp 127.0.0.1:80 is already listed; ignored`]);
});

test('bad listen values name the file and line and quote the line', () => {
  assert.deepEqual(errorsOf('listen.tcp 6969\n'), [
    'FILE:1: listen.tcp: "6969" is a bare port, not an address: write 0.0.0.0:6969 (IPv4), [::]:6969 (IPv4 and IPv6) [line: "listen.tcp 6969"]',
  ]);
  assert.deepEqual(errorsOf('\nlisten.udp :::6969'), [
    'FILE:2: listen.udp: ":::6969" is ambiguous: put an IPv6 address in brackets to give a port, as in [::1]:6969 [line: "listen.udp :::6969"]',
  ]);
  assert.deepEqual(errorsOf('listen.tcp_udp 1.2.3.4:0'), [
    'FILE:1: listen.tcp_udp: "1.2.3.4:0" has a bad port "0" (1 to 65535) [line: "listen.tcp_udp 1.2.3.4:0"]',
  ]);
  for (const bad of ['1.2.3.4:65536', '1.2.3.4:80x', '1.2.3.4:', '[::1]:', '[1.2.3.4]:80', 'example.org', '1.2.3', '[::1', '1.2.3.4 # comment']) {
    const errors = errorsOf(`listen.tcp ${bad}`);
    assert.equal(errors.length, 1, bad);
    assert.match(errors[0]!, /^FILE:1: listen\.tcp: /, bad);
    assert.ok(errors[0]!.endsWith(` [line: ${JSON.stringify(`listen.tcp ${bad}`)}]`), errors[0]);
  }
});

test('unknown keys, keys without a value and bad values are errors; all of them are reported', () => {
  const errors = errorsOf(
    [
      'tracker.interval 600',
      'bogus.key 1',
      'tracker.interval',
      'tracker.workers 0',
      'tracker.workers 257',
      'tracker.interval 10m',
      'tracker.interval -5',
      'tracker.ip_from_query maybe',
      'listen.udp.io fast',
      'log.level loud',
      'tracker.memory_limit 1T',
      'tracker.memory_limit 1M',
      'http.max_request_size 100',
      'udp.connection_id_lifetime 30',
      'tracker.interval 1800 # half an hour',
      'tracker.redirect_url https://x/ y',
      'access.stats_path st ats',
      'tracker.numwant 0',
      'listen.udp.batch 2000',
      'tracker.udp_numwant_max4 20000',
      'tracker.interval_variation x',
    ].join('\n'),
  );
  assert.deepEqual(errors, [
    'FILE:2: unknown key "bogus.key" [line: "bogus.key 1"]',
    'FILE:3: tracker.interval needs a value [line: "tracker.interval"]',
    'FILE:4: tracker.workers: "0" is not a whole number from 1 to 256 [line: "tracker.workers 0"]',
    'FILE:5: tracker.workers: "257" is not a whole number from 1 to 256 [line: "tracker.workers 257"]',
    'FILE:6: tracker.interval: "10m" is not a whole number of seconds from 1 to 2147483 [line: "tracker.interval 10m"]',
    'FILE:7: tracker.interval: "-5" is not a whole number of seconds from 1 to 2147483 [line: "tracker.interval -5"]',
    'FILE:8: tracker.ip_from_query: "maybe" is not yes/no/true/false/on/off/1/0 [line: "tracker.ip_from_query maybe"]',
    'FILE:9: listen.udp.io: "fast" is not one of auto, native, dgram [line: "listen.udp.io fast"]',
    'FILE:10: log.level: "loud" is not one of fatal, error, warn, info, debug, trace, silent [line: "log.level loud"]',
    'FILE:11: tracker.memory_limit: "1T" is not a size from 16M to 16G (bytes, or a number with K, M or G) [line: "tracker.memory_limit 1T"]',
    'FILE:12: tracker.memory_limit: "1M" is not a size from 16M to 16G (bytes, or a number with K, M or G) [line: "tracker.memory_limit 1M"]',
    'FILE:13: http.max_request_size: "100" is not a size from 512 to 1M (bytes, or a number with K, M or G) [line: "http.max_request_size 100"]',
    'FILE:14: udp.connection_id_lifetime: "30" is not a whole number of seconds from 60 to 86400 [line: "udp.connection_id_lifetime 30"]',
    'FILE:15: tracker.interval: "1800 # half an hour" is not a whole number of seconds from 1 to 2147483 [line: "tracker.interval 1800 # half an hour"]',
    'FILE:16: tracker.redirect_url: "https://x/ y" contains whitespace [line: "tracker.redirect_url https://x/ y"]',
    `FILE:17: access.stats_path: "st ats" is not a URL path (letters, digits and -._~!$&'()*+,;=:@%/ only) [line: "access.stats_path st ats"]`,
    'FILE:18: tracker.numwant: "0" is not a whole number from 1 to 2147483647 [line: "tracker.numwant 0"]',
    'FILE:19: listen.udp.batch: "2000" is not a whole number from 1 to 1024 [line: "listen.udp.batch 2000"]',
    'FILE:20: tracker.udp_numwant_max4: "20000" is not a whole number from 1 to 338 [line: "tracker.udp_numwant_max4 20000"]',
    'FILE:21: tracker.interval_variation: "x" is not a whole number of seconds from 0 to 2147483 [line: "tracker.interval_variation x"]',
  ]);
});

test('a key must be followed by whitespace: a glued value is an unknown key', () => {
  assert.deepEqual(errorsOf('tracker.interval=600'), ['FILE:1: unknown key "tracker.interval=600" [line: "tracker.interval=600"]']);
});

test('booleans accept yes/no/true/false/on/off/1/0 in any case', () => {
  for (const [word, value] of [
    ['yes', true],
    ['no', false],
    ['TRUE', true],
    ['False', false],
    ['on', true],
    ['OFF', false],
    ['1', true],
    ['0', false],
  ] as const) {
    assert.equal(load(`http.keepalive ${word}`).config.http.keepAlive, value, word);
    assert.equal(load(`tracker.ip_from_query ${word}`).config.ipFromQuery, value, word);
  }
});

test('memory limit: bytes, K, M, G in either case', () => {
  assert.equal(load('tracker.memory_limit 16777216').config.memoryLimit, 16 * MIB);
  assert.equal(load('tracker.memory_limit 20000k').config.memoryLimit, 20000 * KIB);
  assert.equal(load('tracker.memory_limit 512m').config.memoryLimit, 512 * MIB);
  assert.equal(load('tracker.memory_limit 16G').config.memoryLimit, 16 * GIB);
});

test('interval_variation may be 0; numbers may have leading zeros', () => {
  const { config } = load('tracker.interval_variation 0\ntracker.interval 0900');
  assert.equal(config.intervalVariation, 0);
  assert.equal(config.interval, 900);
});

test('listen.udp.workers sets the workers unless tracker.workers is given; 0 means 1', () => {
  assert.equal(load('listen.udp.workers 4').config.workers, 4);
  assert.equal(load('listen.udp.workers 0').config.workers, 1);
  const file = write('tracker.workers 2\nlisten.udp.workers 4\n');
  const { config, warnings } = parseConfigFile(file);
  assert.equal(config.workers, 2);
  assert.deepEqual(warnings, ['listen.udp.workers 4 ignored: tracker.workers (--workers) is set']);
  assert.equal(load('listen.udp.workers 4\ntracker.workers 2').config.workers, 2);
  assert.match(errorsOf('listen.udp.workers 300')[0]!, /"300" is not a whole number from 0 to 256/);
});

test('access.stats_path: leading slashes are removed with a warning', () => {
  const file = write('access.stats_path /admin/stats');
  const { config, warnings } = parseConfigFile(file);
  assert.equal(config.statsPath, 'admin/stats');
  assert.deepEqual(warnings, [`${file}:1: access.stats_path: leading "/" removed from "/admin/stats" (the path is matched without it)`]);
  assert.match(errorsOf('access.stats_path /')[0]!, /^FILE:1: access\.stats_path: "\/" is not a URL path/);
});

test('settings checked together: variation < interval, peer timeout > longest interval, numwant <= max', () => {
  assert.deepEqual(errorsOf('tracker.interval 300\ntracker.interval_variation 300\n'), [
    'tracker.interval_variation (300) must be less than tracker.interval (300)',
  ]);
  assert.deepEqual(errorsOf('tracker.interval 2600'), [
    'tracker.peer_timeout (2700) must be longer than the longest announce interval handed out (tracker.interval + tracker.interval_variation/2 = 2780), or peers expire before they announce again',
  ]);
  assert.deepEqual(errorsOf('tracker.numwant 300'), ['tracker.numwant (300) must not be more than tracker.numwant_max (200)']);
  assert.equal(load('tracker.interval 2600\ntracker.peer_timeout 3000').config.peerTimeout, 3000);
});

test('unsupported opentracker keys are errors saying so', () => {
  const lines = ['livesync.cluster.listen 192.168.0.1:9696', 'livesync.cluster.node_ip 192.168.0.4'];
  assert.deepEqual(errorsOf(lines.join('\n')), [
    'FILE:1: livesync.cluster.listen is not supported: swarmd clusters over NATS instead: set cluster.nats and the other cluster.* keys (README: "Running a cluster") [line: "livesync.cluster.listen 192.168.0.1:9696"]',
    'FILE:2: livesync.cluster.node_ip is not supported: swarmd clusters over NATS instead: set cluster.nats and the other cluster.* keys (README: "Running a cluster") [line: "livesync.cluster.node_ip 192.168.0.4"]',
  ]);
  // Unsupported even without a value.
  assert.deepEqual(errorsOf('livesync.cluster.listen'), [
    'FILE:1: livesync.cluster.listen is not supported: swarmd clusters over NATS instead: set cluster.nats and the other cluster.* keys (README: "Running a cluster") [line: "livesync.cluster.listen"]',
  ]);
  // The tables don't overlap.
  const keys = new Set(SETTINGS.map((s) => s.key));
  for (const u of UNSUPPORTED) if (u.key) assert.ok(!keys.has(u.key), u.key);
  for (const k of IGNORED_KEYS) assert.ok(!keys.has(k), k);
});

test('batchsync.cluster.admin_ip is accepted with a warning', () => {
  const file = write('batchsync.cluster.admin_ip 10.1.1.1\n');
  const { config, warnings } = parseConfigFile(file);
  assert.deepEqual(config.listeners, defaultConfig().listeners);
  assert.deepEqual(warnings, [`${file}:1: batchsync.cluster.admin_ip has no effect (opentracker never read it either); ignored`]);
});

test("a file that can't be opened is an error", () => {
  const missing = path.join(dir, 'missing.conf');
  assert.throws(
    () => parseConfigFile(missing),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.errors, [`can't open config file ${missing}: ENOENT`]);
      return true;
    },
  );
  assert.throws(
    () => parseConfigFile(dir),
    (e: unknown) => e instanceof ConfigError && /EISDIR/.test(e.message),
  );
});

test("Debian's shipped /etc/opentracker/opentracker.conf loads", () => {
  const { config, warnings } = load('access.whitelist /etc/opentracker/whitelist.txt\ntracker.rootdir /etc/opentracker\ntracker.user _opentracker\n');
  assert.equal(config.access.whitelist, '/etc/opentracker/whitelist.txt');
  assert.equal(config.rootdir, '/etc/opentracker');
  assert.equal(config.user, '_opentracker');
  assert.deepEqual(warnings, []);
});

test('access list keys: a whitelist or a blacklist, FIFOs and the changes journal', () => {
  const { config } = load(
    [
      'access.whitelist /etc/swarmd/white list.txt',
      'access.fifo_add /run/swarmd/add.fifo',
      'access.fifo_delete ./del.fifo',
      'access.changes_file /var/lib/swarmd/white.changes',
    ].join('\n'),
  );
  assert.deepEqual(config.access, {
    whitelist: '/etc/swarmd/white list.txt', // the value is the rest of the line
    blacklist: null,
    fifoAdd: '/run/swarmd/add.fifo',
    fifoDelete: './del.fifo', // relative paths are kept as written (taken after tracker.rootdir)
    changesFile: '/var/lib/swarmd/white.changes',
  });
  assert.deepEqual(load('access.blacklist ./blacklist\n').config.access, {
    whitelist: null,
    blacklist: './blacklist',
    fifoAdd: null,
    fifoDelete: null,
    changesFile: null,
  });
  // The last value of each key wins; the FIFOs work with a blacklist too.
  const b = load('access.blacklist a\naccess.blacklist b\naccess.fifo_delete d\n').config.access;
  assert.equal(b.blacklist, 'b');
  assert.equal(b.fifoDelete, 'd');
});

test('access list keys: errors', () => {
  assert.deepEqual(errorsOf('access.whitelist /a\naccess.blacklist /b\n'), [
    "access.whitelist (/a) and access.blacklist (/b) can't be used together: choose one",
  ]);
  assert.deepEqual(errorsOf('access.fifo_add /run/a\naccess.fifo_delete /run/d\naccess.changes_file /x\n'), [
    'access.fifo_add needs access.whitelist or access.blacklist (it changes that list)',
    'access.fifo_delete needs access.whitelist or access.blacklist (it changes that list)',
    'access.changes_file needs access.whitelist or access.blacklist (it changes that list)',
  ]);
  assert.deepEqual(errorsOf('access.whitelist /w\naccess.fifo_add /run/f\naccess.fifo_delete /run/f\n'), [
    'access.fifo_add and access.fifo_delete must be two different named pipes (both are /run/f)',
  ]);
  assert.deepEqual(errorsOf('access.whitelist\n'), ['FILE:1: access.whitelist needs a value [line: "access.whitelist"]']);
  assert.deepEqual(errorsOf('access.whitelist a\x01b\n'), [
    'FILE:1: access.whitelist: "a\\u0001b" contains control characters [line: "access.whitelist a\\u0001b"]',
  ]);
});

test('a byte-order mark at the start is skipped', () => {
  assert.equal(load('\ufefftracker.interval 600\n').config.interval, 600);
});

test('control characters in text values are refused', () => {
  assert.match(errorsOf('tracker.user a\u0001b')[0]!, /tracker\.user: "a\\u0001b" contains control characters/);
});

test('access.stats, access.proxy and access.admin collect networks; admin blesses both', () => {
  const { config } = load('access.stats 10.0.0.0/8\naccess.stats 2001:db8::1\naccess.proxy 192.0.2.1\naccess.admin 127.0.0.1\naccess.stats 10.0.0.0/8');
  assert.deepEqual(config.statsNetworks, ['10.0.0.0/8', '2001:db8::1/128', '127.0.0.1/32']);
  assert.deepEqual(config.proxyNetworks, ['192.0.2.1/32', '127.0.0.1/32']);
  assert.deepEqual(errorsOf('access.stats 10.0.0.0/33\naccess.proxy nonsense'), [
    'FILE:1: access.stats: "33" is not a whole number from 0 to 32 [line: "access.stats 10.0.0.0/33"]',
    'FILE:2: access.proxy: "nonsense" is not an IPv4 or IPv6 address [line: "access.proxy nonsense"]',
  ]);
});

test('deniability: a percent up to 50 and the ranges to draw from; a percent without ranges is an error', () => {
  const { config } = load('tracker.deniability 5\ntracker.deniability_range 198.18.0.0/15\ntracker.deniability_range 2001:db8::/32');
  assert.equal(config.deniabilityPercent, 5);
  assert.deepEqual(config.deniabilityRanges, ['198.18.0.0/15', '2001:db8::/32']);
  assert.deepEqual(errorsOf('tracker.deniability 5'), ['tracker.deniability needs at least one tracker.deniability_range to draw addresses from']);
  assert.match(errorsOf('tracker.deniability 60')[0]!, /from 0 to 50/);
});

test('state dumps and full scrapes: file, intervals (0 allowed), on/off', () => {
  const { config, warnings } = load(
    'tracker.state_file /var/lib/swarmd/state dump\ntracker.state_interval 60\ntracker.full_scrape no\ntracker.full_scrape_interval 300\n',
  );
  assert.deepEqual(warnings, []);
  assert.equal(config.stateFile, '/var/lib/swarmd/state dump');
  assert.equal(config.stateInterval, 60);
  assert.equal(config.fullScrape, false);
  assert.equal(config.fullScrapeInterval, 300);
  const zero = load('tracker.state_interval 0\ntracker.full_scrape_interval 0\n').config;
  assert.equal(zero.stateInterval, 0);
  assert.equal(zero.fullScrapeInterval, 0);
  assert.equal(zero.loadState, null);
  assert.deepEqual(errorsOf('tracker.state_interval -1\ntracker.full_scrape maybe\ntracker.state_file'), [
    'FILE:1: tracker.state_interval: "-1" is not a whole number of seconds from 0 to 2147483 [line: "tracker.state_interval -1"]',
    'FILE:2: tracker.full_scrape: "maybe" is not yes/no/true/false/on/off/1/0 [line: "tracker.full_scrape maybe"]',
    'FILE:3: tracker.state_file needs a value [line: "tracker.state_file"]',
  ]);
});

test('peer state: file and interval (0, the default: only at a stop)', () => {
  const { config, warnings } = load('tracker.peer_state_file /var/lib/swarmd/peers.state\ntracker.peer_state_interval 600\n');
  assert.deepEqual(warnings, []);
  assert.deepEqual([config.peerStateFile, config.peerStateInterval], ['/var/lib/swarmd/peers.state', 600]);
  assert.deepEqual([defaultConfig().peerStateFile, defaultConfig().peerStateInterval], [null, 0]);
  assert.deepEqual(errorsOf('tracker.peer_state_interval soon\ntracker.peer_state_file'), [
    'FILE:1: tracker.peer_state_interval: "soon" is not a whole number of seconds from 0 to 2147483 [line: "tracker.peer_state_interval soon"]',
    'FILE:2: tracker.peer_state_file needs a value [line: "tracker.peer_state_file"]',
  ]);
});

test('observability keys: metrics and JSON paths (or "" for off), history interval, request-log share', () => {
  const { config } = load('stats.metrics_path /prom\nstats.json_path ""\nstats.history_interval 10\nlog.requests 0.001');
  assert.deepEqual([config.metricsPath, config.statsJsonPath, config.historyInterval, config.logRequests], ['prom', '', 10, 0.001]);
  assert.deepEqual([defaultConfig().metricsPath, defaultConfig().statsJsonPath, defaultConfig().logRequests], ['metrics', 'stats.json', 0]);
  assert.match(errorsOf('log.requests 2')[0]!, /not a share from 0 to 1/);
  assert.match(errorsOf('stats.history_interval 61')[0]!, /from 1 to 60/);
});

test('WebSocket and TLS keys: listen.tls (port 443 by default) with its files, the ws limits', () => {
  const { config, warnings } = load(
    [
      'listen.tls 127.0.0.1',
      'listen.tls [::1]:8443',
      'tls.cert /etc/ssl/t.pem',
      'tls.key /etc/ssl/t.key',
      'ws.enabled no',
      'ws.max_message_size 16K',
      'ws.max_offers 5',
      'ws.numwant_max 4',
      'ws.interval 60',
      'ws.idle_timeout 90',
      'ws.ping_interval 20',
      'ws.max_connections 500',
      'ws.max_queue_size 2M',
      'ws.max_swarms 1000',
    ].join('\n'),
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.listeners, [
    { proto: 'tls', host: '127.0.0.1', port: 443 },
    { proto: 'tls', host: '::1', port: 8443 },
  ]);
  assert.deepEqual(config.tls, { cert: '/etc/ssl/t.pem', key: '/etc/ssl/t.key' });
  assert.deepEqual(config.ws, {
    enabled: false,
    maxMessageBytes: 16 * KIB,
    maxOffers: 5,
    numwantMax: 4,
    interval: 60,
    idleTimeout: 90,
    pingInterval: 20,
    maxConnections: 500,
    maxQueuedBytes: 2 * MIB,
    maxSwarms: 1000,
  });
  assert.deepEqual(errorsOf('listen.tls 127.0.0.1:8443\ntls.cert /x.pem\n'), ['listen.tls needs tls.cert and tls.key (PEM files)']);
  assert.deepEqual(errorsOf('ws.max_connections 70000\nws.max_message_size 10\n'), [
    'FILE:1: ws.max_connections: "70000" is not a whole number from 1 to 65535 [line: "ws.max_connections 70000"]',
    'FILE:2: ws.max_message_size: "10" is not a size from 1K to 1M (bytes, or a number with K, M or G) [line: "ws.max_message_size 10"]',
  ]);
  assert.deepEqual(load('tls.cert /x.pem\ntls.key /x.key\n').warnings, ['tls.cert and tls.key have no effect without a listen.tls listener']);
});

test('takedown notices: the journal, the transparency path, the admin API and its checks', () => {
  const token = 'x'.repeat(32);
  const { config } = load(
    `notices.journal /var/lib/swarmd/notices.jsonl\ntransparency.path /legal/dmca\nadmin.listen 9000\nadmin.token ${token}\n` +
      'admin.networks 10.0.0.0/8\nadmin.networks ::1\nadmin.max_body 1M\n',
  );
  assert.equal(config.noticesJournal, '/var/lib/swarmd/notices.jsonl');
  assert.equal(config.transparencyPath, 'legal/dmca');
  assert.deepEqual(config.admin, { listen: { host: '127.0.0.1', port: 9000 }, token, networks: ['10.0.0.0/8', '::1/128'], maxBodyBytes: MIB });
  assert.deepEqual(load(`notices.journal j\nadmin.listen [::1]:9001\nadmin.token ${token}\ntransparency.path ""\n`).config.admin.listen, {
    host: '::1',
    port: 9001,
  });
  assert.equal(load('transparency.path ""\n').config.transparencyPath, '');
  assert.deepEqual(errorsOf('admin.listen 127.0.0.1:9000\n'), [
    'admin.listen needs notices.journal (where the notices filed through it are kept)',
    'admin.listen needs a token: admin.token or the SWARMD_ADMIN_TOKEN environment variable',
  ]);
  assert.deepEqual(errorsOf('admin.token short\n'), ['admin.token is too short: at least 16 characters (e.g. openssl rand -hex 32)']);
  assert.match(errorsOf('admin.listen 0\n')[0]!, /admin\.listen: "0" is not a port/);
  assert.match(errorsOf('transparency.path abuse\n')[0]!, /starts like an announce/);
  assert.match(errorsOf('admin.max_body 10\n')[0]!, /admin\.max_body: "10" is not a size from 1K to 256M/);
});
