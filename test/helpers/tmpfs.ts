// A small tmpfs mounted for a test, to make a disk full or read-only on purpose. Mounting needs
// root or password-less sudo: CI has it (there a missing privilege fails the test); elsewhere
// the tests that need it are skipped.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';

const root = process.getuid?.() === 0;
const sudo = !root && spawnSync('sudo', ['-n', 'true']).status === 0;

/** Whether this process can mount a tmpfs (root, or password-less sudo). */
export const canMount = root || sudo;

/** The `skip` option of a test that mounts a tmpfs. */
export const tmpfsSkip = !root && !sudo && process.env.CI !== 'true' ? 'mounting a tmpfs needs root or password-less sudo' : false;

function privileged(args: string[]): void {
  const r = root ? spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' }) : spawnSync('sudo', ['-n', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}${r.error ?? ''}`);
}

export class Tmpfs {
  readonly dir: string;
  private mounted = false;
  /** Mounts a tmpfs of `size` (as mount's size=, e.g. "64k") on `dir`, created if missing. */
  constructor(dir: string, size: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    privileged(['mount', '-t', 'tmpfs', '-o', `size=${size},mode=0777`, 'tmpfs', dir]);
    this.mounted = true;
  }

  readOnly(on: boolean): void {
    privileged(['mount', '-o', on ? 'remount,ro' : 'remount,rw', this.dir]);
  }

  /** Unmounts it (safe to call twice, and from `after`). */
  unmount(): void {
    if (this.mounted) spawnSync(root ? 'umount' : 'sudo', root ? [this.dir] : ['-n', 'umount', this.dir]);
    this.mounted = false;
  }
}

/** Fills the file system holding `path` to the last byte. */
export function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 0x78);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}
