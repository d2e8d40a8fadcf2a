// opentracker's config file format, plus swarmd's own keys.
//
// Format (as opentracker's parse_configfile): one `key value` per line; leading whitespace is
// skipped; a line starting with `#` is a comment; blank lines are skipped; trailing whitespace is
// cut; the key is followed by whitespace and the value is the rest of the line.
//
// SETTINGS is the one table of keys (and their long options, see command-line.ts); UNSUPPORTED
// lists opentracker features not built yet. Supporting one later means moving its line from
// UNSUPPORTED to SETTINGS.

import { SLOT_SIZE } from '../io/udp-batch.ts';
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import {
  ConfigError,
  DEFAULT_HOST,
  GIB,
  KIB,
  LOG_LEVELS,
  MAX_MEMORY_LIMIT,
  MAX_WORKERS,
  MIB,
  MIN_MEMORY_LIMIT,
  MIN_ADMIN_TOKEN_LENGTH,
  defaultConfig,
  defaultListeners,
  defaultWorkers,
} from './config.ts';
import type { AccessConfig, Config, LogLevel, Proto, TcpIo, UdpIo } from './config.ts';
import { MAX_WORKER_PEERS } from './config.ts';

/** A value that can't be used; the message names the value, the caller adds where it came from. */
export class BadValue extends Error {}

/** Longest duration in seconds: its milliseconds still fit a Node timer (2^31 - 1 ms). */
export const MAX_SECONDS = 2147483;
const MAX_INT = 2 ** 31 - 1;

// ---------------------------------------------------------------- value parsers

function quote(value: string): string {
  return JSON.stringify(value);
}

export function parseInteger(value: string, min: number, max: number, unit = ''): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new BadValue(`${quote(value)} is not a whole number${unit ? ` of ${unit}` : ''} from ${min} to ${max}`);
  }
  return n;
}

export function parseSeconds(value: string, min = 1, max = MAX_SECONDS): number {
  return parseInteger(value, min, max, 'seconds');
}

export function parseBoolean(value: string): boolean {
  switch (value.toLowerCase()) {
    case 'yes':
    case 'true':
    case 'on':
    case '1':
      return true;
    case 'no':
    case 'false':
    case 'off':
    case '0':
      return false;
  }
  throw new BadValue(`${quote(value)} is not yes/no/true/false/on/off/1/0`);
}

/** Bytes with an optional K, M or G suffix (powers of 1024, either case). */
export function parseSize(value: string, min: number, max: number): number {
  const m = /^([0-9]+)([kmg]?)$/i.exec(value);
  const units: Record<string, number> = { '': 1, k: KIB, m: MIB, g: GIB };
  const unit = m ? units[m[2]!.toLowerCase()]! : 0;
  const n = m ? Number(m[1]) * unit : NaN;
  if (!(n >= min && n <= max)) {
    throw new BadValue(`${quote(value)} is not a size from ${formatSize(min)} to ${formatSize(max)} (bytes, or a number with K, M or G)`);
  }
  return n;
}

export function formatSize(bytes: number): string {
  for (const [suffix, unit] of [
    ['G', GIB],
    ['M', MIB],
    ['K', KIB],
  ] as const) {
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}

function parseChoice<T extends string>(value: string, choices: readonly T[]): T {
  const v = value.toLowerCase();
  const found = choices.find((c) => c === v);
  if (found === undefined) throw new BadValue(`${quote(value)} is not one of ${choices.join(', ')}`);
  return found;
}

/** The address text for a listener: brackets removed, IPv6 in its canonical (compressed) form. */
function normalizeHost(address: string): string {
  // Zone IDs (fe80::1%eth0) and embedded IPv4 (::ffff:1.2.3.4) are kept as written.
  if (address.includes('%')) return address;
  if (isIP(address) !== 6 || address.includes('.')) return address.toLowerCase();
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

/** A literal IPv4 or IPv6 address (IPv6 may be in brackets), as for opentracker's -i. */
export function parseAddress(value: string): string {
  const inner = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  const family = isIP(inner);
  if (family === 0 || (family === 4 && inner !== value)) {
    throw new BadValue(`${quote(value)} is not an IPv4 or IPv6 address`);
  }
  return normalizeHost(inner);
}

export function parsePort(value: string): number {
  const n = /^[0-9]{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new BadValue(`${quote(value)} is not a port from 1 to 65535`);
  return n;
}

/**
 * opentracker's `ip[:port]` for listen.* lines: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `[::1]` or a
 * bare IPv6 address without a port. The port is 6969 when omitted. Like opentracker, a bare port
 * number is not an address (opentracker: "Parse error").
 */
export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const bad = (why: string) => new BadValue(`${quote(value)} ${why}`);
  if (/^[0-9]+$/.test(value)) {
    throw bad(`is a bare port, not an address: write 0.0.0.0:${value} (IPv4), [::]:${value} (IPv4 and IPv6)`);
  }
  let host: string;
  let port = defaultPort;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1]!;
    if (isIP(host) !== 6) throw bad('is not [IPv6 address] or [IPv6 address]:port');
    if (bracketed[2] !== undefined) port = parsePortIn(bracketed[2], value);
  } else if (isIP(value) !== 0) {
    host = value;
  } else {
    const colon = value.lastIndexOf(':');
    host = colon < 0 ? value : value.slice(0, colon);
    if (isIP(host) === 6) throw bad('is ambiguous: put an IPv6 address in brackets to give a port, as in [::1]:6969');
    if (isIP(host) !== 4) throw bad('is not an address: expected IPv4[:port], [IPv6]:port or IPv6');
    port = parsePortIn(value.slice(colon + 1), value);
  }
  return { host: normalizeHost(host), port };
}

function parsePortIn(text: string, whole: string): number {
  try {
    return parsePort(text);
  } catch {
    throw new BadValue(`${quote(whole)} has a bad port ${quote(text)} (1 to 65535)`);
  }
}

// ---------------------------------------------------------------- the settings table

