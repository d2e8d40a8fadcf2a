// HTTPS and WSS: self-signed certificates made by openssl for the test; announces over https and
// wss; a new certificate taken on SIGHUP (the real signal, to the real command) while an open wss
// connection stays up; a bad certificate on reload keeps the one in use; a bad one at start stops it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { createInterface } from 'node:readline';
import { startTestTracker, percentEncode, infoHash } from '../helpers/tracker.ts';
import { WsTestClient, bin20 } from '../helpers/ws-client.ts';
import { freePort, waitUntil } from '../helpers/process.ts';
import { defaultConfig } from '../../src/config/config.ts';
import { decode } from '../../src/protocol/bencode.ts';
import { parseCommandLine } from '../../src/config/command-line.ts';
import type { StatsJson } from '../../src/stats/stats-json.ts';

const BIN = new URL('../../bin/swarmd.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'swarmd-tls-'));

/** A self-signed certificate for 127.0.0.1 named `cn`: its PEM files. */
function certificate(cn: string): { cert: string; key: string } {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** A new TLS connection (trusting `cas`), once its handshake is done. */
function connectTls(port: number, cas: string[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: cas }, () => resolve(s));
    s.on('error', reject);
  });
}

/** The common name of the certificate a TLS connection got. */
function commonName(s: tls.TLSSocket): string {
  const cn = s.getPeerCertificate().subject.CN;
  return Array.isArray(cn) ? cn[0]! : cn!;
}

/** The common name of the certificate a new TLS connection gets (trusting `cas`). */
async function peerName(port: number, cas: string[]): Promise<string> {
  const s = await connectTls(port, cas);
  s.end();
  return commonName(s);
}

function httpsGet(port: number, path: string, ca: string | string[]): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path, ca, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

const pem = (file: string) => execFileSync('cat', [file], { encoding: 'utf8' });

test('https and wss serve announces, scrapes and the metrics; a bad certificate on reload keeps the good one', async () => {
  const first = certificate('swarmd-one');
  const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  const tracker = await startTestTracker({
    listeners: [
      { proto: 'tls', host: '127.0.0.1', port: 0 },
      { proto: 'udp', host: '127.0.0.1', port: 0 },
    ],
    tls: live,
  });
  try {
    const port = tracker.listening.find((l) => l.proto === 'tls')!.port;
    const ca = pem(first.cert);
    const hash = infoHash('tls-torrent');
    const r = await httpsGet(port, `/announce?info_hash=${percentEncode(hash)}&port=1234&left=0`, ca);
    assert.equal(r.status, 200);
    assert.equal((decode(r.body) as Map<string, unknown>).get('complete'), 1);
    assert.match((await httpsGet(port, '/metrics', ca)).body.toString(), /swarmd_tls_reloads_total\{outcome="ok"\} 0/);
    const ws = await WsTestClient.open(`wss://127.0.0.1:${port}`, { ca });
    ws.send({ action: 'announce', info_hash: hash.toString('latin1'), peer_id: bin20('wss-peer'), event: 'started', left: 5 });
    assert.deepEqual(await ws.next(), { action: 'announce', interval: 120, info_hash: hash.toString('latin1'), complete: 1, incomplete: 1 });
    // A broken certificate file: the reload fails, the one in use stays.
    writeFileSync(live.cert, 'not a certificate\n');
    await tracker.reload();
    assert.equal(tracker.counters().tls_reload_failures, 1);
    assert.equal(await peerName(port, [ca]), 'swarmd-one');
    ws.send({ action: 'scrape', info_hash: hash.toString('latin1') });
    assert.deepEqual((await ws.next()).files, { [hash.toString('latin1')]: { complete: 1, incomplete: 1, downloaded: 0 } });
    ws.close();
    // A plain-text client on the TLS port fails its handshake, and is counted.
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /announce HTTP/1.1\r\n\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => {});
    });
    const deadline = Date.now() + 5000;
    while (tracker.counters().tls_handshake_errors === 0) {
      assert.ok(Date.now() < deadline, 'handshake error not counted');
      await new Promise((res) => setTimeout(res, 50));
    }
  } finally {
    await tracker.close();
  }
});

