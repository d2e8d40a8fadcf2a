// The cluster's NATS link, on the main thread. It drains the workers' change rings every 250 ms
// (sooner when one is half full) and publishes the records in batches on `<prefix>.changes`;
// applies the other nodes' batches (ClusterApplier); answers snapshot requests on
// `<prefix>.snapshot` (one node of the queue group answers each); and on every (re)connect asks
// for a snapshot and publishes its own peers again, so that nodes that were cut off converge.
// Announces never wait for any of this: they only write to their ring.
//
// Control records carry everything else that must agree across nodes (access-list changes, ...):
// publishControl(kind, data) on one node calls the handler registered with onControl(kind) on
// every other node.

// nats.js v3: the Node transport re-exports nats-core's API (inboxes, authenticators, types).
import { connect, createInbox, credsAuthenticator, nkeyAuthenticator } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection, Subscription } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../config/config.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { C, G } from '../stats/counters.ts';
import { ClusterApplier } from './applier.ts';
import type { ControlHandler } from './applier.ts';
import { ChangeReader, WAKE, createChangeRing } from './change-log.ts';
import { BATCH_LIVE, BATCH_SNAPSHOT, BATCH_SNAPSHOT_END, BatchWriter, PEER_RECORD_BYTES6, encodeControl } from './codec.ts';
import { walkSwarms } from './snapshot.ts';

/** How often the rings are drained (a batch also goes out as soon as it fills). */
export const FLUSH_MS = 250;
/** Bytes published while NATS is down that the client may buffer for the reconnect; later batches are dropped. */
const OUTAGE_BUFFER = 8 << 20;
/** A snapshot request is given up after this long without a chunk. */
const SNAPSHOT_IDLE_MS = 5000;
const RETRY_MS = 1000;
/** A snapshot being served waits for NATS to take what was sent every this many bytes. */
const SERVE_FLUSH_BYTES = 1 << 20;
/** Control records kept while NATS is down, to be sent when it is back. */
const MAX_WAITING_CONTROLS = 10_000;

export class Cluster {
  /** One change ring per worker (index = worker index); a restarted worker gets its ring back. */
  readonly rings: SharedArrayBuffer[];
  readonly nodeId = randomInt(2 ** 32);
  private readonly readers: ChangeReader[];
  private readonly config: ClusterConfig;
  private readonly store: SwarmStore;
  private readonly counters: Float64Array;
  private readonly log: Logger;
  private readonly applier: ClusterApplier;
  private readonly writer: BatchWriter;
  private readonly subjects: { changes: string; snapshot: string };
  private readonly authOptions: Partial<ConnectionOptions>;
  private nc: NatsConnection | null = null;
  /** Whether NATS is reachable now. */
  connected = false;
  private down = false;
  private closed = false;
  private bufferedWhileDown = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly unknownKinds = new Set<string>();
  private readonly snapshotParts = new Map<string, () => unknown[]>();
  private waitingControls: Buffer[] = [];

  /** Reads the credential files (throws an Error fit for the operator when one can't be read). */
  constructor(config: ClusterConfig, workers: number, store: SwarmStore, counters: Float64Array, log: Logger) {
    this.config = config;
    this.store = store;
    this.counters = counters;
    this.log = log.child({ cluster: config.nodeName });
    this.rings = Array.from({ length: workers }, () => createChangeRing());
    this.readers = this.rings.map((r) => new ChangeReader(r));
    this.writer = new BatchWriter(this.nodeId);
    this.subjects = { changes: `${config.subjectPrefix}.changes`, snapshot: `${config.subjectPrefix}.snapshot` };
    this.applier = new ClusterApplier(store, counters, (kind) => {
      if (this.unknownKinds.has(kind)) return;
      this.unknownKinds.add(kind);
      this.log.warn({ kind }, `cluster: control records of kind "${kind}" have no handler on this node; ignored`);
    });
    this.authOptions = authOptions(config);
  }

  /**
   * Registers the handler of one kind of control record (see the top of the file). `snapshot`,
   * if given, returns the state a joining node needs as a list of `data` values: each goes into
   * the snapshot as one control record of this kind (keep each well under 64 KiB of JSON).
   */
  onControl(kind: string, handler: ControlHandler, snapshot?: () => unknown[]): void {
    this.applier.onControl(kind, handler);
    if (snapshot !== undefined) this.snapshotParts.set(kind, snapshot);
  }

