// `npm run soak`: a long run of swarmd under steady UDP load with churn, and its report.
//
//   node bench/soak.ts [--minutes 30] [--sample 10] [--torrents 50000] [--peers 100]
//                      [--stopped 5] [--out bench/out]
//
// swarmd runs as a child (bin/swarmd.js, 2 workers, loopback only) with short timers so that
// churn happens within the run: a 60 s announce interval, peers dropped after 150 s without an
// announce, cleaning every 15 s. The load is bench/udp-load.ts (closed loop, one socket, a small
// window; both run under `nice` so the run leaves a shared machine room): Zipf popularity over --torrents, each
// announce from one of --peers identities of its torrent, 10% started, 5% completed, --stopped %
// stopped (peers leaving); identities of unpopular torrents announce rarely and expire (peers
// joining, leaving, expiring). It runs in segments of at most 10 minutes (udp-load's limit).
// Every --sample seconds the script reads /stats.json (answers, peers, torrents, event-loop
// delay per thread) and /proc/PID (RSS, open file descriptors) and at the end writes
// soak.json and soak.md to --out. Exit code 1 if swarmd died, a worker restarted, or the
// generator failed.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { freePort, killAllNow, memoryKiB, runToEnd, sleep, start, stop, waitReady } from './lib.ts';

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    sample: { type: 'string', default: '10' },
    torrents: { type: 'string', default: '50000' },
    peers: { type: 'string', default: '100' },
    stopped: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/out' },
  },
});
const MINUTES = Number(opt.minutes);
const SAMPLE_S = Number(opt.sample);
if (!(MINUTES > 0) || !(SAMPLE_S >= 1)) {
  process.stderr.write('soak: --minutes must be > 0 and --sample >= 1\n');
  process.exit(2);
}
const NODE = process.execPath;
const SEGMENT_S = 600;

interface Sample {
  t: number; // seconds since the load started
  answersPerSecond: number;
  rssMiB: number;
  fds: number;
  peers: number;
  torrents: number;
  eventLoopP99Ms: number; // worst thread
  eventLoopMaxMs: number;
  restarts: number;
}

type StatsJson = {
  torrents: number;
  peers: { total: number };
  requests: Record<string, Record<string, Record<string, number>>>;
  workers: { restarts: number };
  threads: { event_loop_ms: { p99: number; max: number } }[];
};

function answered(s: StatsJson): number {
  let n = 0;
  for (const byAction of Object.values(s.requests.udp ?? {})) n += byAction.ok ?? 0;
  return n;
}

const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})(); // read at the start: the code that ran

const port = await freePort();
// `nice` execs the program, so the child's pid is swarmd's (for /proc).
const tracker = start('swarmd', 'nice', [
  '-n',
  '10',
  NODE,
  'bin/swarmd.js',
  '--listen-udp',
  `127.0.0.1:${port}`,
  '--listen-tcp',
  `127.0.0.1:${port}`,
  '--workers',
  '2',
  '--interval',
  '60',
  '--interval-variation',
  '0',
  '--peer-timeout',
  '150',
  '--clean-interval',
  '15',
  '--torrent-timeout',
  '300',
  '--memory-limit',
  '512M',
  '--log-level',
  'warn',
]);
process.on('SIGINT', () => {
  killAllNow();
  process.exit(130);
});

const samples: Sample[] = [];
let failure = '';
try {
  await waitReady(port, tracker, 15000);
  const stats = async (): Promise<StatsJson> => (await (await fetch(`http://127.0.0.1:${port}/stats.json?top=0&history=0`)).json()) as StatsJson;
  const t0 = Date.now();
  let last = { at: t0, answered: answered(await stats()) };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sleep(SAMPLE_S * 1000);
      if (!sampling || tracker.exitCode !== undefined) return;
      const s = await stats();
      const now = Date.now();
      const a = answered(s);
      samples.push({
        t: Math.round((now - t0) / 1000),
        answersPerSecond: Math.round(((a - last.answered) * 1000) / (now - last.at)),
        rssMiB: Math.round(memoryKiB(tracker.pid).rss / 1024),
        fds: readdirSync(`/proc/${tracker.pid}/fd`).length,
        peers: s.peers.total,
        torrents: s.torrents,
        eventLoopP99Ms: Math.max(...s.threads.map((x) => x.event_loop_ms.p99)),
        eventLoopMaxMs: Math.max(...s.threads.map((x) => x.event_loop_ms.max)),
        restarts: s.workers.restarts,
      });
      last = { at: now, answered: a };
    }
  })();
  for (let left = MINUTES * 60, seed = 1; left > 0 && !failure; left -= SEGMENT_S, seed++) {
    const seconds = Math.min(SEGMENT_S, left);
    const r = await runToEnd(
      'udp-load',
      'nice',
      [
        '-n',
        '10',
        NODE,
        'bench/udp-load.ts',
        '--port',
        String(port),
        '--sockets',
        '1',
        '--window',
        '8',
        '--torrents',
        opt.torrents!,
        '--peers',
        opt.peers!,
        '--stopped',
        opt.stopped!,
        '--duration',
        String(seconds),
        '--seed',
        String(seed),
      ],
      (seconds + 60) * 1000,
    );
    if (r.code !== 0) failure = `udp-load exited with ${r.code}: ${r.stderr.slice(-5).join(' / ')}`;
    if (tracker.exitCode !== undefined) failure = `swarmd exited (${tracker.exitCode}): ${tracker.stderrTail.slice(-5).join(' / ')}`;
  }
  sampling = false;
  await sampler;
  if (!failure && samples.at(-1)?.restarts) failure = `${samples.at(-1)!.restarts} worker restarts`;
} catch (err) {
  failure = (err as Error).message;
} finally {
  await stop(tracker);
}

