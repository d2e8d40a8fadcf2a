// Child processes and ports for the tests that run programs: swarmd itself (bin/swarmd.js), the
// real BitTorrent clients, nats-server. A child's output is kept; it dies with the test process.

import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import net from 'node:net';

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
export async function freePort(host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<number> {
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

/** Polls `probe` until it returns true; throws with `describe()` after `timeoutMs`. */
export async function waitUntil(probe: () => Promise<boolean> | boolean, timeoutMs: number, describe: () => string | Promise<string>): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s: ${await describe()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
