import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { capture } from '../helpers/log-capture.ts';
import { Counts, TorrentRows } from '../../src/store/swarm-store.ts';
import type { SwarmStore } from '../../src/store/swarm-store.ts';
import { writeStateDump, loadStateDump, StateLine } from '../../src/state/state-dump.ts';
import { tempName } from '../../src/fs/atomic-file.ts';
import { filledStore, newStore, bigStore, hex, addPeer } from '../helpers/store.ts';
import { watchTimerGaps } from '../helpers/timer-gaps.ts';
import { Tmpfs, canMount } from '../helpers/tmpfs.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-state-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
const fresh = (name = 'state') => path.join(dir, `${name}-${++fileCount}`);

function countsOf(store: SwarmStore, hash: Uint8Array): [number, number, number] {
  const c = new Counts();
  store.scrape(hash, 0, c);
  return [c.seeders, c.leechers, c.downloaded];
}

function leftovers(): string[] {
  return fs.readdirSync(dir).filter((n) => n.includes('.tmp-'));
}

const OPENTRACKER_DUMP =
  '0123456789ABCDEF0123456789ABCDEF01234567:29921923:0\n' +
  `${'61'.repeat(20)}:29921922:1\n` +
  `${'62'.repeat(20)}:29921923:0\n` +
  `${'ABCDEF01'.repeat(5)}:29921923:0\n`;

test('round trip: dump, load into a new store, same completion counts and minutes', async () => {
  const { store, known } = filledStore(3000);
  const file = fresh();
  const { log, at } = capture();
  const written = await writeStateDump(store, file, log);
  assert.equal(written.ok, true, written.error);
  assert.equal(written.torrents, known.length);
  const text = fs.readFileSync(file, 'latin1');
  assert.equal(written.bytes, text.length);
  const lines = text.split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(
    lines,
    known.map((k) => `${hex(k.hash)}:${store.now}:${k.downloaded}`),
  );
  assert.deepEqual(leftovers(), []);
  assert.deepEqual(at('error'), []);

  const loaded = newStore();
  const r = await loadStateDump(loaded, file, log);
  const withCompletions = known.filter((k) => k.downloaded > 0);
  assert.equal(r.ok, true);
  assert.equal(r.found, true);
  assert.equal(r.lines, known.length);
  assert.equal(r.restored, withCompletions.length);
  assert.equal(r.empty, known.length - withCompletions.length);
  assert.equal(r.bad, 0);
  assert.equal(r.compression, null);
  assert.equal(r.bytes, written.bytes);
  for (const k of known) assert.deepEqual(countsOf(loaded, k.hash), [0, 0, k.downloaded]);
  assert.equal(loaded.totals().torrents, withCompletions.length);

  // Dumping the loaded store gives back the same lines (those with completions).
  const again = fresh();
  assert.equal((await writeStateDump(loaded, again, log)).ok, true);
  assert.equal(
    fs.readFileSync(again, 'latin1'),
    lines
      .filter((l) => !l.endsWith(':0'))
      .map((l) => l + '\n')
      .join(''),
  );

  // Loading twice (or into a store that already counts) never adds the counts up.
  const twice = await loadStateDump(loaded, file, log);
  assert.equal(twice.restored, withCompletions.length);
  for (const k of withCompletions.slice(0, 50)) assert.deepEqual(countsOf(loaded, k.hash), [0, 0, k.downloaded]);
  assert.equal(loaded.totals().torrents, withCompletions.length);
});

test("opentracker's own dump lines load, plain and gzipped (as /stats?mode=statedump sends them)", async () => {
  for (const gzip of [false, true]) {
    const file = fresh('opentracker');
    fs.writeFileSync(file, gzip ? zlib.gzipSync(OPENTRACKER_DUMP) : OPENTRACKER_DUMP);
    const store = newStore();
    const { log, at } = capture();
    const r = await loadStateDump(store, file, log);
    assert.equal(r.compression, gzip ? 'gzip' : null);
    assert.deepEqual([r.ok, r.lines, r.restored, r.empty, r.bad], [true, 4, 1, 3, 0]);
    assert.deepEqual(countsOf(store, Buffer.from('61'.repeat(20), 'hex')), [0, 0, 1]);
    assert.deepEqual(countsOf(store, Buffer.from('62'.repeat(20), 'hex')), [0, 0, 0]);
    const rows = new TorrentRows();
    const stripe = 0x616;
    assert.equal(store.snapshotStripe(stripe, rows), 1);
    assert.equal(rows.active[0], Math.min(29921922, Math.floor(Date.now() / 60000)));
    assert.deepEqual(at('error'), []);
    assert.equal(at('info').at(-1)!.msg, 'state dump loaded');
  }
});

