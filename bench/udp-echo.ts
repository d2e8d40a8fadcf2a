// UDP echo benchmark of src/io: server CPU µs per datagram answered, native (recvmmsg) vs
// dgram. Not a test. Needs Linux, taskset and 2 cores: the server runs on core 0, the load
// generator on core 1; the server's CPU time is utime+stime from /proc/PID/stat.
//
//   node bench/udp-echo.ts [--duration 10] [--rounds 3] [--window 32] [--sockets 4] [--host 127.0.0.1]
//   node bench/udp-echo.ts server --io native|dgram [--host H] [--port P]   (prints "READY <port>")
//   node bench/udp-echo.ts client --port P [--host H] [--duration S] [--window W] [--sockets N]
//
// The server rewrites each request into a minimal BEP 15 reply as /work/shared/bench/udpecho.c
// does, so an external load generator (udpload) validates its answers too.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Batch, UdpBatchSocket } from '../src/io/udp-batch.ts';
import { ADDR_SIZE, SLOT_SIZE } from '../src/io/udp-batch.ts';
import { nativeUdpStatus, openUdpBatchSocket } from '../src/io/udp-socket.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    io: { type: 'string', default: 'native' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    window: { type: 'string', default: '32' },
    sockets: { type: 'string', default: '4' },
    batch: { type: 'string', default: '64' },
  },
});

// udpecho's rewrite: connect -> 16-byte reply, announce -> 20-byte header over the request,
// scrape -> zero counters.
function answer(rx: Batch, tx: Batch): void {
  const d = rx.data;
  const t = tx.data;
  let n = 0;
  for (let i = 0; i < rx.count; i++) {
    const len = rx.lengths[i]!;
    if (len < 16 || len > SLOT_SIZE) continue;
    const p = i * SLOT_SIZE;
    const q = n * SLOT_SIZE;
    const action = d.readUInt32BE(p + 8);
    const tid = d.readUInt32BE(p + 12);
    let out = len;
    if (action === 0) {
      t.writeUInt32BE(0, q);
      t.writeUInt32BE(tid, q + 4);
      t.writeUInt32BE(0x12345678, q + 8);
      t.writeUInt32BE(0x9abcdef0, q + 12);
      out = 16;
    } else if (action === 1 && len >= 20) {
      d.copy(t, q + 20, p + 20, p + len);
      t.writeUInt32BE(1, q);
      t.writeUInt32BE(tid, q + 4);
      t.writeUInt32BE(1800, q + 8);
      t.writeUInt32BE(5, q + 12);
      t.writeUInt32BE(5, q + 16);
      out = 20 + Math.floor((len - 20) / 6) * 6;
    } else if (action === 2) {
      const nh = Math.floor((len - 16) / 20);
      t.writeUInt32BE(2, q);
      t.writeUInt32BE(tid, q + 4);
      t.fill(0, q + 8, q + 8 + 12 * nh);
      out = 8 + 12 * nh;
    } else {
      d.copy(t, q, p, p + len);
    }
    tx.lengths[n] = out;
    rx.addrs.copy(tx.addrs, n * ADDR_SIZE, i * ADDR_SIZE, (i + 1) * ADDR_SIZE);
    n++;
  }
  tx.count = n;
}

