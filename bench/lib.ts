// Helpers of the bench orchestrator (run.ts): child processes that are always stopped, CPU
// and memory readings from /proc, free loopback ports, readiness probes, and a check that a
// server binds nothing but loopback.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';

// ---------------------------------------------------------------- processes
const children = new Set<ChildProcess>();
let stopping = false;

export interface Proc {
  child: ChildProcess;
  pid: number;
  name: string;
  exited: Promise<number | null>;
  exitCode: number | null | undefined; // undefined while running
  stdoutLines: string[];
  stderrTail: string[];
  onLine?: (line: string) => void;
}

// Spawns a child that run.ts will stop on exit, error or Ctrl-C.
export function start(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Proc {
  if (stopping) throw new Error('stopping');
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  children.add(child);
  const p: Proc = {
    child,
    pid: child.pid,
    name,
    exited: new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        children.delete(child);
        p.exitCode = code ?? (signal ? -1 : null);
        resolve(code);
      });
      child.once('error', () => {
        children.delete(child);
        p.exitCode = -1;
        resolve(-1);
      });
    }),
    exitCode: undefined,
    stdoutLines: [],
    stderrTail: [],
  };
  const lines = (stream: NodeJS.ReadableStream | null, sink: (l: string) => void) => {
    if (!stream) return;
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        sink(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    stream.on('end', () => {
      if (buf) sink(buf);
    });
  };
  lines(child.stdout, (l) => {
    if (p.stdoutLines.length < 10000) p.stdoutLines.push(l);
    p.onLine?.(l);
  });
  lines(child.stderr, (l) => {
    p.stderrTail.push(l);
    if (p.stderrTail.length > 50) p.stderrTail.shift();
  });
  return p;
}

// Stops one process: the signal, then SIGKILL after `graceMs`.
export async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM', graceMs = 8000): Promise<void> {
  if (p.exitCode !== undefined) return;
  try {
    process.kill(p.pid, signal);
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, graceMs);
  await p.exited;
  clearTimeout(timer);
}

// Runs a child to its end (bounded by timeoutMs), returning its stdout lines.
export async function runToEnd(
  name: string,
  cmd: string,
  args: string[],
  timeoutMs: number,
  opts: SpawnOptions = {},
): Promise<{ code: number | null; lines: string[]; stderr: string[] }> {
  const p = start(name, cmd, args, opts);
  const timer = setTimeout(() => {
    process.stderr.write(`bench: ${name} ran over ${Math.round(timeoutMs / 1000)} s; stopping it\n`);
    void stop(p, 'SIGTERM', 2000);
  }, timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, lines: p.stdoutLines, stderr: p.stderrTail };
}

export function killAllNow(): void {
  stopping = true;
  for (const c of children) {
    try {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export async function stopAll(): Promise<void> {
  stopping = true;
  const list = [...children];
  await Promise.all(
    list.map(async (c) => {
      if (c.pid === undefined) return;
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        return;
      }
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          try {
            process.kill(c.pid!, 'SIGKILL');
          } catch {
            // gone
          }
          r();
        }, 3000);
        c.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }),
  );
}

// ---------------------------------------------------------------- /proc
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

function statFields(path: string): string[] | null {
  try {
    const s = readFileSync(path, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

// utime + stime of a process, all its threads (fields 14 and 15 of /proc/PID/stat), in ticks.
export function cpuTicks(pid: number): number {
  const f = statFields(`/proc/${pid}/stat`);
  return f ? Number(f[11]) + Number(f[12]) : NaN;
}

// [utime, stime] of a process, all its threads, in ticks.
export function cpuTicksSplit(pid: number): [number, number] {
  const f = statFields(`/proc/${pid}/stat`);
  return f ? [Number(f[11]), Number(f[12])] : [NaN, NaN];
}

// cutime + cstime of this process: CPU of the children it has waited for (wrk's, once it ended).
export function childrenTicks(): number {
  const f = statFields('/proc/self/stat');
  return f ? Number(f[13]) + Number(f[14]) : NaN;
}

// Per-thread CPU ticks of a process: name -> ticks (threads of the same name are summed).
export function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let name: string;
    try {
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const f = statFields(`/proc/${pid}/task/${tid}/stat`);
    if (!f) continue;
    const key = `${name}#${tid}`;
    out.set(key, Number(f[11]) + Number(f[12]));
  }
  return out;
}

// Busy and total ticks of the whole machine (/proc/stat "cpu" line).
export function systemTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest is inside user)
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export function memoryKiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}

