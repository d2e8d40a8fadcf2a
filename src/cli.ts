// `swarmd`: parse the command line and config, start the tracker, stop cleanly on SIGTERM/SIGINT.
// Exit status: EXIT_STATUS in config/command-line.ts (0 fine, 1 usage or config error, 2
// `swarmd notices` usage error, 111 could not start). Messages for a person go to stderr; stdout
// carries what was asked for (--help, --version, --check-config's verdict) and the JSON log.

import { execFileSync } from 'node:child_process';
import { parseCommandLine, helpText } from './config/command-line.ts';
import type { Config } from './config/config.ts';
import { checkConfig } from './check-config.ts';
import { ConfigError } from './config/config.ts';
import { createLogger } from './log.ts';
import { startTracker, VERSION } from './tracker.ts';
import { nativeUdpStatus } from './io/udp-socket.ts';

async function main(): Promise<number> {
  if (process.argv[2] === 'notices') return (await import('./notices/command.ts')).noticesCommand(process.argv.slice(3));
  let cmd;
  try {
    cmd = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const e of err.errors) process.stderr.write(`swarmd: ${e}\n`);
      process.stderr.write(`swarmd: ${err.errors.length} error${err.errors.length === 1 ? '' : 's'}; try 'swarmd --help'.\n`);
      return 1;
    }
    throw err;
  }
  if (cmd.action === 'help') {
    process.stdout.write(helpText());
    return 0;
  }
  if (cmd.action === 'version') {
    process.stdout.write(`swarmd ${VERSION} (Node.js ${process.versions.node})\n`);
    return 0;
  }
  if (cmd.action === 'check') return check(cmd.config, cmd.warnings);
  const config = cmd.config;
  const log = createLogger(config.logLevel);
  for (const w of cmd.warnings) log.warn(w);
  if (config.rootdir !== null) {
    process.chdir(config.rootdir);
    if (process.getuid?.() === 0) {
      log.warn(
        { rootdir: config.rootdir },
        'tracker.rootdir: changed directory only; swarmd cannot chroot (Node.js has no chroot): confine it with systemd (RootDirectory=, ProtectSystem=strict) or a container instead',
      );
    }
  }
  const native = nativeUdpStatus();
  let tracker;
  try {
    tracker = await startTracker(config, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'could not start');
    return 111; // opentracker's exit code for fatal errors
  }
  if (config.user !== null) {
    try {
      dropPrivileges(config.user);
      log.info({ user: config.user, uid: process.getuid?.(), gid: process.getgid?.() }, 'dropped privileges');
    } catch (err) {
      log.fatal({ user: config.user, err: (err as Error).message }, 'could not drop privileges');
      await tracker.close();
      return 111;
    }
  } else if (process.getuid?.() === 0) {
    log.warn('running as root: give tracker.user (-u) to drop privileges once the sockets are bound');
  }
  log.info(
    {
      version: VERSION,
      workers: config.workers,
      udpIo: native.available && config.udpIo !== 'dgram' ? 'recvmmsg' : `dgram${native.available ? '' : ` (${native.reason})`}`,
      listening: tracker.listening.map((l) => `${l.proto}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`),
    },
    'swarmd listening',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    // opentracker re-reads its access list on SIGHUP (Node's default would end the process).
    process.on('SIGHUP', () => {
      log.info({ signal: 'SIGHUP' }, 'reloading the access list and the TLS certificate');
      void tracker.reload();
    });
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await tracker.close();
  log.info({ counters: tracker.counters(), store: tracker.totals() }, 'swarmd stopped');
  return 0;
}

/** --check-config: the parsed config passed; now what it names. Reads only, binds nothing. */
function check(config: Config, warnings: string[]): number {
  for (const w of warnings) process.stderr.write(`swarmd: warning: ${w}\n`);
  if (config.rootdir !== null) {
    try {
      process.chdir(config.rootdir); // relative paths are relative to it, as when swarmd runs
    } catch (err) {
      process.stderr.write(`swarmd: tracker.rootdir ${config.rootdir}: can't enter it (${(err as NodeJS.ErrnoException).code})\n`);
      return 1;
    }
  }
  const { errors, notes } = checkConfig(config);
  for (const n of notes) process.stderr.write(`swarmd: note: ${n}\n`);
  for (const e of errors) process.stderr.write(`swarmd: ${e}\n`);
  const source = config.configFile ?? 'the command line';
  if (errors.length > 0) {
    process.stderr.write(`swarmd: ${source}: ${errors.length} error${errors.length === 1 ? '' : 's'}\n`);
    return 1;
  }
  process.stdout.write(
    `swarmd: configuration OK (${source}; ${config.listeners.length} listener${config.listeners.length === 1 ? '' : 's'}, ${config.workers} worker${config.workers === 1 ? '' : 's'})\n`,
  );
  return 0;
}

/**
 * Drops root for `user` and its primary group (no supplementary groups), once every socket is
 * bound, as opentracker's -u does. The ids come from `id`, which asks NSS like getpwnam would.
 */
function dropPrivileges(user: string): void {
  if (process.getuid?.() !== 0) return;
  const id = (flag: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
  const uid = id('-u');
  const gid = id('-g');
  process.setgroups!([gid]); // no supplementary groups: only what the user itself is
  process.setgid!(gid);
  process.setuid!(uid);
  if (process.getuid!() === 0 || process.getgid!() === 0) throw new Error(`still root after switching to ${user}`);
}

process.exitCode = await main();
