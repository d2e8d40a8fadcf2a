import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestTracker, infoHash, percentEncode } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { UdpClient, announcePacket } from '../helpers/udp-client.ts';
import { Woodpeckers } from '../../src/stats/woodpeckers.ts';

describe("/stats in opentracker's formats", () => {
  let tracker: TestTracker;
  const stats = async (query: string) => {
    const r = await get('127.0.0.1', tracker.tcp4, `/stats${query}`);
    return { status: r.status, body: r.body.toString(), type: r.headers.get('content-type') };
  };
  before(async () => {
    tracker = await startTestTracker({ statsPath: 'stats' });
    const hot = infoHash('hot-torrent');
    for (let port = 1; port <= 5; port++) {
      await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(hot)}&port=${port}&left=${port <= 2 ? 0 : 9}&numwant=7`);
    }
    await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(hot)}&port=1&left=0`); // a renewal, 0 minutes old
    await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(infoHash('cold'))}&port=9&left=9`);
    await get('127.0.0.1', tracker.tcp4, `/scrape?info_hash=${percentEncode(hot)}`);
    const udp = await UdpClient.open('127.0.0.1', tracker.udp4);
    await udp.request(announcePacket({ connectionId: await udp.connect(), transactionId: 1, infoHash: infoHash('cold'), port: 10 }));
    udp.close();
  });
  after(() => tracker.close());

  test('peer, torr: peers, seeds and torrents in the MRTG layout', async () => {
    const peer = (await stats('?mode=peer')).body.split('\n');
    assert.deepEqual(peer.slice(0, 3), ['7', '2', 'swarmd serving 2 torrents']);
    assert.equal((await stats('')).body, (await stats('?mode=peer')).body, 'peer is the default mode');
    assert.deepEqual((await stats('?mode=torr')).body.split('\n').slice(0, 2), ['2', '0']);
  });

  test('conn, tcp4, udp4, scrp count what happened', async () => {
    const tcp4 = (await stats('?mode=tcp4')).body.split('\n');
    assert.ok(Number(tcp4[0]) >= 8, 'accepts');
    assert.equal(tcp4[1], '7', 'announces');
    assert.match(tcp4[2], /^\d+ seconds \(0 hours\)$/);
    const udp4 = (await stats('?mode=udp4')).body.split('\n');
    assert.deepEqual(udp4.slice(0, 2), ['2', '2']);
    assert.deepEqual((await stats('?mode=scrp')).body.split('\n').slice(0, 2), ['1', '0']);
    assert.equal((await stats('?mode=conn')).body.split('\n')[1], String(7 + 2));
  });

  test('renew and numwants histograms', async () => {
    const renew = (await stats('?mode=renew')).body.trim().split('\n');
    assert.equal(renew.length, 45);
    assert.equal(renew[0], '00 1');
    const numwants = (await stats('?mode=numwants')).body.trim().split('\n');
    assert.equal(numwants.length, 201);
    assert.equal(numwants[7], '007 => 5');
  });

  test('herr labels match their counters', async () => {
    await get('127.0.0.1', tracker.tcp4, '/no-such-path');
    const herr = (await stats('?mode=herr')).body;
    assert.match(herr, /^404 INV [1-9]/m);
    assert.match(herr, /^302 RED 0$/m);
  });

  test('top10 and s24s walk the store', async () => {
    const top = (await stats('?mode=top10')).body;
    const hex = infoHash('hot-torrent').toString('hex').toUpperCase();
    assert.match(top, new RegExp(`^Top 10 torrents by peers:\\n\\t5\\t${hex}\\n\\t2\\t`));
    assert.match(top, new RegExp(`by seeds:\\n\\t2\\t${hex}\\n`));
    assert.match(top, /by leechers:\n\t3\t/);
    const s24s = (await stats('?mode=s24s')).body;
    assert.match(s24s, /Networks, limit \/28:\n00000007: 127\.0\.0\.0\n/);
    assert.match(s24s, /Networks, limit \/24:\n00000007: 127\.0\.0\.0\n/);
  });

  test("everything is opentracker's XML", async () => {
    const r = await stats('?mode=everything');
    assert.equal(r.type, 'text/xml');
    assert.match(r.body, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<stats>/);
    assert.match(r.body, /<peers>\n {4}<count>7<\/count>/);
    assert.match(r.body, /<count interval="44">0<\/count>/);
    assert.match(r.body, /<\/stats>$/);
  });

  test('version, unknown modes, announce parameters and fulllog get clear answers', async () => {
    assert.match((await stats('?mode=version')).body, /^swarmd \d+\.\d+\.\d+\n$/);
    const unknown = await stats('?mode=bogus');
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /unknown stats mode/);
    assert.equal((await stats(`?info_hash=${percentEncode(infoHash('x'))}`)).status, 400);
    assert.equal((await stats('?mode=fulllog')).status, 400);
  });
});

test('woodpeckers are counted by network and halve as they age', () => {
  const buffer = Woodpeckers.create(3);
  const a = new Woodpeckers(buffer, 1);
  const b = new Woodpeckers(buffer, 2);
  for (let i = 0; i < 6; i++) a.note(4, Uint8Array.from([10, 1, 2, 3 + i]), 0); // one /28
  b.note(4, Uint8Array.from([10, 1, 2, 200]), 0);
  const v6 = Buffer.alloc(16);
  v6.writeUInt32BE(0x20010db8, 0);
  for (let i = 0; i < 3; i++) b.note(6, v6, 0);
  assert.equal(a.report(), 'Networks re-announcing too fast:\n00000006: 10.1.2.0/28\n00000003: 2001:db8:0::/48\n00000001: 10.1.2.192/28\n');
  a.decay();
  assert.match(a.report(), /00000003: 10\.1\.2\.0\/28/);
});
