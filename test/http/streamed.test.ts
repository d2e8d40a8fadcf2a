import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestTracker, infoHash, percentEncode } from '../helpers/tracker.ts';
import { get, rawExchange } from '../helpers/http-client.ts';
import { decode } from '../../src/protocol/bencode.ts';
import { Announce } from '../../src/store/swarm-store.ts';
import { defaultConfig } from '../../src/config/config.ts';

/** Reads a chunked or close-delimited body to its end. */
async function fetchAll(port: number, target: string, headers = '', version = '1.1'): Promise<{ head: string; body: Buffer }> {
  const r = await rawExchange('127.0.0.1', port, `GET ${target} HTTP/${version}\r\n${headers}\r\n`, { timeoutMs: 30_000 });
  const end = r.data.indexOf('\r\n\r\n');
  const head = r.data.subarray(0, end).toString('latin1');
  let body = r.data.subarray(end + 4);
  if (/transfer-encoding: chunked/i.test(head)) {
    const parts: Buffer[] = [];
    for (let o = 0; ;) {
      const eol = body.indexOf('\r\n', o);
      const size = parseInt(body.subarray(o, eol).toString('latin1'), 16);
      if (size === 0) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      o = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { head, body };
}

function fill(store: import('../../src/store/swarm-store.ts').SwarmStore, torrents: number): void {
  const a = new Announce();
  a.address.set([10, 0, 0, 1]);
  a.port = 1;
  a.seeder = true;
  a.want = 0;
  const h = Buffer.alloc(20);
  for (let i = 0; i < torrents; i++) {
    h.writeUInt32BE(Math.imul(i + 1, 2654435761) >>> 0, 0);
    h.writeUInt32BE(i, 16);
    a.hash = h;
    store.announce(a);
  }
}

test('GET /scrape without info_hash streams every torrent, sorted, plain or compressed', async () => {
  const tracker = await startTestTracker();
  try {
    const hashes = ['zz', 'aa', 'mm'].map((l) => infoHash(l));
    for (const h of hashes) await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(h)}&port=1&left=0`);
    const plain = await fetchAll(tracker.tcp4, '/scrape');
    assert.match(plain.head, /transfer-encoding: chunked/i);
    const files = (decode(plain.body) as Map<string, Map<string, unknown>>).get('files')!;
    assert.deepEqual(
      [...files.keys()],
      ['aa', 'mm', 'zz'].map((l) => infoHash(l).toString('latin1')),
    );
    const gz = await fetchAll(tracker.tcp4, '/scrape', 'Accept-Encoding: gzip\r\n');
    assert.match(gz.head, /content-encoding: gzip/i);
    assert.deepEqual(zlib.gunzipSync(gz.body), plain.body);
    const zs = await fetchAll(tracker.tcp4, '/scrape', 'Accept-Encoding: zstd, gzip;q=0.5\r\n');
    assert.match(zs.head, /content-encoding: zstd/i);
    assert.deepEqual(zlib.zstdDecompressSync(zs.body), plain.body);
    const old = await fetchAll(tracker.tcp4, '/scrape', '', '1.0');
    assert.doesNotMatch(old.head, /chunked/i, 'HTTP/1.0 gets the body up to the close');
    assert.deepEqual(old.body, plain.body);
    assert.equal(tracker.counters().http_full_scrape, 4);
  } finally {
    await tracker.close();
  }
});

test('full scrapes can be turned off and limited per client address', async () => {
  const off = await startTestTracker({ fullScrape: false });
  try {
    const r = await get('127.0.0.1', off.tcp4, '/scrape');
    assert.match(r.body.toString(), /full scrapes are turned off/);
  } finally {
    await off.close();
  }
  const limited = await startTestTracker({ fullScrapeInterval: 300 });
  try {
    assert.equal((await fetchAll(limited.tcp4, '/scrape')).head.split(' ')[1], '200');
    const again = await get('127.0.0.1', limited.tcp4, '/scrape');
    assert.equal(again.status, 429);
    assert.ok(Number(again.headers.get('retry-after')) > 290);
    assert.equal((await get('127.0.0.1', limited.tcp4, '/scrape?info_hash=' + percentEncode(infoHash('x')))).status, 200, 'normal scrapes are not limited');
  } finally {
    await limited.close();
  }
});

test("/stats tpbs and statedump dumps in opentracker's formats", async () => {
  const tracker = await startTestTracker();
  try {
    const h = infoHash('aaaa');
    await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(h)}&port=1&left=0&event=completed`);
    const hex = h.toString('hex').toUpperCase();
    assert.equal((await fetchAll(tracker.tcp4, '/stats?mode=tpbs&format=txt')).body.toString(), `${hex}:1:0\n`);
    assert.equal((await fetchAll(tracker.tcp4, '/stats?mode=tpbs&format=txtp')).body.toString(), `${hex}:1:0:1\n`);
    assert.equal((await get('127.0.0.1', tracker.tcp4, '/stats?mode=tpbs')).status, 400, 'opentracker hangs here');
    const dump = (await fetchAll(tracker.tcp4, '/stats?mode=statedump')).body.toString();
    assert.match(dump, new RegExp(`^${hex}:\\d+:1\\n$`));
  } finally {
    await tracker.close();
  }
});

