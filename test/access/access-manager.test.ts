import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AccessManager, BATCH_MS } from '../../src/access/access-manager.ts';
import type { AccessState } from '../../src/access/access-list.ts';
import { defaultConfig } from '../../src/config/config.ts';
import { readJournal } from '../../src/access/fifo-journal.ts';
import { Tmpfs, fill, tmpfsSkip } from '../helpers/tmpfs.ts';
import { capture } from '../helpers/log-capture.ts';
import type { AccessConfig, Config } from '../../src/config/config.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-access-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;

function tmpdir(): string {
  const dir = path.join(root, String(++dirs));
  fs.mkdirSync(dir);
  return dir;
}

function configWith(access: Partial<AccessConfig>): Config {
  return { ...defaultConfig(), access: { whitelist: null, blacklist: null, fifoAdd: null, fifoDelete: null, changesFile: null, ...access } };
}

/** A distinct info hash (lowercase hex) for each number. */
function h(i: number | string): string {
  return createHash('sha1').update(String(i)).digest('hex');
}

async function waitFor(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function open(config: Config, log: Logger = capture().log): Promise<AccessManager> {
  const m = await AccessManager.open(config, log);
  assert.ok(m);
  return m;
}

/** Opens the FIFO for writing (as `echo > fifo` does), writes each chunk separately, closes it. */
async function writeFifo(fifo: string, chunks: string[], pauseMs = 0): Promise<void> {
  const handle = await fs.promises.open(fifo, 'w');
  try {
    for (const c of chunks) {
      await handle.write(c);
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    await handle.close();
  }
}

function sh(script: string, env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', script], { env: { ...process.env, ...env } }, (err, _out, stderr) =>
      err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(),
    );
  });
}

test('no list configured: open() gives null (an open tracker)', async () => {
  assert.equal(await AccessManager.open(defaultConfig(), capture().log), null);
});

test('whitelist: only the listed hashes are allowed; junk lines are reported with the file and lines', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, `# my list\n${h(1)}\n${h(2).toUpperCase()} a comment\njunk\n\n${h(3)}\n${h(1)}\nmore junk\n`);
  const { log, at } = capture();
  const m = await open(configWith({ whitelist: file }), log);
  assert.equal(m.allowsHex(h(1)), true);
  assert.equal(m.allowsHex(h(2)), true);
  assert.equal(m.allowsHex(h(3)), true);
  assert.equal(m.allowsHex(h(4)), false);
  const s = m.stats();
  assert.equal(s.mode, 'whitelist');
  assert.equal(s.hashes, 3);
  assert.equal(s.fileHashes, 3);
  assert.equal(s.junkLines, 2);
  assert.equal(s.generation, 1);
  assert.equal(m.state.mode, 'whitelist');
  assert.equal(m.state.count, 3);
  const warning = at('warn').find((e) => e.file === file)!;
  assert.equal(warning.line, 4);
  assert.deepEqual(warning.lines, [4, 8]);
  assert.equal(warning.count, 2);
  assert.match(warning.msg, /white\.txt: 2 lines are not info hashes; ignored \(lines 4, 8\)/);
  // No FIFO and no journal: nothing created next to the list.
  assert.deepEqual(fs.readdirSync(dir), ['white.txt']);
  await m.close();
});

test('blacklist: the listed hashes are refused, the others allowed', async () => {
  const file = path.join(tmpdir(), 'black.txt');
  fs.writeFileSync(file, `${h(1)}\n`);
  const m = await open(configWith({ blacklist: file }));
  assert.equal(m.allowsHex(h(1)), false);
  assert.equal(m.allowsHex(h(2)), true);
  assert.equal(m.state.mode, 'blacklist');
  await m.close();
});

