// `swarmd notices add|list|show|lift`: the admin API from the command line.
//
// Where the API is: --url, else SWARMD_ADMIN_URL, else admin.listen of the config file (--config /
// -f, else SWARMD_CONFIG). The token: --token-file, else SWARMD_ADMIN_TOKEN, else admin.token of
// that config file (never a command-line argument: other users see those in ps).

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigBuilder } from '../config/config-file.ts';
import { splitLines } from '../text/lines.ts';
import type { FieldError } from './notice.ts';
import type { NoticeSummary, NoticeView } from './registry.ts';

const USAGE = `usage:
  swarmd notices add FILE [--id ID] [--received DATE] [--sender NAME] [--on-behalf-of NAME] [--note TEXT]
      FILE ('-' for standard input) is a notice as JSON ({"id", "received", "sender", "on_behalf_of",
      "hashes", "note"}) or a list of info hashes, one a line (hex, base32 or magnet links; # comments);
      the options give or replace the other fields.
  swarmd notices list [--json]
  swarmd notices show ID
  swarmd notices lift ID --reason TEXT [--hash HASH]...   (without --hash: every hash of the notice)
common options:
  --url URL           the admin API (default: SWARMD_ADMIN_URL, or admin.listen of the config file)
  --config, -f FILE   config file to read admin.listen and admin.token from (default: SWARMD_CONFIG)
  --token-file FILE   file holding the token (default: SWARMD_ADMIN_TOKEN, or admin.token of the config file)
`;

class UsageError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;
type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

