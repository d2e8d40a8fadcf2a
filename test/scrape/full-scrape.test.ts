import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { decode } from '../../src/protocol/bencode.ts';
import type { BValue } from '../../src/protocol/bencode.ts';
import { fullScrape, pumpChunks, chooseCompression, parseTpbsFormat, TPBS_FORMATS, DEFAULT_CHUNK_BYTES } from '../../src/scrape/full-scrape.ts';
import type { FullScrapeFormat, FullScrapeOptions, HashFilter } from '../../src/scrape/full-scrape.ts';
import type { SwarmStore } from '../../src/store/swarm-store.ts';
import { filledStore, newStore, hex, bigStore, addPeer } from '../helpers/store.ts';
import { watchTimerGaps } from '../helpers/timer-gaps.ts';
import type { Known } from '../helpers/store.ts';

async function collect(
  store: SwarmStore,
  format: FullScrapeFormat,
  filter?: HashFilter | null,
  options?: FullScrapeOptions,
): Promise<{ body: Buffer; chunks: Buffer[] }> {
  const chunks: Buffer[] = [];
  for await (const c of fullScrape(store, format, filter, options)) chunks.push(c);
  return { body: Buffer.concat(chunks), chunks };
}

function files(body: Buffer): Map<string, Map<string, BValue>> {
  const top = decode(body, { maxLength: 1 << 30 }) as Map<string, BValue>;
  assert.deepEqual([...top.keys()], ['files']);
  return top.get('files') as Map<string, Map<string, BValue>>;
}

const { store, known } = filledStore(3000);
/** The minute the torrents were last active: a full scrape moves store.now on to the current one. */
const filledMinute = store.now;

test("ben: every torrent, sorted by hash, with its counts, in opentracker's layout", async () => {
  const { body } = await collect(store, 'ben');
  const f = files(body);
  assert.equal(f.size, known.length);
  const keys = [...f.keys()];
  assert.deepEqual(
    keys,
    known.map((k) => Buffer.from(k.hash).toString('latin1')),
  );
  for (const k of known) {
    const entry = f.get(Buffer.from(k.hash).toString('latin1'))!;
    assert.deepEqual([...entry.keys()], ['complete', 'downloaded', 'incomplete']);
    assert.deepEqual([entry.get('complete'), entry.get('downloaded'), entry.get('incomplete')], [k.seeders, k.downloaded, k.leechers]);
  }
  // The raw bytes of one entry, as opentracker writes them.
  const k = known[5];
  const one = Buffer.concat([
    Buffer.from('20:', 'latin1'),
    Buffer.from(k.hash),
    Buffer.from(`d8:completei${k.seeders}e10:downloadedi${k.downloaded}e10:incompletei${k.leechers}ee`, 'latin1'),
  ]);
  assert.ok(body.includes(one));
  assert.equal(body.subarray(0, 9).toString('latin1'), 'd5:filesd');
  assert.equal(body.subarray(-2).toString('latin1'), 'ee');
});

test('an empty store gives an empty dictionary, and no other format gives a byte', async () => {
  const empty = newStore();
  assert.equal((await collect(empty, 'ben')).body.toString('latin1'), 'd5:filesdee');
  for (const format of ['bin', 'txt', 'txtp', 'url', 'statedump'] as const) {
    assert.equal((await collect(empty, format)).body.length, 0, format);
  }
});

function urlEncode(h: Uint8Array): string {
  let s = '';
  for (const c of h) {
    const ch = String.fromCharCode(c);
    s += /[A-Za-z0-9$/.=~_-]/.test(ch) ? ch : '%' + c.toString(16).padStart(2, '0');
  }
  return s;
}

function expected(format: FullScrapeFormat, k: Known, minute: number): Buffer {
  switch (format) {
    case 'txt':
      return Buffer.from(`${hex(k.hash)}:${k.seeders}:${k.leechers}\n`, 'latin1');
    case 'txtp':
      return Buffer.from(`${hex(k.hash)}:${k.seeders}:${k.leechers}:${k.downloaded}\n`, 'latin1');
    case 'url':
      return Buffer.from(`${urlEncode(k.hash)}:${k.seeders}:${k.leechers}\n`, 'latin1');
    case 'statedump':
      return Buffer.from(`${hex(k.hash)}:${minute}:${k.downloaded}\n`, 'latin1');
    case 'bin': {
      const b = Buffer.alloc(28);
      b.set(k.hash, 0);
      b.writeUInt32BE(k.seeders, 20);
      b.writeUInt32BE(k.leechers, 24);
      return b;
    }
    default:
      throw new Error(format);
  }
}

