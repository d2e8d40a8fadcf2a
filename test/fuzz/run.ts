// `npm run fuzz`: the hostile-input run at full size against a real tracker (2 workers), with its
// memory watched. FUZZ_DATAGRAMS (default 2,000,000), FUZZ_REQUESTS (20,000), FUZZ_SEED.
import { startTestTracker } from '../helpers/tracker.ts';
import { fuzzTracker } from './hostile-input.ts';

const datagrams = Number(process.env.FUZZ_DATAGRAMS ?? 2_000_000);
const requests = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100000);
const tracker = await startTestTracker({ workers: 2 });
const rss = () => Math.round(process.memoryUsage().rss / 1048576);
const before = rss();
const started = Date.now();
const result = await fuzzTracker({ udpPort: tracker.udp4, tcpPort: tracker.tcp4, datagrams, requests, seed, checkEvery: 2000 });
const counters = tracker.counters();
await tracker.close();
const report = {
  seed, seconds: (Date.now() - started) / 1000, ...result, validWrong: result.validWrong.slice(0, 10),
  rssMiB: { before, after: rss() }, restarts: tracker.restarts,
  counted: { udp_malformed: counters.udp_malformed, udp_bad_connection_id: counters.udp_bad_connection_id, udp_invalid: counters.udp_invalid, http_malformed: counters.http_malformed, http_too_large: counters.http_too_large, http_invalid: counters.http_invalid },
};
console.log(JSON.stringify(report, null, 2));
const ok = result.validWrong.length === 0 && tracker.restarts === 0;
console.log(ok ? 'fuzz: 1 passed, 0 failed' : 'fuzz: 0 passed, 1 failed');
process.exitCode = ok ? 0 : 1;