  /**
   * Sends a control record to every other node, with the next batch. While NATS is down the
   * records wait (at most MAX_WAITING_CONTROLS) and go out when it is back.
   */
  publishControl(kind: string, data: unknown): void {
    const json = encodeControl(kind, data);
    if (!this.connected) {
      if (this.waitingControls.length < MAX_WAITING_CONTROLS) this.waitingControls.push(json);
      else this.counters[C.cluster_outage_dropped]++;
      return;
    }
    this.writeControl(json);
    this.flush();
  }

  private writeControl(json: Buffer): void {
    if (!this.writer.fits(BatchWriter.controlBytes(json))) this.flush();
    this.writer.control(json);
  }

  /** Starts draining the rings and connecting; returns at once (the tracker never waits on NATS). */
  start(): void {
    this.timer = setInterval(() => this.drain(), FLUSH_MS);
    this.timer.unref();
    for (const r of this.readers) this.wake(r);
    void this.connectLoop();
  }

  private wake(reader: ChangeReader): void {
    const w = Atomics.waitAsync(reader.control, WAKE, 0);
    const next = () => {
      if (this.closed) return;
      this.drain();
      this.wake(reader);
    };
    if (w.async) void w.value.then(next);
    else setImmediate(next);
  }

  /** Moves every ring's records into batches and publishes them. */
  private drain(): void {
    const w = this.writer;
    for (const r of this.readers) {
      r.drain((tag, seeder, family, port, bytes, hashOffset, addressOffset) => {
        if (!w.fits(PEER_RECORD_BYTES6)) this.flush();
        w.peer(tag, bytes, hashOffset, family, bytes, addressOffset, port, seeder);
      });
    }
    this.flush();
  }

  /** Publishes the live batch being written, if it holds anything. */
  private flush(): void {
    if (this.writer.count === 0) return;
    const batch = this.writer.take(BATCH_LIVE);
    const c = this.counters;
    const nc = this.nc;
    if (nc === null || (!this.connected && this.bufferedWhileDown + batch.length > OUTAGE_BUFFER)) {
      c[C.cluster_outage_dropped]++;
      return;
    }
    if (!this.connected) this.bufferedWhileDown += batch.length;
    try {
      nc.publish(this.subjects.changes, batch);
    } catch {
      c[C.cluster_outage_dropped]++;
      return;
    }
    c[C.cluster_batches_published]++;
    c[C.cluster_records_published] += batch.readUInt16BE(10);
    c[C.cluster_bytes_published] += batch.length;
  }

  // ------------------------------------------------------------ the connection

  private async connectLoop(): Promise<void> {
    while (!this.closed) {
      try {
        const nc = await connect({
          servers: this.config.servers,
          name: this.config.nodeName,
          noEcho: true, // our own batches never come back
          maxReconnectAttempts: -1,
          reconnectTimeWait: RETRY_MS,
          timeout: 2000,
          pingInterval: 5000,
          maxPingOut: 2,
          ...this.authOptions,
        });
        if (this.closed) {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.subscribe(nc);
        void this.watch(nc);
        this.up('connected to NATS');
        await nc.closed();
        if (this.closed) return;
        this.nc = null;
      } catch (err) {
        this.outage(err);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
      }
    }
  }

  private subscribe(nc: NatsConnection): void {
    nc.subscribe(this.subjects.changes, { callback: (_err, msg) => void this.applier.apply(msg.data) });
    nc.subscribe(this.subjects.snapshot, {
      queue: 'snapshot',
      callback: (_err, msg) => {
        if (msg.reply) void this.serveSnapshot(nc, msg.reply);
      },
    });
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.outage(null);
      else if (s.type === 'reconnect') this.up('reconnected to NATS');
    }
  }

  /** NATS became unreachable: logged and counted once per outage. */
  private outage(err: unknown): void {
    this.connected = false;
    this.counters[G.cluster_connected] = 0;
    if (this.down || this.closed) return;
    this.down = true;
    this.bufferedWhileDown = 0;
    this.counters[C.cluster_outages]++;
    this.log.warn(
      { servers: this.config.servers, err: err === null ? undefined : (err as Error).message },
      'cluster: NATS is unreachable; answering from the swarms this node has, reconnecting',
    );
  }

