// `swarmd --check-config` (also -t, as nginx -t and sshd -t): what a start would find wrong with
// the files a config names, found without starting. The command line and config files were
// already parsed and validated (every error with its file:line) by the time this runs; this
// looks at the world they point to: certificates that must parse and match their key, lists and
// dumps that must be readable, directories a dump or journal will be written into, the user to
// switch to. It only reads and asks (access(2), `id`): no socket is opened and no file written
// or created, so it is safe on a live server before a restart or a SIGHUP.

import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Config } from './config/config.ts';
import { readTlsCredentials } from './server/tls-credentials.ts';

/** Problems a start would run into (empty: none), and notes that would not stop it. */
export interface ConfigCheck {
  errors: string[];
  notes: string[];
}

type Need = 'read' | 'write-dir' | 'dir';

/** What a path must be: `what` names the setting in messages. */
function checkPath(what: string, file: string, need: Need, errors: string[]): void {
  const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  if (need === 'write-dir') {
    // The file is (re)written by rename in its directory, so the directory must be writable.
    const dir = dirname(resolve(file));
    try {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (e) {
      errors.push(`${what} ${file}: its directory ${dir} is not writable (${code(e)})`);
    }
    return;
  }
  try {
    const st = statSync(file);
    if (need === 'dir' && !st.isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
    accessSync(file, need === 'dir' ? constants.X_OK : constants.R_OK);
  } catch (e) {
    errors.push(`${what} ${file}: can't ${need === 'dir' ? 'enter it' : 'read it'} (${code(e)})`);
  }
}

/** Checks what the config points to; never throws for a problem it finds, only lists it. */
export function checkConfig(c: Config): ConfigCheck {
  const errors: string[] = [];
  const notes: string[] = [];
  if (c.listeners.some((l) => l.proto === 'tls')) {
    try {
      readTlsCredentials(c.tls);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  const list = c.access.whitelist ?? c.access.blacklist;
  if (list !== null) checkPath(c.access.whitelist !== null ? 'access.whitelist' : 'access.blacklist', list, 'read', errors);
  if (c.access.changesFile !== null) checkPath('access.changes_file', c.access.changesFile, 'write-dir', errors);
  for (const [key, fifo] of [
    ['access.fifo_add', c.access.fifoAdd],
    ['access.fifo_delete', c.access.fifoDelete],
  ] as const) {
    // swarmd creates a missing FIFO at start (mkfifo), so only its directory must be writable.
    if (fifo !== null) checkPath(key, fifo, 'write-dir', errors);
  }
  if (c.loadState !== null) checkPath('--load-state', c.loadState, 'read', errors);
  if (c.stateFile !== null && c.stateInterval > 0) checkPath('tracker.state_file', c.stateFile, 'write-dir', errors);
  else if (c.stateFile === null && c.loadState !== null && c.stateInterval > 0) checkPath('--load-state', c.loadState, 'write-dir', errors);
  if (c.noticesJournal !== null) checkPath('notices.journal', c.noticesJournal, 'write-dir', errors);
  if (c.cluster.nkeySeedFile !== null) checkPath('cluster.nkey_seed_file', c.cluster.nkeySeedFile, 'read', errors);
  if (c.cluster.credsFile !== null) checkPath('cluster.creds_file', c.cluster.credsFile, 'read', errors);
  if (c.rootdir !== null) checkPath('tracker.rootdir', c.rootdir, 'dir', errors);
  if (c.user !== null) {
    try {
      execFileSync('id', ['-u', c.user], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      errors.push(`tracker.user ${c.user}: no such user`);
    }
  }
  const low = c.listeners.filter((l) => l.port < 1024);
  if (low.length > 0 && process.getuid?.() !== 0) {
    notes.push(
      `ports below 1024 (${low.map((l) => `${l.proto} ${l.port}`).join(', ')}) need root or CAP_NET_BIND_SERVICE ` +
        '(contrib/swarmd.service grants it), which this check cannot see',
    );
  }
  return { errors, notes };
}
