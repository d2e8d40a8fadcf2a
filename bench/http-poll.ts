// A long-lived HTTP client for the bench (run.ts), so that polling a tracker costs no process
// start per request:
//
//   node bench/http-poll.ts --port P --mode metrics [--metrics-ms 1000] [--json-ms 5000] [--seconds 600]
//   node bench/http-poll.ts --port P --mode scrape [--seconds 600]
//
// metrics: GET /metrics every --metrics-ms and GET /stats.json every --json-ms (0 = never); for
//   every /metrics answer one JSON line: CLOCK_MONOTONIC µs, and swarmd_event_loop_delay_seconds
//   by thread and quantile (ms).
// scrape: GET /scrape (a full scrape, Accept-Encoding: gzip) back to back; one JSON line per
//   full scrape: start and end (monotonic µs), status, bytes received (compressed).
// Runs until --seconds have passed or SIGTERM; then prints a summary line. Loopback only.

import { request } from 'node:http';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    mode: { type: 'string', default: 'metrics' },
    'metrics-ms': { type: 'string', default: '1000' },
    'json-ms': { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '600' },
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
if (opt.mode === 'metrics') {
  const mEvery = Number(opt['metrics-ms']);
  const jEvery = Number(opt['json-ms']);
  let nextM = performance.now();
  let nextJ = jEvery > 0 ? performance.now() + jEvery : Infinity;
  while (running && Date.now() < deadline) {
    const now = performance.now();
    if (now >= nextM) {
      nextM += mEvery;
      const t = monoUs();
      const r = await get('/metrics', true);
      requests++;
      if (r.status !== 200) failures++;
      else out({ kind: 'metrics', monoUs: t, bytes: r.bytes, loopMs: loopDelays(r.body) });
    }
    if (now >= nextJ) {
      nextJ += jEvery;
      const r = await get('/stats.json', false);
      requests++;
      if (r.status !== 200) failures++;
    }
    await sleep(Math.max(1, Math.min(nextM, nextJ) - performance.now()));
  }
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
} else {
  process.stderr.write('http-poll: --mode is metrics or scrape\n');
  process.exit(2);
}
out({ kind: 'summary', requests, failures });