// ---------------------------------------------------------------- report

const steady = samples.slice(Math.min(samples.length - 1, Math.ceil(60 / SAMPLE_S))); // after the first minute
const range = (f: (s: Sample) => number, from = samples) => (from.length ? `${Math.min(...from.map(f))}–${Math.max(...from.map(f))}` : 'n/a');
const mean = (f: (s: Sample) => number) => (samples.length ? Math.round(samples.reduce((n, s) => n + f(s), 0) / samples.length) : 0);
const summary = {
  date: new Date().toISOString(),
  commit,
  minutes: MINUTES,
  cores: (await import('node:os')).cpus().length,
  ok: !failure,
  failure: failure || null,
  answersPerSecond: { mean: mean((s) => s.answersPerSecond), range: range((s) => s.answersPerSecond) },
  rssMiB: { first: samples[0]?.rssMiB, last: samples.at(-1)?.rssMiB, afterFirstMinute: range((s) => s.rssMiB, steady) },
  fds: range((s) => s.fds),
  peers: range((s) => s.peers, steady),
  torrents: range((s) => s.torrents, steady),
  eventLoopP99Ms: range((s) => s.eventLoopP99Ms),
  eventLoopMaxMs: Math.max(0, ...samples.map((s) => s.eventLoopMaxMs)),
};
mkdirSync(opt.out!, { recursive: true });
writeFileSync(`${opt.out}/soak.json`, JSON.stringify({ summary, samples }, null, 1) + '\n');
const every = Math.max(1, Math.round(samples.length / 30)); // about 30 rows whatever the length
const md = [
  `# swarmd soak run`,
  '',
  `${summary.date}, commit ${commit}, ${MINUTES} min, ${summary.cores} cores (shared with other work), 2 workers, UDP load with churn ` +
    `(${opt.torrents} torrents, ${opt.peers} identities each, ${opt.stopped}% stopped, peers expire after 150 s). ${failure ? `**Failed: ${failure}**` : 'No failure, no worker restart.'}`,
  '',
  `| figure | value |`,
  `|---|---|`,
  `| answers/s (mean, range) | ${summary.answersPerSecond.mean} (${summary.answersPerSecond.range}) |`,
  `| RSS MiB (first sample, last, range after the first minute) | ${summary.rssMiB.first}, ${summary.rssMiB.last}, ${summary.rssMiB.afterFirstMinute} |`,
  `| open file descriptors | ${summary.fds} |`,
  `| peers (after the first minute) | ${summary.peers} |`,
  `| torrents (after the first minute) | ${summary.torrents} |`,
  `| event-loop delay p99 ms (worst thread) | ${summary.eventLoopP99Ms} |`,
  `| event-loop delay max ms | ${summary.eventLoopMaxMs} |`,
  '',
  `| t (s) | answers/s | RSS MiB | fds | peers | torrents | loop p99 ms | loop max ms |`,
  `|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ...samples
    .filter((_, i) => i % every === 0 || i === samples.length - 1)
    .map((s) => `| ${s.t} | ${s.answersPerSecond} | ${s.rssMiB} | ${s.fds} | ${s.peers} | ${s.torrents} | ${s.eventLoopP99Ms} | ${s.eventLoopMaxMs} |`),
  '',
].join('\n');
writeFileSync(`${opt.out}/soak.md`, md);
process.stdout.write(md);
process.exitCode = failure ? 1 : 0;