/** Runs one `swarmd notices` command; returns the exit code (0 done, 1 refused or failed, 2 usage). */
/** The switches of `swarmd notices`. */
const OPTIONS = {
  url: { type: 'string' },
  config: { type: 'string', short: 'f' },
  'token-file': { type: 'string' },
  id: { type: 'string' },
  received: { type: 'string' },
  sender: { type: 'string' },
  'on-behalf-of': { type: 'string' },
  note: { type: 'string' },
  reason: { type: 'string' },
  hash: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function noticesCommand(
  argv: string[],
  env: Env = process.env,
  out: Out = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  },
): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
    const [command, ...args] = positionals;
    if (values.help || command === undefined) {
      out.stdout(USAGE);
      return values.help ? 0 : 2;
    }
    const expect = (n: number, what: string) => {
      if (args.length !== n) throw new UsageError(`swarmd notices ${command} takes ${what}`);
    };
    const api = adminApi(values, env);
    switch (command) {
      case 'add': {
        expect(1, 'one FILE');
        const notice = readNotice(args[0]!, values);
        const r = await api('POST', '/notices', notice);
        if (!r.ok) return refused(r, out);
        const n = r.body as NoticeView;
        out.stdout(`notice ${n.id} filed: ${n.listed} info hashes listed, ${n.new} new, ${n.duplicates} duplicates\n`);
        return 0;
      }
      case 'list': {
        expect(0, 'no arguments');
        const r = await api('GET', '/notices');
        if (!r.ok) return refused(r, out);
        const notices = (r.body as { notices: NoticeSummary[] }).notices;
        out.stdout(values.json ? JSON.stringify(notices, null, 1) + '\n' : table(notices));
        return 0;
      }
      case 'show': {
        expect(1, 'one notice ID');
        const r = await api('GET', `/notices/${encodeURIComponent(args[0]!)}`);
        if (!r.ok) return refused(r, out);
        out.stdout(JSON.stringify(r.body, null, 1) + '\n');
        return 0;
      }
      case 'lift': {
        expect(1, 'one notice ID');
        if (values.reason === undefined) throw new UsageError('swarmd notices lift needs --reason TEXT');
        const body = { reason: values.reason, ...(values.hash ? { hashes: values.hash } : {}) };
        const r = await api('POST', `/notices/${encodeURIComponent(args[0]!)}/lift`, body);
        if (!r.ok) return refused(r, out);
        const n = r.body as NoticeView;
        out.stdout(`notice ${n.id}: ${n.lifted} of its ${n.hashes.length} info hashes lifted\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.stderr(`swarmd notices: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    out.stderr(`swarmd notices: ${(e as Error).message}\n`);
    return 1;
  }
}

type Reply = { ok: boolean; status: number; body: unknown };

/** A function calling the admin API, with the URL and token found as the header says. */
function adminApi(values: { url?: string; config?: string; 'token-file'?: string }, env: Env) {
  const configFile = values.config ?? env.SWARMD_CONFIG;
  let fromFile: { url: string | null; token: string | null } | null = null;
  const file = () => {
    if (fromFile !== null) return fromFile;
    if (configFile === undefined) return (fromFile = { url: null, token: null });
    const b = new ConfigBuilder();
    b.readFile(configFile);
    const c = b.finish(false);
    const l = c.admin.listen;
    return (fromFile = { url: l === null ? null : `http://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`, token: c.admin.token });
  };
  return async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const url = values.url ?? env.SWARMD_ADMIN_URL ?? file().url;
    if (!url) throw new UsageError('where is the admin API? give --url, SWARMD_ADMIN_URL, or a config file with admin.listen (--config)');
    const token = values['token-file'] !== undefined ? fs.readFileSync(values['token-file'], 'utf8').trim() : env.SWARMD_ADMIN_TOKEN?.trim() || file().token;
    if (!token) throw new UsageError('no admin token: give --token-file, SWARMD_ADMIN_TOKEN, or a config file with admin.token');
    let res: Response;
    try {
      res = await fetch(new URL(path, url), {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new Error(`can't reach the admin API at ${url}: ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`, { cause: e });
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: shown as it is
    }
    return { ok: res.ok, status: res.status, body: parsed };
  };
}

/** The notice to file: the JSON file, or the list of hashes, with the options' fields over it. */
function readNotice(file: string, values: Record<string, unknown>): Record<string, unknown> {
  const bytes = fs.readFileSync(file === '-' ? 0 : file);
  const text = bytes.toString('utf8');
  let notice: Record<string, unknown>;
  if (text.trimStart().startsWith('{')) {
    try {
      notice = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`${file} is not JSON: ${(e as Error).message}`);
    }
  } else {
    const hashes: string[] = [];
    splitLines(
      bytes,
      (b, start, end) => {
        const line = b.toString('utf8', start, end).trim();
        if (line !== '' && !line.startsWith('#')) hashes.push(line);
      },
      true,
    );
    notice = { hashes };
  }
  const fields: [string, string][] = [
    ['id', 'id'],
    ['received', 'received'],
    ['sender', 'sender'],
    ['on-behalf-of', 'on_behalf_of'],
    ['note', 'note'],
  ];
  for (const [option, field] of fields) if (values[option] !== undefined) notice[field] = values[option];
  return notice;
}

function refused(r: Reply, out: Out): number {
  const body = r.body as { error?: string; errors?: FieldError[] } | string;
  if (typeof body === 'object' && body !== null && body.error !== undefined) {
    out.stderr(`swarmd notices: refused (${r.status}): ${body.error}\n`);
    for (const e of body.errors ?? []) out.stderr(`  ${e.field || '(body)'}: ${e.message}\n`);
  } else {
    out.stderr(`swarmd notices: refused (${r.status}): ${String(body).slice(0, 500)}\n`);
  }
  return 1;
}

function table(notices: NoticeSummary[]): string {
  const rows = [['ID', 'RECEIVED', 'SENDER', 'ON BEHALF OF', 'LISTED', 'NEW', 'DUPLICATES', 'LIFTED']];
  for (const n of notices) rows.push([n.id, n.received, n.sender, n.on_behalf_of, String(n.listed), String(n.new), String(n.duplicates), String(n.lifted)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
