// opentracker's switches (processed in order, like its getopt loop), long options for every
// config key, and the help text.

import { parseArgs } from 'node:util';
import { DEFAULT_HOST, DEFAULT_PORT, defaultConfig } from './config.ts';
import type { Config, Proto } from './config.ts';
import { ConfigBuilder, SETTINGS, UNSUPPORTED, checkPath, parseAddress, parsePort, unsupportedMessage } from './config-file.ts';
import type { Setting, Unsupported } from './config-file.ts';

/** 'check': --check-config, parse and validate, then check what the config names; never start. */
export type Action = 'run' | 'check' | 'help' | 'version';

export type CommandLine = {
  /** 'help' and 'version' stop at that switch, as opentracker's -h and -v exit there. */
  action: Action;
  config: Config;
  warnings: string[];
};

export type Env = Readonly<Record<string, string | undefined>>;

/** Switches that are not config keys. */
export type Switch = { long: string; short?: string; arg?: string; help: string };

export const SWITCHES: readonly Switch[] = [
  { long: 'config', short: 'f', arg: 'FILE', help: 'read a config file at this point; later switches override it' },
  { long: 'ip', short: 'i', arg: 'ADDR', help: `address for the -p and -P that follow (default: ${DEFAULT_HOST})` },
  { long: 'tcp-port', short: 'p', arg: 'PORT', help: 'listen for HTTP (TCP) on the current -i address; repeatable' },
  { long: 'udp-port', short: 'P', arg: 'PORT', help: 'listen for UDP on the current -i address; repeatable' },
  {
    long: 'load-state',
    short: 'l',
    arg: 'FILE',
    help: "load this state dump at start (opentracker's -l; plain or gzipped). Without tracker.state_file, dumps are also written to it",
  },
  { long: 'help', short: 'h', help: 'show this help and exit' },
  { long: 'version', short: 'v', help: 'show the version and exit' },
  {
    long: 'check-config',
    short: 't',
    help:
      'check the configuration and exit (0: fine, 1: errors, each named with its file:line or switch): parse and validate ' +
      'every setting, then check the files and directories it names (certificates, lists, state and journal ' +
      'directories, the user). Opens no socket and writes nothing; the other switches still apply',
  },
];

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

function buildOptions(): Record<string, OptionSpec> {
  const options: Record<string, OptionSpec> = {};
  const add = (long: string, type: 'string' | 'boolean', short?: string) => {
    if (options[long]) throw new Error(`duplicate long option --${long}`);
    options[long] = short ? { type, short } : { type };
  };
  for (const s of SWITCHES) add(s.long, s.arg ? 'string' : 'boolean', s.short);
  for (const s of SETTINGS) add(s.long, s.flag ? 'boolean' : 'string', s.short);
  for (const u of UNSUPPORTED) add(u.long, 'string', u.short);
  return options;
}

const OPTIONS = buildOptions();
const settingByLong = new Map(SETTINGS.map((s) => [s.long, s]));
const unsupportedByLong = new Map(UNSUPPORTED.map((u) => [u.long, u]));
const logLevelSetting = SETTINGS.find((s) => s.key === 'log.level')!;

/** Every long option name (without `--`), for tests and completion. */
export function longOptions(): string[] {
  return Object.keys(OPTIONS);
}

/**
 * Parses the command line (the arguments only: process.argv.slice(2)).
 *
 * The environment is read first: SWARMD_LOG_LEVEL (a log.level value) and SWARMD_CONFIG (a
 * config file read before any switch). Then switches are applied in order, like opentracker's
 * getopt loop: -i sets the address for the -p and -P that follow, -f reads a file right there.
 * Every error is collected; if there is any, a ConfigError listing them all is thrown.
 */
