import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { ConfigError, GIB, MIB, defaultConfig, defaultListeners } from '../../src/config/config.ts';

test('defaultConfig has every documented default', () => {
  const c = defaultConfig();
  assert.deepEqual(c.listeners, [
    { proto: 'tcp', host: '::', port: 6969 },
    { proto: 'udp', host: '::', port: 6969 },
  ]);
  assert.equal(c.workers, Math.min(256, os.availableParallelism()));
  assert.equal(c.udpIo, 'auto');
  assert.equal(c.udpBatchSize, 64);
  assert.equal(c.tcpIo, 'auto');
  assert.equal(c.rootdir, null);
  assert.equal(c.user, null);
  assert.equal(c.redirectUrl, null);
  assert.equal(c.statsPath, 'stats');
  assert.equal(c.interval, 1800);
  assert.equal(c.intervalVariation, 360);
  assert.equal(c.peerTimeout, 2700);
  assert.equal(c.torrentTimeout, 86400);
  assert.equal(c.cleanInterval, 120);
  assert.equal(c.numwantDefault, 50);
  assert.equal(c.numwantMax, 200);
  assert.equal(c.udpNumwantMax4, 200);
  assert.equal(c.udpNumwantMax6, 66);
  assert.equal(c.maxScrapeHashes, 64);
  assert.equal(c.ipFromQuery, false);
  assert.deepEqual(c.http, {
    idleTimeout: 30,
    headerTimeout: 10,
    maxRequestBytes: 8192,
    keepAlive: true,
    maxConnections: 10000,
  });
  assert.equal(c.connectionIdLifetime, 120);
  assert.equal(c.stateFile, null);
  assert.equal(c.loadState, null);
  assert.equal(c.stateInterval, 300);
  assert.equal(c.fullScrape, true);
  assert.equal(c.fullScrapeInterval, 0);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.configFile, null);
});

test('the default memory limit is 3/4 of RAM in whole MiB, at most 16 GiB', () => {
  const limit = defaultConfig().memoryLimit;
  assert.ok(limit <= 16 * GIB);
  assert.equal(limit % MIB, 0);
  const expected = Math.floor(Math.min(16 * GIB, (os.totalmem() * 3) / 4) / MIB) * MIB;
  assert.equal(limit, Math.max(16 * MIB, expected));
});

test('defaultConfig returns a fresh object each time', () => {
  const a = defaultConfig();
  a.listeners.push({ proto: 'tcp', host: '1.2.3.4', port: 1 });
  a.http.keepAlive = false;
  const b = defaultConfig();
  assert.equal(b.listeners.length, 2);
  assert.equal(b.http.keepAlive, true);
});

test('defaultListeners uses the given address', () => {
  assert.deepEqual(defaultListeners('127.0.0.1'), [
    { proto: 'tcp', host: '127.0.0.1', port: 6969 },
    { proto: 'udp', host: '127.0.0.1', port: 6969 },
  ]);
});

test('ConfigError keeps every error and joins them in its message', () => {
  const e = new ConfigError(['a', 'b']);
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'ConfigError');
  assert.deepEqual(e.errors, ['a', 'b']);
  assert.equal(e.message, 'a\nb');
  assert.deepEqual(new ConfigError('one').errors, ['one']);
});
