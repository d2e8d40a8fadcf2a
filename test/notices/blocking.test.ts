import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infoHash, percentEncode } from '../helpers/tracker.ts';
import { get, rawExchange } from '../helpers/http-client.ts';
import { UdpClient, announcePacket, scrapePacket, parseAnnounceReply } from '../helpers/udp-client.ts';
import { WsTestClient, bin20 } from '../helpers/ws-client.ts';
import { decode } from '../../src/protocol/bencode.ts';
import { defaultConfig } from '../../src/config/config.ts';
import { startNoticeTracker, notice } from '../helpers/notice-tracker.ts';
import type { NoticeTracker } from '../helpers/notice-tracker.ts';

const A = infoHash('takedown-a');
const B = infoHash('takedown-b');
const C = infoHash('innocent-c');
const D = infoHash('takedown-d');
const hex = (h: Buffer) => h.toString('hex');

const reason = (body: Buffer) => Buffer.from((decode(body) as Map<string, Uint8Array>).get('failure reason') ?? []).toString();
const announceUrl = (hash: Buffer, port: number, extra = '') => `/announce?info_hash=${percentEncode(hash)}&port=${port}&left=1${extra}`;

async function httpAnnounce(t: NoticeTracker, hash: Buffer, port = 1000, extra = ''): Promise<string> {
  return reason((await get('127.0.0.1', t.tcp4, announceUrl(hash, port, extra))).body);
}

async function scrapeCounts(t: NoticeTracker, hash: Buffer): Promise<number[]> {
  const files = (
    decode((await get('127.0.0.1', t.tcp4, `/scrape?info_hash=${percentEncode(hash)}`)).body) as Map<string, Map<string, Map<string, number>>>
  ).get('files')!;
  const f = files.get(hash.toString('latin1'))!;
  return [f.get('complete')!, f.get('incomplete')!, f.get('downloaded')!];
}

/** The full scrape's bytes (HTTP/1.0: streamed plain to the close). */
async function fullScrape(t: NoticeTracker): Promise<Buffer> {
  return (await rawExchange('127.0.0.1', t.tcp4, 'GET /scrape HTTP/1.0\r\n\r\n', { timeoutMs: 5000 })).data;
}

test('a filed notice blocks its hashes at once over HTTP and UDP, drops their swarms and counts duplicates within and across notices', async () => {
  const t = await startNoticeTracker();
  const udp = await UdpClient.open('127.0.0.1', t.udp4);
  try {
    for (const [h, port] of [
      [A, 1],
      [A, 2],
      [B, 3],
      [C, 4],
    ] as const)
      assert.equal(await httpAnnounce(t, h, port), '');
    const id = await udp.connect();
    const ok = (await udp.request(announcePacket({ connectionId: id, transactionId: 1, infoHash: B, port: 5 })))!;
    assert.equal(parseAnnounceReply(ok, false).peers.length, 1, 'B has a peer before the notice');
    assert.equal(t.totals().torrents, 3);

    const magnet = `magnet:?xt=urn:btih:${hex(B).toUpperCase()}&dn=a%20film`;
    const filed = await t.api('POST', '/notices', notice('N-1', [hex(A), hex(A).toUpperCase(), magnet]));
    assert.equal(filed.status, 201, JSON.stringify(filed.body));
    assert.deepEqual([filed.body.listed, filed.body.new, filed.body.duplicates], [3, 2, 1]);
    assert.deepEqual(filed.body.hashes!, [hex(A), hex(B)]);

    // In force as soon as the API answered: on every worker (new connections go to either).
    for (let i = 0; i < 6; i++) assert.equal(await httpAnnounce(t, A, 10 + i), 'blocked by takedown notice N-1');
    assert.equal(await httpAnnounce(t, A, 1, '&event=stopped'), 'blocked by takedown notice N-1', 'not even a stop is answered');
    const denied = (await udp.request(announcePacket({ connectionId: id, transactionId: 2, infoHash: B, port: 5 })))!;
    assert.equal(denied.readUInt32BE(0), 3, 'an error packet');
    assert.equal(denied.readUInt32BE(4), 2);
    assert.equal(denied.subarray(8).toString(), 'blocked by takedown notice N-1');
    assert.equal(await httpAnnounce(t, C, 20), '', 'other torrents are untouched');

    // The swarms are gone, and the hashes are neither scraped nor listed in full scrapes.
    assert.equal(t.totals().torrents, 1);
    assert.equal(t.totals().peers4, 2);
    assert.deepEqual(await scrapeCounts(t, A), [0, 0, 0]);
    const scraped = (await udp.request(scrapePacket(id, 3, [B, C])))!;
    assert.deepEqual([scraped.readUInt32BE(8), scraped.readUInt32BE(16), scraped.readUInt32BE(20 + 8)], [0, 0, 2]);
    const full = await fullScrape(t);
    assert.ok(full.includes(C) && !full.includes(A) && !full.includes(B));

    // Across notices: B is already blocked (a duplicate), D is new.
    const second = await t.api('POST', '/notices', notice('N-2', [hex(B), hex(D)]));
    assert.deepEqual([second.status, second.body.listed, second.body.new, second.body.duplicates], [201, 2, 1, 1]);
    assert.equal(await httpAnnounce(t, B), 'blocked by takedown notice N-1', 'the first notice is named');
    assert.equal(await httpAnnounce(t, D), 'blocked by takedown notice N-2');

    const c = t.counters();
    assert.equal(c.http_announce_blocked, 9);
    assert.equal(c.udp_announce_blocked, 1);
    assert.equal(c.http_scrape_blocked + c.udp_scrape_blocked, 2);
    assert.equal(c.notice_torrents_removed, 2);
    assert.equal(c.http_announce_denied, 0);
    const metrics = (await get('127.0.0.1', t.tcp4, '/metrics')).body.toString();
    assert.match(metrics, /swarmd_takedown_hashes_blocked 3\n/);
    assert.match(metrics, /swarmd_takedown_notices 2\n/);
    assert.match(metrics, /swarmd_requests_total\{protocol="http",action="announce",outcome="denied"\} 9\n/);
  } finally {
    udp.close();
    await t.close();
  }
});