test('tpbs formats bin, txt, txtp, url and the statedump lines, byte for byte', async () => {
  for (const format of ['bin', 'txt', 'txtp', 'url', 'statedump'] as const) {
    const { body } = await collect(store, format);
    const want = Buffer.concat(known.map((k) => expected(format, k, filledMinute)));
    assert.ok(body.equals(want), format);
  }
  // Observed from opentracker (reference, section 13): "aaaa..." with 3 seeders, 3 leechers, 1 completion.
  const s = newStore();
  const a = Buffer.from('aaaaaaaaaaaaaaaaaaaa', 'latin1');
  s.restoreTorrent(a, 0, 1, 29921922);
  for (let i = 0; i < 3; i++) addPeer(s, a, i + 1, { seeder: true });
  for (let i = 0; i < 3; i++) addPeer(s, a, i + 10);
  assert.equal((await collect(s, 'txt')).body.toString('latin1'), '6161616161616161616161616161616161616161:3:3\n');
  assert.equal((await collect(s, 'txtp')).body.toString('latin1'), '6161616161616161616161616161616161616161:3:3:1\n');
  assert.equal((await collect(s, 'url')).body.toString('latin1'), 'aaaaaaaaaaaaaaaaaaaa:3:3\n');
  assert.equal((await collect(s, 'bin')).body.toString('latin1'), 'aaaaaaaaaaaaaaaaaaaa\x00\x00\x00\x03\x00\x00\x00\x03');
  assert.equal((await collect(s, 'ben')).body.toString('latin1'), 'd5:filesd20:aaaaaaaaaaaaaaaaaaaad8:completei3e10:downloadedi1e10:incompletei3eeee');
});

test('url: bytes outside letters, digits and $/.=~-_ are %xx (lowercase), as libowfat', async () => {
  const s = newStore();
  const h = Buffer.from([0x00, 0x20, 0x25, 0x2f, 0x3d, 0x7e, 0x24, 0x2e, 0x2d, 0x5f, 0xff, 0x41, 0x7a, 0x30, 0x3a, 0x26, 0x2b, 0x0a, 0xab, 0x3f]);
  s.restoreTorrent(h, 0, 5, s.now);
  assert.equal((await collect(s, 'url')).body.toString('latin1'), '%00%20%25/=~$.-_%ffAz0%3a%26%2b%0a%ab%3f:0:0\n');
});

test('a filter leaves torrents out', async () => {
  const keep: HashFilter = (h, o) => (h[o + 19] & 1) === 0;
  const f = files((await collect(store, 'ben', keep)).body);
  const want = known.filter((k) => (k.hash[19] & 1) === 0);
  assert.deepEqual(
    [...f.keys()],
    want.map((k) => Buffer.from(k.hash).toString('latin1')),
  );
  const none = await collect(store, 'txt', () => false);
  assert.equal(none.body.length, 0);
});

test('chunks are at most chunkBytes and all but the last nearly full', async () => {
  const { chunks, body } = await collect(store, 'ben', null, { chunkBytes: 8192 });
  assert.ok(chunks.length > 5);
  for (const c of chunks) assert.ok(c.length <= 8192);
  for (const c of chunks.slice(0, -1)) assert.ok(c.length > 8192 - 256, String(c.length));
  assert.ok(body.equals((await collect(store, 'ben')).body));
  assert.equal(DEFAULT_CHUNK_BYTES, 256 * 1024);
});

test('gzip and zstd: the compressed chunks decompress to the same bytes', async () => {
  const plain = (await collect(store, 'ben')).body;
  const gz = await collect(store, 'ben', null, { compress: 'gzip', chunkBytes: 16384 });
  assert.equal(gz.body[0], 0x1f);
  assert.equal(gz.body[1], 0x8b);
  assert.ok(zlib.gunzipSync(gz.body).equals(plain));
  assert.ok(gz.body.length < plain.length);
  for (const c of gz.chunks.slice(0, -1)) assert.ok(c.length >= 16384);
  const zs = await collect(store, 'ben', null, { compress: 'zstd' });
  assert.equal(zs.body.readUInt32LE(0), 0xfd2fb528);
  assert.ok(zlib.zstdDecompressSync(zs.body).equals(plain));
  for (const format of TPBS_FORMATS) {
    const raw = (await collect(store, format)).body;
    assert.ok(zlib.gunzipSync((await collect(store, format, null, { compress: 'gzip' })).body).equals(raw), format);
  }
  const empty = await collect(newStore(), 'ben', null, { compress: 'gzip' });
  assert.equal(zlib.gunzipSync(empty.body).toString(), 'd5:filesdee');
});

