import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal } from '../../src/fs/journal.ts';
import { Tmpfs, fill, tmpfsSkip } from '../helpers/tmpfs.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-journal-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(dir, `journal-${++n}`);

test('open creates the journal (mode 0600); appends land in call order, each on the disk when it resolves', async () => {
  const file = fresh();
  const { journal, content, torn } = await Journal.open(file);
  assert.deepEqual([content.length, torn.length], [0, 0]);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const writes = Array.from({ length: 50 }, (_, i) => journal.append(`line ${i}\n`));
  await journal.append(Buffer.from('bytes too\n'));
  await Promise.all(writes);
  await journal.append('');
  await journal.close();
  const expected = [...Array.from({ length: 50 }, (_, i) => `line ${i}`), 'bytes too', ''].join('\n');
  assert.equal(fs.readFileSync(file, 'utf8'), expected);
});

test('a torn last line is cut off the file at open and handed back; appends then start on their own line', async () => {
  const file = fresh();
  fs.writeFileSync(file, 'one\ntwo\nthr');
  const { journal, content, torn } = await Journal.open(file);
  assert.deepEqual([content.toString(), torn.toString()], ['one\ntwo\n', 'thr']);
  assert.equal(fs.readFileSync(file, 'utf8'), 'one\ntwo\n');
  await journal.append('three\n');
  await journal.close();
  assert.equal(fs.readFileSync(file, 'utf8'), 'one\ntwo\nthree\n');
});

test('only whole lines are taken', async () => {
  const { journal } = await Journal.open(fresh());
  assert.throws(() => journal.append('no newline'), RangeError);
  await journal.close();
});

test('create writes the journal whole; replace rewrites it atomically after the queued appends', async () => {
  const file = fresh();
  const journal = await Journal.create(file, '# header\n');
  const appended = journal.append('a\n');
  const replaced = journal.replace('# header\nb\n');
  await Promise.all([appended, replaced]);
  await journal.append('c\n');
  await journal.close();
  assert.equal(fs.readFileSync(file, 'utf8'), '# header\nb\nc\n');
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
  );
});

function privileged(args: string[]): void {
  const r = process.getuid?.() === 0 ? spawnSync(args[0]!, args.slice(1)) : spawnSync('sudo', ['-n', ...args]);
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}${r.error ?? ''}`);
}

test('a full disk: a failed append leaves nothing of itself; dropped, or written again first (keepFailed)', { skip: tmpfsSkip }, async () => {
  const disk = new Tmpfs(path.join(dir, 'mnt-full'), '64k');
  try {
    for (const keepFailed of [false, true]) {
      const file = path.join(disk.dir, `journal-${keepFailed}`);
      const { journal } = await Journal.open(file, { keepFailed });
      await journal.append('first\n');
      const before = fs.readFileSync(file);
      fill(path.join(disk.dir, 'filler'));
      // 20 KB: more than the room left in the file's last page, so the write fails part of the way.
      const big = 'x'.repeat(20_000) + '\n';
      await assert.rejects(journal.append(big), { code: 'ENOSPC' });
      assert.ok(fs.readFileSync(file).equals(before), 'no part of the failed append stays');
      fs.rmSync(path.join(disk.dir, 'filler'));
      await journal.append('next\n');
      await journal.close();
      assert.equal(fs.readFileSync(file, 'utf8'), keepFailed ? `first\n${big}next\n` : 'first\nnext\n');
      fs.rmSync(file);
    }
  } finally {
    disk.unmount();
  }
});

test('a cut-back that fails too (append-only file): nothing more is appended until the cut succeeds', { skip: tmpfsSkip }, async () => {
  const disk = new Tmpfs(path.join(dir, 'mnt-cut'), '64k');
  const file = path.join(disk.dir, 'journal');
  try {
    const { journal } = await Journal.open(file, { keepFailed: true });
    await journal.append('first\n');
    privileged(['chattr', '+a', file]); // appends work, truncation does not
    fill(path.join(disk.dir, 'filler'));
    const big = 'y'.repeat(20_000) + '\n';
    await assert.rejects(journal.append(big), { code: 'ENOSPC' });
    const left = fs.readFileSync(file, 'utf8');
    assert.ok(left.length > 'first\n'.length && !left.endsWith('\n'), 'part of the failed append is in the file');
    fs.rmSync(path.join(disk.dir, 'filler'));
    await assert.rejects(journal.append('next\n'), /could not be cut back to its last whole line after a failed write \(ENOSPC/);
    assert.equal(fs.readFileSync(file, 'utf8'), left, 'nothing was glued to the half line');
    privileged(['chattr', '-a', file]);
    await journal.append('last\n');
    await journal.close();
    assert.equal(fs.readFileSync(file, 'utf8'), `first\n${big}next\nlast\n`, 'the kept appends went out, in order, once the cut succeeded');
  } finally {
    if (fs.existsSync(file)) privileged(['chattr', '-a', file]);
    disk.unmount();
  }
});