test('gzip (several members) and zstd dumps load too; lowercase hex and CRLF are accepted', async () => {
  const lines = Array.from({ length: 2000 }, (_, i) => `${(i + 1).toString(16).padStart(40, 'c')}:29000000:${i + 1}\n`);
  const text = lines.join('');
  const cases: [string, Buffer, string][] = [
    ['gzip', Buffer.concat([zlib.gzipSync(lines.slice(0, 700).join('')), zlib.gzipSync(lines.slice(700).join(''))]), 'gzip'],
    ['zstd', zlib.zstdCompressSync(text), 'zstd'],
    ['crlf', Buffer.from(text.replaceAll('\n', '\r\n')), 'none'],
  ];
  for (const [name, bytes, compression] of cases) {
    const file = fresh(name);
    fs.writeFileSync(file, bytes);
    const store = newStore();
    const r = await loadStateDump(store, file, capture().log);
    assert.equal(r.compression ?? 'none', compression, name);
    assert.deepEqual([r.ok, r.restored, r.bad], [true, 2000, 0], name);
    assert.deepEqual(countsOf(store, Buffer.from((2000).toString(16).padStart(40, 'c'), 'hex')), [0, 0, 2000]);
  }
});

test('bad lines are reported with their numbers and skipped; good ones around them load', async () => {
  const good = (n: number) => `${n.toString(16).padStart(40, '0')}:29000000:${n}`;
  const content =
    [
      good(1), //                                           1
      'not a state dump line', //                           2
      `${'a'.repeat(39)}:29000000:5`, //                    3 39 hex digits
      `${'a'.repeat(41)}:29000000:5`, //                    4 41 hex digits
      `${'b'.repeat(40)}:29000000`, //                      5 no count
      `${'b'.repeat(40)}:-5:3`, //                          6 negative
      `${'b'.repeat(40)}:29000000:3 trailing`, //           7
      `${'b'.repeat(40)}:29000000:99999999999`, //          8 too large
      `${'b'.repeat(40)}::3`, //                            9 empty minute
      `${'x'.repeat(600)}`, //                              10 over-long
      '', //                                                11 blank: ignored
      good(2), //                                           12
      `${'g'.repeat(40)}:29000000:1`, //                    13 not hex
      good(3), //                                           14
    ].join('\n') + '\n';
  const file = fresh('bad');
  fs.writeFileSync(file, content);
  const store = newStore();
  const { log, at } = capture();
  const r = await loadStateDump(store, file, log);
  assert.equal(r.ok, false);
  assert.equal(r.lines, 14);
  assert.equal(r.restored, 3);
  assert.equal(r.bad, 10);
  assert.deepEqual(r.badLines, [
    { line: 2, reason: 'does not start with a 40-digit hex info hash' },
    { line: 3, reason: 'does not start with a 40-digit hex info hash' },
    { line: 4, reason: 'the info hash is longer than 40 hex digits' },
    { line: 5, reason: "no ':' after the minute" },
    { line: 6, reason: 'the minute is not a decimal number' },
    { line: 7, reason: 'unexpected characters after the completion count' },
    { line: 8, reason: 'the completion count is too large' },
    { line: 9, reason: 'the minute is not a decimal number' },
    { line: 10, reason: 'longer than 512 bytes' },
    { line: 13, reason: 'does not start with a 40-digit hex info hash' },
  ]);
  const errors = at('error');
  assert.deepEqual(
    errors.map((e) => e.line),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 13],
  );
  assert.equal(errors[0].msg, 'bad line in the state dump; skipped');
  assert.equal(errors[0].text, 'not a state dump line');
  for (const n of [1, 2, 3]) assert.deepEqual(countsOf(store, Buffer.from(n.toString(16).padStart(40, '0'), 'hex')), [0, 0, n]);
  assert.equal(at('warn').at(-1)!.msg, 'state dump loaded in part');
});

