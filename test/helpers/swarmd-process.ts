// A real swarmd process for tests that need the program as operators run it (the CLI, the
// packed package, the image's steps, promtool against /metrics): started with any command and
// environment, awaited until its "swarmd listening" log line, stopped with SIGTERM.

import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';

export const SWARMD_BIN = new URL('../../bin/swarmd.js', import.meta.url).pathname;

/** A port free for both TCP and UDP on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

export interface SwarmdProcess {
  child: ChildProcess;
  /** The JSON log lines so far. */
  lines: Record<string, unknown>[];
  /** What stderr said so far. */
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `command args` and resolves once it logs "swarmd listening" (rejects if it exits first). */
export async function startSwarmd(command: string, args: string[], options: SpawnOptions = {}, timeoutMs = 30_000): Promise<SwarmdProcess> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`swarmd not listening after ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ msg: line });
      }
      if (lines.at(-1)!.msg === 'swarmd listening') {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`swarmd exited with ${code} before listening; stderr: ${err}; stdout: ${JSON.stringify(lines)}`));
    });
  });
  return {
    child,
    lines,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