async function server(): Promise<void> {
  const io = args.io === 'dgram' ? 'dgram' : 'native';
  const s = await openUdpBatchSocket({ host: args.host!, port: Number(args.port), io, batchSize: Number(args.batch) }, answer);
  process.stdout.write(`READY ${s.address().port}\n`);
  const stop = async () => {
    process.stderr.write(`server ${io}: ${JSON.stringify(s.counters)}\n`);
    await s.close();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// Closed loop: each socket keeps `window` connect requests in flight; every reply is answered
// with a new request in the same batch. A timer tops the window up if datagrams were lost.
async function client(): Promise<void> {
  const port = Number(args.port);
  const host = args.host!;
  const window = Number(args.window);
  const duration = Number(args.duration) * 1000;
  const family = host.includes(':') ? 6 : 4;
  const to = Buffer.alloc(ADDR_SIZE);
  to[0] = family;
  to.writeUInt16BE(port, 2);
  if (family === 4) Buffer.from(host.split('.').map(Number)).copy(to, 4);
  else to[19] = 1; // ::1
  let answered = 0;
  let tid = 0;
  let stopped = false;
  const request = (b: Batch, i: number): void => {
    const p = i * SLOT_SIZE;
    b.data.writeUInt32BE(0x417, p);
    b.data.writeUInt32BE(0x27101980, p + 4);
    b.data.writeUInt32BE(0, p + 8);
    b.data.writeUInt32BE(tid++ >>> 0, p + 12);
    b.lengths[i] = 16;
    to.copy(b.addrs, i * ADDR_SIZE);
  };
  const socks: UdpBatchSocket[] = [];
  const inflight: number[] = [];
  for (let k = 0; k < Number(args.sockets); k++) {
    const s = await openUdpBatchSocket({ host, port: 0, io: 'auto' }, (rx, tx) => {
      answered += rx.count;
      inflight[k]! -= rx.count;
      if (stopped) return;
      for (let i = 0; i < rx.count; i++) request(tx, i);
      tx.count = rx.count;
      inflight[k]! += rx.count;
    });
    socks.push(s);
    inflight.push(0);
  }
  const topUp = (): void => {
    socks.forEach((s, k) => {
      const missing = window - inflight[k]!;
      if (missing <= 0) return;
      const b = s.newBatch();
      b.count = Math.min(missing, b.capacity);
      for (let i = 0; i < b.count; i++) request(b, i);
      inflight[k]! += s.send(b);
    });
  };
  topUp();
  // lost datagrams never come back: forget them every 200 ms when nothing moved
  let last = -1;
  const timer = setInterval(() => {
    if (answered === last) inflight.fill(0);
    last = answered;
    topUp();
  }, 200);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, duration));
  stopped = true;
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(socks.map((s) => s.close()));
  process.stdout.write(`${JSON.stringify({ answered, seconds, io: socks[0]!.io })}\n`);
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
}

async function orchestrate(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const common = ['--host', args.host!];
  const ios = nativeUdpStatus().available ? ['native', 'dgram'] : ['dgram'];
  const results: Record<string, number[]> = {};
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const io of ios) {
      const srv = spawn('taskset', ['-c', '0', process.execPath, self, 'server', '--io', io, ...common], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const port = await new Promise<number>((resolve, reject) => {
        let buf = '';
        srv.stdout.on('data', (d) => {
          buf += d;
          const m = /READY (\d+)/.exec(buf);
          if (m) resolve(Number(m[1]));
        });
        srv.once('exit', () => reject(new Error('server exited')));
      });
      const before = cpuTicks(srv.pid!);
      const cli = spawnSync(
        'taskset',
        [
          '-c',
          '1',
          process.execPath,
          self,
          'client',
          '--port',
          String(port),
          '--duration',
          args.duration!,
          '--window',
          args.window!,
          '--sockets',
          args.sockets!,
          ...common,
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const after = cpuTicks(srv.pid!);
      srv.kill('SIGTERM');
      await new Promise((r) => srv.once('exit', r));
      const r = JSON.parse(cli.stdout.trim().split('\n').pop()!) as { answered: number; seconds: number; io: string };
      const us = (((after - before) / hz) * 1e6) / r.answered;
      (results[io] ??= []).push(us);
      console.log(
        `round ${round + 1} ${io.padEnd(6)}: ${us.toFixed(2)} µs server CPU per datagram, ` +
          `${Math.round(r.answered / r.seconds)} datagrams/s, server CPU ${(((after - before) / hz / r.seconds) * 100).toFixed(0)}% (client io ${r.io})`,
      );
    }
  }
  for (const [io, v] of Object.entries(results)) {
    const sorted = [...v].sort((a, b) => a - b);
    console.log(`${io}: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} µs per datagram (${v.map((x) => x.toFixed(2)).join(', ')})`);
  }
}

const mode = positionals[0] ?? 'run';
if (mode === 'server') await server();
else if (mode === 'client') await client();
else await orchestrate();