test('StateLine parses strictly', () => {
  const l = new StateLine();
  const p = (s: string) => l.parse(Buffer.from(s, 'latin1'), 0, s.length);
  assert.equal(p(`${'A'.repeat(40)}:4294967295:4294967295`), null);
  assert.deepEqual([l.minute, l.downloaded, hex(l.hash)], [4294967295, 4294967295, 'A'.repeat(40)]);
  assert.equal(p(`${'A'.repeat(40)}:4294967296:1`), 'the minute is too large');
  assert.equal(p(`${'A'.repeat(40)}:1:4294967296`), 'the completion count is too large');
  assert.equal(p(`${'A'.repeat(40)}:1:1\r`), null);
  assert.equal(p(`${'A'.repeat(40)}:1:1\r\r`), 'unexpected characters after the completion count');
  assert.equal(p(`${'A'.repeat(40)} :1:1`), "no ':' after the info hash");
  assert.equal(p(`${'A'.repeat(40)}:1:+1`), 'the completion count is not a decimal number');
  assert.equal(p(`${'A'.repeat(40)}:1.5:1`), "no ':' after the minute");
  assert.equal(p(''), 'does not start with a 40-digit hex info hash');
});

test('corrupt files: binary garbage, a cut gzip stream, a cut last line; what parsed is kept', async () => {
  // Garbage: a few bad lines logged one by one, then only counted.
  const garbage = fresh('garbage');
  const bytes = Buffer.alloc(2 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (Math.imul(i, 2654435761) >>> 13) & 255;
  fs.writeFileSync(garbage, bytes);
  let cap = capture();
  let r = await loadStateDump(newStore(), garbage, cap.log);
  assert.equal(r.restored, 0);
  assert.ok(r.bad > 100);
  assert.equal(r.badLines.length, 20);
  assert.ok(cap.at('error').length <= 22, String(cap.at('error').length));
  assert.ok(cap.at('error').some((e) => e.msg === 'more bad lines in the state dump were skipped'));

  // A gzip stream cut in the middle: an error, and the lines before the cut stay loaded.
  const lines = Array.from({ length: 50_000 }, (_, i) => `${(i + 1).toString(16).padStart(40, '0')}:29000000:7\n`).join('');
  const gz = zlib.gzipSync(lines);
  const cut = fresh('cut.gz');
  fs.writeFileSync(cut, gz.subarray(0, gz.length >> 1));
  const store = newStore();
  cap = capture();
  r = await loadStateDump(store, cut, cap.log);
  assert.equal(r.ok, false);
  assert.match(r.error!, /unexpected end of file/);
  assert.ok(r.restored > 1000 && r.restored < 50_000, String(r.restored));
  assert.equal(store.totals().torrents, r.restored);
  assert.equal(cap.at('error')[0].msg, 'the state dump could not be read to its end; what was read before is kept');

  // A plain file cut in the middle of a line: that line is bad, the others load.
  const plain = fresh('cut');
  const L = lines.indexOf('\n') + 1;
  fs.writeFileSync(plain, lines.slice(0, L * 100 + 20));
  r = await loadStateDump(newStore(), plain, capture().log);
  assert.deepEqual([r.restored, r.bad, r.badLines[0]?.line], [100, 1, 101]);
  // A whole last line without its newline is kept, with a warning.
  const whole = fresh('whole');
  fs.writeFileSync(whole, lines.slice(0, L * 100 - 1));
  cap = capture();
  r = await loadStateDump(newStore(), whole, cap.log);
  assert.deepEqual([r.restored, r.bad, r.ok], [100, 0, true]);
  assert.ok(cap.at('warn').some((e) => /does not end with a newline/.test(e.msg)));
  // An empty file: nothing, and no error.
  const empty = fresh('empty');
  fs.writeFileSync(empty, '');
  r = await loadStateDump(newStore(), empty, capture().log);
  assert.deepEqual([r.ok, r.lines, r.restored], [true, 0, 0]);
});

test('a missing file is a warning (first start); an unreadable one an error; neither throws', async () => {
  let cap = capture();
  let r = await loadStateDump(newStore(), path.join(dir, 'nope'), cap.log);
  assert.deepEqual([r.found, r.ok, r.restored], [false, false, 0]);
  assert.equal(cap.at('warn').length, 1);
  assert.equal(cap.at('error').length, 0);
  cap = capture();
  r = await loadStateDump(newStore(), dir, cap.log); // a directory
  assert.equal(r.found, true);
  assert.match(r.error!, /EISDIR/);
  assert.equal(cap.at('error').length, 1);
});

test('the access list: refused hashes are not loaded; future minutes are taken as now; minActiveMinute', async () => {
  const now = Math.floor(Date.now() / 60000);
  const file = fresh('acl');
  fs.writeFileSync(file, `${'11'.repeat(20)}:${now + 1000}:3\n${'22'.repeat(20)}:100:4\n${'33'.repeat(20)}:100:5\n`);
  const store = newStore();
  const r = await loadStateDump(store, file, capture().log, { allows: (h, o) => h[o] !== 0x33, minActiveMinute: now - 60 });
  assert.deepEqual([r.restored, r.refused, r.future], [2, 1, 1]);
  assert.deepEqual(countsOf(store, Buffer.from('33'.repeat(20), 'hex')), [0, 0, 0]);
  const rows = new TorrentRows();
  store.snapshotStripe(0x111, rows);
  assert.equal(rows.active[0], now);
  store.snapshotStripe(0x222, rows);
  assert.equal(rows.active[0], now - 60);
  // The plain function form of the fourth argument.
  const r2 = await loadStateDump(newStore(), file, capture().log, () => false);
  assert.deepEqual([r2.restored, r2.refused], [0, 3]);
});

test('the memory limit stops the load cleanly', async () => {
  const file = fresh('big');
  const lines: string[] = [];
  for (let i = 0; i < 300_000; i++) lines.push(`${(i * 7919 + 1).toString(16).padStart(8, '0').repeat(5)}:29000000:1\n`);
  fs.writeFileSync(file, lines.join(''));
  const store = newStore(16 * 1024 * 1024);
  const cap = capture();
  const r = await loadStateDump(store, file, cap.log);
  assert.equal(r.full, true);
  assert.equal(r.ok, false);
  assert.ok(r.restored > 1000 && r.restored < 300_000, String(r.restored));
  assert.equal(store.totals().torrents, r.restored);
  assert.ok(cap.at('error').some((e) => /memory limit/.test(e.msg)));
});

test('a read-only state directory: the old dump is kept, the error logged, nothing thrown', async () => {
  // Root writes through permissions: it gets a read-only tmpfs (test/helpers/tmpfs.ts); anyone
  // else a directory without write permission.
  const sub = fs.mkdtempSync(path.join(dir, 'ro-'));
  const tmpfs = canMount ? new Tmpfs(sub, '1m') : null;
  const file = path.join(sub, 'state');
  fs.writeFileSync(file, OPENTRACKER_DUMP);
  if (tmpfs) tmpfs.readOnly(true);
  else fs.chmodSync(sub, 0o555);
  try {
    const { store } = filledStore(100);
    const cap = capture();
    const r = await writeStateDump(store, file, cap.log);
    assert.equal(r.ok, false);
    assert.match(r.error!, tmpfs ? /^EROFS: / : /^EACCES: /);
    assert.equal(fs.readFileSync(file, 'latin1'), OPENTRACKER_DUMP);
    assert.deepEqual(fs.readdirSync(sub), ['state']);
    assert.equal(cap.at('error').length, 1);
    assert.equal(cap.at('error')[0].msg, 'state dump failed; the previous dump is kept');
  } finally {
    if (tmpfs) tmpfs.unmount();
    else fs.chmodSync(sub, 0o755);
  }
});

test('a state directory that does not exist, or a path through a file: an error, nothing thrown', async () => {
  const { store } = filledStore(10);
  const missing = await writeStateDump(store, path.join(dir, 'no', 'such', 'dir', 'state'), capture().log);
  assert.equal(missing.ok, false);
  assert.match(missing.error!, /^ENOENT: /);
  const plain = fresh('plain-file');
  fs.writeFileSync(plain, 'a file, not a directory');
  const cap = capture();
  const through = await writeStateDump(store, path.join(plain, 'state'), cap.log);
  assert.equal(through.ok, false);
  assert.match(through.error!, /^ENOTDIR: /);
  assert.equal(fs.readFileSync(plain, 'latin1'), 'a file, not a directory');
  assert.equal(cap.at('error').length, 1);
});

test('a failure half-way through (disk error) keeps the old dump and removes the temporary file', async () => {
  const file = fresh('midway');
  fs.writeFileSync(file, OPENTRACKER_DUMP);
  const { store: big } = bigStore(100_000);
  const failing = {
    setClock(minute?: number) {
      big.setClock(minute);
    },
    snapshotStripe(i: number, rows: TorrentRows) {
      if (i === 3000) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      return big.snapshotStripe(i, rows);
    },
  } as unknown as SwarmStore;
  const cap = capture();
  const r = await writeStateDump(failing, file, cap.log);
  assert.equal(r.ok, false);
  assert.match(r.error!, /^EIO: .*\(writing .*\.tmp-\d+\)$/);
  assert.ok(r.bytes > 1_000_000); // it failed after writing a good part
  assert.equal(fs.readFileSync(file, 'latin1'), OPENTRACKER_DUMP);
  assert.deepEqual(leftovers(), []);
  assert.equal(cap.at('error').length, 1);
});

test('a leftover temporary file or link in the way is replaced, never written through', async () => {
  const file = fresh('link');
  const victim = fresh('victim');
  fs.writeFileSync(victim, 'precious');
  fs.symlinkSync(victim, tempName(file));
  const store = newStore();
  const minute = store.now - 10;
  store.restoreTorrent(Buffer.alloc(20, 0x11), 0, 9, minute);
  const r = await writeStateDump(store, file, capture().log);
  assert.equal(r.ok, true);
  assert.equal(fs.readFileSync(victim, 'latin1'), 'precious');
  assert.equal(fs.readFileSync(file, 'latin1'), `${'11'.repeat(20)}:${minute}:9\n`);
  assert.deepEqual(leftovers(), []);
});

test('a 1M-torrent dump lets the event loop turn while it goes, and loads back, plain and gzipped (how long: npm run bench, timings row)', async () => {
  const N = 1_000_000;
  const { store } = bigStore(N);
  addPeer(store, Buffer.alloc(20, 0x42), 1, { seeder: true, completed: true });
  const file = fresh('million');
  const stopWatching = watchTimerGaps();
  const w = await writeStateDump(store, file, capture().log);
  const { ticks } = stopWatching();
  assert.equal(w.ok, true, w.error);
  assert.equal(w.torrents, N + 1);
  assert.ok(ticks >= 10, `a 1 ms timer fired ${ticks} times during the dump`);
  const loaded = newStore(2 * 1024 * 1024 * 1024);
  const cap = capture();
  const r = await loadStateDump(loaded, file, cap.log);
  const progress = cap.at('info').filter((e) => e.msg === 'loading the state dump');
  assert.equal(progress.length, 1);
  assert.equal(progress[0].lines, 1_000_000);
  assert.ok((progress[0].linesPerSecond as number) > 0);
  assert.equal(r.bytes, w.bytes);
  const gz = fresh('million.gz');
  fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(file)));
  const rz = await loadStateDump(newStore(2 * 1024 * 1024 * 1024), gz, capture().log);
  assert.equal(r.restored, N + 1);
  assert.equal(rz.restored, N + 1);
  assert.equal(loaded.totals().torrents, N + 1);
  assert.deepEqual(countsOf(loaded, Buffer.alloc(20, 0x42)), [0, 0, 1]);
});
