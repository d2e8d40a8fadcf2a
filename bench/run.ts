// `npm run bench`: swarmd side by side with Debian's opentracker and npm's bittorrent-tracker,
// in one run, on loopback; writes bench/report.md and the raw figures to bench/out/.
//
//   node bench/run.ts [--quick] [--rows udp-announce,udp-mixed,http-close,http-keepalive,crosscheck,workers,rss,
//                                       metrics-cost,scrape-load,scale,cluster-sync,websocket,timings]
//                     [--trackers swarmd,opentracker,bittorrent-tracker] [--reps N] [--warmup S]
//                     [--duration S] [--no-profile] [--report-only bench/out/results.json]
//
// Method (see bench/README.md): each server runs pinned to core 0 (`taskset -c 0`), each load
// generator to core 1; the figure that counts is the server's CPU time (utime+stime of all
// its threads, /proc/PID/stat) over the timed phase divided by the answers the generator got in
// that phase. UDP load: bench/udp-load.ts (swarmd's own generator); HTTP load: Debian's wrk
// with bench/http-announce.lua. The trackers alternate within every repetition of a row.
// Everything binds 127.0.0.1 (and ::1 for bittorrent-tracker's UDP6 socket) and every process
// started here is stopped at the end, on errors and on Ctrl-C.

import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Proc } from './lib.ts';
import {
  CLK_TCK,
  assertLoopbackOnly,
  childrenTicks,
  cpuTicks,
  cpuTicksSplit,
  freePort,
  killAllNow,
  loopbackListen,
  memoryKiB,
  runToEnd,
  sh,
  sleep,
  start,
  stop,
  stopAll,
  systemTicks,
  threadTicks,
  waitReady,
} from './lib.ts';
import type { CrossCheck, FillFigures, LoadResult, Profile, Results, RssResult, ScaleResult, ScrapeLoadResult, ThreadSplit } from './report.ts';
import { LOAD_ROWS, METRICS_PLAIN, METRICS_POLLED, renderReport } from './report.ts';
import { httpAnnouncePaths, makeHashes, whitelistText } from './workload.ts';
import { clusterSyncRow } from './cluster.ts';
import { websocketRow } from './websocket.ts';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const OUT = join(BENCH, 'out');
const NODE = process.execPath;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rows: { type: 'string' },
    trackers: { type: 'string' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    duration: { type: 'string' },
    'no-profile': { type: 'boolean', default: false },
    'report-only': { type: 'string' },
    report: { type: 'string' },
  },
});

const ALL_ROWS = [
  'udp-announce',
  'udp-mixed',
  'http-close',
  'http-keepalive',
  'crosscheck',
  'workers',
  'rss',
  'metrics-cost',
  'scrape-load',
  'scale',
  'cluster-sync',
  'websocket',
  'timings',
] as const;
type RowName = (typeof ALL_ROWS)[number];
const ALL_TRACKERS = ['swarmd', 'opentracker', 'bittorrent-tracker'] as const;
type TrackerKind = (typeof ALL_TRACKERS)[number];

const QUICK = opt.quick!;
const ROWS = new Set<RowName>(opt.rows ? (opt.rows.split(',').map((r) => r.trim()) as RowName[]) : [...ALL_ROWS]);
for (const r of ROWS) if (!ALL_ROWS.includes(r)) fail(`unknown row '${r}' (rows: ${ALL_ROWS.join(', ')})`);
const TRACKERS = opt.trackers ? (opt.trackers.split(',').map((t) => t.trim()) as TrackerKind[]) : [...ALL_TRACKERS];
for (const t of TRACKERS) if (!ALL_TRACKERS.includes(t)) fail(`unknown tracker '${t}' (trackers: ${ALL_TRACKERS.join(', ')})`);
const REPS = Number(opt.reps ?? (QUICK ? 1 : 3));
const WARMUP = Number(opt.warmup ?? (QUICK ? 1 : 3));
const DURATION = Number(opt.duration ?? (QUICK ? 3 : 10));
const PROFILE = !opt['no-profile'];
const TORRENTS = 100_000; // load rows: 100k torrents x 10 peers after the prefill (shared/bench/README.md)
const PEERS = 10;
const RSS_TORRENTS = QUICK ? 200_000 : 1_000_000;
const RSS_PEERS = 2;
const UDP_SOCKETS = 4; // x window 32: udpload's defaults, as in the reference figures
const UDP_WINDOW = 32;
const WRK_CONNS = 64;
const HTTP_PATHS = 100_000;
const SCALE_TORRENTS = QUICK ? 500_000 : 5_000_000; // issue 3 "Scale": 30M peers over 5M torrents
const SCALE_PEERS = 6;
const SCALE_SECONDS = QUICK ? 15 : 60;
const SCRAPE_PEERS = 2;
const SCRAPE_SECONDS = QUICK ? 8 : 20;
const SWARMD_CPUS = '0';
const LOAD_CPUS = '1';

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}
function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------- cleanup
let cleaning = false;
async function shutdown(code: number): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  await stopAll();
  if (work) rmSync(work, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => {
  log('interrupted: stopping every process started by the bench');
  void shutdown(130);
});
process.on('SIGTERM', () => void shutdown(143));
process.on('exit', () => killAllNow());
process.on('uncaughtException', (err) => {
  process.stderr.write(`bench: ${err.stack ?? err}\n`);
  void shutdown(1);
});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`bench: ${(err as Error)?.stack ?? err}\n`);
  void shutdown(1);
});

// ---------------------------------------------------------------- trackers
interface Server {
  kind: TrackerKind;
  label: string;
  proc: Proc;
  port: number;
  udpIo?: string;
  sockets: string[];
  startRssKiB: number;
}

let work = '';
// swarmd is run from a copy of the working tree taken when the bench starts (bin/, src/,
// package.json, the built addon; node_modules linked), so every row measures the same code
// even while the tree changes under the bench.
let swarmdDir = ROOT;