test('an unreadable list at start is an error, in either mode', async () => {
  const missing = path.join(tmpdir(), 'missing.txt');
  await assert.rejects(AccessManager.open(configWith({ whitelist: missing }), capture().log), {
    message: `access.whitelist: can't read ${missing}: ENOENT`,
  });
  await assert.rejects(AccessManager.open(configWith({ blacklist: missing }), capture().log), {
    message: `access.blacklist: can't read ${missing}: ENOENT`,
  });
  const dir = tmpdir();
  await assert.rejects(AccessManager.open(configWith({ whitelist: dir }), capture().log), { message: /can't read .*: EISDIR/ });
});

test('reload (SIGHUP) reads the file again and publishes a new table', async () => {
  const file = path.join(tmpdir(), 'white.txt');
  fs.writeFileSync(file, `${h(1)}\n`);
  const m = await open(configWith({ whitelist: file }));
  const seen: AccessState[] = [];
  m.onChange((s) => seen.push(s));
  fs.writeFileSync(file, `${h(2)}\n${h(3)}\n`);
  await m.reload();
  assert.equal(seen.length, 1);
  assert.equal(seen[0], m.state);
  assert.equal(m.state.generation, 2);
  assert.equal(m.state.count, 2);
  assert.notEqual(seen[0]!.buffer, undefined);
  assert.equal(m.allowsHex(h(1)), false);
  assert.equal(m.allowsHex(h(2)), true);
  // Reloads asked for during a reload are coalesced into one more.
  await Promise.all([m.reload(), m.reload(), m.reload()]);
  assert.equal(m.stats().reloads, 3);
  await m.close();
});

test('a reload that cannot read the file keeps the old list and logs an error', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, `${h(1)}\n`);
  const { log, at } = capture();
  const m = await open(configWith({ whitelist: file }), log);
  let changes = 0;
  m.onChange(() => changes++);
  const before = m.state;
  fs.rmSync(file);
  await m.reload();
  fs.mkdirSync(file); // not a file at all
  await m.reload();
  assert.equal(changes, 0);
  assert.equal(m.state, before);
  assert.equal(m.allowsHex(h(1)), true);
  assert.deepEqual([m.stats().reloads, m.stats().reloadFailures], [0, 2]);
  const errors = at('error');
  assert.equal(errors.length, 2);
  assert.equal(errors[0]!.file, file);
  assert.equal(errors[0]!.err, 'ENOENT');
  assert.match(errors[0]!.msg, /can't reread .*white\.txt \(ENOENT\); keeping the list in use/);
  fs.rmdirSync(file);
  fs.writeFileSync(file, `${h(2)}\n`);
  await m.reload();
  assert.equal(m.allowsHex(h(2)), true);
  assert.equal(changes, 1);
  await m.close();
});

test('reloads swap the table under a reader on another thread: no wrong answer, ever', async () => {
  const file = path.join(tmpdir(), 'white.txt');
  const always = Array.from({ length: 50 }, (_, i) => h(`always ${i}`));
  const toggled = Array.from({ length: 50 }, (_, i) => h(`toggled ${i}`));
  const filler = Array.from({ length: 20000 }, (_, i) => h(`filler ${i}`));
  const never = Array.from({ length: 50 }, (_, i) => h(`never ${i}`));
  // Generation g lists the toggled hashes when g is odd (generation 1 is the first load).
  const write = (withToggled: boolean) => fs.writeFileSync(file, [...always, ...(withToggled ? toggled : []), ...filler].join('\n') + '\n');
  write(true);
  const m = await open(configWith({ whitelist: file }));
  const bytes = (list: string[]) => new Uint8Array(Buffer.from(list.join(''), 'hex'));
  const worker = new Worker(new URL('./reader-worker.ts', import.meta.url), {
    workerData: { state: m.state, always: bytes(always), never: bytes(never), toggled: bytes(toggled) },
  });
  m.onChange((state) => worker.postMessage({ type: 'state', state }));
  const result = new Promise<{ lookups: number; wrong: number; swaps: number; generations: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const RELOADS = 40;
  for (let i = 0; i < RELOADS; i++) {
    write(m.state.generation % 2 === 0); // the next generation is odd: toggled listed
    await m.reload();
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.equal(m.state.generation, RELOADS + 1);
  worker.postMessage({ type: 'stop' });
  const r = await result;
  await worker.terminate();
  console.log(`# reader thread: ${r.lookups} lookups over ${r.generations} generations, ${r.swaps} swaps, ${r.wrong} wrong`);
  assert.equal(r.wrong, 0);
  assert.equal(r.swaps, RELOADS);
  assert.ok(r.generations > 1);
  await m.close();
});

test('FIFOs are created (mode 0600) if missing; a non-FIFO file in the way is refused', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, '');
  const add = path.join(dir, 'add.fifo');
  const del = path.join(dir, 'del.fifo');
  const m = await open(configWith({ whitelist: file, fifoAdd: add, fifoDelete: del }));
  for (const f of [add, del]) {
    const st = fs.statSync(f);
    assert.ok(st.isFIFO(), f);
    assert.equal(st.mode & 0o777, 0o600);
  }
  await m.close();
  // Existing FIFOs are used as they are.
  await (await open(configWith({ whitelist: file, fifoAdd: add, fifoDelete: del }))).close();
  const plain = path.join(dir, 'plain');
  fs.writeFileSync(plain, 'x');
  await assert.rejects(AccessManager.open(configWith({ whitelist: file, fifoAdd: plain }), capture().log), {
    message: `access.fifo_add: ${plain} exists and is not a named pipe (FIFO); remove it or choose another path`,
  });
  await assert.rejects(AccessManager.open(configWith({ whitelist: file, fifoDelete: path.join(dir, 'no-such-dir', 'd.fifo') }), capture().log), {
    message: /^access\.fifo_delete: can't create the named pipe .*no-such-dir\/d\.fifo: /,
  });
});

test('whitelist + FIFOs: add allows, delete disallows, and the journal keeps both', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, `${h(1)}\n${h(2)}\n`);
  const add = path.join(dir, 'add.fifo');
  const del = path.join(dir, 'del.fifo');
  const m = await open(configWith({ whitelist: file, fifoAdd: add, fifoDelete: del }));
  const states: AccessState[] = [];
  m.onChange((s) => states.push(s));
  await writeFifo(add, [`${h(3)}\n`]);
  await writeFifo(del, [`${h(1)}\n`]);
  await waitFor('the changes', () => m.allowsHex(h(3)) && !m.allowsHex(h(1)));
  assert.equal(m.allowsHex(h(2)), true);
  const s = m.stats();
  assert.deepEqual([s.added, s.deleted, s.hashes, s.fifoAccepted, s.fifoRejected], [1, 1, 2, 2, 0]);
  // Idempotent: adding a listed hash or deleting an unlisted one changes nothing.
  await writeFifo(add, [`${h(2)}\n${h(3)}\n`]);
  await writeFifo(del, [`${h(9)}\n`]);
  await waitFor('the lines', () => m.stats().fifoAccepted === 5);
  await new Promise((r) => setTimeout(r, BATCH_MS * 2));
  assert.deepEqual([m.stats().added, m.stats().deleted], [1, 1]);
  // Undo: delete the added one, re-add the deleted one.
  await writeFifo(del, [`${h(3)}\n`]);
  await writeFifo(add, [`${h(1)}\n`]);
  await waitFor('the undo', () => !m.allowsHex(h(3)) && m.allowsHex(h(1)));
  assert.deepEqual([m.stats().added, m.stats().deleted, m.stats().hashes], [0, 0, 2]);
  await m.close();
  assert.ok(states.length >= 2);
  const journal = fs
    .readFileSync(`${file}.changes`, 'latin1')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(journal, [`+${h(3)}`, `-${h(1)}`, `~${h(3)}`, `~${h(1)}`]);
});

