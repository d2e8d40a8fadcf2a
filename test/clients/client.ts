// What the end-to-end tests need around the real BitTorrent clients: the tool check (a missing
// client fails the test in CI, skips it elsewhere) and the test torrent (a random file and a
// .torrent made by mktorrent naming only swarmd). Child processes and free ports are in
// test/helpers/process.ts, scrapes in test/helpers/http-client.ts.

import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decode } from '../../src/protocol/bencode.ts';
import type { BValue } from '../../src/protocol/bencode.ts';

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
