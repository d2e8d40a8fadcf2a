import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, MIB, defaultConfig } from '../../src/config/config.ts';
import { SETTINGS, UNSUPPORTED } from '../../src/config/config-file.ts';
import { helpText, longOptions, parseCommandLine } from '../../src/config/command-line.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-command-line-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

function write(content: string): string {
  const file = path.join(dir, `test-${++fileCount}.conf`);
  fs.writeFileSync(file, content);
  return file;
}

const parse = (...argv: string[]) => parseCommandLine(argv, {});

function errorsOf(argv: string[], env = {}): string[] {
  try {
    parseCommandLine(argv, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.errors;
  }
  assert.fail('expected a ConfigError');
}

test('no arguments: run with the defaults', () => {
  const { action, config, warnings } = parse();
  assert.equal(action, 'run');
  assert.deepEqual(config, defaultConfig());
  assert.deepEqual(warnings, []);
});

test('the environment is not read unless passed (tests pass {})', () => {
  const { config } = parseCommandLine([], { SWARMD_LOG_LEVEL: 'debug' });
  assert.equal(config.logLevel, 'debug');
});

test('-i applies to the -p and -P after it, in order', () => {
  const { config } = parse('-i', '127.0.0.1', '-p', '1', '-i', '::1', '-P', '2');
  assert.deepEqual(config.listeners, [
    { proto: 'tcp', host: '127.0.0.1', port: 1 },
    { proto: 'udp', host: '::1', port: 2 },
  ]);
});

test("opentracker's help example binds in order", () => {
  const file = write('listen.udp 10.0.0.5\n');
  const { config } = parse('-i', '127.0.0.1', '-p', '6969', '-P', '6969', '-f', file, '-i', '10.1.1.23', '-p', '2710', '-p', '80');
  assert.deepEqual(config.listeners, [
    { proto: 'tcp', host: '127.0.0.1', port: 6969 },
    { proto: 'udp', host: '127.0.0.1', port: 6969 },
    { proto: 'udp', host: '10.0.0.5', port: 6969 },
    { proto: 'tcp', host: '10.1.1.23', port: 2710 },
    { proto: 'tcp', host: '10.1.1.23', port: 80 },
  ]);
});

test('-p and -P without -i use ::; -i takes bracketed IPv6 too', () => {
  assert.deepEqual(parse('-p', '80').config.listeners, [{ proto: 'tcp', host: '::', port: 80 }]);
  assert.deepEqual(parse('-i', '[::1]', '-P80').config.listeners, [{ proto: 'udp', host: '::1', port: 80 }]);
});

test('IPv6 addresses are compressed; zone IDs and embedded IPv4 are kept as written', () => {
  const { config } = parse('-i', 'FE80::1%Eth0', '-p', '1', '--listen-udp', '[2001:db8:0:0:0:0:0:1]:5', '--listen-tcp', '[::FFFF:1.2.3.4]:7');
  assert.deepEqual(config.listeners, [
    { proto: 'tcp', host: 'FE80::1%Eth0', port: 1 },
    { proto: 'udp', host: '2001:db8::1', port: 5 },
    { proto: 'tcp', host: '::ffff:1.2.3.4', port: 7 },
  ]);
});

test('nothing bound: tcp and udp 6969 on the last -i address', () => {
  assert.deepEqual(parse('-i', '127.0.0.1', '-i', '10.0.0.1').config.listeners, [
    { proto: 'tcp', host: '10.0.0.1', port: 6969 },
    { proto: 'udp', host: '10.0.0.1', port: 6969 },
  ]);
});

test('a config file that binds counts as bound; one that does not, does not', () => {
  const binds = write('listen.tcp 127.0.0.1:7000\n');
  assert.deepEqual(parse('-i', '127.0.0.2', '-f', binds).config.listeners, [{ proto: 'tcp', host: '127.0.0.1', port: 7000 }]);
  const plain = write('tracker.interval 900\n');
  assert.deepEqual(parse('-f', plain, '-i', '127.0.0.2').config.listeners, [
    { proto: 'tcp', host: '127.0.0.2', port: 6969 },
    { proto: 'udp', host: '127.0.0.2', port: 6969 },
  ]);
});

test('-f then switches override the file; switches before -f are overridden by it', () => {
  const file = write('tracker.redirect_url https://file/\ntracker.user fileuser\ntracker.interval 900\nlog.level warn\n');
  const a = parse('-u', 'early', '-f', file, '-r', 'https://late/', '--interval', '1000').config;
  assert.equal(a.user, 'fileuser');
  assert.equal(a.redirectUrl, 'https://late/');
  assert.equal(a.interval, 1000);
  assert.equal(a.logLevel, 'warn');
  assert.equal(a.configFile, file);
  const b = parse('--log-level', 'error', '--config', file).config;
  assert.equal(b.logLevel, 'warn');
});

test('-r, -d, -u and their long options', () => {
  const c = parse('-r', 'https://example.org/', '-d', '/srv/swarmd', '-u', 'tracker').config;
  assert.equal(c.redirectUrl, 'https://example.org/');
  assert.equal(c.rootdir, '/srv/swarmd');
  assert.equal(c.user, 'tracker');
  const d = parse('--redirect-url=https://x/', '--rootdir', '/x', '--user=u').config;
  assert.deepEqual([d.redirectUrl, d.rootdir, d.user], ['https://x/', '/x', 'u']);
});

test('every config key has a long option taking the same value', () => {
  const c = parse(
    '--listen-tcp-udp',
    '127.0.0.1:7000',
    '--listen-tcp',
    '[::1]:7001',
    '--listen-udp',
    '::1',
    '--stats-path',
    'st',
    '--workers',
    '3',
    '--interval',
    '900',
    '--interval-variation',
    '100',
    '--peer-timeout',
    '1200',
    '--torrent-timeout',
    '3600',
    '--clean-interval',
    '30',
    '--numwant',
    '10',
    '--numwant-max',
    '100',
    '--udp-numwant-max4',
    '150',
    '--udp-numwant-max6',
    '50',
    '--max-scrape-hashes',
    '20',
    '--ip-from-query',
    '--memory-limit',
    '64M',
    '--udp-io',
    'native',
    '--udp-batch',
    '16',
    '--tcp-io',
    'native',
    '--http-idle-timeout',
    '15',
    '--http-header-timeout',
    '5',
    '--http-max-request-size',
    '2048',
    '--no-http-keepalive',
    '--http-max-connections',
    '50',
    '--connection-id-lifetime',
    '60',
    '--log-level',
    'trace',
  ).config;
  assert.deepEqual(c.listeners, [
    { proto: 'tcp', host: '127.0.0.1', port: 7000 },
    { proto: 'udp', host: '127.0.0.1', port: 7000 },
    { proto: 'tcp', host: '::1', port: 7001 },
    { proto: 'udp', host: '::1', port: 6969 },
  ]);
  assert.equal(c.statsPath, 'st');
  assert.equal(c.workers, 3);
  assert.equal(c.interval, 900);
  assert.equal(c.intervalVariation, 100);
  assert.equal(c.peerTimeout, 1200);
  assert.equal(c.torrentTimeout, 3600);
  assert.equal(c.cleanInterval, 30);
  assert.equal(c.numwantDefault, 10);
  assert.equal(c.numwantMax, 100);
  assert.equal(c.udpNumwantMax4, 150);
  assert.equal(c.udpNumwantMax6, 50);
  assert.equal(c.maxScrapeHashes, 20);
  assert.equal(c.ipFromQuery, true);
  assert.equal(c.memoryLimit, 64 * MIB);
  assert.equal(c.udpIo, 'native');
  assert.equal(c.udpBatchSize, 16);
  assert.equal(c.tcpIo, 'native');
  assert.deepEqual(c.http, { idleTimeout: 15, headerTimeout: 5, maxRequestBytes: 2048, keepAlive: false, maxConnections: 50 });
  assert.equal(c.connectionIdLifetime, 60);
  assert.equal(c.logLevel, 'trace');
  assert.equal(parse('--udp-workers', '0').config.workers, 1);
});

test('flags: --x, --no-x, --x=VALUE', () => {
  assert.equal(parse('--ip-from-query').config.ipFromQuery, true);
  assert.equal(parse('--ip-from-query', '--no-ip-from-query').config.ipFromQuery, false);
  assert.equal(parse('--ip-from-query=off').config.ipFromQuery, false);
  assert.equal(parse('--http-keepalive=no').config.http.keepAlive, false);
  assert.equal(parse('--no-http-keepalive', '--http-keepalive').config.http.keepAlive, true);
  assert.deepEqual(errorsOf(['--no-http-keepalive=yes']), ['--no-http-keepalive does not take a value']);
  assert.deepEqual(errorsOf(['--ip-from-query=maybe']), ['--ip-from-query: "maybe" is not yes/no/true/false/on/off/1/0']);
});

test('-h and -v stop processing there; errors before them still count', () => {
  assert.equal(parse('-h').action, 'help');
  assert.equal(parse('--help').action, 'help');
  assert.equal(parse('-v').action, 'version');
  assert.equal(parse('--version').action, 'version');
  assert.equal(parse('-h', '--bogus', '-p', 'x').action, 'help');
  assert.equal(parse('-p', '80', '-v').config.listeners.length, 1);
  assert.deepEqual(errorsOf(['-p', 'x', '-h']), ['-p: "x" is not a port from 1 to 65535']);
  // --help skips the checks across settings
  assert.equal(parse('--interval', '10', '-h').action, 'help');
});

test('bad switches: every error is reported', () => {
  assert.deepEqual(errorsOf(['-i', 'localhost', '-p', '0', '-P', '65536', '-x', '--bogus=1', 'stray', '--workers', 'many', '-p']), [
    '-i: "localhost" is not an IPv4 or IPv6 address',
    '-p: "0" is not a port from 1 to 65535',
    '-P: "65536" is not a port from 1 to 65535',
    'unknown option -x',
    'unknown option --bogus',
    'unexpected argument "stray" (swarmd takes options only)',
    '--workers: "many" is not a whole number from 1 to 256',
    '-p needs a value',
  ]);
  assert.deepEqual(errorsOf(['--no-interval']), ['unknown option --no-interval']);
  assert.deepEqual(errorsOf(['--interval=']), ['--interval needs a value']);
  assert.deepEqual(errorsOf(['--help=1']), ['--help does not take a value']);
  assert.deepEqual(errorsOf(['-i', '[1.2.3.4]']), ['-i: "[1.2.3.4]" is not an IPv4 or IPv6 address']);
});

test('like getopt, an option takes the next argument even if it starts with -', () => {
  assert.deepEqual(errorsOf(['-p', '-P', '80']), ['-p: "-P" is not a port from 1 to 65535', 'unexpected argument "80" (swarmd takes options only)']);
  assert.equal(parse('-u', '-weird-').config.user, '-weird-');
});

test('-- ends the options', () => {
  assert.deepEqual(errorsOf(['--', '-p', '80']), [
    'unexpected argument "-p" (swarmd takes options only)',
    'unexpected argument "80" (swarmd takes options only)',
  ]);
});

test('errors from a config file and from switches are reported together', () => {
  const file = write('tracker.interval x\n');
  assert.deepEqual(errorsOf(['-p', '0', '-f', file, '--workers', '0']), [
    '-p: "0" is not a port from 1 to 65535',
    `${file}:1: tracker.interval: "x" is not a whole number of seconds from 1 to 2147483 [line: "tracker.interval x"]`,
    '--workers: "0" is not a whole number from 1 to 256',
  ]);
});

test("-f with a file that can't be opened is an error", () => {
  const missing = path.join(dir, 'nope.conf');
  assert.deepEqual(errorsOf(['-f', missing]), [`-f: can't open config file ${missing}: ENOENT`]);
});

test('unsupported switches and long options give the same error as their keys', () => {
  assert.deepEqual(errorsOf(['-s', '9696']), [
    '-s (live sync) is not supported: swarmd clusters over NATS instead: set cluster.nats and the other cluster.* keys (README: "Running a cluster")',
  ]);
  assert.deepEqual(errorsOf(['--livesync-node-ip', '10.0.0.1']), [
    '--livesync-node-ip: livesync.cluster.node_ip is not supported: swarmd clusters over NATS instead: set cluster.nats and the other cluster.* keys (README: "Running a cluster")',
  ]);
});

test('-w and -b: whitelist or blacklist file, with the FIFO and journal options', () => {
  assert.deepEqual(parse('-w', 'white.txt').config.access, {
    whitelist: 'white.txt',
    blacklist: null,
    fifoAdd: null,
    fifoDelete: null,
    changesFile: null,
  });
  assert.deepEqual(parse('-b', '/etc/black', '--fifo-add', '/run/a', '--fifo-delete=/run/d', '--access-changes-file', '/var/lib/c').config.access, {
    whitelist: null,
    blacklist: '/etc/black',
    fifoAdd: '/run/a',
    fifoDelete: '/run/d',
    changesFile: '/var/lib/c',
  });
  assert.equal(parse('--whitelist', 'a', '-w', 'b').config.access.whitelist, 'b');
  assert.equal(parse('--blacklist=x').config.access.blacklist, 'x');
  // A switch overrides the file read before it, and the other way round.
  const file = write('access.whitelist /from/file\n');
  assert.equal(parse('-f', file, '-w', 'switch').config.access.whitelist, 'switch');
  assert.equal(parse('-w', 'switch', '-f', file).config.access.whitelist, '/from/file');
  assert.deepEqual(errorsOf(['-w']), ['-w needs a value']);
  assert.deepEqual(errorsOf(['-w', 'a', '-b', 'b']), ["access.whitelist (a) and access.blacklist (b) can't be used together: choose one"]);
  assert.deepEqual(errorsOf(['-b', 'b', '-f', file]), ["access.whitelist (/from/file) and access.blacklist (b) can't be used together: choose one"]);
  assert.deepEqual(errorsOf(['--fifo-add', 'f']), ['access.fifo_add needs access.whitelist or access.blacklist (it changes that list)']);
});

test("-A blesses a network for stats and proxying, as opentracker's", () => {
  const { config } = parse('-A', '10.0.0.1', '-A', '::1');
  assert.deepEqual(config.statsNetworks, ['10.0.0.1/32', '::1/128']);
  assert.deepEqual(config.proxyNetworks, ['10.0.0.1/32', '::1/128']);
});

test('the same listener twice is kept once with a warning', () => {
  const { config, warnings } = parse('-i', '127.0.0.1', '-p', '80', '-p', '80');
  assert.deepEqual(config.listeners, [{ proto: 'tcp', host: '127.0.0.1', port: 80 }]);
  assert.deepEqual(warnings, ['-p: tcp 127.0.0.1:80 is already listed; ignored']);
  assert.deepEqual(parse('-i', '::0', '-P', '80', '--listen-udp', '[0::]:80').warnings, ['--listen-udp: udp [::]:80 is already listed; ignored']);
});

test('--workers wins over listen.udp.workers in either order', () => {
  const file = write('listen.udp.workers 6\n');
  assert.equal(parse('--workers', '2', '-f', file).config.workers, 2);
  assert.equal(parse('-f', file, '--workers', '2').config.workers, 2);
  assert.equal(parse('-f', file).config.workers, 6);
});

test('environment: SWARMD_CONFIG is read before the switches, SWARMD_LOG_LEVEL sets the level', () => {
  const file = write('tracker.interval 900\nlog.level warn\n');
  const a = parseCommandLine(['--interval', '1000'], { SWARMD_CONFIG: file }).config;
  assert.equal(a.interval, 1000);
  assert.equal(a.logLevel, 'warn');
  assert.equal(parseCommandLine([], { SWARMD_CONFIG: file, SWARMD_LOG_LEVEL: 'debug' }).config.logLevel, 'warn');
  assert.equal(parseCommandLine(['--log-level', 'error'], { SWARMD_LOG_LEVEL: 'debug' }).config.logLevel, 'error');
  assert.deepEqual(errorsOf([], { SWARMD_LOG_LEVEL: 'loud' }), ['SWARMD_LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent']);
  const missing = path.join(dir, 'absent.conf');
  assert.deepEqual(errorsOf([], { SWARMD_CONFIG: missing }), [`SWARMD_CONFIG: can't open config file ${missing}: ENOENT`]);
});

test('checks across settings apply to switches too', () => {
  assert.deepEqual(errorsOf(['--numwant', '500']), ['tracker.numwant (500) must not be more than tracker.numwant_max (200)']);
  assert.equal(parse('--numwant', '500', '--numwant-max', '1000').config.numwantDefault, 500);
});

test('the help text lists every switch, long option and key, with defaults', () => {
  const help = helpText();
  for (const long of longOptions()) assert.match(help, new RegExp(`(--|\\])${long}(?![-\\w])`), long);
  const flat = help.replace(/\s+/g, ' ');
  for (const s of SETTINGS) assert.ok(flat.includes(`Key: ${s.key}.`), s.key);
  for (const u of UNSUPPORTED) {
    if (u.short) assert.ok(help.includes(`-${u.short}, --${u.long}`), u.long);
    if (u.key) assert.ok(help.includes(u.key), u.key);
  }
  for (const short of 'fipPrduhvwb') assert.match(help, new RegExp(`^  -${short}, --`, 'm'), short);
  assert.match(flat, /--interval SECONDS announce interval handed to clients\. Key: tracker\.interval\. Default: 1800\./);
  assert.match(flat, /Default: 2700\./);
  assert.match(flat, /Default: auto\./);
  assert.match(flat, /default: ::\)/);
  for (const line of help.split('\n')) assert.ok(line.length <= 110, line);
  assert.ok(helpText('opentracker').startsWith('Usage: opentracker '));
});