function snapshotSwarmd(): string {
  const dir = join(work, 'swarmd');
  mkdirSync(dir, { recursive: true });
  for (const part of ['bin', 'src', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  const addon = join(ROOT, 'native', 'build', 'Release', 'swarmd_udp.node');
  if (existsSync(addon)) {
    mkdirSync(join(dir, 'native', 'build', 'Release'), { recursive: true });
    cpSync(addon, join(dir, 'native', 'build', 'Release', 'swarmd_udp.node'));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
let whitelistLoad = '';
let whitelistRss = '';

interface StartOpts {
  cpus: string;
  workers?: number;
  whitelist?: string;
  cpuProfDir?: string;
  label?: string;
  extraArgs?: string[];
}

async function startTracker(kind: TrackerKind, o: StartOpts): Promise<Server> {
  const port = await freePort();
  const label = o.label ?? kind;
  let proc: Proc;
  let udpIo: string | undefined;
  if (kind === 'swarmd') {
    const nodeArgs = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
    proc = start(
      label,
      'taskset',
      [
        '-c',
        o.cpus,
        NODE,
        ...nodeArgs,
        join(swarmdDir, 'bin', 'swarmd.js'),
        ...loopbackListen(port),
        '--workers',
        String(o.workers ?? 1),
        '--log-level',
        'info',
        ...(o.extraArgs ?? []),
      ],
      { cwd: swarmdDir },
    );
    proc.onLine = (line) => {
      if (!line.includes('swarmd listening')) return;
      try {
        udpIo = String((JSON.parse(line) as { udpIo?: string }).udpIo);
      } catch {
        // not JSON
      }
    };
  } else if (kind === 'opentracker') {
    // Debian's opentracker, started as root, drops privileges to the -u user (default
    // "nobody"; it refuses to keep running as root) and, without -d, does not chroot but
    // chdir("/"): so the whitelist path is absolute, in a 0755 directory, the file 0644, and
    // nobody can read it. (With -d it would chroot and read the file inside the chroot, and
    // Debian's build aborts on SIGINT in a chroot: see shared/reference/opentracker.md s. 13.)
    // Run by a normal user it just keeps that user. -i before -p/-P: it binds those to
    // 127.0.0.1 only (IPv4-only build).
    proc = start(label, 'taskset', ['-c', o.cpus, 'opentracker', ...loopbackListen(port), '-w', o.whitelist ?? whitelistLoad]);
  } else {
    proc = start(label, 'taskset', ['-c', o.cpus, NODE, '--max-old-space-size=16384', join(BENCH, 'bittorrent-tracker.mjs'), '--port', String(port)]);
  }
  await waitReady(port, proc, 30_000);
  if (kind === 'swarmd') {
    for (let i = 0; i < 50 && udpIo === undefined; i++) await sleep(20);
  }
  const sockets = assertLoopbackOnly(proc.pid, label);
  const srv: Server = { kind, label, proc, port, udpIo, sockets, startRssKiB: memoryKiB(proc.pid).rss };
  log(`${label} pid ${proc.pid} on 127.0.0.1:${port}${udpIo ? ` (UDP io: ${udpIo})` : ''}; sockets: ${sockets.join(', ')}`);
  return srv;
}

async function stopTracker(s: Server): Promise<void> {
  // opentracker's own stop signal is SIGINT (Debian's unit file); the others take SIGTERM
  await stop(s.proc, s.kind === 'opentracker' ? 'SIGINT' : 'SIGTERM', 15_000);
  if (s.kind === 'swarmd') {
    // swarmd's warnings and errors (pino level >= 40) while the bench ran
    const bad = s.proc.stdoutLines.filter((l) => {
      try {
        return ((JSON.parse(l) as { level?: number }).level ?? 0) >= 40;
      } catch {
        return false;
      }
    });
    if (bad.length) notes.push(`${s.label} logged ${bad.length} warning/error line(s), first: \`${bad[0]!.slice(0, 300)}\``);
  }
  const err = s.proc.stderrTail.filter((l) => l.trim() && !/^(Removed|libgcc_s)/.test(l));
  if (err.length && s.kind !== 'opentracker') notes.push(`${s.label} wrote to stderr: \`${err.slice(-3).join(' | ').slice(0, 300)}\``);
  if (s.proc.exitCode !== 0 && s.proc.exitCode !== null && s.kind !== 'opentracker') {
    notes.push(`${s.label} exited with code ${s.proc.exitCode} when stopped. stderr: ${s.proc.stderrTail.slice(-5).join(' | ')}`);
  }
}

function checkAlive(s: Server): void {
  if (s.proc.exitCode !== undefined) {
    throw new Error(`${s.label} died (exit ${s.proc.exitCode}): ${s.proc.stderrTail.slice(-10).join('\n')}`);
  }
}

// ---------------------------------------------------------------- load generators
interface UdpPhase {
  phase: string;
  io: string;
  seconds: number;
  answers: number;
  errors: number;
  timeouts: number;
  late: number;
  rps: number;
  genCpuPct: number;
  serverCpuTicks: number;
  serverUserTicks: number;
  serverCpuPct: number;
  serverCpuUsPerAnswer: number;
  sysBusyTicks: number;
  sysTotalTicks: number;
  latP50Us: number;
  latP99Us: number;
  monoStartUs: number;
  monoEndUs: number;
  avgPeersReturned: number;
  avgSwarm: number;
  firstError: string;
  unansweredAtEnd?: number;
  checked?: number;
  mismatches?: number;
  meanPeers?: number;
  firstMismatch?: string;
  slice?: number;
  error?: string;
}

async function udpLoad(s: Server, args: string[], cpus: string, timeoutMs: number): Promise<UdpPhase[]> {
  checkAlive(s);
  const r = await runToEnd(
    `udp-load → ${s.label}`,
    'taskset',
    [
      '-c',
      cpus,
      NODE,
      join(BENCH, 'udp-load.ts'),
      '--host',
      '127.0.0.1',
      '--port',
      String(s.port),
      '--server-pid',
      String(s.proc.pid),
      '--clk-tck',
      String(CLK_TCK),
      ...args,
    ],
    timeoutMs,
    { cwd: ROOT },
  );
  const phases = r.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as UdpPhase);
  const bad = phases.find((p) => p.error);
  if (r.code !== 0 || bad) {
    throw new Error(`udp-load against ${s.label} failed (exit ${r.code}): ${bad?.error ?? ''} ${r.stderr.slice(-10).join('\n')}`);
  }
  checkAlive(s);
  return phases;
}

/** The prefill's figures and its check, for the rows that start a tracker and fill it (rss, scale). */
function fillFigures(phases: UdpPhase[]): FillFigures {
  const p = phases.find((x) => x.phase === 'prefill')!;
  const v = phases.find((x) => x.phase === 'verify');
  return {
    fillSeconds: p.seconds,
    fillRps: p.rps,
    fillCpuUsPerAnswer: p.serverCpuUsPerAnswer,
    fillErrors: p.errors,
    fillTimeouts: p.timeouts,
    verifyChecked: v?.checked ?? 0,
    verifyMismatches: v?.mismatches ?? 0,
    verifyMeanPeers: v?.meanPeers ?? NaN,
  };
}

async function prefill(s: Server, torrents: number, peers: number, prefillPeers: number, cpus = LOAD_CPUS): Promise<UdpPhase[]> {
  log(`${s.label}: prefill ${torrents} torrents × ${prefillPeers} peers`);
  const phases = await udpLoad(
    s,
    [
      '--torrents',
      String(torrents),
      '--peers',
      String(peers),
      '--prefill',
      String(prefillPeers),
      '--verify',
      '2000',
      '--sockets',
      String(UDP_SOCKETS),
      '--window',
      String(UDP_WINDOW),
    ],
    cpus,
    1_000_000,
  );
  const p = phases.find((x) => x.phase === 'prefill')!;
  const v = phases.find((x) => x.phase === 'verify');
  log(
    `${s.label}: prefill done in ${p.seconds} s (${p.rps}/s, ${p.errors} errors, ${p.timeouts} timeouts retried, ${p.serverCpuUsPerAnswer} µs/answer); verify: ${v?.checked} torrents, ${v?.mismatches} with a wrong peer count (mean ${v?.meanPeers})`,
  );
  if (v && v.mismatches)
    notes.push(
      `${s.label}: after the prefill of ${torrents} × ${prefillPeers}, ${v.mismatches} of ${v.checked} scraped torrents had a wrong peer count (${v.firstMismatch})`,
    );
  return phases;
}

function othersPct(sysBusy: number, serverTicks: number, genTicks: number, seconds: number): number {
  return Math.max(0, ((sysBusy - serverTicks - genTicks) / (seconds * CLK_TCK)) * 100);
}

// The load of the UDP rows (prefilled torrents and identities, 3 s warm-up), timed for `seconds`.
function udpRowArgs(row: 'udp-announce' | 'udp-mixed', rep: number, seconds: number, o: { sockets?: number; window?: number } = {}): string[] {
  return [
    '--torrents',
    String(TORRENTS),
    '--peers',
    String(PEERS),
    '--mode',
    row === 'udp-mixed' ? 'mixed' : 'announce',
    '--scrape-ratio',
    '0.25',
    '--scrape-max',
    '10',
    '--warmup',
    String(WARMUP),
    '--duration',
    String(seconds),
    '--sockets',
    String(o.sockets ?? UDP_SOCKETS),
    '--window',
    String(o.window ?? UDP_WINDOW),
    '--seed',
    String(rep + 1),
  ];
}

async function udpRow(
  s: Server,
  row: 'udp-announce' | 'udp-mixed',
  rep: number,
  o: { cpus?: string; sockets?: number; window?: number; label?: string } = {},
): Promise<LoadResult> {
  const phases = await udpLoad(s, udpRowArgs(row, rep, DURATION, o), o.cpus ?? LOAD_CPUS, (WARMUP + DURATION + 60) * 1000);
  const res = udpResult(
    row,
    o.label ?? s.label,
    rep,
    phases.find((x) => x.phase === 'load')!,
  );
  log(
    `${row} ${res.tracker} rep ${rep + 1}: ${fmt(res.cpuUsPerAnswer, 2)} µs/answer, ${res.rps}/s, server ${res.serverCpuPct}%, generator ${res.genCpuPct}%, others ${res.othersCpuPct}%, errors ${res.errors}, timeouts ${res.timeouts}${res.firstError ? ` (${res.firstError})` : ''}`,
  );
  return res;
}

// One timed phase of udp-load as a row's result.
function udpResult(row: string, tracker: string, rep: number, p: UdpPhase): LoadResult {
  const genTicks = (p.genCpuPct / 100) * p.seconds * CLK_TCK;
  return {
    row,
    tracker,
    rep,
    answers: p.answers,
    seconds: p.seconds,
    rps: p.rps,
    cpuUsPerAnswer: p.serverCpuUsPerAnswer,
    serverCpuPct: p.serverCpuPct,
    genCpuPct: p.genCpuPct,
    serverUserShare: p.serverCpuTicks ? round(p.serverUserTicks / p.serverCpuTicks, 3) : NaN,
    othersCpuPct: round(othersPct(p.sysBusyTicks, p.serverCpuTicks, genTicks, p.seconds), 1),
    errors: p.errors,
    timeouts: p.timeouts + (p.unansweredAtEnd ?? 0),
    readErrors: 0,
    generator: `udp-load (${p.io})`,
    latP99Us: p.latP99Us,
    avgPeers: p.avgPeersReturned,
    firstError: p.firstError,
    monoStartUs: p.monoStartUs,
    monoEndUs: p.monoEndUs,
  };
}

interface WrkOut {
  requests: number;
  duration_us: number;
  connect_errors: number;
  read_errors: number;
  write_errors: number;
  status_errors: number;
  timeouts: number;
  bad_answers: number;
  lat_p99_us: number;
  first_bad: string;
}

async function wrk(s: Server, close: boolean, seconds: number, pathsFile: string, offset: number): Promise<WrkOut> {
  const args = [
    '-c',
    LOAD_CPUS,
    'wrk',
    '-t1',
    `-c${WRK_CONNS}`,
    `-d${seconds}s`,
    '--timeout',
    '2s',
    '-s',
    join(BENCH, 'http-announce.lua'),
    ...(close ? ['-H', 'Connection: close'] : []),
    `http://127.0.0.1:${s.port}`,
    '--',
    pathsFile,
    String(offset),
  ];
  const r = await runToEnd(`wrk → ${s.label}`, 'taskset', args, (seconds + 30) * 1000);
  const line = r.lines.filter((l) => l.startsWith('{')).pop();
  if (r.code !== 0 || !line) throw new Error(`wrk against ${s.label} failed (exit ${r.code}): ${r.stderr.join('\n')} ${r.lines.join('\n')}`);
  return JSON.parse(line) as WrkOut;
}

async function httpRow(s: Server, row: 'http-close' | 'http-keepalive', rep: number, pathsFile: string): Promise<LoadResult> {
  checkAlive(s);
  const close = row === 'http-close';
  if (WARMUP > 0) await wrk(s, close, WARMUP, pathsFile, rep * 1000 + 500);
  const k0 = cpuTicksSplit(s.proc.pid);
  const y0 = systemTicks();
  const c0 = childrenTicks();
  const t0 = performance.now();
  const m0 = Number(process.hrtime.bigint() / 1000n);
  const w = await wrk(s, close, DURATION, pathsFile, rep * 1000);
  const m1 = Number(process.hrtime.bigint() / 1000n);
  const t1 = performance.now();
  const c1 = childrenTicks();
  const y1 = systemTicks();
  const k1 = cpuTicksSplit(s.proc.pid);
  checkAlive(s);
  const wall = (t1 - t0) / 1000;
  const answers = w.requests - w.status_errors - w.bad_answers;
  const seconds = w.duration_us / 1e6;
  const serverTicks = k1[0] + k1[1] - k0[0] - k0[1];
  const res: LoadResult = {
    row,
    tracker: s.label,
    rep,
    answers,
    seconds: round(seconds, 3),
    rps: Math.round(answers / seconds),
    cpuUsPerAnswer: round(((serverTicks / CLK_TCK) * 1e6) / answers, 3),
    serverCpuPct: round((serverTicks / CLK_TCK / wall) * 100, 1),
    serverUserShare: serverTicks ? round((k1[0] - k0[0]) / serverTicks, 3) : NaN,
    genCpuPct: round(((c1 - c0) / CLK_TCK / wall) * 100, 1),
    othersCpuPct: round(othersPct(y1.busy - y0.busy, serverTicks, c1 - c0, wall), 1),
    errors: w.status_errors + w.bad_answers + w.connect_errors + w.write_errors,
    timeouts: w.timeouts,
    readErrors: w.read_errors,
    generator: `wrk -t1 -c${WRK_CONNS}`,
    latP99Us: w.lat_p99_us,
    avgPeers: NaN,
    firstError: w.first_bad,
    monoStartUs: m0,
    monoEndUs: m1,
  };
  log(
    `${row} ${s.label} rep ${rep + 1}: ${fmt(res.cpuUsPerAnswer, 2)} µs/answer, ${res.rps}/s, server ${res.serverCpuPct}%, wrk ${res.genCpuPct}%, others ${res.othersCpuPct}%, errors ${res.errors}, timeouts ${res.timeouts}, read errors ${res.readErrors}`,
  );
  return res;
}

// ---------------------------------------------------------------- the phases
const notes: string[] = [];
const results: Results = {
  meta: {} as Results['meta'],
  load: [],
  workers: [],
  threadSplit: [],
  rss: [],
  crosscheck: [],
  profiles: [],
  metricsCost: [],
  metricsRequestCost: [],
  scrapeLoad: [],
  scale: [],
  websocket: [],
  notes,
};

// The machine is shared: a run during which other processes took more than this share of a
// core is repeated (at most MAX_TRIES in all), keeping the least disturbed one.
const OTHERS_LIMIT_PCT = 30;
const MAX_TRIES = 3;
async function leastDisturbed(what: string, run: () => Promise<LoadResult>): Promise<LoadResult> {
  let best: LoadResult | undefined;
  let attempt = 1;
  for (; attempt <= MAX_TRIES; attempt++) {
    const r = await run();
    if (!best || r.othersCpuPct < best.othersCpuPct) best = r;
    if (r.othersCpuPct <= OTHERS_LIMIT_PCT) break;
    if (attempt < MAX_TRIES) {
      log(`${what}: other processes took ${r.othersCpuPct}% of a core during the run; repeating it`);
      await sleep(5000);
    }
  }
  best!.tries = Math.min(attempt, MAX_TRIES);
  return best!;
}

function rotate<T>(list: T[], by: number): T[] {
  const k = by % list.length;
  return list.slice(k).concat(list.slice(0, k));
}

async function loadRows(): Promise<void> {
  const rows = LOAD_ROWS.filter((r) => ROWS.has(r));
  if (rows.length === 0 && !ROWS.has('crosscheck')) return;
  const servers: Server[] = [];
  try {
    for (const kind of TRACKERS) {
      const s = await startTracker(kind, { cpus: SWARMD_CPUS });
      servers.push(s);
      if (kind === 'swarmd') results.meta.swarmdUdpIo = s.udpIo ?? '?';
      await prefill(s, TORRENTS, PEERS, PEERS);
    }
    let pathsFile = '';
    if (rows.some((r) => r.startsWith('http'))) {
      pathsFile = join(work, 'http-paths.txt');
      writeFileSync(pathsFile, httpAnnouncePaths(makeHashes(TORRENTS), TORRENTS, PEERS, HTTP_PATHS, 1, 7).join('\n') + '\n');
    }
    for (const row of rows) {
      for (let rep = 0; rep < REPS; rep++) {
        for (const s of rotate(servers, rep)) {
          const r = await leastDisturbed(`${row} ${s.label}`, () =>
            row === 'udp-announce' || row === 'udp-mixed' ? udpRow(s, row, rep) : httpRow(s, row, rep, pathsFile),
          );
          results.load.push(r);
          writeResults();
        }
      }
    }
    if (ROWS.has('crosscheck')) await crosscheck(servers.filter((s) => s.kind !== 'bittorrent-tracker'));
  } finally {
    for (const s of servers) await stopTracker(s);
  }
}

// The same UDP announce row driven by /work/shared/bench/udpload.c (optional: only when that
// file and a C compiler are here; built in the temporary directory, never in the repo).
async function crosscheck(servers: Server[]): Promise<void> {
  const src = join(ROOT, '..', 'shared', 'bench', 'udpload.c');
  if (!existsSync(src)) {
    notes.push(`cross-check skipped: ${src} is not there`);
    return;
  }
  const bin = join(work, 'udpload');
  const cc = await runToEnd('cc udpload', 'cc', ['-O2', '-Wall', '-o', bin, src, '-lm'], 120_000);
  if (cc.code !== 0) {
    notes.push(`cross-check skipped: udpload.c did not build: ${cc.stderr.join(' ')}`);
    return;
  }
  for (let rep = 0; rep < Math.min(REPS, 2); rep++) {
    for (const s of rotate(servers, rep)) {
      checkAlive(s);
      const base = [
        '--host',
        '127.0.0.1',
        '--port',
        String(s.port),
        '--torrents',
        String(TORRENTS),
        '--peers',
        String(PEERS),
        '--max-swarm',
        '0',
        '--sockets',
        String(UDP_SOCKETS),
        '--window',
        String(UDP_WINDOW),
        '--pin',
        LOAD_CPUS,
      ];
      const args = [...base, '--duration', String(DURATION), '--seed', String(rep + 11)];
      // a short warm-up run, then the measured one
      await runToEnd(`udpload → ${s.label}`, bin, [...base, '--duration', String(Math.max(1, WARMUP))], 60_000);
      const k0 = cpuTicks(s.proc.pid);
      const r = await runToEnd(`udpload → ${s.label}`, bin, args, (DURATION + 30) * 1000);
      const k1 = cpuTicks(s.proc.pid);
      const line = r.lines.filter((l) => l.startsWith('{')).pop();
      if (!line) {
        notes.push(`cross-check against ${s.label} failed: ${r.stderr.join(' ')}`);
        continue;
      }
      const j = JSON.parse(line) as { ok: number; rps: number; errors: number; timeouts: number; first_error: string };
      const c: CrossCheck = {
        tracker: s.label,
        rep,
        answers: j.ok,
        rps: j.rps,
        errors: j.errors,
        timeouts: j.timeouts,
        cpuUsPerAnswer: round((((k1 - k0) / CLK_TCK) * 1e6) / j.ok, 3),
        firstError: j.first_error,
      };
      results.crosscheck.push(c);
      log(`cross-check udpload ${s.label} rep ${rep + 1}: ${fmt(c.cpuUsPerAnswer, 2)} µs/answer, ${c.rps}/s, errors ${c.errors}, timeouts ${c.timeouts}`);
      writeResults();
    }
  }
}

// swarmd with 1 and with 2 workers. The 2-worker server needs both cores, so in this row
// every process is unpinned (servers and generator on cores 0-1, sharing), for both worker
// counts alike; 8 sockets (source ports) so SO_REUSEPORT spreads them over the workers.
async function workersRow(): Promise<void> {
  if (!ROWS.has('workers') || !TRACKERS.includes('swarmd')) return;
  const servers: Server[] = [];
  try {
    for (const w of [1, 2]) {
      const s = await startTracker('swarmd', { cpus: '0,1', workers: w, label: `swarmd ${w} worker${w > 1 ? 's' : ''}` });
      servers.push(s);
      await prefill(s, TORRENTS, PEERS, PEERS, '0,1');
    }
    for (let rep = 0; rep < REPS; rep++) {
      for (const s of rotate(servers, rep)) {
        const splits = new Map<LoadResult, ThreadSplit>();
        const r = await leastDisturbed(`workers ${s.label}`, async () => {
          const before = threadTicks(s.proc.pid);
          const res = await udpRow(s, 'udp-announce', rep, { cpus: '0,1', sockets: 8, window: 16, label: s.label });
          const after = threadTicks(s.proc.pid);
          const split: ThreadSplit = { tracker: s.label, rep, threads: [] };
          for (const [name, t] of after) {
            const d = t - (before.get(name) ?? 0);
            if (d > 0) split.threads.push({ name, ticks: d });
          }
          split.threads.sort((a, b) => b.ticks - a.ticks);
          split.threads = split.threads.slice(0, 6);
          splits.set(res, split);
          return res;
        });
        r.row = 'workers';
        results.workers.push(r);
        const split = splits.get(r)!;
        results.threadSplit.push(split);
        writeResults();
      }
    }
  } finally {
    for (const s of servers) await stopTracker(s);
  }
}

async function rssRow(): Promise<void> {
  if (!ROWS.has('rss')) return;
  for (const kind of TRACKERS) {
    const s = await startTracker(kind, { cpus: SWARMD_CPUS, whitelist: whitelistRss });
    try {
      await sleep(1000);
      const startRss = memoryKiB(s.proc.pid).rss;
      const phases = await prefill(s, RSS_TORRENTS, RSS_PEERS, RSS_PEERS);
      await sleep(3000);
      const m = memoryKiB(s.proc.pid);
      const peers = RSS_TORRENTS * RSS_PEERS;
      const r: RssResult = {
        tracker: s.label,
        torrents: RSS_TORRENTS,
        peersPerTorrent: RSS_PEERS,
        startRssKiB: startRss,
        rssKiB: m.rss,
        hwmKiB: m.hwm,
        bytesPerPeer: round((m.rss * 1024) / peers, 1),
        addedBytesPerPeer: round(((m.rss - startRss) * 1024) / peers, 1),
        ...fillFigures(phases),
      };
      results.rss.push(r);
      log(`rss ${s.label}: ${Math.round(m.rss / 1024)} MiB after ${peers} peers (start ${Math.round(startRss / 1024)} MiB): ${r.bytesPerPeer} B/peer`);
      writeResults();
    } finally {
      await stopTracker(s);
    }
  }
}

// ---------------------------------------------------------------- metrics cost, announces during full scrapes, scale
// A long-lived HTTP client (bench/http-poll.ts) on the generator's core.
function pollerArgs(s: Server, args: string[]): string[] {
  return ['-c', LOAD_CPUS, NODE, join(BENCH, 'http-poll.ts'), '--host', '127.0.0.1', '--port', String(s.port), ...args];
}
function startPoller(s: Server, args: string[]): Proc {
  checkAlive(s);
  return start(`http-poll → ${s.label}`, 'taskset', pollerArgs(s, args), { cwd: ROOT });
}
interface PollLine {
  kind: 'metrics' | 'scrape' | 'summary' | 'cost' | 'schedule';
  path?: string;
  serverUs?: number;
  idleUsPerS?: number;
  polledUsPerS?: number;
  monoUs?: number;
  loopMs?: Record<string, Record<string, number>>;
  startUs?: number;
  endUs?: number;
  status?: number;
  bytes?: number;
  requests?: number;
  failures?: number;
}
async function stopPoller(p: Proc): Promise<PollLine[]> {
  await stop(p, 'SIGTERM', 70_000);
  const lines = p.stdoutLines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as PollLine);
  const sum = lines.find((l) => l.kind === 'summary');
  if (!sum) notes.push(`${p.name}: no summary line (exit ${p.exitCode}): ${p.stderrTail.slice(-3).join(' | ').slice(0, 300)}`);
  else if (sum.failures) notes.push(`${p.name}: ${sum.failures} of ${sum.requests} requests failed (status not 200)`);
  return lines;
}

// What /metrics polling costs (issue 5: under 2% of CPU per answer), two ways, on one swarmd
// prefilled like the load rows. First directly, with nothing else running: the server's CPU per
// /metrics and per /stats.json answered back to back, then its CPU per second idle and polled on
// the schedule below (which counts /stats.json's top-list walks as often as they recur). Then end
// to end: one UDP announce load cut into slices of METRICS_SLICE_S that alternate plain and
// polled, so that the machine's drift, which moves whole runs by ±15% here, hits both alike;
// each polled slice is compared with the plain slices on either side of it.
const METRICS_MS = 1000;
const JSON_MS = 5000;
const METRICS_SLICE_S = 5;
const METRICS_SLICES = QUICK ? 5 : 25;
const METRICS_COST_REQUESTS = QUICK ? 300 : 2000;
const METRICS_SCHEDULE_S = QUICK ? 10 : 60;
async function metricsCostRow(): Promise<void> {
  if (!ROWS.has('metrics-cost') || !TRACKERS.includes('swarmd')) return;
  const s = await startTracker('swarmd', { cpus: SWARMD_CPUS, label: 'swarmd (metrics-cost row)' });
  try {
    await prefill(s, TORRENTS, PEERS, PEERS);
    await metricsDirectCost(s);
    for (let rep = 0; rep < Math.min(REPS, 2); rep++) await metricsSlices(s, rep);
  } finally {
    await stopTracker(s);
  }
}

// Metrics-cost row, directly: each stats path's CPU per request back to back, then polling's CPU
// per second on the real schedule (bench/http-poll.ts --mode cost), nothing else running.
async function metricsDirectCost(s: Server): Promise<void> {
  const direct = await runToEnd(
    `http-poll cost → ${s.label}`,
    'taskset',
    pollerArgs(s, [
      '--mode',
      'cost',
      '--server-pid',
      String(s.proc.pid),
      '--count',
      String(METRICS_COST_REQUESTS),
      '--seconds',
      String(METRICS_SCHEDULE_S),
      '--metrics-ms',
      String(METRICS_MS),
      '--json-ms',
      String(JSON_MS),
    ]),
    (METRICS_SCHEDULE_S * 2 + 300) * 1000,
    { cwd: ROOT },
  );
  checkAlive(s);
  const lines = direct.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as PollLine);
  const costs = lines.filter((l) => l.kind === 'cost');
  const sched = lines.find((l) => l.kind === 'schedule');
  if (direct.code !== 0 || costs.length !== 2 || !sched)
    throw new Error(`http-poll --mode cost failed (exit ${direct.code}): ${direct.stderr.slice(-5).join(' | ')}`);
  for (const c of costs) {
    log(`metrics-cost: ${c.path} costs ${fmt(c.serverUs!, 0)} µs of server CPU per request (${c.requests} requests, ${Math.round(c.bytes!)} bytes each)`);
    (results.metricsRequestCost ??= []).push({
      path: c.path!,
      serverUs: round(c.serverUs!, 1),
      bytes: Math.round(c.bytes!),
      requests: c.requests!,
      failures: c.failures!,
    });
  }
  log(`metrics-cost: idle ${fmt(sched.idleUsPerS!, 0)} µs of CPU per second, polled ${fmt(sched.polledUsPerS!, 0)} (${sched.failures} failed requests)`);
  results.metricsPolling = {
    metricsMs: METRICS_MS,
    jsonMs: JSON_MS,
    sliceSeconds: METRICS_SLICE_S,
    scheduleSeconds: METRICS_SCHEDULE_S,
    idleUsPerS: round(sched.idleUsPerS!, 0),
    polledUsPerS: round(sched.polledUsPerS!, 0),
    scheduleFailures: sched.failures!,
  };
}

// Metrics-cost row, end to end: one UDP announce load whose slices alternate plain and polled.
async function metricsSlices(s: Server, rep: number): Promise<void> {
  const poller = startPoller(s, ['--mode', 'metrics', '--paused', '--metrics-ms', String(METRICS_MS), '--json-ms', String(JSON_MS)]);
  let phases: UdpPhase[];
  try {
    await sleep(300);
    phases = await udpLoad(
      s,
      [...udpRowArgs('udp-announce', rep, METRICS_SLICES * METRICS_SLICE_S), '--slices', String(METRICS_SLICES), '--toggle-pid', String(poller.pid)],
      LOAD_CPUS,
      (WARMUP + METRICS_SLICES * METRICS_SLICE_S + 60) * 1000,
    );
  } finally {
    await stopPoller(poller);
  }
  for (const p of phases.filter((x) => x.phase === 'slice')) {
    const polled = p.slice! % 2 === 1;
    const r = udpResult('metrics-cost', polled ? METRICS_POLLED : METRICS_PLAIN, rep, p);
    r.slice = p.slice;
    (results.metricsCost ??= []).push(r);
  }
  const mine = results.metricsCost!.filter((r) => r.rep === rep);
  const figures = (label: string) =>
    mine
      .filter((r) => r.tracker === label)
      .map((r) => fmt(r.cpuUsPerAnswer, 2))
      .join(' ');
  log(`metrics-cost rep ${rep + 1}: plain ${figures(METRICS_PLAIN)}; polled ${figures(METRICS_POLLED)} µs/answer`);
  writeResults();
}

// A steady UDP announce load, with and without a client fetching full scrapes back to back
// (issue 4). Prefilled like the RSS row: 1M torrents x 2 peers.
async function scrapeLoadRow(): Promise<void> {
  if (!ROWS.has('scrape-load')) return;
  for (const kind of TRACKERS.filter((k) => k !== 'bittorrent-tracker')) {
    const s = await startTracker(kind, { cpus: SWARMD_CPUS, whitelist: whitelistRss, label: `${kind} (scrape-load row)` });
    try {
      await prefill(s, RSS_TORRENTS, SCRAPE_PEERS, SCRAPE_PEERS);
      for (let rep = 0; rep < Math.min(REPS, 2); rep++) {
        for (const scraping of rotate([false, true], rep)) {
          const poller = scraping ? startPoller(s, ['--mode', 'scrape']) : undefined;
          let phases: UdpPhase[];
          let lines: PollLine[] = [];
          try {
            if (poller) await sleep(300);
            phases = await udpLoad(
              s,
              [
                '--torrents',
                String(RSS_TORRENTS),
                '--peers',
                String(SCRAPE_PEERS),
                '--mode',
                'announce',
                '--warmup',
                String(WARMUP),
                '--duration',
                String(SCRAPE_SECONDS),
                '--sockets',
                String(UDP_SOCKETS),
                '--window',
                String(UDP_WINDOW),
                '--seed',
                String(rep + 31),
              ],
              LOAD_CPUS,
              (WARMUP + SCRAPE_SECONDS + 60) * 1000,
            );
          } finally {
            if (poller) lines = await stopPoller(poller);
          }
          const p = phases.find((x) => x.phase === 'load')!;
          const scrapes = lines.filter((l) => l.kind === 'scrape');
          const inPhase = scrapes.filter((l) => l.status === 200 && l.endUs! >= p.monoStartUs && l.startUs! <= p.monoEndUs);
          const ok = scrapes.filter((l) => l.status === 200);
          const r: ScrapeLoadResult = {
            tracker: kind,
            rep,
            withScrapes: scraping,
            answers: p.answers,
            seconds: p.seconds,
            rps: p.rps,
            latP50Us: p.latP50Us,
            latP99Us: p.latP99Us,
            cpuUsPerAnswer: p.serverCpuUsPerAnswer,
            serverCpuPct: p.serverCpuPct,
            errors: p.errors,
            timeouts: p.timeouts + (p.unansweredAtEnd ?? 0),
            firstError: p.firstError,
            scrapesInPhase: inPhase.length,
            scrapesOk: ok.length,
            scrapesFailed: scrapes.length - ok.length,
            scrapeBytes: median(ok.map((l) => l.bytes!)),
            scrapeMs: median(ok.map((l) => (l.endUs! - l.startUs!) / 1000)),
          };
          (results.scrapeLoad ??= []).push(r);
          log(
            `scrape-load ${kind} rep ${rep + 1} ${scraping ? 'with' : 'without'} full scrapes: ${r.rps}/s, p50 ${r.latP50Us} µs, p99 ${r.latP99Us} µs, errors ${r.errors}, timeouts ${r.timeouts}${scraping ? `; ${r.scrapesInPhase} full scrapes in the phase (${r.scrapesFailed} failed), ${Math.round(r.scrapeBytes / 1024)} KiB, ${round(r.scrapeMs, 0)} ms each` : ''}`,
          );
          writeResults();
        }
      }
    } finally {
      await stopTracker(s);
    }
  }
}

// Issue 3, "Scale": swarmd holding 30M peers over 5M torrents; a steady announce load while
// the event-loop delay is read from /metrics every 2 s.
async function scaleRow(): Promise<void> {
  if (!ROWS.has('scale') || !TRACKERS.includes('swarmd')) return;
  const s = await startTracker('swarmd', { cpus: SWARMD_CPUS, label: 'swarmd (scale row)', extraArgs: ['--memory-limit', '16G'] });
  try {
    await sleep(1000);
    const startRss = memoryKiB(s.proc.pid).rss;
    const fill = await prefill(s, SCALE_TORRENTS, SCALE_PEERS, SCALE_PEERS);
    await sleep(3000);
    const filled = memoryKiB(s.proc.pid);
    const { phases, lines } = await scaleLoad(s);
    const after = memoryKiB(s.proc.pid);
    const p = phases.find((x) => x.phase === 'load')!;
    const readings = lines.filter((l) => l.kind === 'metrics' && l.monoUs! >= p.monoStartUs && l.monoUs! <= p.monoEndUs);
    const { perThread, worstPerReading, maxMs } = loopDelays(readings);
    if (readings.length === 0) notes.push('scale row: no /metrics reading with swarmd_event_loop_delay_seconds during the steady phase');
    const peers = SCALE_TORRENTS * SCALE_PEERS;
    const r: ScaleResult = {
      torrents: SCALE_TORRENTS,
      peersPerTorrent: SCALE_PEERS,
      startRssKiB: startRss,
      rssKiB: filled.rss,
      rssAfterKiB: after.rss,
      hwmKiB: after.hwm,
      bytesPerPeer: round((filled.rss * 1024) / peers, 1),
      ...fillFigures(fill),
      seconds: p.seconds,
      answers: p.answers,
      rps: p.rps,
      cpuUsPerAnswer: p.serverCpuUsPerAnswer,
      serverCpuPct: p.serverCpuPct,
      errors: p.errors,
      timeouts: p.timeouts + (p.unansweredAtEnd ?? 0),
      latP50Us: p.latP50Us,
      latP99Us: p.latP99Us,
      avgPeers: p.avgPeersReturned,
      othersCpuPct: round(othersPct(p.sysBusyTicks, p.serverCpuTicks, (p.genCpuPct / 100) * p.seconds * CLK_TCK, p.seconds), 1),
      readings: readings.length,
      worstP99Ms: worstPerReading.length ? Math.max(...worstPerReading) : NaN,
      medianP99Ms: median(worstPerReading),
      maxMs: readings.length ? maxMs : NaN,
      perThread: [...perThread.entries()].map(([thread, worstP99Ms]) => ({ thread, worstP99Ms })),
      firstError: p.firstError,
    };
    (results.scale ??= []).push(r);
    log(
      `scale: ${Math.round(filled.rss / 1024)} MiB for ${peers} peers (${r.bytesPerPeer} B/peer); steady ${r.rps}/s, ${r.cpuUsPerAnswer} µs/answer; event-loop p99 worst ${r.worstP99Ms} ms, median ${r.medianP99Ms} ms over ${r.readings} readings; max ${r.maxMs} ms`,
    );
    writeResults();
  } finally {
    await stopTracker(s);
  }
}

// Scale row, steady phase: the announce load, with /metrics read every 2 s for the event-loop delay.
async function scaleLoad(s: Server): Promise<{ phases: UdpPhase[]; lines: PollLine[] }> {
  const poller = startPoller(s, ['--mode', 'metrics', '--metrics-ms', '2000', '--json-ms', '0']);
  let phases: UdpPhase[];
  let lines: PollLine[];
  try {
    phases = await udpLoad(
      s,
      [
        '--torrents',
        String(SCALE_TORRENTS),
        '--peers',
        String(SCALE_PEERS),
        '--zipf',
        '1',
        '--numwant',
        '50',
        '--mode',
        'announce',
        '--warmup',
        String(WARMUP),
        '--duration',
        String(SCALE_SECONDS),
        '--sockets',
        String(UDP_SOCKETS),
        '--window',
        String(UDP_WINDOW),
        '--seed',
        '21',
      ],
      LOAD_CPUS,
      (WARMUP + SCALE_SECONDS + 180) * 1000,
    );
  } finally {
    lines = await stopPoller(poller);
  }
  return { phases, lines };
}

// The event-loop delays of the /metrics readings: each thread's worst p99, each reading's worst
// thread's p99, and the largest maximum.
function loopDelays(readings: PollLine[]): { perThread: Map<string, number>; worstPerReading: number[]; maxMs: number } {
  const perThread = new Map<string, number>();
  const worstPerReading: number[] = [];
  let maxMs = 0;
  for (const rd of readings) {
    let worst = 0;
    for (const [thread, q] of Object.entries(rd.loopMs ?? {})) {
      const p99 = q['0.99'] ?? NaN;
      if (Number.isFinite(p99)) {
        worst = Math.max(worst, p99);
        perThread.set(thread, Math.max(perThread.get(thread) ?? 0, p99));
      }
      if (Number.isFinite(q['1'])) maxMs = Math.max(maxMs, q['1']!);
    }
    worstPerReading.push(worst);
  }
  return { perThread, worstPerReading, maxMs };
}

function median(v: number[]): number {
  const s = v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// Summarizes the .cpuprofile files of one run (one per thread: main and workers): self time per
// function over all threads together, counting only the samples of the timed phase [from, to].
function summarizeProfiles(dir: string, row: string, from: number, to: number): Profile | null {
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort()
    : [];
  const byFn = new Map<string, number>();
  const threads: Profile['threads'] = [];
  let busyAll = 0;
  let windowMs = 0;
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
      startTime: number;
      endTime: number;
      samples: number[];
      timeDeltas: number[];
    };
    // sample i was taken at startTime + sum(timeDeltas[0..i])
    const hits = new Map<number, number>();
    let time = prof.startTime;
    let total = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      time += prof.timeDeltas[i] ?? 0;
      if (time < from || time > to) continue;
      hits.set(prof.samples[i]!, (hits.get(prof.samples[i]!) ?? 0) + 1);
      total++;
    }
    if (total === 0) continue;
    let idle = 0;
    for (const n of prof.nodes) {
      const h = hits.get(n.id) ?? 0;
      if (!h) continue;
      const cf = n.callFrame;
      if (cf.functionName === '(idle)') {
        idle += h;
        continue;
      }
      const where = cf.url
        ? ` ${cf.url
            .replace(/^file:\/\//, '')
            .replace(swarmdDir + '/', '')
            .replace(ROOT + '/', '')}:${cf.lineNumber + 1}`
        : '';
      const key = `${cf.functionName || '(anonymous)'}${where}`;
      byFn.set(key, (byFn.get(key) ?? 0) + h);
    }
    const ms = (Math.min(to, prof.endTime) - Math.max(from, prof.startTime)) / 1000;
    windowMs = Math.max(windowMs, ms);
    busyAll += total - idle;
    threads.push({ file: f, samples: total, busyPct: round(((total - idle) / total) * 100, 1) });
  }
  if (busyAll === 0) return null;
  const top = [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([fn, h]) => ({ fn, selfPct: round((h / busyAll) * 100, 1) }));
  return { row, threads, busySamples: busyAll, windowMs: Math.round(windowMs), top };
}