// ---------------------------------------------------------------- loopback
// A port free for both TCP and UDP on 127.0.0.1.
/**
 * The listen switches of swarmd and opentracker: TCP and UDP on `port` of 127.0.0.1 only (-i comes
 * first: opentracker binds the -p and -P that follow it to that address).
 */
export function loopbackListen(port: number): string[] {
  return ['-i', '127.0.0.1', '-p', String(port), '-P', String(port)];
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const a = srv.address();
        const p = typeof a === 'object' && a ? a.port : 0;
        srv.close(() => resolve(p));
      });
    });
    const udpOk = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpOk) return port;
  }
  throw new Error('no free loopback port');
}

// Waits until the tracker answers a BEP 15 connect on UDP and accepts a TCP connection.
export async function waitReady(port: number, p: Proc, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  const udp = async (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = createSocket('udp4');
      const req = Buffer.alloc(16);
      req.writeUInt32BE(0x417, 0);
      req.writeUInt32BE(0x27101980, 4);
      req.writeUInt32BE(0, 8);
      req.writeUInt32BE(0x1234abcd, 12);
      const done = (ok: boolean) => {
        clearTimeout(t);
        try {
          s.close();
        } catch {
          // closed
        }
        resolve(ok);
      };
      const t = setTimeout(() => done(false), 300);
      s.on('message', (m) => done(m.length >= 16 && m.readUInt32BE(0) === 0 && m.readUInt32BE(4) === 0x1234abcd));
      s.on('error', () => done(false));
      s.send(req, port, '127.0.0.1');
    });
  const tcp = async (): Promise<boolean> =>
    new Promise((resolve) => {
      const c = createConnection({ host: '127.0.0.1', port });
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
  while (Date.now() - t0 < timeoutMs) {
    if (p.exitCode !== undefined) {
      throw new Error(`${p.name} exited (code ${p.exitCode}) before answering:\n${p.stderrTail.concat(p.stdoutLines.slice(-10)).join('\n')}`);
    }
    if ((await tcp()) && (await udp())) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${p.name} did not answer on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}

function hexAddr(hex: string, v6: boolean): string {
  if (!v6) {
    const n = parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  }
  return hex; // compared below by value
}

// The local addresses of every socket the process holds (TCP listeners, UDP sockets), and
// whether each is loopback. Throws if any is not.
export function assertLoopbackOnly(pid: number, name: string): string[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const found: string[] = [];
  const bad: string[] = [];
  const LOOP6 = '00000000000000000000000001000000';
  for (const [file, v6] of [
    ['tcp', false],
    ['udp', false],
    ['tcp6', true],
    ['udp6', true],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      const [addrHex, portHex] = f[1]!.split(':');
      const state = f[3];
      // TCP: only listeners (0A) bind; connected sockets have a loopback peer anyway
      if (file.startsWith('tcp') && state !== '0A') continue;
      const port = parseInt(portHex!, 16);
      const addr = hexAddr(addrHex!, v6);
      const loop = v6 ? addrHex === LOOP6 : addr.startsWith('127.');
      const text2 = `${file} ${v6 && loop ? '[::1]' : addr}:${port}`;
      found.push(text2);
      if (!loop) bad.push(text2);
    }
  }
  if (bad.length) throw new Error(`${name} (pid ${pid}) binds non-loopback addresses: ${bad.join(', ')}`);
  return found;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function median(v: number[]): number {
  const s = v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout ?? '').trim();
}