test('long options are unique and include the opentracker switches', () => {
  const longs = longOptions();
  assert.equal(new Set(longs).size, longs.length);
  for (const l of ['config', 'ip', 'tcp-port', 'udp-port', 'help', 'version', 'listen-tcp-udp', 'workers', 'udp-io', 'log-level', 'interval']) {
    assert.ok(longs.includes(l), l);
  }
});

test('-l loads a state dump; the state and full-scrape settings have long options', () => {
  const c = parse('-l', 'state.txt').config;
  assert.equal(c.loadState, 'state.txt');
  assert.equal(c.stateFile, null);
  assert.equal(parse('--load-state=/var/lib/swarmd/state').config.loadState, '/var/lib/swarmd/state');
  assert.equal(parse('-l', 'a', '-l', 'b').config.loadState, 'b'); // the last one wins, as opentracker
  const d = parse('--state-file', '/var/lib/swarmd/state', '--state-interval', '0', '--no-full-scrape', '--full-scrape-interval', '300').config;
  assert.equal(d.stateFile, '/var/lib/swarmd/state');
  assert.equal(d.stateInterval, 0);
  assert.equal(d.fullScrape, false);
  assert.equal(d.fullScrapeInterval, 300);
  assert.equal(parse('--full-scrape').config.fullScrape, true);
  assert.deepEqual(errorsOf(['-l']), ['-l needs a value']);
  assert.deepEqual(errorsOf(['-l', 'a\u0001b']), ['-l: "a\\u0001b" contains control characters']);
  assert.deepEqual(errorsOf(['--state-interval', 'often']), ['--state-interval: "often" is not a whole number of seconds from 0 to 2147483']);
  assert.match(helpText(), /^ {2}-l, --load-state FILE$/m);
});

test('environment: SWARMD_ADMIN_TOKEN gives the admin token unless the config sets one', () => {
  const token = 't'.repeat(20);
  const args = ['--notices-journal', 'j', '--admin-listen', '9000'];
  assert.equal(parseCommandLine(args, { SWARMD_ADMIN_TOKEN: token }).config.admin.token, token);
  assert.equal(parseCommandLine([...args, '--admin-token', 'c'.repeat(16)], { SWARMD_ADMIN_TOKEN: token }).config.admin.token, 'c'.repeat(16));
  assert.match(errorsOf(args).join('\n'), /admin\.listen needs a token/);
});
