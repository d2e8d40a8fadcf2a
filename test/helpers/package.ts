// What the packaging tests share: a copy of the source tree (so no test writes dist/ or a
// tarball into the checkout), `npm pack` of it, and a Node.js 24 that is not the dev tree's,
// standing in for a server's system Node (Debian's or NodeSource's package, or the official
// binary): the `node` package's platform binary (the official build: bin/node, include/node),
// installed with npm from its cache into a prefix of its own, once per version and machine.
// Environments built here have no trace of the checkout's node_modules on PATH; they keep the
// machine's proxy and CA settings, which npm needs to reach the registry for package metadata.

import { execFileSync, spawnSync } from 'node:child_process';
import type { SpawnSyncOptions } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
/** The Node.js the dev tree uses, the same version as a server's. */
export const NODE_VERSION: string = pkg.devDependencies.node;

/** Runs a command, throwing with its output if it fails. */
export function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}${r.error ?? ''}`);
  return String(r.stdout);
}

/**
 * The directory of a Node.js NODE_VERSION binary that is not the dev tree's. Installed under
 * the system's temporary directory and kept there (keyed by version); a concurrent install in
 * another test process is harmless: each installs into its own directory and renames it.
 */
export function systemNodeBin(): string {
  const home = join(tmpdir(), `swarmd-test-node-${NODE_VERSION}`);
  const bin = join(home, 'node_modules', 'node', 'node_modules', `node-linux-${process.arch}`, 'bin');
  if (existsSync(join(bin, 'node'))) return bin;
  const staging = mkdtempSync(`${home}-`);
  chmodSync(staging, 0o755); // unprivileged users run it too (the image test's)
  run('npm', ['install', '--prefix', staging, '--prefer-offline', '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `node@${NODE_VERSION}`], {
    env: freshEnv('/nonexistent'),
  });
  try {
    renameSync(staging, home);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another process got there first
  }
  const version = run(join(bin, 'node'), ['--version']).trim();
  if (version !== `v${NODE_VERSION}`) throw new Error(`${bin}/node is ${version}, not v${NODE_VERSION}`);
  return bin;
}

/** An environment like a server's: `nodeBin` first on PATH, then the system's directories. */
export function freshEnv(nodeBin: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: `${nodeBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    TMPDIR: process.env.TMPDIR,
    npm_config_cache: process.env.npm_config_cache,
    npm_config_prefer_offline: 'true',
    ...extra,
  };
  // The machine's own network settings (a proxy, an extra CA), as a server would have its own.
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|(https?|no|all)_proxy)$/i.test(k)) env[k] = v;
  }
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env;
}

/** The checkout's files (tracked and new, .gitignore honoured) copied to `dest`. */
export function copySource(dest: string): string {
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }).split('\0').filter(Boolean);
  for (const file of files) {
    const from = join(ROOT, file);
    if (!existsSync(from)) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    cpSync(from, join(dest, file));
  }
  return dest;
}

/** `npm pack` of a copy of the checkout (prepack builds dist/ there): the tarball's path. */
export function packTarball(work: string): string {
  const src = copySource(join(work, 'src-copy'));
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules')); // TypeScript for the build
  const out = join(work, 'pack');
  mkdirSync(out);
  run('npm', ['pack', '--pack-destination', out, '--loglevel=error'], { cwd: src, env: freshEnv(dirname(process.execPath)) });
  const [tgz] = readdirSync(out).filter((f) => f.endsWith('.tgz'));
  if (tgz === undefined) throw new Error('npm pack wrote no tarball');
  return join(out, tgz);
}

/** A temporary directory, and its removal. */
export function workDir(label: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `swarmd-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Files in a tarball. */
export function tarballFiles(tgz: string): string[] {
  return execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
}

/**
 * Announces to a running swarmd as clients would and checks the answers: a seeder over HTTP,
 * then a leecher over UDP, which must be handed the seeder; then an HTTP scrape counting both.
 */
export async function announceOverHttpAndUdp(port: number, label: string): Promise<void> {
  const { get } = await import('./http-client.ts');
  const { UdpClient, announcePacket, parseAnnounceReply } = await import('./udp-client.ts');
  const { infoHash, percentEncode } = await import('./tracker.ts');
  const hash = infoHash(label);
  const http = await get('127.0.0.1', port, `/announce?info_hash=${percentEncode(hash)}&peer_id=-TEST-${'1'.repeat(14)}&port=51413&left=0&compact=1`);
  if (http.status !== 200 || !http.body.includes('8:intervali')) throw new Error(`HTTP announce: ${http.status} ${http.body}`);
  const udp = await UdpClient.open('127.0.0.1', port);
  try {
    const answer = await udp.request(announcePacket({ connectionId: await udp.connect(), transactionId: 7, infoHash: hash, port: 6881 }));
    if (answer === null) throw new Error('UDP announce: no answer');
    const reply = parseAnnounceReply(answer, false);
    if (reply.seeders !== 1 || !reply.peers.includes('127.0.0.1:51413')) throw new Error(`UDP announce: ${JSON.stringify(reply)}`);
  } finally {
    udp.close();
  }
  const scrape = await get('127.0.0.1', port, `/scrape?info_hash=${percentEncode(hash)}`);
  if (!scrape.body.includes('8:completei1e') || !scrape.body.includes('10:incompletei1e')) throw new Error(`scrape: ${scrape.body}`);
}