export function parseCommandLine(argv: readonly string[], env: Env = process.env): CommandLine {
  const b = new ConfigBuilder();
  if (env.SWARMD_LOG_LEVEL) b.apply(logLevelSetting, env.SWARMD_LOG_LEVEL.trim(), 'SWARMD_LOG_LEVEL', '');
  if (env.SWARMD_CONFIG) b.readFile(env.SWARMD_CONFIG, 'SWARMD_CONFIG');

  const { tokens } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    allowNegative: true,
    tokens: true,
  });

  let action: Action = 'run';
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      b.errors.push(`unexpected argument ${JSON.stringify(t.value)} (swarmd takes options only)`);
      continue;
    }
    const raw = t.rawName;
    const negated = raw.startsWith('--no-') && t.name === raw.slice(5);
    const spec = OPTIONS[t.name];
    if (!spec || (negated && !settingByLong.get(t.name)?.flag)) {
      const flag = t.name.startsWith('no-') && settingByLong.get(t.name.slice(3))?.flag;
      b.errors.push(flag ? `${raw} does not take a value` : `unknown option ${raw}`);
      continue;
    }
    if (t.name === 'check-config') {
      if (t.value !== undefined) b.errors.push(`${raw} does not take a value`);
      else if (action === 'run') action = 'check';
      continue;
    }
    if (t.name === 'help' || t.name === 'version') {
      if (t.value !== undefined) {
        b.errors.push(`${raw} does not take a value`);
        continue;
      }
      action = t.name;
      break;
    }
    const setting = settingByLong.get(t.name);
    if (setting?.flag) {
      if (negated && t.value !== undefined) b.errors.push(`${raw} does not take a value`);
      else b.apply(setting, negated ? 'no' : (t.value ?? 'yes').trim(), raw, '');
      continue;
    }
    const value = t.value?.trim();
    if (value === undefined || value === '') {
      b.errors.push(`${raw} needs a value`);
      continue;
    }
    const unsupported = unsupportedByLong.get(t.name);
    if (unsupported) {
      b.errors.push(unsupportedMessage(unsupported, unsupported.key ? `${raw}: ${unsupported.key}` : `${raw} (${unsupported.what})`));
    } else if (setting) {
      b.apply(setting, value, raw, '');
    } else {
      runSwitch(b, t.name, raw, value);
    }
  }

  const token = env.SWARMD_ADMIN_TOKEN?.trim();
  if (token && b.config.admin.token === null) b.config.admin.token = token;

  if ((action === 'help' || action === 'version') && b.errors.length === 0) return { action, config: b.finish(false), warnings: b.warnings };
  const config = b.finish(true);
  return { action, config, warnings: b.warnings };
}

function runSwitch(b: ConfigBuilder, name: string, raw: string, value: string): void {
  b.inContext(`${raw}: `, () => {
    switch (name) {
      case 'config':
        b.readFile(value, raw);
        break;
      case 'ip':
        b.host = parseAddress(value);
        break;
      case 'tcp-port':
      case 'udp-port': {
        const proto: Proto = name === 'tcp-port' ? 'tcp' : 'udp';
        b.addListener(proto, b.host, parsePort(value));
        break;
      }
      case 'load-state':
        b.config.loadState = checkPath(value);
        break;
      default:
        throw new Error(`no handler for --${name}`);
    }
  });
}

// ---------------------------------------------------------------- help

/** What swarmd's exit status means (the help text, the man page and the README list it). */
export const EXIT_STATUS: readonly (readonly [number, string])[] = [
  [0, 'stopped cleanly (SIGTERM, SIGINT); --help, --version; --check-config found nothing wrong'],
  [
    1,
    'a usage or configuration error (every one is printed on standard error with its file:line or switch); --check-config found errors; a Node.js older than 24; `swarmd notices` failed',
  ],
  [2, '`swarmd notices` was called wrongly (a usage error)'],
  [
    111,
    "could not start or could not drop privileges: a socket that can't be bound, a state dump or list that can't be read, ... (opentracker's code for fatal errors); the log says why",
  ],
];

const WIDTH = 79;

function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/)) {
    if (line.length > indent.length && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent;
    }
    line += (line.length > indent.length ? ' ' : '') + word;
  }
  lines.push(line);
  return lines.join('\n');
}

function optionLine(long: string, arg: string | undefined, short: string | undefined, flag = false): string {
  const names = (short ? `-${short}, ` : '    ') + (flag ? `--[no-]${long}[=${arg}]` : `--${long}`);
  return `  ${names}${arg && !flag ? ` ${arg}` : ''}`;
}

