// A worker thread: attaches to the shared store and counters, opens its own UDP sockets and TCP
// listeners on the configured addresses (SO_REUSEPORT, so every worker shares each port) and
// answers until the main thread says stop.

import { parentPort, workerData } from 'node:worker_threads';
import { SwarmStore } from '../store/swarm-store.ts';
import { ConnectionIds } from '../protocol/connection-id.ts';
import { openUdpBatchSocket } from '../io/udp-socket.ts';
import type { UdpBatchSocket } from '../io/udp-batch.ts';
import { counterRow, C, G } from '../stats/counters.ts';
import { trackEventLoop } from '../stats/event-loop.ts';
import { Woodpeckers } from '../stats/woodpeckers.ts';
import { UdpTracker } from './udp-server.ts';
import { HttpTracker } from '../http/http-tracker.ts';
import { WsSignalling } from './ws-server.ts';
import { TrackerPolicy, storeSettings } from '../requests/policy.ts';
import type { WorkerData, WorkerMessage, ListeningSocket, MainMessage } from './messages.ts';
import { AccessList } from '../access/access-list.ts';
import { RequestLog } from '../stats/request-log.ts';
import { createLogger } from '../log.ts';
import type { TrackerContext } from '../requests/context.ts';
import { ChangeLog } from '../cluster/change-log.ts';
import { Limits } from '../limits/limits.ts';

/** workerData is `any` to TypeScript: this declaration is where the contract of messages.ts applies. */
const data: WorkerData = workerData;
const { config, shared, row, access, changes, tls, notices } = data;
const port = parentPort!;

const store = new SwarmStore(shared.store, storeSettings(config));
const counters = counterRow(shared.counters, row);
const woodpeckers = new Woodpeckers(shared.woodpeckers, row);
const accessList = new AccessList(access, notices?.blocks ?? null);
// Request lines (when sampled) go straight to standard output, like the main thread's log.
const requestLog = new RequestLog(config.logRequests > 0 ? createLogger(config.logLevel) : null, config.logRequests, counters);
const limits = new Limits(shared.limits, config.limits);
const policy = new TrackerPolicy(config, limits.overload);
const ctx: TrackerContext = {
  config,
  store,
  counters,
  policy,
  woodpeckers,
  requestLog,
  limits,
  access: accessList,
  changes: changes === null ? null : new ChangeLog(changes, counters),
  transparency: notices?.pages ?? null,
  stats: { ...shared, store, woodpeckers },
};
const udp = new UdpTracker(ctx, new ConnectionIds(shared.connectionIdKeys, config.connectionIdLifetime));
const ws = config.ws.enabled ? new WsSignalling(ctx, shared.wsSwarms, row - 1, shared.trackerId) : null;
const http = new HttpTracker(ctx, ws);
// Once a second, with the event-loop gauges: is this worker behind? (the overload signal)
const stopTracking = trackEventLoop(counters, (p99Ms) => {
  const share = udp.batches === 0 ? 0 : udp.fullBatches / udp.batches;
  udp.batches = udp.fullBatches = 0;
  const caughtUp = !limits.overload.behind;
  limits.overload.observe(p99Ms, share);
  if (caughtUp && limits.overload.behind) counters[C.overload_episodes]++;
  counters[G.overload_factor] = limits.overload.factor;
});
const decay = setInterval(() => woodpeckers.decay(), config.cleanInterval * 1000);
decay.unref();
const udpSockets: UdpBatchSocket[] = [];

function post(message: WorkerMessage): void {
  port.postMessage(message);
}

async function open(): Promise<ListeningSocket[]> {
  const listening: ListeningSocket[] = [];
  for (const l of config.listeners) {
    if (l.proto === 'tcp') {
      const server = await http.listen(l.host, l.port);
      const a = server.address() as { address: string; port: number };
      listening.push({ proto: 'tcp', host: a.address, port: a.port, io: 'net' });
    } else if (l.proto === 'tls') {
      const server = await http.listenTls(l.host, l.port, tls!);
      const a = server.address() as { address: string; port: number };
      listening.push({ proto: 'tls', host: a.address, port: a.port, io: 'net' });
    } else {
      const socket = await openUdpBatchSocket({ host: l.host, port: l.port, reusePort: true, io: config.udpIo, batchSize: config.udpBatchSize }, udp.onBatch);
      udpSockets.push(socket);
      const a = socket.address();
      listening.push({ proto: 'udp', host: a.address, port: a.port, io: socket.io });
    }
  }
  return listening;
}

port.on('message', async (message: MainMessage) => {
  if (message.type === 'access') {
    accessList.update(message.state); // between requests: a lookup never sees half a list
    return;
  }
  if (message.type === 'notices') {
    accessList.updateBlocks(message.state.blocks);
    ctx.transparency = message.state.pages;
    // Announces this worker answered before the block may have put peers back after the main
    // thread dropped the swarm: drop it again, now that this worker refuses it. Its WebSocket
    // swarms live only here.
    for (let off = 0; off < message.blocked.length; off += 20) {
      const inStore = store.removeTorrent(message.blocked, off);
      const inWs = ws !== null && ws.dropSwarm(message.blocked, off);
      if (inStore || inWs) counters[C.notice_torrents_removed]++;
    }
    post({ type: 'notices-applied', generation: message.state.generation });
    return;
  }
  if (message.type === 'tls') {
    http.setCredentials(message.credentials); // new handshakes only: open connections keep theirs
    post({ type: 'tls-applied', generation: message.generation });
    return;
  }
  stopTracking();
  clearInterval(decay);
  ws?.close(); // first: the listeners' close() waits for every socket they accepted, upgraded ones too
  await Promise.all([http.close(), ...udpSockets.map((s) => s.close())]);
  post({ type: 'closed' });
  port.close();
});

open().then(
  (listening) => post({ type: 'ready', listening }),
  (err: NodeJS.ErrnoException) => post({ type: 'failed', message: err.message, code: err.code ?? '' }),
);