test('SIGHUP: every worker gives new connections the new certificate, an open wss connection stays up', { timeout: 120_000 }, async () => {
  const first = certificate('swarmd-before');
  const second = certificate('swarmd-after');
  const live = { cert: join(dir, 'hup.crt'), key: join(dir, 'hup.key') };
  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, '--listen-tls', `127.0.0.1:${port}`, '--tls-cert', live.cert, '--tls-key', live.key, '--workers', '2'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const logged = (msg: string) =>
    new Promise<void>((resolve) =>
      lines.on('line', (l) => {
        if ((JSON.parse(l) as { msg?: string }).msg === msg) resolve();
      }),
    );
  try {
    await logged('swarmd listening');
    const cas = [pem(first.cert), pem(second.cert)];
    assert.equal(await peerName(port, cas), 'swarmd-before');
    const ws = await WsTestClient.open(`wss://127.0.0.1:${port}`, { ca: cas });
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    const reloaded = logged('TLS certificate reloaded');
    child.kill('SIGHUP');
    await reloaded;
    // Logged once every worker uses the new certificate: from then on every new connection gets
    // it. New connections are held open until each of the two workers holds two of them (the
    // /stats.json request may be one), so every worker is seen handing out the new certificate.
    const held: tls.TLSSocket[] = [];
    try {
      for (;;) {
        const s = await connectTls(port, cas);
        held.push(s);
        assert.equal(commonName(s), 'swarmd-after', `connection ${held.length} after the reload`);
        const threads = (JSON.parse((await httpsGet(port, '/stats.json?history=0&top=0', cas)).body.toString()) as StatsJson).threads;
        if (threads.filter((t) => t.thread !== 'main').every((t) => t.http_open_connections >= 2)) break;
        assert.ok(held.length < 200, `200 connections and still not two on each worker: ${JSON.stringify(threads)}`);
      }
    } finally {
      for (const s of held) s.destroy();
    }
    ws.send({ action: 'scrape', info_hash: bin20('after-reload') });
    assert.ok((await ws.next()).files, 'the connection made before the reload still answers');
    ws.close();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

test('a client that opens TCP on the TLS port and sends nothing is closed after http.header_timeout, and counted', { timeout: 60_000 }, async () => {
  const cert = certificate('swarmd-silent');
  const tracker = await startTestTracker({
    listeners: [{ proto: 'tls', host: '127.0.0.1', port: 0 }],
    tls: cert,
    http: { ...defaultConfig().http, headerTimeout: 1, idleTimeout: 30 },
  });
  try {
    const port = tracker.listening.find((l) => l.proto === 'tls')!.port;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {}); // a reset counts as closed too
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    const ms = Date.now() - started;
    assert.ok(ms >= 900 && ms < 15_000, `closed after ${ms} ms: the handshake is due within 1 s, the idle timeout is 30 s`);
    await waitUntil(
      () => tracker.counters().tls_handshake_errors === 1,
      10_000,
      () => 'the handshake timeout was not counted',
    );
  } finally {
    await tracker.close();
  }
});

test('listen.tls needs tls.cert and tls.key; an unreadable or bad file stops the start', async () => {
  assert.throws(() => parseCommandLine(['--listen-tls', '127.0.0.1:8443']), /listen\.tls needs tls\.cert and tls\.key/);
  const listeners = [{ proto: 'tls' as const, host: '127.0.0.1', port: 0 }];
  await assert.rejects(
    startTestTracker({ listeners, tls: { cert: join(dir, 'missing.crt'), key: join(dir, 'missing.key') } }),
    /tls\.cert .*missing\.crt: can't read it: ENOENT/,
  );
  const junk = join(dir, 'junk.pem');
  writeFileSync(junk, 'junk\n');
  await assert.rejects(startTestTracker({ listeners, tls: { cert: junk, key: junk } }), /not a usable certificate and key/);
});