export type Setting = {
  /** Config file key. */
  key: string;
  /** Long option (without `--`); same value syntax as the key. */
  long: string;
  /** opentracker's single-letter switch, if it has one. */
  short?: string;
  /** Value placeholder for the help text. */
  arg: string;
  /** A boolean: the long option is also a flag (`--x`, `--no-x`, `--x=VALUE`). */
  flag?: boolean;
  /** Several lines add up instead of the last one winning. */
  repeatable?: boolean;
  help: string;
  /** The value in effect, for the help text's defaults ('' = none). */
  show: (c: Config) => string;
  /** The default in words where it depends on the machine (the man page's, the same everywhere). */
  dflt?: string;
  /** Applies a value; throws BadValue. */
  set: (b: ConfigBuilder, value: string) => void;
};

function listen(key: string, long: string, protos: Proto[], what: string): Setting {
  return {
    key,
    long,
    arg: 'ADDR[:PORT]',
    repeatable: true,
    help: `listen for ${what} on ADDR (IPv4, [IPv6] or bare IPv6), port 6969 if omitted`,
    show: () => '',
    set: (b, value) => {
      const { host, port } = parseHostPort(value, 6969);
      for (const proto of protos) b.addListener(proto, host, port);
    },
  };
}

function seconds(key: string, long: string, help: string, get: (c: Config) => number, put: (c: Config, v: number) => void, min = 1): Setting {
  return {
    key,
    long,
    arg: 'SECONDS',
    help,
    show: (c) => String(get(c)),
    set: (b, v) => put(b.config, parseSeconds(v, min)),
  };
}

function integer(key: string, long: string, help: string, max: number, get: (c: Config) => number, put: (c: Config, v: number) => void, min = 1): Setting {
  return {
    key,
    long,
    arg: 'N',
    help,
    show: (c) => String(get(c)),
    set: (b, v) => put(b.config, parseInteger(v, min, max)),
  };
}

/** A yes/no setting, also a flag: `--LONG` alone means yes, and `--no-LONG` no. */
function boolean(key: string, long: string, help: string, get: (c: Config) => boolean, put: (c: Config, v: boolean) => void): Setting {
  return { key, long, arg: 'yes|no', flag: true, help, show: (c) => (get(c) ? 'yes' : 'no'), set: (b, v) => put(b.config, parseBoolean(v)) };
}

/** A size in bytes, with an optional K/M/G suffix, from `min` to `max`. */
function size(key: string, long: string, help: string, min: number, max: number, get: (c: Config) => number, put: (c: Config, v: number) => void): Setting {
  return { key, long, arg: 'BYTES', help, show: (c) => formatSize(get(c)), set: (b, v) => put(b.config, parseSize(v, min, max)) };
}

/** A file name: anything but control characters. */
export function checkPath(value: string): string {
  if (/[\x00-\x1f\x7f]/.test(value)) throw new BadValue(`${quote(value)} contains control characters`);
  return value;
}

function text(
  key: string,
  long: string,
  short: string,
  arg: string,
  help: string,
  get: (c: Config) => string | null,
  put: (c: Config, v: string) => void,
  check: (v: string) => void = () => {},
): Setting {
  return {
    key,
    long,
    short,
    arg,
    help,
    show: (c) => get(c) ?? '',
    set: (b, v) => {
      if (/[\x00-\x1f\x7f]/.test(v)) throw new BadValue(`${quote(v)} contains control characters`);
      check(v);
      put(b.config, v);
    },
  };
}

/** A file or FIFO path of the access list (src/access/); relative paths are taken after tracker.rootdir. */
function accessPath(key: string, long: string, short: string | undefined, arg: string, help: string, field: keyof AccessConfig): Setting {
  return {
    key,
    long,
    ...(short ? { short } : {}),
    arg,
    help,
    show: (c) => c.access[field] ?? '',
    set: (b, v) => (b.config.access[field] = checkPath(v)),
  };
}