// For every load row where swarmd missed a target: run it once more with --cpu-prof.
async function profiles(missed: string[]): Promise<void> {
  if (!PROFILE || missed.length === 0) return;
  for (const row of missed) {
    const dir = mkdtempSync(join(work, 'prof-'));
    let r: LoadResult | undefined;
    const workers = row === 'workers' ? 2 : 1;
    const s = await startTracker('swarmd', { cpus: row === 'workers' ? '0,1' : SWARMD_CPUS, workers, cpuProfDir: dir, label: `swarmd --cpu-prof (${row})` });
    try {
      await prefill(s, TORRENTS, PEERS, PEERS, row === 'workers' ? '0,1' : LOAD_CPUS);
      if (row === 'udp-announce' || row === 'udp-mixed') r = await udpRow(s, row, 0);
      else if (row === 'workers') r = await udpRow(s, 'udp-announce', 0, { cpus: '0,1', sockets: 8, window: 16 });
      else {
        const pathsFile = join(work, 'http-paths.txt');
        if (!existsSync(pathsFile)) writeFileSync(pathsFile, httpAnnouncePaths(makeHashes(TORRENTS), TORRENTS, PEERS, HTTP_PATHS, 1, 7).join('\n') + '\n');
        r = await httpRow(s, row as 'http-close' | 'http-keepalive', 0, pathsFile);
      }
    } finally {
      await stopTracker(s);
    }
    // only the samples of the timed phase (the profile also covers start-up and the prefill)
    const p = r ? summarizeProfiles(dir, row, r.monoStartUs ?? 0, r.monoEndUs ?? Infinity) : null;
    if (p) {
      results.profiles.push(p);
      mkdirSync(join(OUT, 'profiles'), { recursive: true });
      for (const t of p.threads) writeFileSync(join(OUT, 'profiles', `${row}-${t.file}`), readFileSync(join(dir, t.file)));
      log(
        `profile ${row}: ${p.top
          .slice(0, 5)
          .map((t) => `${t.fn} ${t.selfPct}%`)
          .join('; ')}`,
      );
    } else notes.push(`profile of ${row}: no .cpuprofile written (did swarmd exit cleanly on SIGTERM?)`);
    writeResults();
  }
}

