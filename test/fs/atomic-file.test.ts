import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReplaceFileError, describeFsError, removeStaleTemps, replaceFile, replaceFileWith, tempName } from '../../src/fs/atomic-file.ts';
import { Tmpfs, fill, tmpfsSkip } from '../helpers/tmpfs.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-atomic-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(dir, `file-${++n}`);
const temps = (d = dir) => fs.readdirSync(d).filter((f) => f.includes('.tmp-'));

test('replaces the file with everything written, in the mode asked, and leaves no temporary file', async () => {
  const file = fresh();
  fs.writeFileSync(file, 'old');
  const chunks = [Buffer.from('one '), Buffer.alloc(300_000, 0x62), Buffer.from(' three')];
  const r = await replaceFile(
    file,
    async (write) => {
      for (const c of chunks) await write(c);
    },
    0o640,
  );
  assert.deepEqual(r, { bytes: 300_010, dirSyncError: null });
  assert.ok(fs.readFileSync(file).equals(Buffer.concat(chunks)));
  assert.equal(fs.statSync(file).mode & 0o777, 0o640);
  assert.deepEqual(temps(), []);

  await replaceFileWith(file, 'näive\n');
  assert.equal(fs.readFileSync(file, 'utf8'), 'näive\n');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'a new file each time: the mode is the one asked now');
});

test('a failure while writing keeps the old file whole and removes the temporary file', async () => {
  const file = fresh();
  fs.writeFileSync(file, 'precious');
  const err = await replaceFile(file, async (write) => {
    await write(Buffer.alloc(100_000));
    throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
  }).catch((e: unknown) => e);
  assert.ok(err instanceof ReplaceFileError);
  assert.deepEqual([err.code, err.step, err.temp], ['EIO', 'writing', tempName(file)]);
  assert.equal(err.message, `EIO: i/o error, write (writing ${tempName(file)})`);
  assert.equal(fs.readFileSync(file, 'latin1'), 'precious');
  assert.deepEqual(temps(), []);
});

test('a file or link left at the temporary name is replaced, never written through', async () => {
  const file = fresh();
  const victim = fresh();
  fs.writeFileSync(victim, 'precious');
  fs.symlinkSync(victim, tempName(file));
  await replaceFileWith(file, 'new');
  assert.equal(fs.readFileSync(victim, 'latin1'), 'precious');
  assert.equal(fs.readFileSync(file, 'latin1'), 'new');
  assert.deepEqual(temps(), []);
});

test('a directory that does not exist: an error naming the step', async () => {
  const err = await replaceFileWith(path.join(dir, 'no', 'such', 'file'), 'x').catch((e: unknown) => e);
  assert.ok(err instanceof ReplaceFileError);
  assert.deepEqual([err.code, err.step], ['ENOENT', 'creating']);
  assert.match(err.message, /^ENOENT: no such file or directory \(creating .*\/no\/such\/file\.tmp-\d+\)$/);
});

test('a full disk, then a read-only one: the old file stays whole; once there is room the write goes through', { skip: tmpfsSkip }, async () => {
  const disk = new Tmpfs(path.join(dir, 'mnt'), '64k');
  try {
    const file = path.join(disk.dir, 'state');
    const old = Buffer.alloc(8000, 0x6f);
    await replaceFileWith(file, old);
    fill(path.join(disk.dir, 'filler'));
    const big = Buffer.alloc(40_000, 0x6e);
    const full = await replaceFileWith(file, big).catch((e: unknown) => e);
    assert.ok(full instanceof ReplaceFileError);
    assert.deepEqual([full.code, full.step], ['ENOSPC', 'writing']);
    assert.ok(fs.readFileSync(file).equals(old));
    assert.deepEqual(temps(disk.dir), []);

    fs.rmSync(path.join(disk.dir, 'filler'));
    disk.readOnly(true);
    const ro = await replaceFileWith(file, big).catch((e: unknown) => e);
    assert.ok(ro instanceof ReplaceFileError);
    assert.equal(ro.code, 'EROFS');
    assert.ok(fs.readFileSync(file).equals(old));

    disk.readOnly(false);
    assert.equal((await replaceFileWith(file, big)).bytes, big.length);
    assert.ok(fs.readFileSync(file).equals(big));
    assert.deepEqual(temps(disk.dir), []);
  } finally {
    disk.unmount();
  }
});

test('removeStaleTemps removes the temporary files of dead processes only', () => {
  const sub = fs.mkdtempSync(path.join(dir, 'stale-'));
  const file = path.join(sub, 'state');
  fs.writeFileSync(file, 'kept');
  fs.writeFileSync(tempName(file, 999_999_999), 'left by a crash');
  fs.writeFileSync(tempName(file, process.ppid), 'being written by a live process');
  fs.writeFileSync(`${file}.tmp-junk`, 'not a pid');
  fs.writeFileSync(tempName(path.join(sub, 'other'), 999_999_999), 'another file’s');
  assert.deepEqual(removeStaleTemps(file), [tempName(file, 999_999_999)]);
  assert.deepEqual(fs.readdirSync(sub).sort(), ['other.tmp-999999999', 'state', `state.tmp-${process.ppid}`, 'state.tmp-junk']);
  assert.deepEqual(removeStaleTemps(path.join(dir, 'missing-dir', 'x')), []);
});

test('describeFsError: the code and what it means, without the call and the path', () => {
  let e: unknown;
  try {
    fs.readFileSync(path.join(dir, 'missing'));
  } catch (err) {
    e = err;
  }
  assert.equal(describeFsError(e), 'ENOENT: no such file or directory');
  assert.equal(describeFsError(new Error('plain')), 'plain');
  assert.equal(describeFsError('text'), 'text');
});