test('blacklist + FIFOs: add blocks, delete unblocks', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'black.txt');
  fs.writeFileSync(file, `${h(1)}\n`);
  const add = path.join(dir, 'add.fifo');
  const del = path.join(dir, 'del.fifo');
  const m = await open(configWith({ blacklist: file, fifoAdd: add, fifoDelete: del }));
  await writeFifo(add, [`${h(2)}\n`]);
  await writeFifo(del, [`${h(1)}\n`]);
  await waitFor('the changes', () => !m.allowsHex(h(2)) && m.allowsHex(h(1)));
  assert.equal(m.allowsHex(h(3)), true);
  await m.close();
});

test('FIFO lines: split across writes, CRLF, uppercase, trailing text, junk counted, blank lines ignored', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, '');
  const add = path.join(dir, 'add.fifo');
  const { log, at } = capture();
  const m = await open(configWith({ whitelist: file, fifoAdd: add }), log);
  const a = h(1);
  const b = h(2).toUpperCase();
  const long = 'x'.repeat(100000);
  await writeFifo(
    add,
    [
      a.slice(0, 7),
      a.slice(7, 39),
      `${a.slice(39)}\r\n${b.slice(0, 20)}`,
      `${b.slice(20)} trailing words\n`,
      '\n   \n# comment\nnot a hash\n',
      `${h(3)}`,
      `${h(3).slice(0, 1)}\n${long}\n`,
      `${h(4)}\n`,
    ],
    20,
  );
  await waitFor('4 lines', () => m.stats().fifoAccepted === 3 && m.stats().fifoRejected === 3);
  await waitFor('the table', () => m.allowsHex(h(1)) && m.allowsHex(h(2)) && m.allowsHex(h(4)));
  // h(3) followed by one more hex digit on the same line: 41 hex digits, junk.
  assert.equal(m.allowsHex(h(3)), false);
  const warnings = at('warn').filter((e) => e.fifo === add);
  assert.deepEqual(
    warnings.map((w) => w.line),
    [6, 7, 8],
  ); // 3, 4 and 5 are blank or a comment
  assert.equal(warnings[0]!.text, 'not a hash');
  assert.match(warnings[0]!.msg, /add\.fifo:6: not an info hash \(40 hex digits\); ignored$/);
  assert.equal((warnings[2]!.text as string).length, 80); // long lines are cut in the log
  await m.close();
});

