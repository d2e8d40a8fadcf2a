// The cluster-sync row (issue 7): swarmd's CPU per UDP announce with cluster sync on against off,
// and the sync bytes each announce costs. A real nats-server (Debian's) and a second swarmd node
// run on the generator's core 1; the measured node is pinned to core 0 like every other row. Sync
// on: node A (measured) publishes every announce's change, node B applies them. Sync off: a plain
// swarmd. Both are prefilled alike and alternate in every repetition.

import type { Proc } from './lib.ts';
import { freePort, sleep, start, stop } from './lib.ts';
import type { LoadResult } from './report.ts';
import { SYNC_OFF, SYNC_ON } from './report.ts';

/** What the row needs from run.ts (passed in, so this module stays out of run.ts's state). */
export interface ClusterRowDeps<S extends { label: string; port: number; proc: Proc }> {
  reps: number;
  serverCpus: string;
  loadCpus: string;
  work: string;
  startTracker: (o: { cpus: string; label: string; extraArgs?: string[] }) => Promise<S>;
  stopTracker: (s: S) => Promise<void>;
  prefill: (s: S) => Promise<unknown>;
  /** One measured UDP announce run (the least disturbed of a few tries). */
  measure: (s: S, rep: number, label: string) => Promise<LoadResult>;
  record: (r: LoadResult) => void;
  log: (msg: string) => void;
}

/** Bytes this node published to the cluster and UDP announces it answered so far, from its /metrics. */
async function syncFigures(port: number): Promise<{ bytes: number; announces: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const read = (re: RegExp) => {
    const m = re.exec(text);
    if (!m) throw new Error(`no ${re.source} in /metrics`);
    return Number(m[1]);
  };
  return {
    bytes: read(/^swarmd_cluster_bytes_total\{direction="published"\} (\d+)/m),
    announces: read(/^swarmd_requests_total\{protocol="udp",action="announce",outcome="ok"\} (\d+)/m),
  };
}

export async function clusterSyncRow<S extends { label: string; port: number; proc: Proc }>(d: ClusterRowDeps<S>): Promise<void> {
  const natsPort = await freePort();
  const nats = start('nats-server', 'taskset', ['-c', d.loadCpus, '/usr/sbin/nats-server', '-a', '127.0.0.1', '-p', String(natsPort)], { cwd: d.work });
  const servers: S[] = [];
  try {
    await sleep(500);
    if (nats.exitCode !== undefined) throw new Error(`nats-server did not start: ${nats.stderrTail.join(' ')}`);
    const cluster = (name: string) => ['--cluster-nats', `nats://127.0.0.1:${natsPort}`, '--cluster-node-name', name];
    const b = await d.startTracker({ cpus: d.loadCpus, label: 'swarmd node B (cluster-sync row)', extraArgs: cluster('b') });
    servers.push(b);
    const on = await d.startTracker({ cpus: d.serverCpus, label: SYNC_ON, extraArgs: cluster('a') });
    servers.push(on);
    const off = await d.startTracker({ cpus: d.serverCpus, label: SYNC_OFF });
    servers.push(off);
    for (const s of [on, off]) await d.prefill(s);
    for (let rep = 0; rep < d.reps; rep++) {
      for (const s of rep % 2 === 0 ? [on, off] : [off, on]) {
        const before = await syncFigures(s.port);
        const r = await d.measure(s, rep, s.label);
        const after = await syncFigures(s.port);
        r.row = 'cluster-sync';
        r.syncBytesPerAnswer = Math.round(((after.bytes - before.bytes) / Math.max(1, after.announces - before.announces)) * 10) / 10;
        if (s === on) d.log(`cluster-sync: ${r.syncBytesPerAnswer} sync bytes per announce`);
        d.record(r);
      }
    }
  } finally {
    for (const s of servers) await d.stopTracker(s);
    await stop(nats, 'SIGTERM', 5000);
  }
}
