// A long-lived HTTP client for the bench (run.ts), so that polling a tracker costs no process
// start per request:
//
//   node bench/http-poll.ts --port P --mode metrics [--metrics-ms 1000] [--json-ms 5000] [--seconds 600]
//   node bench/http-poll.ts --port P --mode scrape [--seconds 600]
//   node bench/http-poll.ts --port P --mode cost --server-pid PID [--count 2000] [--seconds 60]
//
// metrics: GET /metrics every --metrics-ms and GET /stats.json every --json-ms (0 = never); for
//   every /metrics answer one JSON line: CLOCK_MONOTONIC µs, and swarmd_event_loop_delay_seconds
//   by thread and quantile (ms). With --paused it starts idle, and every SIGUSR1 pauses or resumes
//   the polling (udp-load.ts --toggle-pid), so that one load run can alternate polled and plain
//   slices. Each (re)start GETs /metrics at once and /stats.json half a --json-ms later.
// scrape: GET /scrape (a full scrape, Accept-Encoding: gzip) back to back; one JSON line per
//   full scrape: start and end (monotonic µs), status, bytes received (compressed).
// cost: what answering costs the server (utime+stime of --server-pid, all threads). For /metrics
//   and then /stats.json, 50 GETs to warm up, then --count GETs back to back: one JSON line per
//   path with the CPU per request. Then the server idle for --seconds / 2 and polled on the
//   schedule above for --seconds: one JSON line with its CPU per second in each.
// Runs until --seconds have passed or SIGTERM; then prints a summary line. Loopback only.

import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { CLK_TCK, cpuTicks } from './lib.ts';

const { values: opt } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    mode: { type: 'string', default: 'metrics' },
    'metrics-ms': { type: 'string', default: '1000' },
    'json-ms': { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '600' },
    paused: { type: 'boolean', default: false },
    'server-pid': { type: 'string' },
    count: { type: 'string', default: '2000' },
  },
});
const HOST = opt.host!;
const PORT = Number(opt.port);
if (!/^127\./.test(HOST)) {
  process.stderr.write(`http-poll: refusing non-loopback target ${HOST}\n`);
  process.exit(2);
}
if (!(PORT > 0 && PORT < 65536)) {
  process.stderr.write('http-poll: --port is required\n');
  process.exit(2);
}

function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
function out(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ tool: 'http-poll', ...obj }) + '\n');
}

interface Got {
  status: number;
  bytes: number;
  body: string;
}
function get(path: string, keepBody: boolean, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve) => {
    const req = request({ host: HOST, port: PORT, path, method: 'GET', headers: { Connection: 'close', ...headers }, agent: false }, (res) => {
      let bytes = 0;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => {
        bytes += d.length;
        if (keepBody) parts.push(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, body: keepBody ? Buffer.concat(parts).toString('utf8') : '' }));
      res.on('error', () => resolve({ status: -1, bytes, body: '' }));
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: -1, bytes: 0, body: '' }));
    req.end();
  });
}

let running = true;
const deadline = Date.now() + Number(opt.seconds) * 1000;
process.on('SIGTERM', () => (running = false));
process.on('SIGINT', () => (running = false));
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const RE = /^swarmd_event_loop_delay_seconds\{([^}]*)\}\s+(\S+)/;
function loopDelays(text: string): Record<string, Record<string, number>> {
  const by: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    const m = RE.exec(line);
    if (!m) continue;
    const thread = /thread="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    const q = /quantile="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    (by[thread] ??= {})[q] = Number(m[2]) * 1000;
  }
  return by;
}

let requests = 0;
let failures = 0;

// The polling schedule: /metrics every --metrics-ms, /stats.json every --json-ms (the first one
// half a period after a (re)start, so that it never coincides with a /metrics).
const M_EVERY = Number(opt['metrics-ms']);
const J_EVERY = Number(opt['json-ms']);
let paused = false;
let nextM = 0;
let nextJ = Infinity;
function restart(): void {
  nextM = performance.now();
  nextJ = J_EVERY > 0 ? nextM + J_EVERY / 2 : Infinity;
}
async function poll(endMs: number): Promise<void> {
  restart();
  while (running && performance.now() < endMs) {
    if (paused) {
      await sleep(5);
      continue;
    }
    const now = performance.now();
    if (now >= nextM) {
      nextM += M_EVERY;
      const t = monoUs();
      const r = await get('/metrics', true);
      requests++;
      if (r.status !== 200) failures++;
      else out({ kind: 'metrics', monoUs: t, bytes: r.bytes, loopMs: loopDelays(r.body) });
    }
    if (!paused && now >= nextJ) {
      nextJ += J_EVERY;
      const r = await get('/stats.json', false);
      requests++;
      if (r.status !== 200) failures++;
    }
    await sleep(Math.max(1, Math.min(nextM, nextJ, endMs) - performance.now()));
  }
}

if (opt.mode === 'metrics') {
  paused = opt.paused!;
  process.on('SIGUSR1', () => {
    paused = !paused;
    if (!paused) restart();
  });
  await poll(performance.now() + Number(opt.seconds) * 1000);
} else if (opt.mode === 'scrape') {
  while (running && Date.now() < deadline) {
    const t0 = monoUs();
    const r = await get('/scrape', false, { 'Accept-Encoding': 'gzip' });
    const t1 = monoUs();
    requests++;
    if (r.status !== 200) {
      failures++;
      await sleep(100);
    }
    out({ kind: 'scrape', startUs: t0, endUs: t1, status: r.status, bytes: r.bytes });
  }
} else if (opt.mode === 'cost') {
  const pid = Number(opt['server-pid']);
  const count = Number(opt.count);
  const seconds = Number(opt.seconds);
  if (!(pid > 0) || !(count > 0) || !(seconds > 0 && seconds <= 600)) {
    process.stderr.write('http-poll: --mode cost needs --server-pid, --count and --seconds (at most 600)\n');
    process.exit(2);
  }
  // Each request alone, back to back (/stats.json then mostly gets its top list from the cache).
  for (const path of ['/metrics', '/stats.json']) {
    for (let i = 0; i < 50; i++) await get(path, false);
    let bytes = 0;
    let fails = 0;
    const k0 = cpuTicks(pid);
    for (let i = 0; i < count && running; i++) {
      const r = await get(path, false);
      bytes += r.bytes;
      if (r.status !== 200) fails++;
    }
    const k1 = cpuTicks(pid);
    requests += count + 50;
    failures += fails;
    out({ kind: 'cost', path, requests: count, failures: fails, serverUs: (((k1 - k0) / CLK_TCK) * 1e6) / count, bytes: bytes / count });
  }
  // The schedule itself, which includes the top list's walks as they really recur: the server's
  // CPU per second while polled for --seconds, less its CPU per second idle for half as long.
  await sleep(2000);
  const k0 = cpuTicks(pid);
  await sleep((seconds / 2) * 1000);
  const k1 = cpuTicks(pid);
  const before = failures;
  await poll(performance.now() + seconds * 1000);
  const k2 = cpuTicks(pid);
  const idleUsPerS = (((k1 - k0) / CLK_TCK) * 1e6) / (seconds / 2);
  const polledUsPerS = (((k2 - k1) / CLK_TCK) * 1e6) / seconds;
  out({ kind: 'schedule', seconds, idleSeconds: seconds / 2, idleUsPerS, polledUsPerS, failures: failures - before });
} else {
  process.stderr.write('http-poll: --mode is metrics, scrape or cost\n');
  process.exit(2);
}
out({ kind: 'summary', requests, failures });
