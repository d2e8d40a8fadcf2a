import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestTracker, infoHash, percentEncode } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { UdpClient, announcePacket, scrapePacket, parseAnnounceReply } from '../helpers/udp-client.ts';
import { decode } from '../../src/protocol/bencode.ts';
import { defaultConfig } from '../../src/config/config.ts';

const allowed = infoHash('allowed-torrent');
const other = infoHash('other-torrent');

function listFile(...hashes: Buffer[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'swarmd-access-')), 'list.txt');
  writeFileSync(file, `# a comment\n${hashes.map((h) => `${h.toString('hex')}  some name\n`).join('')}not a hash\n`);
  return file;
}

const reason = (body: Buffer) => Buffer.from((decode(body) as Map<string, Uint8Array>).get('failure reason') ?? []).toString();
const announce = (port: number, hash: Buffer, extra = '') => `/announce?info_hash=${percentEncode(hash)}&port=${port}&left=1${extra}`;

test('whitelist: listed torrents are tracked, others refused over HTTP and UDP', async () => {
  const access = { ...defaultConfig().access, whitelist: listFile(allowed) };
  const tracker = await startTestTracker({ access });
  try {
    assert.equal(reason((await get('127.0.0.1', tracker.tcp4, announce(1, allowed))).body), '');
    assert.equal(reason((await get('127.0.0.1', tracker.tcp4, announce(1, other))).body), 'Requested download is not authorized for use with this tracker.');
    const stop = decode((await get('127.0.0.1', tracker.tcp4, announce(1, other, '&event=stopped'))).body) as Map<string, unknown>;
    assert.equal(stop.get('failure reason'), undefined, 'a stop is never refused');
    const udp = await UdpClient.open('127.0.0.1', tracker.udp4);
    const id = await udp.connect();
    const ok = (await udp.request(announcePacket({ connectionId: id, transactionId: 1, infoHash: allowed, port: 2 })))!;
    assert.equal(parseAnnounceReply(ok, false).peers.length, 1);
    const denied = (await udp.request(announcePacket({ connectionId: id, transactionId: 2, infoHash: other, port: 2 })))!;
    assert.equal(denied.readUInt32BE(0), 3);
    assert.match(denied.subarray(8).toString(), /not authorized/);
    udp.close();
    assert.equal(tracker.counters().http_announce_denied + tracker.counters().udp_announce_denied, 2);
  } finally {
    await tracker.close();
  }
});

test('blacklist with a reload: a newly listed torrent is refused and scrapes as unknown, over HTTP and UDP', async () => {
  const file = listFile(other);
  const tracker = await startTestTracker({ access: { ...defaultConfig().access, blacklist: file } });
  try {
    for (let p = 1; p <= 3; p++) await get('127.0.0.1', tracker.tcp4, announce(p, allowed));
    writeFileSync(file, `${other.toString('hex')}\n${allowed.toString('hex')}\n`);
    await tracker.reload();
    assert.match(reason((await get('127.0.0.1', tracker.tcp4, announce(4, allowed))).body), /not authorized/);
    const files = (
      decode((await get('127.0.0.1', tracker.tcp4, `/scrape?info_hash=${percentEncode(allowed)}`)).body) as Map<string, Map<string, Map<string, number>>>
    ).get('files')!;
    assert.equal(files.get(allowed.toString('latin1'))!.get('incomplete'), 0);
    const udp = await UdpClient.open('127.0.0.1', tracker.udp4);
    const r = (await udp.request(scrapePacket(await udp.connect(), 3, [allowed])))!;
    assert.deepEqual([r.readUInt32BE(8), r.readUInt32BE(16)], [0, 0]);
    udp.close();
  } finally {
    await tracker.close();
  }
});

test('reloads during steady announce load fail no announce', async () => {
  const file = listFile(allowed, other);
  const tracker = await startTestTracker({ access: { ...defaultConfig().access, whitelist: file } });
  try {
    let running = true;
    let answered = 0;
    const failures: string[] = [];
    const load = (async () => {
      for (let i = 0; running; i++) {
        const r = await get('127.0.0.1', tracker.tcp4, announce(1000 + (i % 500), i % 2 ? allowed : other));
        const why = reason(r.body);
        if (r.status !== 200 || why !== '') failures.push(`${r.status} ${why}`);
        answered++;
      }
    })();
    for (let k = 0; k < 20; k++) {
      writeFileSync(file, `${allowed.toString('hex')}\n${other.toString('hex')}\n${infoHash(`extra-${k}`).toString('hex')}\n`);
      await tracker.reload();
      await new Promise((r) => setTimeout(r, 25));
    }
    running = false;
    await load;
    assert.deepEqual(failures, []);
    assert.ok(answered > 20);
  } finally {
    await tracker.close();
  }
});
