// TCP answer benchmark of src/io/tcp-native.ts: server CPU µs per HTTP answer for a fixed
// bencoded announce answer, served by the native TCP layer, by Node's net (as
// /work/shared/bench/http-floor.mjs does), and optionally by the C floor tcpfloor
// (/work/shared/bench/tcpfloor.c, pass --tcpfloor BINARY). Not a test. Needs Linux, taskset, wrk
// (bench/setup.sh installs it) and 2 cores: the server runs on core 0, wrk on core 1; the
// server's CPU time is utime+stime from /proc/PID/stat over the wrk run. Servers alternate
// within each round; medians at the end.
//
//   node bench/tcp-echo.ts [--duration 8] [--rounds 3] [--connections 64] [--tcpfloor /tmp/tcpfloor]
//   node bench/tcp-echo.ts --rss 60     RSS of the native and net servers before and after 60 s of load
//   node bench/tcp-echo.ts server --io native|net [--keepalive]   (prints "READY <port>")
//
// The servers find the end of each head and answer it; they parse nothing else (the floor of the
// byte moving, as http-floor.mjs). Without --keepalive every answer says Connection: close and
// the connection is closed; with it, connections are kept unless the request says close.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { TcpRx, TcpTx } from '../src/io/tcp-native.ts';
import { ACTION_CLOSE, ACTION_KEEP, RX_LENGTH, RX_OFFSET, RX_SLOT, RX_STRIDE, nativeTcpStatus, openNativeTcp } from '../src/io/tcp-native.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    io: { type: 'string', default: 'native' },
    keepalive: { type: 'boolean', default: false },
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    tcpfloor: { type: 'string' },
    rss: { type: 'string' },
  },
});

const peers = Buffer.alloc(60);
for (let i = 0; i < 10; i++) {
  peers.writeUInt32BE(0x7f000001, 6 * i);
  peers.writeUInt16BE(10000 + i, 6 * i + 4);
}
const body = Buffer.concat([Buffer.from('d8:completei5e10:incompletei5e8:intervali1800e12:min intervali900e5:peers60:', 'latin1'), peers, Buffer.from('e')]);
const answer = (c: string) =>
  Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: ${c}\r\n\r\n`, 'latin1'), body]);
const ANSWER_CLOSE = answer('close');
const ANSWER_KEEP = answer('keep-alive');
const CRLF2 = Buffer.from('\r\n\r\n');
const CLOSE = Buffer.from('onnection: close');
const URL_PATH = '/announce?info_hash=%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61&peer_id=-XX0001-000000000000&port=6881&left=10&compact=1';

function nativeServer(keepalive: boolean): number {
  const handler = (rx: TcpRx, tx: TcpTx): void => {
    for (let i = 0; i < rx.count; i++) {
      const m = i * RX_STRIDE;
      const slot = rx.meta[m + RX_SLOT]!;
      let start = rx.meta[m + RX_OFFSET]!;
      const end = start + rx.meta[m + RX_LENGTH]!;
      if (!keepalive) {
        if (!tx.fits(ANSWER_CLOSE.length)) tx.flush();
        ANSWER_CLOSE.copy(tx.data, tx.used);
        tx.answer(slot, ANSWER_CLOSE.length, ACTION_CLOSE);
        continue;
      }
      let n = 0;
      let close = false;
      let at: number;
      while ((at = rx.data.indexOf(CRLF2, start)) !== -1 && at < end) {
        close = rx.data.subarray(start, at).indexOf(CLOSE) !== -1;
        n++;
        start = at + 4;
        if (close) break;
      }
      if (!tx.fits(n * ANSWER_KEEP.length)) tx.flush();
      for (let k = 0; k < n; k++) (k === n - 1 && close ? ANSWER_CLOSE : ANSWER_KEEP).copy(tx.data, tx.used + k * ANSWER_KEEP.length);
      tx.answer(slot, n * ANSWER_KEEP.length, close ? ACTION_CLOSE : ACTION_KEEP);
    }
  };
  const server = openNativeTcp({ maxConnections: 10000, maxRequestBytes: 8192, headerTimeout: 10, idleTimeout: 30 }, handler, (socket) => socket.destroy());
  const listener = server.listen({ host: '127.0.0.1', port: 0 });
  process.once('SIGTERM', () => {
    process.stderr.write(`native: ${JSON.stringify(server.counters)}\n`);
    process.exit(0);
  });
  return server.address(listener).port;
}

// http-floor.mjs's net server.
async function netServer(keepalive: boolean): Promise<number> {
  const server = net.createServer((sock) => {
    let pending: Buffer | null = null;
    sock.on('data', (d: Buffer) => {
      if (pending) {
        d = Buffer.concat([pending, d]);
        pending = null;
      }
      let start = 0;
      let end: number;
      while ((end = d.indexOf(CRLF2, start)) !== -1) {
        if (!keepalive || d.subarray(start, end).indexOf(CLOSE) !== -1) {
          sock.end(ANSWER_CLOSE);
          return;
        }
        sock.write(ANSWER_KEEP);
        start = end + 4;
      }
      if (start < d.length) pending = d.subarray(start);
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.once('SIGTERM', () => process.exit(0));
  return (server.address() as net.AddressInfo).port;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

// Servers never outlive this process, whatever fails.
const servers = new Set<ChildProcess>();
process.on('exit', () => servers.forEach((p) => p.kill('SIGKILL')));

async function startServer(kind: string, keepalive: boolean): Promise<{ proc: ChildProcess; port: number }> {
  const started = await spawnServer(kind, keepalive);
  servers.add(started.proc);
  started.proc.once('exit', () => servers.delete(started.proc));
  return started;
}

async function spawnServer(kind: string, keepalive: boolean): Promise<{ proc: ChildProcess; port: number }> {
  if (kind === 'tcpfloor') {
    const port = await freePort();
    const proc = spawn('taskset', ['-c', '0', args.tcpfloor!, String(port), ...(keepalive ? ['--keepalive'] : [])], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const c = net.connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
        c.on('error', () => resolve(false));
      });
      if (ok) return { proc, port };
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('tcpfloor did not start');
  }
  const self = fileURLToPath(import.meta.url);
  const proc = spawn('taskset', ['-c', '0', process.execPath, self, 'server', '--io', kind, ...(keepalive ? ['--keepalive'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d) => {
      buf += d;
      const m = /READY (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', () => reject(new Error(`${kind} server exited`)));
  });
  return { proc, port };
}

type Run = { us: number; rps: number; requests: number; p99: string; errors: string };

function wrk(port: number, seconds: number, keepalive: boolean): { requests: number; seconds: number; p99: string; errors: string } {
  const r = spawnSync(
    'taskset',
    [
      '-c',
      '1',
      'wrk',
      '-t1',
      `-c${args.connections}`,
      `-d${seconds}s`,
      '--latency',
      ...(keepalive ? [] : ['-H', 'Connection: close']),
      `http://127.0.0.1:${port}${URL_PATH}`,
    ],
    { encoding: 'utf8' },
  );
  const out = r.stdout;
  const m = /(\d+) requests in ([\d.]+)(ms|s|m)\b/.exec(out);
  if (!m) throw new Error(`wrk: ${out}${r.stderr}`);
  const p99 = /99%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const errors = [/Socket errors: (.*)/.exec(out)?.[1], /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[0]].filter(Boolean).join('; ');
  return { requests: Number(m[1]), seconds: Number(m[2]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[m[3]!]!, p99, errors };
}