test('over WebSocket a notice drops the swarm on every worker and refuses announces, stops and offers with its reason', async () => {
  const t = await startNoticeTracker();
  const hash = bin20('ws-takedown');
  const url = `ws://127.0.0.1:${t.tcp4}`;
  const peers: WsTestClient[] = [];
  try {
    // 6 connections: the kernel spreads them over the two workers.
    for (let i = 0; i < 6; i++) {
      const c = await WsTestClient.open(url);
      c.send({ action: 'announce', info_hash: hash, peer_id: bin20(`ws-peer-${i}`), event: 'started', left: 10, numwant: 0 });
      assert.equal((await c.next()).incomplete, i + 1);
      peers.push(c);
    }
    assert.equal((await t.api('POST', '/notices', notice('WS-1', [Buffer.from(hash, 'latin1').toString('hex')]))).status, 201);

    const offerer = await WsTestClient.open(url);
    peers.push(offerer);
    offerer.send({
      action: 'announce',
      info_hash: hash,
      peer_id: bin20('ws-offerer'),
      event: 'started',
      left: 10,
      numwant: 5,
      offers: [{ offer_id: bin20('o-1'), offer: { type: 'offer', sdp: 'v=0' } }],
    });
    assert.deepEqual(await offerer.next(), { 'failure reason': 'blocked by takedown notice WS-1', action: 'announce', info_hash: hash });
    peers[0]!.send({ action: 'announce', info_hash: hash, peer_id: bin20('ws-peer-0'), event: 'stopped', left: 10 });
    assert.equal((await peers[0]!.next())['failure reason'], 'blocked by takedown notice WS-1', 'not even a stop is answered');
    offerer.send({ action: 'scrape', info_hash: hash });
    assert.deepEqual((await offerer.next()).files, { [hash]: { complete: 0, incomplete: 0, downloaded: 0 } });
    // The refused announce's offer was never relayed, forwarded or counted as placed nowhere.
    const offers = t.counters();
    assert.equal(offers.ws_offers_relayed + offers.ws_offers_forwarded + offers.ws_offers_unplaced, 0);
    for (const p of peers.slice(1, 6)) assert.deepEqual(await p.sync(), [], 'no offer reached a peer of the blocked swarm');

    // Lifted, the torrent starts empty: the six peers were dropped from every worker's share of the table.
    assert.equal((await t.api('POST', '/notices/WS-1/lift', { reason: 'withdrawn' })).status, 200);
    offerer.send({ action: 'announce', info_hash: hash, peer_id: bin20('ws-offerer'), event: 'started', left: 10, numwant: 0 });
    const again = await offerer.next();
    assert.deepEqual([again.complete, again.incomplete], [0, 1]);

    const c = t.counters();
    assert.equal(c.ws_announce_blocked, 2);
    assert.equal(c.ws_scrape_blocked, 1);
    assert.equal(c.ws_announce_denied + c.ws_scrape_denied, 0);
    assert.ok(c.notice_torrents_removed >= 1, 'the WebSocket swarm counts as a removed torrent');
    const metrics = (await get('127.0.0.1', t.tcp4, '/metrics')).body.toString();
    assert.match(metrics, /swarmd_takedown_blocked_total\{protocol="ws",action="announce"\} 2\n/);
    assert.match(metrics, /swarmd_requests_total\{protocol="ws",action="announce",outcome="denied"\} 2\n/);
  } finally {
    for (const p of peers) p.close();
    await t.close();
  }
});