// ---------------------------------------------------------------- output
function round(v: number, d: number): number {
  const m = 10 ** d;
  return Math.round(v * m) / m;
}
function fmt(v: number, d: number): string {
  return Number.isFinite(v) ? v.toFixed(d) : '–';
}

const resultsFile = join(OUT, 'results.json');
function writeResults(): void {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(resultsFile, JSON.stringify(results, null, 1));
}

function machine(): Results['meta']['machine'] {
  return {
    nproc: Number(sh('nproc', [])) || cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    kernel: sh('uname', ['-r']),
    node: process.version,
    memGiB: round(totalmem() / 2 ** 30, 1),
  };
}

async function main(): Promise<void> {
  if (opt['report-only']) return reportOnly(opt['report-only']);
  checkTools();
  if (cpus().length < 2) notes.push(`only ${cpus().length} core: server and load generator share it`);
  const t0 = Date.now();
  prepareWork();
  results.meta = runMeta();
  writeResults();
  log(`bench: rows ${[...ROWS].join(', ')}; trackers ${TRACKERS.join(', ')}; ${REPS} rep(s) of ${WARMUP} s warm-up + ${DURATION} s`);

  await loadRows();
  await workersRow();
  await rssRow();
  await laterRows();

  // Targets first, then profiles of the rows swarmd missed
  const missed = renderReport(results).missedRows.filter((r) => ROWS.has(r as RowName));
  if (missed.length) log(`swarmd missed targets in: ${missed.join(', ')}`);
  await profiles(missed.filter((r) => (LOAD_ROWS as readonly string[]).includes(r) || r === 'workers'));

  results.meta.loadavgEnd = loadavg().map((x) => round(x, 2));
  results.meta.elapsedS = Math.round((Date.now() - t0) / 1000);
  writeResults();
  const stamp = results.meta.date.replace(/[:.]/g, '-');
  writeFileSync(join(OUT, `results-${stamp}.json`), JSON.stringify(results, null, 1));
  const rendered = renderReport(results);
  const out = opt.report ?? join(BENCH, 'report.md');
  writeFileSync(out, rendered.markdown);
  log(`wrote ${out} and ${resultsFile} (${results.meta.elapsedS} s)`);
  process.stdout.write(rendered.summary + '\n');
}