async function measure(kind: string, keepalive: boolean, hz: number): Promise<Run> {
  const { proc, port } = await startServer(kind, keepalive);
  wrk(port, 1, keepalive); // warm up (JIT, slots, buffers)
  const before = cpuTicks(proc.pid!);
  let w;
  let after;
  try {
    w = wrk(port, Number(args.duration), keepalive);
    after = cpuTicks(proc.pid!);
  } finally {
    proc.kill('SIGTERM');
  }
  await new Promise((r) => proc.once('exit', r));
  return { us: (((after - before) / hz) * 1e6) / w.requests, rps: w.requests / w.seconds, requests: w.requests, p99: w.p99, errors: w.errors };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

async function orchestrate(): Promise<void> {
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  if (!nativeTcpStatus().available) throw new Error(`native TCP addon: ${nativeTcpStatus().reason}`);
  const kinds = ['native', 'net', ...(args.tcpfloor ? ['tcpfloor'] : [])];
  const results: Record<string, number[]> = {};
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const keepalive of [false, true]) {
      // alternate the order each round, so no server always runs right after another
      for (const kind of round % 2 ? [...kinds].reverse() : kinds) {
        const r = await measure(kind, keepalive, hz);
        const label = `${kind} ${keepalive ? 'keep-alive' : 'close'}`;
        (results[label] ??= []).push(r.us);
        console.log(
          `round ${round + 1} ${label.padEnd(20)}: ${r.us.toFixed(1)} µs server CPU per answer, ${Math.round(r.rps)} answers/s, p99 ${r.p99}${r.errors ? `, wrk: ${r.errors}` : ''}`,
        );
      }
    }
  }
  for (const [label, v] of Object.entries(results)) {
    console.log(`${label.padEnd(20)}: median ${median(v).toFixed(1)} µs per answer (${v.map((x) => x.toFixed(1)).join(', ')})`);
  }
}

// RSS before and after `seconds` of Connection: close load, native and net alternately.
async function rss(seconds: number): Promise<void> {
  for (const kind of ['native', 'net']) {
    const { proc, port } = await startServer(kind, false);
    wrk(port, 1, false);
    const before = rssMiB(proc.pid!);
    let w;
    let after;
    try {
      w = wrk(port, seconds, false);
      after = rssMiB(proc.pid!);
    } finally {
      proc.kill('SIGTERM');
    }
    await new Promise((r) => proc.once('exit', r));
    console.log(`${kind}: RSS ${before.toFixed(1)} MiB before, ${after.toFixed(1)} MiB after ${seconds} s (${w.requests} answers)`);
  }
}

const mode = positionals[0] ?? 'run';
if (mode === 'server') {
  const port = args.io === 'net' ? await netServer(args.keepalive!) : nativeServer(args.keepalive!);
  process.stdout.write(`READY ${port}\n`);
} else if (args.rss) await rss(Number(args.rss));
else await orchestrate();