test("lifting ends a notice's block, but a hash another notice lists stays blocked; the record stays", async () => {
  const t = await startNoticeTracker();
  try {
    assert.equal((await t.api('POST', '/notices', notice('first', [hex(A), hex(B)]))).status, 201);
    assert.equal((await t.api('POST', '/notices', notice('second', [hex(B)]))).status, 201);
    const lifted = await t.api('POST', '/notices/first/lift', { reason: 'counter-notice accepted' });
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    assert.equal(lifted.body.lifted, 2);
    assert.deepEqual(
      lifted.body.lifts!.map((l: { reason: string; hashes: string[] }) => [l.reason, l.hashes.length]),
      [['counter-notice accepted', 2]],
    );
    assert.equal(await httpAnnounce(t, A), '', 'A is free again');
    assert.equal(await httpAnnounce(t, B), 'blocked by takedown notice second', 'B: the other notice still stands');

    const record = await t.api('GET', '/notices/first');
    assert.deepEqual([record.status, record.body.hashes!.length, record.body.new], [200, 2, 2], 'the notice is still on record');
    assert.equal((await t.api('POST', '/notices/first/lift', { reason: 'again' })).status, 200, 'lifting twice changes nothing');

    const partial = await t.api('POST', '/notices/second/lift', { reason: 'wrong hash', hashes: [`magnet:?xt=urn:btih:${hex(B)}`] });
    assert.equal(partial.status, 200);
    assert.equal(await httpAnnounce(t, B), '');

    const notListed = await t.api('POST', '/notices/second/lift', { reason: 'x', hashes: [hex(C)] });
    assert.equal(notListed.status, 400);
    assert.deepEqual(notListed.body.errors!, [{ field: 'hashes[0]', message: `${hex(C)} is not listed in notice second` }]);
    assert.equal((await t.api('POST', '/notices/nothing/lift', { reason: 'x' })).status, 404);
    assert.equal((await t.api('POST', '/notices/first/lift', {})).body.errors![0].field, 'reason');
    const list = await t.api('GET', '/notices');
    assert.deepEqual(
      list.body.notices!.map((n: { id: string; lifted: number }) => [n.id, n.lifted]),
      [
        ['first', 2],
        ['second', 1],
      ],
    );
    assert.equal(list.body.notices![0].hashes, undefined, 'the list leaves the hashes out');
  } finally {
    await t.close();
  }
});

test('a block wins over a whitelist and stands next to a blacklist', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmd-notice-lists-'));
  const white = join(dir, 'white');
  writeFileSync(white, `${hex(A)}\n${hex(C)}\n`);
  const w = await startNoticeTracker({ access: { ...defaultConfig().access, whitelist: white } });
  try {
    assert.equal(await httpAnnounce(w, A), '');
    await w.api('POST', '/notices', notice('W', [hex(A)]));
    assert.equal(await httpAnnounce(w, A), 'blocked by takedown notice W');
    assert.equal(await httpAnnounce(w, C), '');
    assert.match(await httpAnnounce(w, B), /not authorized/);
  } finally {
    await w.close();
  }
  const black = join(dir, 'black');
  writeFileSync(black, `${hex(B)}\n`);
  const b = await startNoticeTracker({ access: { ...defaultConfig().access, blacklist: black } });
  try {
    await b.api('POST', '/notices', notice('K', [hex(A)]));
    assert.equal(await httpAnnounce(b, A), 'blocked by takedown notice K');
    assert.match(await httpAnnounce(b, B), /not authorized/);
    assert.equal(await httpAnnounce(b, C), '');
    assert.equal(b.counters().http_announce_denied, 1);
    assert.equal(b.counters().http_announce_blocked, 1);
  } finally {
    await b.close();
  }
});

test('a restarted worker blocks what was filed before it died, and what is filed after', async () => {
  const t = await startNoticeTracker({ workers: 2 });
  try {
    await t.api('POST', '/notices', notice('before', [hex(A)]));
    await t.terminateWorker(0);
    const deadline = Date.now() + 20_000;
    while (t.restarts === 0 || t.counters().worker_restarts === 0 || (await workersRunning(t)) < 2) {
      assert.ok(Date.now() < deadline, 'the worker came back');
      await new Promise((r) => setTimeout(r, 100));
    }
    await t.api('POST', '/notices', notice('after', [hex(B)]));
    // Enough new connections that both workers answer some (the kernel spreads them).
    for (let i = 0; i < 12; i++) {
      assert.equal(await httpAnnounce(t, A, 100 + i), 'blocked by takedown notice before');
      assert.equal(await httpAnnounce(t, B, 100 + i), 'blocked by takedown notice after');
    }
  } finally {
    await t.close();
  }
});

async function workersRunning(t: NoticeTracker): Promise<number> {
  const m = /swarmd_workers_running (\d+)/.exec((await get('127.0.0.1', t.tcp4, '/metrics')).body.toString());
  return Number(m?.[1] ?? 0);
}