test('FIFO writers that open, write several lines and close, again and again (from other processes)', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, '');
  const add = path.join(dir, 'add.fifo');
  const m = await open(configWith({ whitelist: file, fifoAdd: add }));
  const hashes = Array.from({ length: 300 }, (_, i) => h(`w${i}`));
  // 100 separate writer processes' worth of opens: each `printf > fifo` opens, writes 3 lines, closes.
  const script = Array.from({ length: 100 }, (_, i) => `printf '%s\\n%s\\n%s\\n' ${hashes.slice(i * 3, i * 3 + 3).join(' ')} > "$FIFO"`).join('\n');
  await Promise.all([sh(script, { FIFO: add }), writeFifo(add, [`${h('in-process')}\n`])]);
  await waitFor('every line', () => m.stats().fifoAccepted === 301);
  await waitFor('the table', () => m.stats().hashes === 301);
  for (const x of hashes) assert.equal(m.allowsHex(x), true);
  await m.close();
});

test('a burst of 100k lines is applied in a few batches', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, Array.from({ length: 1000 }, (_, i) => h(`file ${i}`)).join('\n'));
  const add = path.join(dir, 'add.fifo');
  const del = path.join(dir, 'del.fifo');
  const m = await open(configWith({ whitelist: file, fifoAdd: add, fifoDelete: del }));
  let publishes = 0;
  m.onChange(() => publishes++);
  const N = 100_000;
  const burst = path.join(dir, 'burst.txt');
  fs.writeFileSync(burst, Array.from({ length: N }, (_, i) => h(`burst ${i}`)).join('\n') + '\n');
  const dels = path.join(dir, 'dels.txt');
  fs.writeFileSync(dels, Array.from({ length: 500 }, (_, i) => h(`file ${i}`)).join('\n') + '\n');
  const t = performance.now();
  await Promise.all([sh('cat "$B" > "$A"', { A: add, B: burst }), sh('cat "$B" > "$A"', { A: del, B: dels })]);
  await waitFor('the burst', () => m.stats().hashes === 1000 + N - 500, 30000);
  const ms = performance.now() - t;
  console.log(`# 100k FIFO lines (+500 deletes) applied in ${ms.toFixed(0)} ms, ${publishes} table builds, last build ${m.stats().lastBuildMs.toFixed(1)} ms`);
  assert.ok(publishes < 50, `${publishes} builds`);
  assert.equal(m.allowsHex(h('burst 99999')), true);
  assert.equal(m.allowsHex(h('file 0')), false);
  assert.equal(m.allowsHex(h('file 999')), true);
  await m.close();
  // The journal holds them all.
  const lines = fs
    .readFileSync(`${file}.changes`, 'latin1')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  assert.equal(lines.length, N + 500);
});