// --report-only: bench/report.md from a saved results file, nothing run.
function reportOnly(file: string): void {
  const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
  const out = opt.report ?? join(BENCH, 'report.md');
  writeFileSync(out, renderReport(r).markdown);
  log(`wrote ${out}`);
}

function checkTools(): void {
  for (const tool of ['taskset', 'wrk', 'opentracker']) {
    if (!sh('sh', ['-c', `command -v ${tool}`])) fail(`${tool} is missing: run bash bench/setup.sh (npm run bench does)`);
  }
  if (TRACKERS.includes('bittorrent-tracker') && !existsSync(join(BENCH, '.peers', 'node_modules', 'bittorrent-tracker', 'server.js'))) {
    fail('bittorrent-tracker is missing: run bash bench/setup.sh (npm run bench does)');
  }
}

// The work directory, the snapshot of swarmd every row runs, the whitelists.
function prepareWork(): void {
  work = mkdtempSync(join(tmpdir(), 'swarmd-bench-'));
  chmodSync(work, 0o755); // opentracker runs as nobody and reads its whitelist from here
  swarmdDir = snapshotSwarmd();
  whitelistLoad = join(work, 'whitelist-load.txt');
  whitelistRss = join(work, 'whitelist-rss.txt');
  const hashes = makeHashes(Math.max(TORRENTS, RSS_TORRENTS));
  writeFileSync(whitelistLoad, whitelistText(hashes.subarray(0, TORRENTS * 20)), { mode: 0o644 });
  writeFileSync(whitelistRss, whitelistText(hashes.subarray(0, RSS_TORRENTS * 20)), { mode: 0o644 });
}