/** A NATS server URL: nats://, tls:// or no scheme (nats:// then), a host and an optional port. */
export function parseNatsUrl(value: string): string {
  const text = /^[a-z]+:\/\//i.test(value) ? value : `nats://${value}`;
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (
    url === null ||
    !['nats:', 'tls:'].includes(url.protocol) ||
    url.hostname === '' ||
    url.username !== '' ||
    (url.pathname !== '' && url.pathname !== '/')
  ) {
    throw new BadValue(
      `${quote(value)} is not a NATS server URL (nats://host:port, tls://host:port or host:port; credentials go in cluster.user/password, token, nkey_seed_file or creds_file)`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

/** A file name setting (FILE), unset by default. */
function file(key: string, long: string, help: string, get: (c: Config) => string | null, put: (c: Config, v: string) => void): Setting {
  return { key, long, arg: 'FILE', help, show: (c) => get(c) ?? '', set: (b, v) => put(b.config, checkPath(v)) };
}

/** A cluster credential given as text: anything but control characters (not echoed in errors). */
function clusterText(key: string, long: string, arg: string, help: string, field: 'user' | 'password' | 'token'): Setting {
  return {
    key,
    long,
    arg,
    help,
    show: (c) => (field === 'user' ? (c.cluster.user ?? '') : ''),
    set: (b, v) => {
      if (/[\x00-\x1f\x7f]/.test(v)) throw new BadValue(`the value contains control characters`);
      b.config.cluster[field] = v;
    },
  };
}

/** A URL path given without its leading '/' (removed with a warning); `empty` allows '' (off). */
function urlPath(b: ConfigBuilder, v: string, empty: boolean): string {
  if (empty && (v === '' || v === '""')) return '';
  const p = v.replace(/^\/+/, '');
  if (p !== v) b.warn(`leading "/" removed from ${quote(v)} (the path is matched without it)`);
  if (!/^[A-Za-z0-9._~!$&'()*+,;=:@%/-]+$/.test(p)) {
    throw new BadValue(`${quote(v)} is not a URL path (letters, digits and -._~!$&'()*+,;=:@%/ only)`);
  }
  return p;
}

/** A repeatable `IP[/BITS]` setting; each value joins every list `lists` names. */
function network(key: string, long: string, short: string | undefined, help: string, lists: (c: Config) => string[][]): Setting {
  return {
    key,
    long,
    ...(short ? { short } : {}),
    arg: 'IP[/BITS]',
    repeatable: true,
    help,
    show: () => '',
    set: (b, v) => {
      const net = parseNetwork(v);
      for (const list of lists(b.config)) if (!list.includes(net)) list.push(net);
    },
  };
}

/** `IP` or `IP/BITS` (a v4 address takes 0..32 bits, v6 0..128), normalised. */
export function parseNetwork(value: string): string {
  const slash = value.indexOf('/');
  const address = parseAddress(slash < 0 ? value : value.slice(0, slash));
  const max = address.includes(':') ? 128 : 32;
  const bits = slash < 0 ? max : parseInteger(value.slice(slash + 1), 0, max);
  return `${address}/${bits}`;
}

// A UDP answer must fit one receive/send slot of the batched socket layer (2048 bytes, 20 of header).
const UDP_MAX_PEERS4 = Math.floor((SLOT_SIZE - 20) / 6);
const UDP_MAX_PEERS6 = Math.floor((SLOT_SIZE - 20) / 18);
const HTTP_MAX_PEERS = 5000;

export const SETTINGS: readonly Setting[] = [
  // opentracker's keys
  listen('listen.tcp_udp', 'listen-tcp-udp', ['tcp', 'udp'], 'HTTP (TCP) and UDP'),
  listen('listen.tcp', 'listen-tcp', ['tcp'], 'HTTP (TCP)'),
  listen('listen.udp', 'listen-udp', ['udp'], 'UDP'),
  {
    ...listen('listen.tls', 'listen-tls', ['tls'], 'HTTPS and WSS (needs tls.cert and tls.key)'),
    help: 'listen for HTTPS and WSS on ADDR (IPv4, [IPv6] or bare IPv6), port 443 if omitted (needs tls.cert and tls.key)',
    set: (b, value) => {
      const { host, port } = parseHostPort(value, 443);
      b.addListener('tls', host, port);
    },
  },
  {
    key: 'listen.udp.workers',
    long: 'udp-workers',
    arg: 'N',
    help: 'opentracker compatibility: sets the worker threads when tracker.workers is not given (0 = 1)',
    show: () => '',
    set: (b, v) => b.setUdpWorkers(parseInteger(v, 0, MAX_WORKERS)),
  },
  text(
    'tracker.rootdir',
    'rootdir',
    'd',
    'DIR',
    'directory to change into at start-up (no chroot)',
    (c) => c.rootdir,
    (c, v) => (c.rootdir = v),
  ),
  text(
    'tracker.user',
    'user',
    'u',
    'USER',
    'user to switch to when started as root',
    (c) => c.user,
    (c, v) => (c.user = v),
  ),
  text(
    'tracker.redirect_url',
    'redirect-url',
    'r',
    'URL',
    'where GET / redirects to (none: 404)',
    (c) => c.redirectUrl,
    (c, v) => (c.redirectUrl = v),
    (v) => {
      if (/\s/.test(v)) throw new BadValue(`${quote(v)} contains whitespace`);
    },
  ),
  {
    key: 'access.stats_path',
    long: 'stats-path',
    arg: 'PATH',
    help: 'path of the stats page, without a leading /',
    show: (c) => c.statsPath,
    set: (b, v) => (b.config.statsPath = urlPath(b, v, false)),
  },
  {
    key: 'stats.metrics_path',
    long: 'metrics-path',
    arg: 'PATH',
    help: 'path of the Prometheus metrics, without a leading / ("" turns them off; access.stats applies)',
    show: (c) => c.metricsPath,
    set: (b, v) => (b.config.metricsPath = urlPath(b, v, true)),
  },
  {
    key: 'stats.json_path',
    long: 'stats-json-path',
    arg: 'PATH',
    help: 'path of the JSON stats, without a leading / ("" turns them off; access.stats applies)',
    show: (c) => c.statsJsonPath,
    set: (b, v) => (b.config.statsJsonPath = urlPath(b, v, true)),
  },
  {
    key: 'stats.history_interval',
    long: 'history-interval',
    arg: 'SECONDS',
    help: 'time between samples of the hour of history the dashboard draws (1 to 60)',
    show: (c) => String(c.historyInterval),
    set: (b, v) => (b.config.historyInterval = parseSeconds(v, 1, 60)),
  },
  {
    key: 'log.requests',
    long: 'log-requests',
    arg: 'SHARE',
    help: 'share of requests logged, from 0 (off) to 1 (every one), at most 100 lines a second per worker',
    show: (c) => String(c.logRequests),
    set: (b, v) => {
      const share = /^(0|1|0?\.\d+|1\.0*)$/.test(v) ? Number(v) : NaN;
      if (!(share >= 0 && share <= 1)) throw new BadValue(`${quote(v)} is not a share from 0 to 1 (e.g. 0.001)`);
      b.config.logRequests = share;
    },
  },
  accessPath(
    'access.whitelist',
    'whitelist',
    'w',
    'FILE',
    'info-hash whitelist: only the hashes listed (40 hex digits a line) may be announced; reread on SIGHUP',
    'whitelist',
  ),
  accessPath(
    'access.blacklist',
    'blacklist',
    'b',
    'FILE',
    'info-hash blacklist: the hashes listed (40 hex digits a line) may not be announced; reread on SIGHUP',
    'blacklist',
  ),
  accessPath(
    'access.fifo_add',
    'fifo-add',
    undefined,
    'FIFO',
    'named pipe (made with mode 0600 if missing): each hash line written to it is added to the white/blacklist',
    'fifoAdd',
  ),
  accessPath(
    'access.fifo_delete',
    'fifo-delete',
    undefined,
    'FIFO',
    'named pipe (made with mode 0600 if missing): each hash line written to it is taken off the white/blacklist',
    'fifoDelete',
  ),
  // swarmd's keys
  {
    key: 'tracker.workers',
    long: 'workers',
    arg: 'N',
    help: `worker threads, each with its own sockets (1 to ${MAX_WORKERS})`,
    show: (c) => `${c.workers} (the number of cores here)`,
    dflt: 'the number of cores',
    set: (b, v) => b.setWorkers(parseInteger(v, 1, MAX_WORKERS)),
  },
  seconds(
    'tracker.interval',
    'interval',
    'announce interval handed to clients',
    (c) => c.interval,
    (c, v) => (c.interval = v),
  ),
  seconds(
    'tracker.interval_variation',
    'interval-variation',
    'answers carry interval - variation/2 + random(variation); 0 = exact interval',
    (c) => c.intervalVariation,
    (c, v) => (c.intervalVariation = v),
    0,
  ),
  seconds(
    'tracker.peer_timeout',
    'peer-timeout',
    'a peer that has not announced for this long is dropped',
    (c) => c.peerTimeout,
    (c, v) => (c.peerTimeout = v),
  ),
  seconds(
    'tracker.torrent_timeout',
    'torrent-timeout',
    'a torrent without peers but with completions is kept this long',
    (c) => c.torrentTimeout,
    (c, v) => (c.torrentTimeout = v),
  ),
  seconds(
    'tracker.clean_interval',
    'clean-interval',
    'time between cleaning passes',
    (c) => c.cleanInterval,
    (c, v) => (c.cleanInterval = v),
  ),
  integer(
    'tracker.numwant',
    'numwant',
    'peers returned when a client sends no numwant (HTTP and UDP)',
    MAX_INT,
    (c) => c.numwantDefault,
    (c, v) => (c.numwantDefault = v),
  ),
  integer(
    'tracker.numwant_max',
    'numwant-max',
    'most peers returned in one HTTP answer',
    HTTP_MAX_PEERS,
    (c) => c.numwantMax,
    (c, v) => (c.numwantMax = v),
  ),
  integer(
    'tracker.udp_numwant_max4',
    'udp-numwant-max4',
    'most peers in one UDP answer to IPv4 (6 bytes each)',
    UDP_MAX_PEERS4,
    (c) => c.udpNumwantMax4,
    (c, v) => (c.udpNumwantMax4 = v),
  ),
  integer(
    'tracker.udp_numwant_max6',
    'udp-numwant-max6',
    'most peers in one UDP answer to IPv6 (18 bytes each)',
    UDP_MAX_PEERS6,
    (c) => c.udpNumwantMax6,
    (c, v) => (c.udpNumwantMax6 = v),
  ),
  integer(
    'tracker.max_scrape_hashes',
    'max-scrape-hashes',
    'most info hashes in one HTTP scrape',
    1000,
    (c) => c.maxScrapeHashes,
    (c, v) => (c.maxScrapeHashes = v),
  ),
  boolean(
    'tracker.ip_from_query',
    'ip-from-query',
    'use the ip= announce parameter instead of the source address (debugging only)',
    (c) => c.ipFromQuery,
    (c, v) => (c.ipFromQuery = v),
  ),
  {
    key: 'tracker.deniability',
    long: 'deniability',
    arg: 'PERCENT',
    help: 'share of each peer list made of addresses drawn from tracker.deniability_range, so that being listed proves nothing (0 = off)',
    show: (c) => String(c.deniabilityPercent),
    set: (b, v) => (b.config.deniabilityPercent = parseInteger(v, 0, 50)),
  },
  {
    ...network(
      'tracker.deniability_range',
      'deniability-range',
      undefined,
      'a network the deniability addresses are drawn from (repeatable; IPv4 ranges for IPv4 lists, IPv6 for IPv6)',
      (c) => [c.deniabilityRanges],
    ),
  },
  {
    key: 'tracker.memory_limit',
    long: 'memory-limit',
    arg: 'BYTES',
    help: `most memory for the swarm store, in bytes or with a K/M/G suffix (${formatSize(MIN_MEMORY_LIMIT)} to ${formatSize(MAX_MEMORY_LIMIT)})`,
    show: (c) => `${formatSize(c.memoryLimit)} (3/4 of the RAM here, at most ${formatSize(MAX_MEMORY_LIMIT)})`,
    dflt: `3/4 of the RAM, at most ${formatSize(MAX_MEMORY_LIMIT)}`,
    set: (b, v) => (b.config.memoryLimit = parseSize(v, MIN_MEMORY_LIMIT, MAX_MEMORY_LIMIT)),
  },
  file(
    'tracker.state_file',
    'state-file',
    "state dump (completion counts, opentracker's statedump format) loaded at start and written every tracker.state_interval and at shutdown",
    (c) => c.stateFile,
    (c, v) => (c.stateFile = v),
  ),
  seconds(
    'tracker.state_interval',
    'state-interval',
    'time between state dumps to tracker.state_file (or the -l file); 0 = never write (load only)',
    (c) => c.stateInterval,
    (c, v) => (c.stateInterval = v),
    0,
  ),
  file(
    'tracker.peer_state_file',
    'peer-state-file',
    "peer state (every peer and completed count, swarmd's binary format) loaded at start and written at a graceful stop and every tracker.peer_state_interval",
    (c) => c.peerStateFile,
    (c, v) => (c.peerStateFile = v),
  ),
  seconds(
    'tracker.peer_state_interval',
    'peer-state-interval',
    'time between writes of tracker.peer_state_file, so that a crash loses at most that much; 0 = only at a graceful stop',
    (c) => c.peerStateInterval,
    (c, v) => (c.peerStateInterval = v),
    0,
  ),
  boolean(
    'tracker.full_scrape',
    'full-scrape',
    'answer /scrape without info_hash with every torrent (and /stats?mode=tpbs)',
    (c) => c.fullScrape,
    (c, v) => (c.fullScrape = v),
  ),
  seconds(
    'tracker.full_scrape_interval',
    'full-scrape-interval',
    'one full scrape per client address (IPv6: per /64) per this many seconds, others get 429; 0 = no limit',
    (c) => c.fullScrapeInterval,
    (c, v) => (c.fullScrapeInterval = v),
    0,
  ),
  {
    key: 'listen.udp.io',
    long: 'udp-io',
    arg: 'auto|native|dgram',
    help: 'UDP sockets: native recvmmsg/sendmmsg addon, node:dgram, or auto (native if it loads)',
    show: (c) => c.udpIo,
    set: (b, v) => (b.config.udpIo = parseChoice<UdpIo>(v, ['auto', 'native', 'dgram'])),
  },
  {
    key: 'listen.udp.batch',
    long: 'udp-batch',
    arg: 'N',
    help: 'datagrams received or sent per system call (1 to 1024)',
    show: (c) => String(c.udpBatchSize),
    set: (b, v) => (b.config.udpBatchSize = parseInteger(v, 1, 1024)),
  },
  {
    key: 'listen.tcp.io',
    long: 'tcp-io',
    arg: 'auto|native|net',
    help: 'HTTP connections: native epoll addon, node:net, or auto (native if it loads)',
    show: (c) => c.tcpIo,
    set: (b, v) => (b.config.tcpIo = parseChoice<TcpIo>(v, ['auto', 'native', 'net'])),
  },
  seconds(
    'http.idle_timeout',
    'http-idle-timeout',
    'an idle HTTP connection is closed after this',
    (c) => c.http.idleTimeout,
    (c, v) => (c.http.idleTimeout = v),
  ),
  seconds(
    'http.header_timeout',
    'http-header-timeout',
    'a request head must arrive within this after the connection or the previous answer',
    (c) => c.http.headerTimeout,
    (c, v) => (c.http.headerTimeout = v),
  ),
  size(
    'http.max_request_size',
    'http-max-request-size',
    'largest HTTP request head accepted (512 to 1M; K/M suffixes)',
    512,
    MIB,
    (c) => c.http.maxRequestBytes,
    (c, v) => (c.http.maxRequestBytes = v),
  ),
  boolean(
    'http.keepalive',
    'http-keepalive',
    'serve several requests per HTTP connection',
    (c) => c.http.keepAlive,
    (c, v) => (c.http.keepAlive = v),
  ),
  boolean(
    'http.external_ip',
    'external-ip',
    'announce answers carry the address the tracker saw (BEP 24 external ip)',
    (c) => c.externalIp,
    (c, v) => (c.externalIp = v),
  ),
  integer(
    'http.max_connections',
    'http-max-connections',
    'open HTTP connections per worker',
    MAX_INT,
    (c) => c.http.maxConnections,
    (c, v) => (c.http.maxConnections = v),
  ),
  file(
    'tls.cert',
    'tls-cert',
    'certificate chain (PEM) of the listen.tls listeners; reread on SIGHUP',
    (c) => c.tls.cert,
    (c, v) => (c.tls.cert = v),
  ),
  file(
    'tls.key',
    'tls-key',
    'private key (PEM) of the listen.tls listeners; reread on SIGHUP',
    (c) => c.tls.key,
    (c, v) => (c.tls.key = v),
  ),
  boolean(
    'ws.enabled',
    'ws',
    'WebTorrent signalling: WebSocket upgrades on the HTTP and HTTPS listeners',
    (c) => c.ws.enabled,
    (c, v) => (c.ws.enabled = v),
  ),
  size(
    'ws.max_message_size',
    'ws-max-message-size',
    'largest WebSocket message accepted; a bigger one closes the connection (1K to 1M)',
    KIB,
    MIB,
    (c) => c.ws.maxMessageBytes,
    (c, v) => (c.ws.maxMessageBytes = v),
  ),
  integer(
    'ws.max_offers',
    'ws-max-offers',
    'most offers in one WebSocket announce; more refuse the announce',
    1000,
    (c) => c.ws.maxOffers,
    (c, v) => (c.ws.maxOffers = v),
  ),
  integer(
    'ws.numwant_max',
    'ws-numwant-max',
    'most peers the offers of one WebSocket announce are relayed to',
    1000,
    (c) => c.ws.numwantMax,
    (c, v) => (c.ws.numwantMax = v),
  ),
  seconds(
    'ws.interval',
    'ws-interval',
    'announce interval handed to WebSocket clients',
    (c) => c.ws.interval,
    (c, v) => (c.ws.interval = v),
  ),
  seconds(
    'ws.idle_timeout',
    'ws-idle-timeout',
    'a WebSocket connection without a message for this long is closed',
    (c) => c.ws.idleTimeout,
    (c, v) => (c.ws.idleTimeout = v),
  ),
  seconds(
    'ws.ping_interval',
    'ws-ping-interval',
    'time between pings; a connection that has not answered the previous ping is closed',
    (c) => c.ws.pingInterval,
    (c, v) => (c.ws.pingInterval = v),
  ),
  integer(
    'ws.max_connections',
    'ws-max-connections',
    `open WebSocket connections per worker (at most ${MAX_WORKER_PEERS})`,
    MAX_WORKER_PEERS,
    (c) => c.ws.maxConnections,
    (c, v) => (c.ws.maxConnections = v),
  ),
  size(
    'ws.max_queue_size',
    'ws-max-queue-size',
    'bytes queued for one WebSocket client before it is dropped as too slow (16K to 1G)',
    16 * KIB,
    GIB,
    (c) => c.ws.maxQueuedBytes,
    (c, v) => (c.ws.maxQueuedBytes = v),
  ),
  integer(
    'ws.max_swarms',
    'ws-max-swarms',
    'torrents with WebSocket peers at once, over all workers (a shared table of 2 x N x (20 + 4 x workers) bytes)',
    1 << 24,
    (c) => c.ws.maxSwarms,
    (c, v) => (c.ws.maxSwarms = v),
  ),
  {
    key: 'udp.connection_id_lifetime',
    long: 'connection-id-lifetime',
    arg: 'SECONDS',
    help: 'how long a UDP connection ID is accepted (60 to 86400; BEP 15 says 120)',
    show: (c) => String(c.connectionIdLifetime),
    set: (b, v) => (b.config.connectionIdLifetime = parseSeconds(v, 60, 86400)),
  },
  integer(
    'limits.udp_per_source',
    'udp-per-source',
    'UDP requests a second one source (IPv4 address, IPv6 /64) may send on average; over it, no answer (0 = no limit)',
    10_000_000,
    (c) => c.limits.udpPerSource,
    (c, v) => (c.limits.udpPerSource = v),
    0,
  ),
  integer(
    'limits.http_per_source',
    'http-per-source',
    'HTTP requests a second one source (IPv4 address, IPv6 /64) may send on average; over it, 429 (0 = no limit)',
    10_000_000,
    (c) => c.limits.httpPerSource,
    (c, v) => (c.limits.httpPerSource = v),
    0,
  ),
  integer(
    'limits.burst',
    'limit-burst',
    'requests a source may send at once beyond limits.udp_per_source / limits.http_per_source',
    1_000_000,
    (c) => c.limits.burst,
    (c, v) => (c.limits.burst = v),
    0,
  ),
  integer(
    'limits.bad_connection_ids',
    'bad-connection-ids',
    'UDP error packets a source gets for bad or expired connection IDs before those requests are ignored for limits.bad_connection_id_ban (0 = always answer)',
    1_000_000,
    (c) => c.limits.badConnectionIds,
    (c, v) => (c.limits.badConnectionIds = v),
    0,
  ),
  seconds(
    'limits.bad_connection_id_ban',
    'bad-connection-id-ban',
    'how long a source that used up limits.bad_connection_ids has its requests with bad IDs ignored',
    (c) => c.limits.badConnectionIdBan,
    (c, v) => (c.limits.badConnectionIdBan = v),
  ),
  integer(
    'limits.overload_delay',
    'overload-delay',
    'event-loop delay (p99, milliseconds) from which a worker counts as behind and stretches the announce interval (0 = never)',
    60_000,
    (c) => c.limits.overloadDelay,
    (c, v) => (c.limits.overloadDelay = v),
    0,
  ),
  integer(
    'limits.overload_max_factor',
    'overload-max-factor',
    'the most the announce interval is multiplied by while a worker is behind (1 = never stretched)',
    16,
    (c) => c.limits.overloadMaxFactor,
    (c, v) => (c.limits.overloadMaxFactor = v),
  ),
  network('access.stats', 'access-stats', undefined, 'only these networks may read the stats pages (repeatable; none = everyone)', (c) => [c.statsNetworks]),
  network(
    'access.proxy',
    'access-proxy',
    undefined,
    'trusted reverse proxies: their X-Forwarded-For / Forwarded / X-Real-IP names the client (repeatable)',
    (c) => [c.proxyNetworks],
  ),
  network('access.admin', 'admin-ip', 'A', "bless a network with every permission: stats and proxy (opentracker's -A; repeatable)", (c) => [
    c.statsNetworks,
    c.proxyNetworks,
  ]),
  accessPath(
    'access.changes_file',
    'access-changes-file',
    undefined,
    'FILE',
    'journal keeping the access.fifo_add/fifo_delete changes across restarts (default: the list file + .changes)',
    'changesFile',
  ),
  {
    key: 'cluster.nats',
    long: 'cluster-nats',
    arg: 'URL[,URL...]',
    repeatable: true,
    help: 'NATS server(s) to cluster through (nats://host:port, tls://host:port or host:port; repeatable or comma-separated); none = no cluster',
    show: () => '',
    set: (b, v) => {
      for (const url of v.split(',')) b.config.cluster.servers.push(parseNatsUrl(url.trim()));
    },
  },
  clusterText('cluster.user', 'cluster-user', 'USER', 'NATS user name (with cluster.password)', 'user'),
  clusterText('cluster.password', 'cluster-password', 'PASSWORD', 'NATS password (with cluster.user)', 'password'),
  clusterText('cluster.token', 'cluster-token', 'TOKEN', 'NATS authentication token', 'token'),
  file(
    'cluster.nkey_seed_file',
    'cluster-nkey-seed-file',
    'file holding the NKey seed (SU...) this node authenticates with',
    (c) => c.cluster.nkeySeedFile,
    (c, v) => (c.cluster.nkeySeedFile = v),
  ),
  file(
    'cluster.creds_file',
    'cluster-creds-file',
    'NATS credentials file (JWT and NKey seed, as nsc writes them)',
    (c) => c.cluster.credsFile,
    (c, v) => (c.cluster.credsFile = v),
  ),
  {
    key: 'cluster.subject_prefix',
    long: 'cluster-subject-prefix',
    arg: 'PREFIX',
    help: 'NATS subjects used: PREFIX.changes and PREFIX.snapshot (one prefix per cluster)',
    show: (c) => c.cluster.subjectPrefix,
    set: (b, v) => {
      if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(v)) {
        throw new BadValue(`${quote(v)} is not a NATS subject prefix (dot-separated words of letters, digits, - and _)`);
      }
      b.config.cluster.subjectPrefix = v;
    },
  },
  {
    key: 'cluster.node_name',
    long: 'cluster-node-name',
    arg: 'NAME',
    help: "this node's name in NATS and in the logs",
    show: () => 'the host name and a random suffix',
    set: (b, v) => {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw new BadValue(`${quote(v)} is not a node name (1 to 64 letters, digits, ., - and _)`);
      b.config.cluster.nodeName = v;
    },
  },
  file(
    'notices.journal',
    'notices-journal',
    'journal of takedown notices (JSON lines, replayed at start): turns notices on; the hashes they list are blocked',
    (c) => c.noticesJournal,
    (c, v) => (c.noticesJournal = v),
  ),
  {
    key: 'transparency.path',
    long: 'transparency-path',
    arg: 'PATH',
    help: 'path of the public list of takedown notices (HTML or JSON), without a leading / ("" turns it off)',
    show: (c) => c.transparencyPath,
    set: (b, v) => {
      const p = urlPath(b, v, true);
      // Paths are routed like opentracker's: 'a...' announces and 'sc...' scrapes first.
      if (p.startsWith('a') || p.startsWith('sc')) throw new BadValue(`${quote(v)} starts like an announce (a...) or scrape (sc...) URL, which take it over`);
      b.config.transparencyPath = p;
    },
  },
  {
    key: 'admin.listen',
    long: 'admin-listen',
    arg: 'ADDR:PORT|PORT',
    help: 'listen for the admin API of takedown notices here (a bare port: 127.0.0.1); off by default',
    show: (c) => (c.admin.listen === null ? '' : `${c.admin.listen.host}:${c.admin.listen.port}`),
    set: (b, v) => (b.config.admin.listen = /^[0-9]+$/.test(v) ? { host: '127.0.0.1', port: parsePort(v) } : parseHostPort(v, 6970)),
  },
  {
    key: 'admin.token',
    long: 'admin-token',
    arg: 'TOKEN',
    help: `bearer token of the admin API (at least ${MIN_ADMIN_TOKEN_LENGTH} characters; or the SWARMD_ADMIN_TOKEN environment variable, which keeps it out of ps)`,
    show: (c) => (c.admin.token === null ? '' : '(set)'),
    set: (b, v) => {
      if (/[\x00-\x20\x7f]/.test(v)) throw new BadValue('the token contains spaces or control characters');
      b.config.admin.token = v;
    },
  },
  network(
    'admin.networks',
    'admin-networks',
    undefined,
    'only clients from these networks may use the admin API (repeatable; none = anyone reaching admin.listen)',
    (c) => [c.admin.networks],
  ),
  size(
    'admin.max_body',
    'admin-max-body',
    'largest admin API request body (1K to 256M; K/M suffixes); larger ones get 413',
    KIB,
    256 * MIB,
    (c) => c.admin.maxBodyBytes,
    (c, v) => (c.admin.maxBodyBytes = v),
  ),
  {
    key: 'log.level',
    long: 'log-level',
    arg: LOG_LEVELS.join('|'),
    help: 'log messages at this level and above',
    show: (c) => c.logLevel,
    set: (b, v) => (b.config.logLevel = parseChoice<LogLevel>(v, LOG_LEVELS)),
  },
];

export type Unsupported = {
  /** Config file key, if the feature has one. */
  key?: string;
  short?: string;
  long: string;
  arg: string;
  /** What the feature is, for the help text and for switches without a key. */
  what: string;
  /** 'later': "is not supported yet"; 'nats': swarmd clusters over NATS instead. */
  kind: 'later' | 'nats';
};

/** opentracker features not built yet: one line each. */
export const UNSUPPORTED: readonly Unsupported[] = [
  { key: 'livesync.cluster.listen', long: 'livesync-listen', arg: 'IP[:PORT]', what: 'live sync', kind: 'nats' },
  { key: 'livesync.cluster.node_ip', long: 'livesync-node-ip', arg: 'IP[/BITS]', what: 'live sync peers', kind: 'nats' },
  { short: 's', long: 'livesync-port', arg: 'PORT', what: 'live sync', kind: 'nats' },
];

/** "<name> is not supported yet", or the NATS note for live sync. */
export function unsupportedMessage(u: Unsupported, name: string): string {
  return u.kind === 'nats'
    ? `${name} is not supported: swarmd clusters over NATS instead: set cluster.nats and the other cluster.* keys (README: "Running a cluster")`
    : `${name} is not supported yet`;
}

/** Keys opentracker's sample config shows but opentracker never reads: accepted with a warning. */
export const IGNORED_KEYS: readonly string[] = ['batchsync.cluster.admin_ip'];

const settingByKey = new Map(SETTINGS.map((s) => [s.key, s]));
const unsupportedByKey = new Map(UNSUPPORTED.filter((u) => u.key).map((u) => [u.key!, u]));

// ---------------------------------------------------------------- the builder

/**
 * Collects settings in order (switches and config files alike), then resolves them into a
 * Config. Errors are collected, not thrown, so one run reports every bad line.
 */
export class ConfigBuilder {
  readonly config: Config;
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  /** The address for -p and -P (opentracker's -i), and for the default listeners. */
  host: string = DEFAULT_HOST;
  private workersGiven = false;
  private udpWorkers: number | null = null;
  private context = '';

  constructor() {
    this.config = defaultConfig();
    this.config.listeners = [];
  }

  /** Adds a warning, prefixed with the place being read. */
  warn(message: string): void {
    this.warnings.push(this.context + message);
  }

  addListener(proto: Proto, host: string, port: number): void {
    const same = this.config.listeners.find((l) => l.proto === proto && l.host === host && l.port === port);
    if (same) {
      this.warn(`${proto} ${host.includes(':') ? `[${host}]` : host}:${port} is already listed; ignored`);
      return;
    }
    this.config.listeners.push({ proto, host, port });
  }

  setWorkers(n: number): void {
    this.config.workers = n;
    this.workersGiven = true;
  }

  setUdpWorkers(n: number): void {
    this.udpWorkers = n;
  }

  /**
   * Applies one setting. `where` prefixes messages ("FILE:LINE" or the switch), `name` (if not
   * empty) names the setting after it, `suffix` follows them (the quoted line).
   */
  apply(setting: Setting, value: string, where: string, name: string, suffix = ''): void {
    this.inContext(name ? `${where}: ${name}: ` : `${where}: `, () => setting.set(this, value), suffix);
  }

  /**
   * Runs `fn` with `prefix` in front of its warnings; a BadValue it throws becomes an error
   * `prefix + message + suffix`.
   */
  inContext(prefix: string, fn: () => void, suffix = ''): void {
    const before = this.context;
    this.context = prefix;
    try {
      fn();
    } catch (e) {
      if (!(e instanceof BadValue)) throw e;
      this.errors.push(`${prefix}${e.message}${suffix}`);
    } finally {
      this.context = before;
    }
  }

  /** Reads a config file. `where` names what asked for it (a switch), for the can't-open error. */
  readFile(file: string, where = ''): void {
    let content: string;
    try {
      content = fs.readFileSync(file, 'utf8');
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      this.errors.push(`${where ? `${where}: ` : ''}can't open config file ${file}: ${why}`);
      return;
    }
    this.config.configFile = path.resolve(file);
    const lines = content.split('\n');
    if (lines.at(-1) === '') lines.pop();
    lines.forEach((raw, i) => this.readLine(raw, `${file}:${i + 1}`));
  }

  private readLine(raw: string, where: string): void {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const suffix = ` [line: ${quote(raw.trimEnd())}]`;
    const m = /^(\S+)(?:\s+([^]*))?$/.exec(line)!;
    const key = m[1]!;
    const value = m[2] ?? '';
    const setting = settingByKey.get(key);
    const unsupported = unsupportedByKey.get(key);
    if (unsupported) {
      this.errors.push(`${where}: ${unsupportedMessage(unsupported, key)}${suffix}`);
    } else if (IGNORED_KEYS.includes(key)) {
      this.warnings.push(`${where}: ${key} has no effect (opentracker never read it either); ignored`);
    } else if (!setting) {
      this.errors.push(`${where}: unknown key ${quote(key)}${suffix}`);
    } else if (value === '') {
      this.errors.push(`${where}: ${key} needs a value${suffix}`);
    } else {
      this.apply(setting, value, where, key, suffix);
    }
  }

  /**
   * Resolves the collected settings into a Config, or throws ConfigError with every error.
   * `check` runs the checks across settings (skipped for --help and --version).
   */
  finish(check = true): Config {
    const c = this.config;
    if (this.udpWorkers !== null) {
      if (this.workersGiven) {
        this.warnings.push(`listen.udp.workers ${this.udpWorkers} ignored: tracker.workers (--workers) is set`);
      } else {
        c.workers = Math.max(1, this.udpWorkers);
      }
    } else if (!this.workersGiven) {
      c.workers = defaultWorkers();
    }
    if (c.listeners.length === 0) c.listeners = defaultListeners(this.host);
    if (check) {
      const err = (m: string) => this.errors.push(m);
      if (c.intervalVariation >= c.interval) {
        err(`tracker.interval_variation (${c.intervalVariation}) must be less than tracker.interval (${c.interval})`);
      }
      const longest = c.interval + Math.ceil(c.intervalVariation / 2);
      if (c.intervalVariation < c.interval && c.peerTimeout <= longest) {
        err(
          `tracker.peer_timeout (${c.peerTimeout}) must be longer than the longest announce interval handed out ` +
            `(tracker.interval + tracker.interval_variation/2 = ${longest}), or peers expire before they announce again`,
        );
      }
      if (c.numwantDefault > c.numwantMax) {
        err(`tracker.numwant (${c.numwantDefault}) must not be more than tracker.numwant_max (${c.numwantMax})`);
      }
      if (c.deniabilityPercent > 0 && c.deniabilityRanges.length === 0) {
        err('tracker.deniability needs at least one tracker.deniability_range to draw addresses from');
      }
      const tls = c.listeners.some((l) => l.proto === 'tls');
      if (tls && (c.tls.cert === null || c.tls.key === null)) err('listen.tls needs tls.cert and tls.key (PEM files)');
      if (!tls && (c.tls.cert !== null || c.tls.key !== null)) this.warnings.push('tls.cert and tls.key have no effect without a listen.tls listener');
      const a = c.access;
      if (a.whitelist !== null && a.blacklist !== null) {
        err(`access.whitelist (${a.whitelist}) and access.blacklist (${a.blacklist}) can't be used together: choose one`);
      }
      if (a.whitelist === null && a.blacklist === null) {
        for (const [key, value] of [
          ['access.fifo_add', a.fifoAdd],
          ['access.fifo_delete', a.fifoDelete],
          ['access.changes_file', a.changesFile],
        ]) {
          if (value !== null) err(`${key} needs access.whitelist or access.blacklist (it changes that list)`);
        }
      }
      const k = c.cluster;
      const credentials = [
        ['cluster.user', k.user ?? k.password],
        ['cluster.token', k.token],
        ['cluster.nkey_seed_file', k.nkeySeedFile],
        ['cluster.creds_file', k.credsFile],
      ]
        .filter(([, v]) => v !== null)
        .map(([key]) => key);
      if (credentials.length > 1) err(`${credentials.join(' and ')} can't be used together: give one kind of NATS credentials`);
      if ((k.user === null) !== (k.password === null)) err('cluster.user and cluster.password go together: give both');
      if (credentials.length > 0 && k.servers.length === 0) err(`${credentials[0]} needs cluster.nats (the NATS servers to cluster through)`);
      if (c.admin.listen !== null) {
        if (c.noticesJournal === null) err('admin.listen needs notices.journal (where the notices filed through it are kept)');
        if (c.admin.token === null) err('admin.listen needs a token: admin.token or the SWARMD_ADMIN_TOKEN environment variable');
      }
      if (c.admin.token !== null && c.admin.token.length < MIN_ADMIN_TOKEN_LENGTH) {
        err(`admin.token is too short: at least ${MIN_ADMIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`);
      }
      if (a.fifoAdd !== null && a.fifoAdd === a.fifoDelete) {
        err(`access.fifo_add and access.fifo_delete must be two different named pipes (both are ${a.fifoAdd})`);
      }
    }
    if (this.errors.length > 0) throw new ConfigError(this.errors);
    return c;
  }
}

/**
 * Reads one config file into a full Config (defaults for everything else, the default listeners
 * if the file binds nothing). Throws ConfigError listing every bad line.
 */
export function parseConfigFile(file: string): { config: Config; warnings: string[] } {
  const b = new ConfigBuilder();
  b.readFile(file);
  const config = b.finish();
  return { config, warnings: b.warnings };
}
