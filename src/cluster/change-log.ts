// The change log: one ring of fixed-size records per worker, in a SharedArrayBuffer. A worker
// writes the change each announce made (peer added or refreshed, stopped, completed) right after
// the store took it; the main thread drains the rings and publishes the records in batches.
// Single writer, single reader, no lock: the writer never waits, and a full ring is a counted
// drop (the peer's next announce, or the resync after a reconnect, carries it again).
//
// Layout: control words (write count, read count, wake flag), then CAPACITY records of 48 bytes:
// tag, seeder, family, -, port (2), -, -, info hash (20), address (16), - (4).

import type { Announce } from '../store/swarm-store.ts';
import { EVENT_STOPPED } from '../protocol/events.ts';
import { REC_COMPLETED, REC_PEER, REC_STOPPED } from './codec.ts';
import { C } from '../stats/counters.ts';

const WRITE = 0;
const READ = 1;
/** Set to 1 by the writer when the ring is half full; the main thread waits on it. */
export const WAKE = 2;
const CONTROL_BYTES = 64; // a cache line of its own
const RECORD_BYTES = 48;
/** Records per worker ring (a power of two): 16384 x 48 bytes = 768 KiB. */
export const CAPACITY = 16384;
const MASK = CAPACITY - 1;

export function createChangeRing(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + CAPACITY * RECORD_BYTES);
}

/** A record drained from a ring; `bytes` is the ring itself, valid until the next drain. */
export interface ChangeVisitor {
  (tag: number, seeder: boolean, family: number, port: number, bytes: Uint8Array, hashOffset: number, addressOffset: number): void;
}

/** The worker's end: called on the announce path, never allocates or blocks. */
export class ChangeLog {
  private readonly control: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly counters: Float64Array;

  constructor(ring: SharedArrayBuffer, counters: Float64Array) {
    this.control = new Int32Array(ring, 0, CONTROL_BYTES / 4);
    this.bytes = new Uint8Array(ring, CONTROL_BYTES);
    this.counters = counters;
  }

  /** Records what a successful announce changed. */
  record(a: Announce): void {
    const control = this.control;
    const w = control[WRITE]; // only this thread writes it
    const used = (w - Atomics.load(control, READ)) | 0;
    if (used >= CAPACITY) {
      this.counters[C.cluster_ring_dropped]++;
      return;
    }
    const b = this.bytes;
    const o = (w & MASK) * RECORD_BYTES;
    const tag = a.event === EVENT_STOPPED ? REC_STOPPED : a.completed ? REC_COMPLETED : REC_PEER;
    b[o] = tag;
    b[o + 1] = tag !== REC_STOPPED && a.seeder ? 1 : 0; // a completion is counted only for a seeder
    b[o + 2] = a.family;
    b[o + 4] = a.port >>> 8;
    b[o + 5] = a.port & 0xff;
    b.set(a.hash.subarray(a.hashOffset, a.hashOffset + 20), o + 8);
    b.set(a.address.subarray(a.addressOffset, a.addressOffset + (a.family === 4 ? 4 : 16)), o + 28);
    Atomics.store(control, WRITE, (w + 1) | 0);
    if (used + 1 === CAPACITY >> 1) {
      Atomics.store(control, WAKE, 1);
      Atomics.notify(control, WAKE);
    }
  }
}

/** The main thread's end of one ring. */
export class ChangeReader {
  readonly control: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(ring: SharedArrayBuffer) {
    this.control = new Int32Array(ring, 0, CONTROL_BYTES / 4);
    this.bytes = new Uint8Array(ring, CONTROL_BYTES);
  }

  /** Hands every record written since the last drain to `visit`, oldest first; returns how many. */
  drain(visit: ChangeVisitor): number {
    const control = this.control;
    Atomics.store(control, WAKE, 0);
    const r = control[READ];
    const w = Atomics.load(control, WRITE);
    const n = (w - r) | 0;
    const b = this.bytes;
    for (let i = 0; i < n; i++) {
      const o = ((r + i) & MASK) * RECORD_BYTES;
      visit(b[o], b[o + 1] === 1, b[o + 2], (b[o + 4] << 8) | b[o + 5], b, o + 8, o + 28);
    }
    Atomics.store(control, READ, w);
    return n;
  }
}