test('completed counts survive a restart through the state file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'swarmd-state-')), 'state.txt');
  const h = infoHash('kept');
  const first = await startTestTracker({ stateFile: file });
  for (let p = 1; p <= 3; p++) await get('127.0.0.1', first.tcp4, `/announce?info_hash=${percentEncode(h)}&port=${p}&left=0&event=completed`);
  await first.close();
  assert.match(readFileSync(file, 'utf8'), new RegExp(`^${h.toString('hex').toUpperCase()}:\\d+:3\\n$`));
  const second = await startTestTracker({ stateFile: file });
  try {
    const files = (
      decode((await get('127.0.0.1', second.tcp4, `/scrape?info_hash=${percentEncode(h)}`)).body) as Map<string, Map<string, Map<string, number>>>
    ).get('files')!;
    assert.deepEqual(
      [...files.get(h.toString('latin1'))!.entries()],
      [
        ['complete', 0],
        ['downloaded', 3],
        ['incomplete', 0],
      ],
    );
  } finally {
    await second.close();
  }
});

test('a full scrape of 100k torrents and access-list reloads during steady announces fail no announce', async () => {
  const list = join(mkdtempSync(join(tmpdir(), 'swarmd-fs-')), 'black.txt');
  writeFileSync(list, `${'ff'.repeat(20)}\n`);
  const tracker = await startTestTracker({ access: { ...defaultConfig().access, blacklist: list } });
  try {
    fill(tracker.store, 100_000);
    let running = true;
    let answered = 0;
    const failures: string[] = [];
    const hot = infoHash('during-full-scrape');
    const loads = [0, 1, 2].map(async (k) => {
      for (let i = 0; running; i++) {
        const r = await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(hot)}&port=${k * 1000 + (i % 500) + 1}&left=1`);
        const d = decode(r.body) as Map<string, unknown>;
        if (r.status !== 200 || d.has('failure reason')) failures.push(r.body.toString());
        answered++;
      }
    });
    const scraped = fetchAll(tracker.tcp4, '/scrape', 'Accept-Encoding: gzip\r\n');
    for (let i = 0; i < 5; i++) {
      await tracker.reload();
      await new Promise((r) => setTimeout(r, 50));
    }
    const { body } = await scraped;
    running = false;
    await Promise.all(loads);
    const files = (decode(zlib.gunzipSync(body), { maxLength: 1 << 30 }) as Map<string, Map<string, unknown>>).get('files')!;
    assert.ok(files.size >= 100_000, `${files.size} torrents in the full scrape`);
    assert.deepEqual(failures, []);
    assert.ok(answered > 30, `${answered} announces answered meanwhile`);
  } finally {
    await tracker.close();
  }
});
