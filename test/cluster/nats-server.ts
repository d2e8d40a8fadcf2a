// A real nats-server (Debian's, installed by scripts/test-setup.sh) on loopback, on a free port,
// for the cluster tests. Outside CI a missing binary skips those tests (saying why); in CI
// (CI=true) it fails them.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '../helpers/process.ts';

export const NATS_SERVER = '/usr/sbin/nats-server';

/** Why the cluster tests can't run here, or null when they can. Throws in CI. */
export function natsMissing(): string | null {
  if (existsSync(NATS_SERVER)) return null;
  const why = `${NATS_SERVER} is missing: install Debian's nats-server (scripts/test-setup.sh does)`;
  if (process.env.CI === 'true') throw new Error(why);
  return why;
}

export class NatsServer {
  readonly port: number;
  private readonly args: string[];
  private child: ChildProcess | null = null;

  private constructor(port: number, args: string[]) {
    this.port = port;
    this.args = args;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts nats-server on 127.0.0.1 (extra arguments: credentials). */
  static async start(args: string[] = []): Promise<NatsServer> {
    const s = new NatsServer(await freePort(), args);
    await s.restart();
    return s;
  }

  /** (Re)starts the server on its port; resolves once it accepts clients. */
  async restart(): Promise<void> {
    const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), ...this.args], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${output}`)), 10_000);
      child.stderr!.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}): ${output}`));
      });
    });
    child.stderr!.resume();
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