test('the FIFO changes survive a restart (journal replay) and a reload', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, `${h(1)}\n${h(2)}\n`);
  const config = configWith({ whitelist: file, fifoAdd: path.join(dir, 'add'), fifoDelete: path.join(dir, 'del') });
  const m1 = await open(config);
  await writeFifo(config.access.fifoAdd!, [`${h(3)}\n${h(4)}\n`]);
  await writeFifo(config.access.fifoDelete!, [`${h(1)}\n${h(4)}\n`]);
  await waitFor('the changes', () => m1.allowsHex(h(3)) && !m1.allowsHex(h(1)) && !m1.allowsHex(h(4)));
  // A reload keeps them (opentracker's reload forgets them).
  await m1.reload();
  assert.deepEqual([m1.allowsHex(h(1)), m1.allowsHex(h(2)), m1.allowsHex(h(3)), m1.allowsHex(h(4))], [false, true, true, false]);
  await m1.close();

  const { log, at } = capture();
  const m2 = await open(config, log);
  assert.deepEqual([m2.allowsHex(h(1)), m2.allowsHex(h(2)), m2.allowsHex(h(3)), m2.allowsHex(h(4))], [false, true, true, false]);
  assert.deepEqual([m2.stats().added, m2.stats().deleted], [1, 1]);
  assert.ok(at('info').some((e) => e.msg === 'access list: journal replayed' && e.changes === 4));
  await m2.close();
  // Compacted at start-up: only the changes in force are left.
  const lines = fs
    .readFileSync(`${file}.changes`, 'latin1')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(lines, [`+${h(3)}`, `-${h(1)}`]);
});

test('journal: a torn last line is skipped with a warning, bad lines too, and the file is rewritten', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, `${h(1)}\n`);
  const journal = path.join(dir, 'changes.log');
  fs.writeFileSync(journal, `# comment\n+${h(2)}\ngarbage\n-${h(1)}\n+${h(5).toUpperCase()}\n+${h(3).slice(0, 17)}`);
  const { log, at } = capture();
  const m = await open(configWith({ whitelist: file, changesFile: journal, fifoAdd: path.join(dir, 'add') }), log);
  assert.deepEqual([m.allowsHex(h(1)), m.allowsHex(h(2)), m.allowsHex(h(3)), m.allowsHex(h(5))], [false, true, false, true]);
  const torn = at('warn').find((e) => /incomplete/.test(e.msg))!;
  assert.equal(torn.file, journal);
  assert.equal(torn.line, 6);
  assert.match(torn.msg, /changes\.log:6: the last line is incomplete/);
  const bad = at('warn').find((e) => /not changes/.test(e.msg))!;
  assert.deepEqual([bad.file, bad.line, bad.count], [journal, 3, 1]);
  // New changes go after a whole line, not onto the torn one.
  await writeFifo(path.join(dir, 'add'), [`${h(6)}\n`]);
  await waitFor('the add', () => m.allowsHex(h(6)));
  await m.close();
  const lines = fs.readFileSync(journal, 'latin1').split('\n');
  assert.equal(lines.at(-1), '');
  // Rewritten at start-up: the adds, then the deletes, each sorted; then the new change.
  assert.deepEqual(
    lines.filter((l) => l && !l.startsWith('#')),
    [`+${h(5)}`, `+${h(2)}`, `-${h(1)}`, `+${h(6)}`],
  );
  const m2 = await open(configWith({ whitelist: file, changesFile: journal }));
  assert.deepEqual([m2.allowsHex(h(1)), m2.allowsHex(h(2)), m2.allowsHex(h(5)), m2.allowsHex(h(6))], [false, true, true, true]);
  await m2.close();
});

test('a change stays until the file says the same; then the file decides', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, `${h(1)}\n${h(2)}\n`);
  const config = configWith({ whitelist: file, fifoAdd: path.join(dir, 'add'), fifoDelete: path.join(dir, 'del') });
  const m = await open(config);
  await writeFifo(config.access.fifoAdd!, [`${h(3)}\n`]);
  await writeFifo(config.access.fifoDelete!, [`${h(1)}\n`]);
  await waitFor('the changes', () => m.allowsHex(h(3)) && !m.allowsHex(h(1)));
  // The operator copies the add into the file: the file takes it over.
  fs.writeFileSync(file, `${h(1)}\n${h(2)}\n${h(3)}\n`);
  await m.reload();
  assert.deepEqual([m.stats().added, m.stats().deleted], [0, 1]);
  assert.equal(m.allowsHex(h(1)), false); // the delete still holds: the file still lists h(1)
  // Later the file drops h(3): now it is refused; and h(1) leaves the file: the delete is done.
  fs.writeFileSync(file, `${h(2)}\n`);
  await m.reload();
  assert.deepEqual([m.stats().added, m.stats().deleted], [0, 0]);
  assert.equal(m.allowsHex(h(3)), false);
  // Listed again by the file later: allowed (the old delete is gone).
  fs.writeFileSync(file, `${h(1)}\n${h(2)}\n`);
  await m.reload();
  assert.equal(m.allowsHex(h(1)), true);
  await m.close();
  // A restart agrees.
  const m2 = await open(config);
  assert.deepEqual([m2.allowsHex(h(1)), m2.allowsHex(h(2)), m2.allowsHex(h(3))], [true, true, false]);
  await m2.close();
});

