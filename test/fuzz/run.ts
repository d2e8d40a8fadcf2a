// `npm run fuzz`: the hostile-input run at full size against a real tracker (2 workers, the test's
// HTTP limits), with its memory watched.
//   npm run fuzz -- [--count N] [--seed S]
// --count: datagrams (default 2,000,000); HTTP requests are a hundredth of it. Fails (exit 1) if a
// valid announce went unanswered or wrong, a worker died, a hostile HTTP request hung, a datagram
// went uncounted, or the tracker's memory grew by more than 256 MiB.
//   npm run fuzz -- --tcp-native [--asan] [--count N] [--seed S]
// The native TCP layer alone instead (test/fuzz/tcp-native.ts): N/100 hostile HTTP requests at an
// echo server on it; --asan with the addon built with AddressSanitizer. Fails on a wrong or
// missing valid answer, a hang, a server that died, or any sanitizer report.
import { parseArgs } from 'node:util';
import { startTestTracker } from '../helpers/tracker.ts';
import { UDP_OUTCOMES, fuzzTracker } from './hostile-input.ts';
import { runNativeTcpFuzz } from './tcp-native.ts';

const { values: opt } = parseArgs({
  options: {
    count: { type: 'string', default: '2000000' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
    'tcp-native': { type: 'boolean', default: false },
    asan: { type: 'boolean', default: false },
  },
});
const datagrams = Number(opt.count);
const requests = Math.max(100, Math.floor(datagrams / 100));
const seed = Number(opt.seed);
if (opt['tcp-native'] || opt.asan) {
  const r = await runNativeTcpFuzz({ requests, seed, asan: opt.asan });
  console.log(JSON.stringify({ ...r, validWrong: r.validWrong.slice(0, 10), asan: opt.asan }, null, 2));
  const ok = r.validWrong.length === 0 && r.httpHung === 0 && r.sanitizer.length === 0 && r.serverExit === '0' && r.counters !== null;
  console.log(ok ? 'fuzz: 1 passed, 0 failed' : 'fuzz: 0 passed, 1 failed');
  process.exit(ok ? 0 : 1);
}
const tracker = await startTestTracker({
  workers: 2,
  http: { idleTimeout: 2, headerTimeout: 1, maxRequestBytes: 8192, keepAlive: true, maxConnections: 1000 },
});
const rss = () => Math.round(process.memoryUsage().rss / 1048576);
const before = rss();
let peak = before;
const sampler = setInterval(() => (peak = Math.max(peak, rss())), 1000);
const started = Date.now();
const result = await fuzzTracker({ udpPort: tracker.udp4, tcpPort: tracker.tcp4, datagrams, requests, seed, checkEvery: 2000 });
clearInterval(sampler);
const c = tracker.counters();
const outcomes = UDP_OUTCOMES.reduce((n, k) => n + c[k], 0);
await tracker.close();
const report = {
  seed,
  seconds: (Date.now() - started) / 1000,
  ...result,
  validWrong: result.validWrong.slice(0, 10),
  rssMiB: { before, peak, after: rss() },
  restarts: tracker.restarts,
  udp: {
    received: c.udp_received,
    counted: outcomes,
    malformed: c.udp_malformed,
    bad_connection_id: c.udp_bad_connection_id,
    invalid: c.udp_invalid,
    oversized: c.udp_oversized,
  },
  http: {
    malformed: c.http_malformed,
    too_large: c.http_too_large,
    invalid: c.http_invalid,
    not_found: c.http_not_found,
    method: c.http_method,
    timeouts: c.http_timeouts,
  },
};
console.log(JSON.stringify(report, null, 2));
const ok = result.validWrong.length === 0 && tracker.restarts === 0 && result.httpHung === 0 && outcomes === c.udp_received && peak - before < 256;
console.log(ok ? 'fuzz: 1 passed, 0 failed' : 'fuzz: 0 passed, 1 failed');
process.exitCode = ok ? 0 : 1;
