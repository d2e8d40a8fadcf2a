// Applies other nodes' batches to this node's store, on the main thread. Peers come in as
// "synced" announces that want no peer list: they expire like local peers, never move a torrent's
// last-activity time, and (written here, not by a worker) never enter a change ring, so they are
// never published again. A batch that fails to parse is counted and dropped whole.

import { Announce, ANNOUNCE_OK } from '../store/swarm-store.ts';
import { EVENT_COMPLETED, EVENT_NONE, EVENT_STOPPED } from '../protocol/events.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { C } from '../stats/counters.ts';
import { readBatch, REC_COMPLETED, REC_STOPPED } from './codec.ts';
import type { BatchHeader, Control, RecordSink } from './codec.ts';

/** Handles one kind of control record; returns false when the data is not what it expects. */
export type ControlHandler = (data: unknown) => boolean;

/**
 * Puts change records into a store as the announces they were: synced ones (another node's) or
 * local ones (an upgrade's handover, src/state/handover.ts). Never asks for a peer list.
 */
export class RecordAnnouncer {
  private readonly store: SwarmStore;
  private readonly announce = new Announce();

  constructor(store: SwarmStore, synced: boolean) {
    this.store = store;
    this.announce.want = 0;
    this.announce.synced = synced;
  }

  /** Returns the store's status (ANNOUNCE_OK, or ANNOUNCE_FULL when the memory limit kept it out). */
  peer(tag: number, hash: Uint8Array, hashOffset: number, family: number, address: Uint8Array, addressOffset: number, port: number, seeder: boolean): number {
    const a = this.announce;
    a.hash = hash;
    a.hashOffset = hashOffset;
    a.family = family;
    a.address = address;
    a.addressOffset = addressOffset;
    a.port = port;
    a.seeder = seeder;
    a.event = tag === REC_STOPPED ? EVENT_STOPPED : tag === REC_COMPLETED ? EVENT_COMPLETED : EVENT_NONE;
    return this.store.announce(a);
  }
}

export class ClusterApplier implements RecordSink {
  private readonly store: SwarmStore;
  private readonly counters: Float64Array;
  private readonly announcer: RecordAnnouncer;
  private readonly handlers = new Map<string, ControlHandler>();
  private readonly onUnknownControl: (kind: string) => void;

  constructor(store: SwarmStore, counters: Float64Array, onUnknownControl: (kind: string) => void) {
    this.store = store;
    this.counters = counters;
    this.onUnknownControl = onUnknownControl;
    this.announcer = new RecordAnnouncer(store, true);
  }

  onControl(kind: string, handler: ControlHandler): void {
    if (this.handlers.has(kind)) throw new Error(`a handler for cluster control records of kind "${kind}" is already registered`);
    this.handlers.set(kind, handler);
  }

  /** Applies one message; returns its header, or null when it was malformed (counted, nothing applied). */
  apply(msg: Uint8Array): BatchHeader | null {
    this.store.setClock();
    const header = readBatch(msg, this);
    const c = this.counters;
    if (header === null) {
      c[C.cluster_parse_failures]++;
      return null;
    }
    c[C.cluster_batches_applied]++;
    c[C.cluster_records_applied] += header.count;
    c[C.cluster_bytes_applied] += msg.length;
    return header;
  }

  peer(tag: number, hash: Uint8Array, hashOffset: number, family: number, address: Uint8Array, addressOffset: number, port: number, seeder: boolean): void {
    if (this.announcer.peer(tag, hash, hashOffset, family, address, addressOffset, port, seeder) !== ANNOUNCE_OK) this.counters[C.store_full]++;
  }

  torrent(hash: Uint8Array, hashOffset: number, completed: number): void {
    // Takes the larger count, so a snapshot never adds counts up.
    if (!this.store.restoreTorrent(hash, hashOffset, completed, this.store.now)) this.counters[C.store_full]++;
  }

  control(c: Control): void {
    const handler = this.handlers.get(c.kind);
    if (handler === undefined) this.onUnknownControl(c.kind);
    else if (!handler(c.data)) this.counters[C.cluster_parse_failures]++;
  }
}
