// The main thread: creates the shared state, runs the workers (restarting any that dies), cleans
// the store stripe by stripe, rotates UDP connection-ID keys, and shuts everything down.

import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config, Listener } from './config/config.ts';
import { SwarmStore, createStoreShared, STRIPES } from './store/swarm-store.ts';
import type { StoreTotals } from './store/swarm-store.ts';
import { createConnectionIdKeys, rotateConnectionIdKey } from './protocol/connection-id.ts';
import { readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { createCounters, readCounters, counterRow, C, G } from './stats/counters.ts';
import { History, startHistorySampler } from './stats/history.ts';
import { trackEventLoop } from './stats/event-loop.ts';
import { Woodpeckers } from './stats/woodpeckers.ts';
import type { CounterName } from './stats/counters.ts';
import { storeSettings } from './requests/policy.ts';
import type { SharedState, WorkerMessage, ListeningSocket, NoticesState, WorkerData } from './server/messages.ts';
import { AccessManager } from './access/access-manager.ts';
import { AccessList } from './access/access-list.ts';
import { StatePersistence } from './state/persistence.ts';
import { FullScrapeLimiter } from './scrape/limiter.ts';
import type { Cluster } from './cluster/cluster.ts';
import { syncNotices } from './cluster/notice-sync.ts';
import { isAccessChanges } from './access/access-manager.ts';
import { createWsSwarms, WsSwarms } from './store/ws-swarms.ts';
import { createLimitsShared } from './limits/limits.ts';
import { TopSources } from './limits/top-sources.ts';
import { readTlsCredentials } from './server/tls-credentials.ts';
import type { TlsCredentials } from './server/messages.ts';
import { NoticeRegistry } from './notices/registry.ts';
import { AdminApi } from './notices/admin-api.ts';
import { renderTransparency } from './notices/transparency.ts';
import { acquireListenerLocks } from './net/listener-lock.ts';
import type { ListenerLock } from './net/listener-lock.ts';

// '.ts' run from src/ (type stripping), '.js' from the built dist/ of an installed package.
const SOURCE_EXT = import.meta.url.slice(import.meta.url.lastIndexOf('.'));
const WORKER_URL = new URL(`./server/worker${SOURCE_EXT}`, import.meta.url);
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const CLEAN_TICK_MS = 250;
const RESTART_DELAY_MS = 1000;
/** How long a notice waits for every worker to use it before it is answered anyway (a stuck worker). */
const NOTICE_APPLY_TIMEOUT_MS = 5000;

export interface RunningTracker {
  /** Every socket of the first worker (the others share the same ports). */
  readonly listening: ListeningSocket[];
  readonly store: SwarmStore;
  counters(): Record<CounterName, number>;
  totals(): StoreTotals;
  /** How many workers have been restarted after dying. */
  readonly restarts: number;
  /** SIGHUP: re-reads the access list and the TLS certificate and key. */
  reload(): Promise<void>;
  /** The cluster link, or null when no cluster is configured. */
  readonly cluster: Cluster | null;
  /** The takedown notices (notices.journal), or null. */
  readonly notices: NoticeRegistry | null;
  /** Where the admin API listens (admin.listen), or null. */
  readonly admin: { host: string; port: number } | null;
  /** Kills one worker as a crash would (for fault tests); it is restarted like any dead worker. */
  terminateWorker(index: number): Promise<void>;
  close(): Promise<void>;
}

class Tracker implements RunningTracker {
  listening: ListeningSocket[] = [];
  restarts = 0;
  readonly store: SwarmStore;
  private readonly config: Config;
  private readonly log: Logger;
  private readonly shared: SharedState;
  private readonly workers: (Worker | null)[];
  private readonly timers: NodeJS.Timeout[] = [];
  private closing = false;
  private nextStripe = 0;
  private access: AccessManager | null = null;
  private persistence: StatePersistence | null = null;
  /** The cluster link (null: no cluster.nats), created by start(). */
  cluster: Cluster | null = null;
  /** The TLS listeners' certificate and key in use (null: no listen.tls), and how often it was reloaded. */
  private tls: TlsCredentials | null = null;
  private tlsGeneration = 0;
  /** WebSocket peer counts per worker: a dead worker's are taken out. */
  private readonly wsSwarms: WsSwarms;
  notices: NoticeRegistry | null = null;
  admin: { host: string; port: number } | null = null;
  private adminApi: AdminApi | null = null;
  private noticesState: NoticesState | null = null;
  /** The notices generation each worker uses, and who waits for one to be used by all. */
  private readonly noticesApplied = new WeakMap<Worker, number>();
  private noticeWaiters: { generation: number; resolve: () => void }[] = [];
  /** store_evicted when evictions were last logged. */
  private evictedLogged = 0;
  /** One lock per listener: a second swarmd on the same address and port is refused. */
  private locks: ListenerLock[] = [];

  constructor(config: Config, log: Logger) {
    this.config = config;
    this.log = log;
    this.shared = {
      store: createStoreShared(config.memoryLimit),
      connectionIdKeys: createConnectionIdKeys(),
      counters: createCounters(config.workers + 1), // row 0 is the main thread's
      woodpeckers: Woodpeckers.create(config.workers + 1),
      fullScrapeLimiter: FullScrapeLimiter.createShared(),
      wsSwarms: createWsSwarms(config.ws.maxSwarms, config.workers),
      limits: createLimitsShared(config.limits),
      history: History.create(config.historyInterval * 1000),
      startedAt: Date.now(),
      trackerId: randomInt(2 ** 31),
      version: VERSION,
    };
    this.store = new SwarmStore(this.shared.store, storeSettings(config));
    this.wsSwarms = new WsSwarms(this.shared.wsSwarms);
    this.workers = new Array(config.workers).fill(null);
  }

  async start(): Promise<void> {
    // First of all, before any file is read: a second swarmd on these ports stops here.
    const me = { pid: process.pid, version: VERSION, startedAt: this.shared.startedAt };
    this.locks = await acquireListenerLocks(this.config.listeners, me);
    if (this.config.listeners.some((l) => l.proto === 'tls')) this.tls = readTlsCredentials(this.config.tls);
    // The access list comes first, so that nothing is ever answered without it.
    this.access = await AccessManager.open(this.config, this.log);
    this.access?.onChange((state) => {
      for (const w of this.workers) w?.postMessage({ type: 'access', state });
    });
    // The takedown notices too: a blocked hash is never answered, not even once at start.
    if (this.config.noticesJournal !== null) {
      this.notices = await NoticeRegistry.open(this.config.noticesJournal, this.log);
      this.noticesState = this.currentNotices();
      this.notices.onChange((change) => this.publishNotices(change.blocked));
    }
    await this.startCluster();
    // Completed counts are back before anyone is answered.
    const list = this.access === null && this.notices === null ? null : new AccessList(this.access?.state ?? null, this.noticesState?.blocks ?? null);
    this.persistence = await StatePersistence.start(this.config, this.store, this.log, list === null ? undefined : (h, o) => list.allows(h, o));
    this.persistence.counters = this.mainRow;
    // The first worker binds first: a port 0 then becomes a real port that the others share.
    this.listening = await this.startWorker(0, this.config.listeners);
    const listeners: Listener[] = this.config.listeners.map((l, i) => ({ ...l, port: this.listening[i].port }));
    // Port 0 became a real port: lock it too, so that a swarmd started on it later is refused.
    this.locks.push(
      ...(await acquireListenerLocks(
        listeners.filter((_, i) => this.config.listeners[i].port === 0),
        me,
      )),
    );
    await Promise.all(this.workers.slice(1).map((_, i) => this.startWorker(i + 1, listeners)));
    if (this.config.admin.listen !== null && this.notices !== null) {
      const { api, host, port } = await AdminApi.start(this.config.admin, this.notices, this.mainRow, this.log);
      this.adminApi = api;
      this.admin = { host, port };
    }
    const stripesPerTick = Math.ceil((STRIPES * CLEAN_TICK_MS) / (this.config.cleanInterval * 1000));
    this.timers.push(setInterval(() => this.clean(stripesPerTick), CLEAN_TICK_MS));
    this.timers.push(setInterval(() => rotateConnectionIdKey(this.shared.connectionIdKeys), this.config.connectionIdLifetime * 1000));
    this.timers.push(setInterval(() => this.everyMinute(), 60_000));
    for (const t of this.timers) t.unref();
    this.stopTracking = trackEventLoop(counterRow(this.shared.counters, 0));
    this.stopHistory = startHistorySampler(this.shared.history, { counters: this.shared.counters, store: this.store });
  }

  /** Access-list changes and takedown notices go to every node; the cluster starts syncing (it never holds start-up up). */
  private async startCluster(): Promise<void> {
    if (this.config.cluster.servers.length === 0) return;
    // Loaded only for a cluster: the NATS client costs ~20 MiB of memory to every tracker that loads it.
    const { Cluster } = await import('./cluster/cluster.ts');
    const cluster = new Cluster(this.config.cluster, this.config.workers, this.store, this.mainRow, this.log);
    this.cluster = cluster;
    const access = this.access;
    if (access !== null) {
      access.onFifoChanges((changes) => cluster.publishControl('access', changes));
      cluster.onControl(
        'access',
        (data) => {
          if (!isAccessChanges(data)) return false;
          access.applyChanges(data);
          return true;
        },
        () => access.changesInForce(1000), // 1000 changes: about 32 KiB of JSON per record
      );
    }
    if (this.notices !== null) syncNotices(cluster, this.notices, this.mainRow, this.log);
    cluster.start();
  }

  private stopTracking = () => {};
  private stopHistory = () => {};
  /** Workers that said `ready`: only those are restarted when they die (the running ones are those still in `workers`). */
  private readonly ready = new WeakSet<Worker>();
  /** Row 0 of the counters: the main thread's. */
  private get mainRow(): Float64Array {
    return counterRow(this.shared.counters, 0);
  }
  private countRunning(): void {
    this.mainRow[G.workers_running] = this.workers.filter((w) => w !== null && this.ready.has(w)).length;
  }

  private startWorker(index: number, listeners: Listener[]): Promise<ListeningSocket[]> {
    const workerData: WorkerData = {
      config: { ...this.config, listeners },
      shared: this.shared,
      row: index + 1,
      access: this.access?.state ?? null,
      changes: this.cluster?.rings[index] ?? null,
      tls: this.tls,
      notices: this.noticesState,
    };
    const worker = new Worker(WORKER_URL, { workerData });
    this.workers[index] = worker;
    this.noticesApplied.set(worker, this.noticesState?.generation ?? 0);
    return new Promise((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'notices-applied') {
          this.noticesApplied.set(worker, m.generation);
          this.wakeNoticeWaiters();
        } else if (m.type === 'ready') {
          this.ready.add(worker);
          this.countRunning();
          resolve(m.listening);
        } else if (m.type === 'failed') {
          reject(new Error(`worker ${index} could not listen: ${m.message}`));
          void worker.terminate();
        }
      });
      worker.on('error', (err) => {
        this.log.error({ worker: index, err }, 'worker crashed');
        if (!this.ready.has(worker)) reject(err);
      });
      worker.on('exit', (code) => {
        this.workers[index] = null;
        this.countRunning();
        this.wsSwarms.dropWorker(index); // its WebSocket peers went with it
        this.wakeNoticeWaiters(); // a dead worker answers nothing: nobody waits for it
        if (this.closing || !this.ready.has(worker)) return;
        this.log.error({ worker: index, code }, 'worker exited; restarting it');
        const timer = setTimeout(() => {
          if (this.closing) return;
          this.restarts++;
          this.mainRow[C.worker_restarts]++;
          this.startWorker(index, listeners).then(
            () => this.log.info({ worker: index }, 'worker restarted'),
            (err: Error) => this.log.error({ worker: index, err: err.message }, 'worker restart failed'),
          );
        }, RESTART_DELAY_MS);
        timer.unref();
      });
    });
  }

  /** The notices as the workers get them; counts them for the stats. */
  private currentNotices(): NoticesState {
    const n = this.notices!;
    this.mainRow[G.notices] = n.count;
    this.mainRow[G.hashes_blocked] = n.blockedCount;
    const pages = this.config.transparencyPath === '' ? null : renderTransparency(n.published());
    return { generation: n.blocks.generation, blocks: n.blocks, pages };
  }

  /**
   * Hands a new version of the notices to every worker and drops the newly blocked swarms; resolves
   * once every running worker uses it, so that a notice is acknowledged only when it is in force.
   */
  private publishNotices(blockedHex: string[]): Promise<void> {
    const state = this.currentNotices();
    this.noticesState = state;
    const blocked = new Uint8Array(blockedHex.length * 20);
    blockedHex.forEach((hex, i) => blocked.set(Buffer.from(hex, 'hex'), i * 20));
    for (const w of this.workers) w?.postMessage({ type: 'notices', state, blocked });
    for (let off = 0; off < blocked.length; off += 20) {
      if (this.store.removeTorrent(blocked, off)) this.mainRow[C.notice_torrents_removed]++;
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ generation: state.generation }, 'notices: a worker has not applied the latest notices yet; answering anyway');
        resolve();
      }, NOTICE_APPLY_TIMEOUT_MS);
      this.noticeWaiters.push({ generation: state.generation, resolve: () => (clearTimeout(timer), resolve()) });
      this.wakeNoticeWaiters();
    });
  }

  private wakeNoticeWaiters(): void {
    if (this.noticeWaiters.length === 0) return;
    let oldest = Infinity;
    for (const w of this.workers) if (w !== null) oldest = Math.min(oldest, this.noticesApplied.get(w) ?? 0);
    const done = this.noticeWaiters.filter((x) => x.generation <= oldest);
    this.noticeWaiters = this.noticeWaiters.filter((x) => x.generation > oldest);
    for (const x of done) x.resolve();
  }

  /** Cleans the next few stripes, so that a whole pass takes the clean interval. */
  /**
   * Once a minute: the top-sources table forgets half of what it counted (it shows who floods now), and
   * evictions from a full store, if any, are logged (not each one: a flood of junk evicts thousands).
   */
  private everyMinute(): void {
    new TopSources(this.shared.limits.top).decay();
    const evicted = readCounters(this.shared.counters).store_evicted;
    if (evicted > this.evictedLogged) {
      this.log.warn({ evicted: evicted - this.evictedLogged, total: evicted }, 'memory limit reached: evicted the least valuable torrents to make room');
      this.evictedLogged = evicted;
    }
  }

  private clean(stripes: number): void {
    this.store.setClock();
    for (let i = 0; i < stripes; i++) {
      this.store.cleanStripe(this.nextStripe);
      this.nextStripe = (this.nextStripe + 1) % STRIPES;
    }
  }

  counters(): Record<CounterName, number> {
    return readCounters(this.shared.counters);
  }

  totals(): StoreTotals {
    return this.store.totals();
  }

  async reload(): Promise<void> {
    await Promise.all([this.reloadTls(), this.access?.reload()]);
  }

  /**
   * New certificate and key for new connections; a bad pair keeps the one in use. Logged as
   * reloaded once every running worker uses it.
   */
  private async reloadTls(): Promise<void> {
    if (this.tls === null) return;
    try {
      this.tls = readTlsCredentials(this.config.tls);
    } catch (err) {
      this.mainRow[C.tls_reload_failures]++;
      this.log.error({ err: (err as Error).message }, 'TLS certificate not reloaded; the one in use is kept');
      return;
    }
    this.mainRow[C.tls_reloads]++;
    const generation = ++this.tlsGeneration;
    const credentials = this.tls;
    await Promise.all(
      this.workers.map((w) =>
        w === null
          ? undefined
          : new Promise<void>((resolve) => {
              const done = () => {
                w.off('message', onMessage);
                w.off('exit', done);
                resolve();
              };
              const onMessage = (m: WorkerMessage) => m.type === 'tls-applied' && m.generation === generation && done();
              w.on('message', onMessage);
              w.once('exit', done); // a dead worker is restarted with the new one
              w.postMessage({ type: 'tls', credentials, generation });
            }),
      ),
    );
    this.log.info({ cert: this.config.tls.cert }, 'TLS certificate reloaded');
  }

  async terminateWorker(index: number): Promise<void> {
    await this.workers[index]?.terminate();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.adminApi?.close();
    for (const t of this.timers) clearInterval(t);
    this.stopTracking();
    this.stopHistory();
    await Promise.all(
      this.workers.map((w) => {
        if (w === null) return undefined;
        return new Promise<void>((resolve) => {
          const force = setTimeout(() => void w.terminate(), 5000);
          w.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          w.postMessage({ type: 'close' });
        });
      }),
    );
    await this.cluster?.close(); // the last changes go out, once nobody announces any more
    await this.persistence?.close(); // the final dump
    await this.access?.close();
    await this.notices?.close();
    // Last: a swarmd started meanwhile is refused until this one has written its state.
    await Promise.all(this.locks.map((l) => l.close()));
  }
}

/** Starts the workers and resolves once every one of them listens. */
export async function startTracker(config: Config, log: Logger): Promise<RunningTracker> {
  const tracker = new Tracker(config, log);
  try {
    await tracker.start();
  } catch (err) {
    await tracker.close();
    throw err;
  }
  return tracker;
}