test('close() keeps the lines already read (journal) even if not yet applied', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, '');
  const config = configWith({ whitelist: file, fifoAdd: path.join(dir, 'add') });
  const m = await open(config);
  await writeFifo(config.access.fifoAdd!, [`${h(1)}\n`]);
  await waitFor('the line', () => m.stats().fifoAccepted === 1);
  await m.close(); // within the batch delay
  const m2 = await open(config);
  assert.equal(m2.allowsHex(h(1)), true);
  await m2.close();
});

test('the journal is compacted while running once it is much longer than the changes in force', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'white.txt');
  fs.writeFileSync(file, '');
  const config = configWith({ whitelist: file, fifoAdd: path.join(dir, 'add'), fifoDelete: path.join(dir, 'del') });
  const m = await open(config);
  const hashes = Array.from({ length: 700 }, (_, i) => h(`c${i}`));
  await writeFifo(config.access.fifoAdd!, [hashes.join('\n') + '\n']);
  await waitFor('the adds', () => m.stats().added === 700);
  await writeFifo(config.access.fifoDelete!, [hashes.slice(0, 650).join('\n') + '\n']);
  await waitFor('the deletes', () => m.stats().added === 50);
  await m.close();
  // 1350 lines written for 50 changes in force: rewritten as those 50.
  const lines = fs
    .readFileSync(`${file}.changes`, 'latin1')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(
    lines.sort(),
    hashes
      .slice(650)
      .map((x) => `+${x}`)
      .sort(),
  );
  assert.deepEqual(fs.readdirSync(dir).sort(), ['add', 'del', 'white.txt', 'white.txt.changes']);
});

test('a full disk: a failed journal append leaves no half line, and the next change writes the lost lines again', { skip: tmpfsSkip }, async () => {
  const dir = tmpdir();
  const disk = new Tmpfs(path.join(dir, 'mnt'), '64k');
  try {
    const file = path.join(dir, 'white.txt');
    fs.writeFileSync(file, `${h(1)}\n`);
    const journal = path.join(disk.dir, 'changes');
    const config = configWith({ whitelist: file, fifoAdd: path.join(dir, 'add'), changesFile: journal });
    const { log, at } = capture();
    const m = await open(config, log);
    await writeFifo(config.access.fifoAdd!, [`${h(2)}\n`]);
    await waitFor('the first change journaled', () => fs.readFileSync(journal, 'latin1').includes(h(2)));

    // 200 hashes (8.4 KB): more than the room left in the journal's last page.
    const many = Array.from({ length: 200 }, (_, i) => h(100 + i));
    fill(path.join(disk.dir, 'filler'));
    await writeFifo(config.access.fifoAdd!, [many.join('\n') + '\n']);
    await waitFor('the error', () => m.stats().journalErrors > 0);
    await waitFor('every change in force', () => many.every((x) => m.allowsHex(x)));
    assert.ok(at('error').some((e) => e.msg.includes("can't write the journal") && String(e.err).includes('ENOSPC')));
    const cut = await readJournal(journal);
    assert.deepEqual([cut.torn, cut.bad], [0, 0], 'no half line is left in the journal');

    fs.rmSync(path.join(disk.dir, 'filler'));
    await writeFifo(config.access.fifoAdd!, [`${h(3)}\n`]);
    await waitFor('the lost lines journaled with the next change', () => fs.readFileSync(journal, 'latin1').includes(h(3)));
    await m.close();
    const m2 = await open(config);
    assert.ok(
      [h(1), h(2), h(3), ...many].every((x) => m2.allowsHex(x)),
      'a restart has every change',
    );
    await m2.close();
  } finally {
    disk.unmount();
  }
});
