// The WebSocket row (issue 8): announces with offers per second and the server's CPU time per
// announce, at 1,000 and 10,000 open connections, swarmd (one worker) against bittorrent-tracker's
// server (its WebSocket tracker). The load generator is bench/ws-load.ts: every connection is a
// peer of one of connections/10 swarms; 64 announces with 5 offers each are kept in flight from
// random connections, and every relayed offer is answered, so the server relays offers and answers
// alike. Server pinned to one core, generator to the other, as in the other rows; both get an open
// file limit that fits the connections.

import { join } from 'node:path';
import type { Proc } from './lib.ts';
import { CLK_TCK, cpuTicks, freePort, loopbackListen, start, stop, waitReady } from './lib.ts';

export const WS_CONNECTIONS = [1000, 10_000] as const;
const OFFERS = 5;
const WINDOW = 64;

export interface WsRowResult {
  tracker: string;
  connections: number;
  seconds: number;
  announces: number;
  announcesPerSecond: number;
  answersPerSecond: number;
  cpuUsPerAnnounce: number; // server utime+stime over the timed phase / announces answered in it
  serverCpuPct: number;
  genCpuPct: number;
  errors: number;
  firstError: string;
}

export interface WsRowOptions {
  bench: string; // bench/
  swarmdDir: string; // the snapshot of swarmd the bench runs
  node: string;
  trackers: readonly string[];
  serverCpus: string;
  loadCpus: string;
  warmupS: number;
  durationS: number;
  log: (msg: string) => void;
}

/** `cmd args` with an open file limit of at least `files` (prlimit raises it for that process only). */
function withFiles(files: number, cmd: string, args: string[]): [string, string[]] {
  return ['prlimit', [`--nofile=${files}`, '--', cmd, ...args]];
}

async function startServer(kind: string, o: WsRowOptions, connections: number): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const files = connections + 4096;
  const [cmd, args] =
    kind === 'swarmd'
      ? withFiles(files, 'taskset', [
          '-c',
          o.serverCpus,
          o.node,
          join(o.swarmdDir, 'bin', 'swarmd.js'),
          ...loopbackListen(port),
          '--workers',
          '1',
          '--log-level',
          'warn',
          '--ws-max-connections',
          String(connections + 1000),
        ])
      : withFiles(files, 'taskset', [
          '-c',
          o.serverCpus,
          o.node,
          '--max-old-space-size=16384',
          join(o.bench, 'bittorrent-tracker.mjs'),
          '--port',
          String(port),
          '--ws',
        ]);
  const proc = start(`${kind} (websocket row)`, cmd, args, kind === 'swarmd' ? { cwd: o.swarmdDir } : {});
  await waitReady(port, proc, 30_000);
  return { proc, port };
}

/** One tracker at one number of connections. */
async function runOne(kind: string, connections: number, o: WsRowOptions): Promise<WsRowResult> {
  const server = await startServer(kind, o, connections);
  try {
    const [cmd, args] = withFiles(connections + 4096, 'taskset', [
      '-c',
      o.loadCpus,
      o.node,
      join(o.bench, 'ws-load.ts'),
      '--url',
      `ws://127.0.0.1:${server.port}`,
      '--connections',
      String(connections),
      '--torrents',
      String(connections / 10),
      '--offers',
      String(OFFERS),
      '--window',
      String(WINDOW),
      '--warmup',
      String(o.warmupS),
      '--duration',
      String(o.durationS),
    ]);
    const gen = start(`ws-load ${kind} ${connections}`, cmd, args);
    let t0 = NaN;
    let t1 = NaN;
    gen.onLine = (line) => {
      if (line === 'TIMED_START') t0 = cpuTicks(server.proc.pid);
      else if (line === 'TIMED_END') t1 = cpuTicks(server.proc.pid);
    };
    const timer = setTimeout(() => void stop(gen, 'SIGTERM', 2000), (o.warmupS + o.durationS + 180) * 1000);
    await gen.exited;
    clearTimeout(timer);
    const last = gen.stdoutLines.at(-1) ?? '';
    if (gen.exitCode !== 0 || !last.startsWith('{')) {
      throw new Error(`ws-load against ${kind} at ${connections} connections failed (exit ${gen.exitCode}): ${gen.stderrTail.slice(-5).join(' | ')}`);
    }
    const r = JSON.parse(last) as {
      seconds: number;
      announces: number;
      announcesPerSecond: number;
      answersPerSecond: number;
      genCpuPct: number;
      errors: number;
      firstError: string;
    };
    const cpuS = (t1 - t0) / CLK_TCK;
    const res: WsRowResult = {
      tracker: kind,
      connections,
      seconds: r.seconds,
      announces: r.announces,
      announcesPerSecond: r.announcesPerSecond,
      answersPerSecond: r.answersPerSecond,
      cpuUsPerAnnounce: Math.round(((cpuS * 1e6) / Math.max(1, r.announces)) * 10) / 10,
      serverCpuPct: Math.round((cpuS / r.seconds) * 1000) / 10,
      genCpuPct: r.genCpuPct,
      errors: r.errors,
      firstError: r.firstError,
    };
    o.log(
      `websocket ${kind} ${connections} connections: ${res.announcesPerSecond} announces/s, ${res.answersPerSecond} answers/s, ${res.cpuUsPerAnnounce} µs CPU/announce, server ${res.serverCpuPct}%, generator ${res.genCpuPct}%, errors ${res.errors}${res.firstError ? ` (${res.firstError})` : ''}`,
    );
    return res;
  } finally {
    await stop(server.proc, 'SIGTERM', 15_000);
  }
}

export async function websocketRow(o: WsRowOptions): Promise<WsRowResult[]> {
  const out: WsRowResult[] = [];
  for (const connections of WS_CONNECTIONS) {
    for (const kind of o.trackers) if (kind !== 'opentracker') out.push(await runOne(kind, connections, o));
  }
  return out;
}

/** The report's section (markdown lines). */
export function renderWebsocket(rows: readonly WsRowResult[]): string[] {
  if (rows.length === 0) return [];
  const L = [
    '## WebSocket (WebTorrent) signalling (issue 8)',
    '',
    `${OFFERS} offers per announce, ${WINDOW} announces in flight, every offer answered; one server core (swarmd: 1 worker). opentracker has no WebSocket tracker.`,
    '',
    '| open connections | tracker | announces/s | answers relayed/s | server CPU µs/announce | server CPU | generator CPU | errors |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    L.push(
      `| ${r.connections} | ${r.tracker} | ${r.announcesPerSecond} | ${r.answersPerSecond} | ${r.cpuUsPerAnnounce} | ${r.serverCpuPct}% | ${r.genCpuPct}% | ${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 60)})` : ''} |`,
    );
  }
  L.push('');
  return L;
}
