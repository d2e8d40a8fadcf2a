// A tracker in the test's own thread for the observability tests: the real HTTP and UDP trackers
// (src/server) on loopback over one shared store and counter rows, the main thread's history
// sampler, and a small node:http server answering the stats path, /metrics and /stats.json through
// src/stats/observability.ts exactly as the HTTP server is to wire them (docs/observability.md).

import { RequestLog } from '../../src/stats/request-log.ts';
import http from 'node:http';
import { defaultConfig } from '../../src/config/config.ts';
import type { Config } from '../../src/config/config.ts';
import { SwarmStore, createStoreShared } from '../../src/store/swarm-store.ts';
import { ConnectionIds, createConnectionIdKeys } from '../../src/protocol/connection-id.ts';
import { openUdpBatchSocket } from '../../src/io/udp-socket.ts';
import type { UdpBatchSocket } from '../../src/io/udp-batch.ts';
import { createCounters, counterRow, G } from '../../src/stats/counters.ts';
import { Woodpeckers } from '../../src/stats/woodpeckers.ts';
import { History, startHistorySampler } from '../../src/stats/history.ts';
import { HttpTracker } from '../../src/http/http-tracker.ts';
import { UdpTracker } from '../../src/server/udp-server.ts';
import { TrackerPolicy, storeSettings } from '../../src/requests/policy.ts';
import { AccessList } from '../../src/access/access-list.ts';
import { FullScrapeLimiter } from '../../src/scrape/limiter.ts';
import { statsPathAnswer, metricsAnswer, statsJsonAnswer } from '../../src/stats/observability.ts';
import type { ObservabilitySource, ObservabilityAnswer } from '../../src/stats/observability.ts';

export interface Harness {
  /** The tracker's HTTP and UDP ports (127.0.0.1) and the stats server's. */
  tcp: number;
  udp: number;
  udp6: number;
  stats: number;
  src: ObservabilitySource & { woodpeckers: Woodpeckers; trackerId: number };
  /** The worker's counter row (row 1). */
  row: Float64Array;
  close(): Promise<void>;
}

export async function startHarness(opts: { historyIntervalMs?: number; workers?: number } = {}): Promise<Harness> {
  const config: Config = { ...defaultConfig(), workers: opts.workers ?? 1, memoryLimit: 64 << 20, statsPath: 'stats' };
  const storeShared = createStoreShared(config.memoryLimit);
  const store = new SwarmStore(storeShared, storeSettings(config));
  const counters = createCounters(config.workers + 1);
  const row = counterRow(counters, 1);
  const woodpeckersShared = Woodpeckers.create(config.workers + 1);
  const woodpeckers = new Woodpeckers(woodpeckersShared, 1);
  const history = History.create(opts.historyIntervalMs ?? 1000, 3600);
  const src = {
    counters, store, woodpeckers, startedAt: Date.now(), version: 'test', trackerId: 7, history,
    fullScrapeLimiter: FullScrapeLimiter.createShared(),
  };
  counterRow(counters, 0)[G.workers_running] = config.workers;
  const stopSampler = startHistorySampler(history, { counters, store });

  const policy = new TrackerPolicy(config);
  const access = new AccessList(null); // open: every info hash
  const ctx = { config, store, counters: row, policy, access, woodpeckers, requestLog: new RequestLog(null, 0, row), transparency: null, stats: src, changes: null };
  const httpTracker = new HttpTracker(ctx);
  const tcpServer = await httpTracker.listen('127.0.0.1', 0);
  const udpTracker = new UdpTracker(ctx, new ConnectionIds(createConnectionIdKeys(), 120));
  const sockets: UdpBatchSocket[] = [];
  for (const host of ['127.0.0.1', '::1']) sockets.push(await openUdpBatchSocket({ host, port: 0, io: 'dgram' }, udpTracker.onBatch));

  const statsServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (a: ObservabilityAnswer) => {
      res.writeHead(a.status, {
        'Content-Type': a.contentType,
        'Cache-Control': a.cacheControl,
        'Content-Length': a.body.length,
        ...(a.gzipped ? { 'Content-Encoding': 'gzip' } : {}),
      });
      res.end(a.body);
    };
    const gz = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    if (url.pathname === '/metrics') return send(metricsAnswer(src));
    if (url.pathname === '/stats.json') return void statsJsonAnswer(url.searchParams, src, gz).then(send);
    if (url.pathname === '/stats') {
      const answer = statsPathAnswer(url.searchParams, req.headers.accept ?? null, gz, src);
      if (answer !== null) return void answer.then(send);
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 20 });
      return res.end('an opentracker mode\n');
    }
    res.writeHead(404, { 'Content-Length': 0 }).end();
  });
  await new Promise<void>((resolve) => statsServer.listen(0, '127.0.0.1', resolve));

  return {
    tcp: (tcpServer.address() as { port: number }).port,
    udp: sockets[0].address().port,
    udp6: sockets[1].address().port,
    stats: (statsServer.address() as { port: number }).port,
    src,
    row,
    async close() {
      stopSampler();
      statsServer.closeAllConnections();
      await new Promise((resolve) => statsServer.close(resolve));
      await httpTracker.close();
      await Promise.all(sockets.map((s) => s.close()));
    },
  };
}