  private up(what: string): void {
    this.connected = true;
    this.down = false;
    this.counters[G.cluster_connected] = 1;
    this.log.info({ servers: this.config.servers, node: this.nodeId }, `cluster: ${what}`);
    void this.resync();
  }

  /** After a (re)connect: load a snapshot from another node, then send our own peers to all. */
  private async resync(): Promise<void> {
    const nc = this.nc;
    if (nc === null) return;
    const waiting = this.waitingControls;
    this.waitingControls = [];
    for (const json of waiting) this.writeControl(json);
    this.flush();
    await this.requestSnapshot(nc);
    await walkSwarms(this.store, this.writer, {
      localOnly: true,
      emit: () => this.flush(),
      pause: () => new Promise((resolve) => setImmediate(resolve)),
    });
    this.flush();
  }

  // ------------------------------------------------------------ snapshots

  private requestSnapshot(nc: NatsConnection): Promise<void> {
    return new Promise((resolve) => {
      let records = 0;
      let timer: NodeJS.Timeout | undefined;
      let sub: Subscription | null = null;
      const done = (how: string) => {
        clearTimeout(timer);
        sub?.unsubscribe();
        this.log.info({ records }, `cluster: snapshot ${how}`);
        resolve();
      };
      const idle = () => {
        clearTimeout(timer);
        timer = setTimeout(() => done('request timed out'), SNAPSHOT_IDLE_MS);
        timer.unref();
      };
      sub = nc.subscribe(createInbox(), {
        callback: (err, msg) => {
          if (err !== null || (msg.data.length === 0 && msg.headers?.code === 503)) return done('not loaded: no other node answered');
          const header = this.applier.apply(msg.data);
          if (header !== null) records += header.count;
          if (header?.type === BATCH_SNAPSHOT_END) {
            this.counters[C.cluster_snapshots_loaded]++;
            done('loaded');
          } else idle();
        },
      });
      nc.publish(this.subjects.snapshot, new Uint8Array(0), { reply: sub.getSubject() });
      idle();
    });
  }

  private async serveSnapshot(nc: NatsConnection, reply: string): Promise<void> {
    const w = new BatchWriter(this.nodeId);
    let unflushed = 0;
    const send = (type: number) => {
      const batch = w.take(type);
      nc.publish(reply, batch);
      unflushed += batch.length;
    };
    try {
      await walkSwarms(this.store, w, {
        localOnly: false,
        emit: () => send(BATCH_SNAPSHOT),
        pause: async () => {
          if (unflushed < SERVE_FLUSH_BYTES) return new Promise((resolve) => setImmediate(resolve));
          unflushed = 0;
          await nc.flush();
        },
      });
      for (const [kind, state] of this.snapshotParts) {
        for (const data of state()) {
          const json = encodeControl(kind, data);
          if (!w.fits(BatchWriter.controlBytes(json))) send(BATCH_SNAPSHOT);
          w.control(json);
        }
      }
      send(BATCH_SNAPSHOT_END);
      this.counters[C.cluster_snapshots_served]++;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cluster: a snapshot could not be sent whole');
    }
  }

  /** Publishes what the rings hold, then leaves NATS. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.drain();
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const r of this.readers) {
      Atomics.store(r.control, WAKE, 1);
      Atomics.notify(r.control, WAKE);
    }
    const nc = this.nc;
    this.nc = null;
    if (nc === null) return;
    try {
      if (this.connected) await Promise.race([nc.flush(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    } catch {
      // leaving anyway
    }
    await nc.close();
  }
}

/** The connection's credentials: user and password, a token, an NKey seed file or a creds file. */
function authOptions(c: ClusterConfig): Partial<ConnectionOptions> {
  const read = (key: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`${key}: can't read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  };
  if (c.nkeySeedFile !== null) {
    return { authenticator: nkeyAuthenticator(new TextEncoder().encode(read('cluster.nkey_seed_file', c.nkeySeedFile).toString('utf8').trim())) };
  }
  if (c.credsFile !== null) return { authenticator: credsAuthenticator(read('cluster.creds_file', c.credsFile)) };
  if (c.token !== null) return { token: c.token };
  if (c.user !== null) return { user: c.user, pass: c.password ?? '' };
  return {};
}