// What the report says of the run before any row: date, machine, versions, settings.
function runMeta(): Results['meta'] {
  const btPkg = join(BENCH, '.peers', 'node_modules', 'bittorrent-tracker', 'package.json');
  return {
    date: new Date().toISOString(),
    machine: machine(),
    versions: {
      opentracker: sh('dpkg-query', ['-W', '-f=${Version}', 'opentracker']) || '?',
      wrk: sh('dpkg-query', ['-W', '-f=${Version}', 'wrk']) || '?',
      bittorrentTracker: existsSync(btPkg) ? (JSON.parse(readFileSync(btPkg, 'utf8')) as { version: string }).version : '?',
      swarmdCommit:
        sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']) +
        (sh('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'bin', 'native']) ? ' + uncommitted changes' : ''),
    },
    config: {
      quick: QUICK,
      reps: REPS,
      warmupS: WARMUP,
      durationS: DURATION,
      torrents: TORRENTS,
      peers: PEERS,
      rssTorrents: RSS_TORRENTS,
      rssPeers: RSS_PEERS,
      scaleTorrents: SCALE_TORRENTS,
      scalePeers: SCALE_PEERS,
      scaleSeconds: SCALE_SECONDS,
      scrapeSeconds: SCRAPE_SECONDS,
      udpSockets: UDP_SOCKETS,
      udpWindow: UDP_WINDOW,
      wrkConnections: WRK_CONNS,
      clkTck: CLK_TCK,
      rows: [...ROWS],
      trackers: TRACKERS,
    },
    swarmdUdpIo: '',
    loadavgStart: loadavg().map((x) => round(x, 2)),
    loadavgEnd: [],
    elapsedS: 0,
  };
}

async function clusterRow(): Promise<void> {
  if (!ROWS.has('cluster-sync') || !TRACKERS.includes('swarmd')) return;
  await clusterSyncRow({
    reps: REPS,
    serverCpus: SWARMD_CPUS,
    loadCpus: LOAD_CPUS,
    work,
    log,
    stopTracker,
    startTracker: (o) => startTracker('swarmd', o),
    prefill: (s) => prefill(s, TORRENTS, PEERS, PEERS),
    measure: (s, rep, label) => leastDisturbed(`cluster-sync ${label}`, () => udpRow(s, 'udp-announce', rep, { label })),
    record: (r) => ((results.clusterSync ??= []).push(r), writeResults()),
  });
}

async function wsRow(): Promise<void> {
  if (!ROWS.has('websocket')) return;
  results.websocket = await websocketRow({
    bench: BENCH,
    swarmdDir,
    node: NODE,
    trackers: TRACKERS,
    serverCpus: SWARMD_CPUS,
    loadCpus: LOAD_CPUS,
    warmupS: WARMUP,
    durationS: DURATION,
    log,
  });
  writeResults();
}

// Times the tests only check as behaviour (bench/micro/timings.ts), pinned like a server: one note each.
async function timingsRow(): Promise<void> {
  if (!ROWS.has('timings')) return;
  const r = await runToEnd('timings', 'taskset', ['-c', SWARMD_CPUS, NODE, join(BENCH, 'micro', 'timings.ts')], 600_000, { cwd: ROOT });
  if (r.code !== 0) throw new Error(`bench/micro/timings.ts failed (exit ${r.code}): ${r.stderr.slice(-5).join(' | ')}`);
  for (const l of r.lines) notes.push(`timings: ${l}`);
}

// the rows of issues 3 (scale), 4, 5, 7 and 8, and the timings: a failure there is noted in the report, not fatal
async function laterRows(): Promise<void> {
  for (const [name, row] of [
    ['metrics-cost', metricsCostRow],
    ['scrape-load', scrapeLoadRow],
    ['scale', scaleRow],
    ['cluster-sync', clusterRow],
    ['websocket', wsRow],
    ['timings', timingsRow],
  ] as const) {
    try {
      await row();
    } catch (err) {
      notes.push(`row ${name} failed: ${String((err as Error).message ?? err).slice(0, 400)}`);
      log(`row ${name} failed: ${(err as Error).stack ?? err}`);
    }
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  writeResults();
  await shutdown(1);
}
await shutdown(0);
