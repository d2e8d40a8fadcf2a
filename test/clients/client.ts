// What the end-to-end tests need around the real BitTorrent clients: the tool check (a missing
// client fails the test in CI, skips it elsewhere), the test torrent (a random file and a
// .torrent made by mktorrent naming only swarmd), running a client as a child process that is
// always killed, free ports, and scrapes.

import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decode } from '../../src/protocol/bencode.ts';
import type { BValue } from '../../src/protocol/bencode.ts';
import { get } from '../helpers/http-client.ts';
import { percentEncode } from '../helpers/tracker.ts';

export type Host = '127.0.0.1' | '::1';

/** A client taking part in one swarm. */
export interface RunningClient {
  readonly name: string;
  /**
   * Stops the client as a user would (its tracker hears event=stopped) and waits for its exit.
   * `heard` tells whether the tracker has heard it, for a client that must not quit before.
   */
  stop(heard?: () => Promise<boolean>): Promise<void>;
  /** SIGKILL, for clean-up after a failure; harmless once it has exited. */
  kill(): void;
  /** The last lines it printed, for failure messages. */
  output(): string;
}

export interface ClientStart {
  torrent: string;
  /** Where the file is (seeding) or goes (downloading). */
  dir: string;
  host: Host;
  seed: boolean;
  /** A directory of the client's own (config, state). */
  home: string;
}

export interface ClientDriver {
  readonly name: string;
  /** Programs it needs (checked before the tests). */
  readonly tools: string[];
  start(s: ClientStart): Promise<RunningClient>;
}

/** The programs missing from PATH (absolute paths are checked as they are). */
export function missingTools(tools: string[]): string[] {
  return tools.filter((t) => spawnSync('sh', ['-c', `command -v "$0"`, t]).status !== 0);
}

/** A child process whose output is kept (last lines) and which dies with the test process. */
export class Child {
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly tail: string[] = [];
  private readonly listeners: ((line: string) => void)[] = [];

  constructor(cmd: string, args: string[], opts: SpawnOptions = {}) {
    this.process = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
      this.process.once('error', (err) => {
        this.tail.push(String(err));
        resolve(-1);
      });
    });
    let pending = '';
    const onData = (d: Buffer) => {
      pending += d.toString('utf8');
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        this.tail.push(line);
        if (this.tail.length > 30) this.tail.shift();
        for (const l of this.listeners) l(line);
      }
    };
    this.process.stdout?.on('data', onData);
    this.process.stderr?.on('data', onData);
  }

  onLine(listener: (line: string) => void): void {
    this.listeners.push(listener);
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals, graceMs = 15_000): Promise<number | null> {
    if (!this.running) return this.exited;
    this.process.kill(signal);
    const timer = setTimeout(() => this.kill(), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.running) this.process.kill('SIGKILL');
  }

  output(): string {
    return this.tail.join('\n');
  }
}

/** A port free on `host` for TCP and UDP (asked of the kernel, then released). */
export async function freePort(host: Host): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, host, () => {
        const a = srv.address();
        srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    // ports well inside the ephemeral range are handed out again soon: keep to those < 60000
    if (port > 1024 && port < 60000) return port;
  }
}

export interface TestTorrent {
  /** The directory holding the original file. */
  dir: string;
  file: string;
  torrent: string;
  infoHash: Buffer;
  content: Buffer;
}

/** A random file of `size` bytes and its private .torrent (mktorrent) naming only `announce`. */
export async function makeTorrent(root: string, name: string, size: number, announce: string): Promise<TestTorrent> {
  const dir = join(root, `${name}-seed`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.bin`);
  const content = randomBytes(size);
  writeFileSync(file, content);
  const torrent = join(root, `${name}.torrent`);
  // -p private: no DHT or PEX for it in any client; -l 15: 32 KiB pieces (mktorrent's smallest)
  // asynchronous: the test process runs the tracker's main thread and must not block
  await promisify(execFile)('mktorrent', ['-p', '-l', '15', '-a', announce, '-o', torrent, file]);
  const meta = decode(readFileSync(torrent)) as Map<string, BValue>;
  const info = meta.get('info') as Map<string, BValue>;
  const announced = Buffer.from(meta.get('announce') as Uint8Array).toString();
  if (announced !== announce || meta.has('announce-list')) throw new Error(`the torrent names ${announced}, not only ${announce}`);
  return { dir, file, torrent, infoHash: infoHashOf(readFileSync(torrent), info), content };
}

/** SHA-1 of the bencoded info dictionary, as it is in the file (its bytes end just before the last 'e'). */
function infoHashOf(raw: Buffer, info: Map<string, BValue>): Buffer {
  const start = raw.indexOf('4:info') + 6;
  const bytes = raw.subarray(start, raw.length - 1); // "info" sorts after every other key mktorrent writes
  const check = decode(bytes) as Map<string, BValue>;
  if (check.size !== info.size) throw new Error('could not find the info dictionary');
  return createHash('sha1').update(bytes).digest();
}

export interface ScrapeCounts {
  complete: number;
  incomplete: number;
  downloaded: number;
}

/** An HTTP scrape of one torrent. */
export async function scrape(port: number, infoHash: Buffer): Promise<ScrapeCounts> {
  const r = await get('127.0.0.1', port, `/scrape?info_hash=${percentEncode(infoHash)}`);
  const files = (decode(r.body) as Map<string, BValue>).get('files') as Map<string, BValue>;
  const entry = files.get(infoHash.toString('latin1')) as Map<string, BValue> | undefined;
  if (!entry) return { complete: 0, incomplete: 0, downloaded: 0 };
  return { complete: Number(entry.get('complete')), incomplete: Number(entry.get('incomplete')), downloaded: Number(entry.get('downloaded')) };
}

/** Polls `probe` until it returns true; throws with `describe()` after `timeoutMs`. */
export async function waitUntil(probe: () => Promise<boolean> | boolean, timeoutMs: number, describe: () => string | Promise<string>): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s: ${await describe()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