test('stopping early leaves nothing running (plain and compressed)', async () => {
  for (const compress of [null, 'gzip', 'zstd'] as const) {
    let n = 0;
    for await (const _ of fullScrape(store, 'ben', null, { compress, chunkBytes: 4096 })) {
      if (++n === 2) break;
    }
    assert.equal(n, 2);
  }
  const it = fullScrape(store, 'txt', null, { chunkBytes: 4096 });
  await it.next();
  assert.deepEqual(await it.return(undefined), { value: undefined, done: true });
  // The store's locks were all released: a normal scrape still runs.
  assert.ok((await collect(store, 'txt')).body.length > 0);
});

test('a 200k-torrent full scrape lets the event loop turn while it goes (how long it waits: npm run bench, timings row)', async () => {
  const { store: big } = bigStore(200_000);
  for (const compress of [null, 'gzip'] as const) {
    const stopWatching = watchTimerGaps();
    let chunks = 0;
    for await (const _ of fullScrape(big, 'ben', null, { compress })) chunks++;
    const { ticks } = stopWatching();
    assert.ok(chunks > 10, `${chunks} chunks`);
    assert.ok(ticks >= 10, `a 1 ms timer fired ${ticks} times during the walk`);
  }
});

test('parseTpbsFormat and chooseCompression', () => {
  for (const f of ['ben', 'bin', 'txt', 'txtp', 'url']) assert.equal(parseTpbsFormat(f), f);
  for (const f of [null, '', 'statedump', 'BEN', 'json']) assert.equal(parseTpbsFormat(f), null);
  assert.equal(chooseCompression(undefined), null);
  assert.equal(chooseCompression(''), null);
  assert.equal(chooseCompression('identity'), null);
  assert.equal(chooseCompression('gzip'), 'gzip');
  assert.equal(chooseCompression('gzip, deflate, br'), 'gzip');
  assert.equal(chooseCompression('gzip, zstd'), 'zstd');
  assert.equal(chooseCompression('gzip, zstd', false), 'gzip');
  assert.equal(chooseCompression('zstd;q=0.5, gzip'), 'gzip');
  assert.equal(chooseCompression('gzip;q=0'), null);
  assert.equal(chooseCompression('*'), 'zstd');
  assert.equal(chooseCompression('*, zstd;q=0'), 'gzip');
  assert.equal(chooseCompression('x-gzip'), 'gzip');
  assert.equal(chooseCompression('GZIP'), 'gzip');
});

/** A connected socket pair over loopback. */
async function socketPair(): Promise<{ server: net.Server; a: net.Socket; b: net.Socket }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection');
  const b = net.connect(port, '127.0.0.1');
  const [a] = (await accepted) as [net.Socket];
  await once(b, 'connect');
  return { server, a, b };
}

function unchunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let p = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', p);
    const size = parseInt(data.toString('latin1', p, eol), 16);
    p = eol + 2;
    if (size === 0) {
      assert.equal(data.toString('latin1', p), '\r\n');
      return Buffer.concat(parts);
    }
    parts.push(data.subarray(p, p + size));
    assert.equal(data.toString('latin1', p + size, p + size + 2), '\r\n');
    p += size + 2;
  }
}

test('pumpChunks: chunked framing over a socket, waiting for a slow reader', async () => {
  const { store: big } = bigStore(50_000);
  const plain = (await collect(big, 'ben')).body;
  const { server, a, b } = await socketPair();
  const received: Buffer[] = [];
  b.on('data', (d: Buffer) => {
    received.push(d);
    b.pause();
    setTimeout(() => b.resume(), 1); // a slow reader: the writer must wait for 'drain'
  });
  const result = await pumpChunks(fullScrape(big, 'ben'), a, { chunked: true });
  a.end();
  await once(b, 'end');
  server.close();
  assert.equal(result.complete, true);
  assert.equal(result.bytes, plain.length);
  assert.ok(result.chunks >= 2);
  assert.ok(unchunk(Buffer.concat(received)).equals(plain));
});

test('pumpChunks: a client that goes away stops the walk', async () => {
  const { store: big } = bigStore(400_000); // ~29 MB of bencode: more than the socket buffers hold
  const { server, a, b } = await socketPair();
  b.pause(); // never reads: the writer fills the socket buffers and waits
  a.on('error', () => {}); // ECONNRESET once b goes: the server would destroy the socket
  let produced = 0;
  async function* counted() {
    for await (const c of fullScrape(big, 'ben', null, { chunkBytes: 64 * 1024 })) {
      produced++;
      yield c;
    }
  }
  const pumping = pumpChunks(counted(), a);
  while (produced < 2) await new Promise((r) => setImmediate(r)); // the walk is under way
  b.destroy();
  const result = await pumping;
  server.close();
  assert.equal(result.complete, false);
  console.log(`client gone: ${produced} chunks produced, ${result.bytes} bytes written`);
  assert.ok(produced < 300, `produced ${produced} chunks of 64 KiB (the whole is ~440)`);
  assert.ok(result.bytes < 20_000_000, `${result.bytes} bytes written`);
});