/**
 * A setting's default as the help shows it ('' for settings that have none to show);
 * `portable`: in words where it depends on the machine (for the man page).
 */
export function settingDefault(s: Setting, defaults: Config, portable = false): string {
  if (s.repeatable || s.key === 'listen.udp.workers') return '';
  const shown = portable && s.dflt !== undefined ? s.dflt : s.show(defaults);
  return shown === '' ? 'none' : shown;
}

function settingEntry(s: Setting, defaults: Config): string {
  const shown = settingDefault(s, defaults);
  const dflt = shown === '' ? '' : ` Default: ${shown}.`;
  return `${optionLine(s.long, s.arg, s.short, s.flag)}\n${wrap(`${s.help}. Key: ${s.key}.${dflt}`, '        ')}`;
}

/** The environment variables swarmd reads (before any switch). */
export const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['SWARMD_CONFIG=FILE', 'a config file read before the switches'],
  ['SWARMD_LOG_LEVEL=LEVEL', 'the log level unless a file or switch sets one'],
  ['SWARMD_ADMIN_TOKEN=TOKEN', "the admin API's token unless admin.token is set"],
];

function unsupportedEntry(u: Unsupported): string {
  const what = u.kind === 'nats' ? `${u.what} (swarmd clusters over NATS instead)` : u.what;
  return `${optionLine(u.long, u.arg, u.short)}\n${wrap(`${what}.${u.key ? ` Key: ${u.key}.` : ''}`, '        ')}`;
}

/** The help text: every switch and long option, with defaults (computed for this machine). */
export function helpText(program = 'swarmd'): string {
  const defaults = defaultConfig();
  const out: string[] = [];
  out.push(`Usage: ${program} [-i ip] [-p port] [-P port] [-f config] [-r redirect] [-d dir] [-u user] [--option value ...]`);
  out.push('');
  out.push(
    wrap(
      'A BitTorrent tracker (HTTP and UDP), a drop-in replacement for opentracker. Switches are ' +
        'processed in order: -i sets the address for the -p and -P after it, and -f reads a config file ' +
        'at that point, so later switches override it. Every config key has a long option taking the same ' +
        `value. If nothing is bound (no -p, -P, --listen-* or listen.* line), swarmd listens on TCP and UDP ` +
        `port ${DEFAULT_PORT} of the last -i address (default ${DEFAULT_HOST}, which is every IPv6 and IPv4 address).`,
      '',
    ),
  );
  out.push('');
  out.push('Switches:');
  const byShort = (letter: string) => SETTINGS.find((s) => s.short === letter)!;
  for (const sw of SWITCHES.slice(0, 5)) out.push(`${optionLine(sw.long, sw.arg, sw.short)}\n${wrap(`${sw.help}.`, '        ')}`);
  for (const letter of ['r', 'd', 'u', 'A', 'w', 'b']) out.push(settingEntry(byShort(letter), defaults));
  for (const sw of SWITCHES.slice(5)) out.push(`${optionLine(sw.long, sw.arg, sw.short)}\n${wrap(`${sw.help}.`, '        ')}`);
  out.push('');
  out.push('Settings (long option, then its config file key):');
  for (const s of SETTINGS) if (!s.short) out.push(settingEntry(s, defaults));
  out.push('');
  out.push('Not supported yet (an error if given):');
  for (const u of UNSUPPORTED) out.push(unsupportedEntry(u));
  out.push('');
  out.push('Environment (read before any switch):');
  for (const [name, what] of ENVIRONMENT) out.push(`  ${name}\n${wrap(`${what}.`, '        ')}`);
  out.push('');
  out.push(`Takedown notices: ${program} notices add|list|show|lift ... (${program} notices --help).`);
  out.push('');
  out.push('Exit status:');
  for (const [code, what] of EXIT_STATUS) out.push(`${String(code).padStart(5)}  ${wrap(what, '       ').trimStart()}`);
  out.push('');
  out.push(`Example: ${program} -i 127.0.0.1 -p 6969 -P 6969 -f ./opentracker.conf -i 10.1.1.23 -p 2710 -p 80`);
  return out.join('\n') + '\n';
}
