// The handover of an upgrade: the old process streams its live store to the new one over a local
// socket, in the peer-state format, then the changes announces made meanwhile, then "done"; the
// new process applies them and acknowledges. The old process answers requests all along until
// the new one has the snapshot and answers too (READY: it has bound its sockets beside the old
// ones), then stops (quiesce: no more reading, in-flight requests finished), and only the changes
// made up to that point are left to send, so nothing announced to it is lost.
//
// The changes are those the workers write to their change rings (src/cluster/change-log.ts:
// every announce's effect, in shared memory, drained by the main thread) from before the walk
// starts. A change also in the snapshot is applied twice, which changes nothing: a renewal
// renews, a stop removes a peer already gone, and a completion counts once per peer. The new
// process queues the changes until the whole snapshot is in, so that none is undone by a later
// part of it. Change records travel as the cluster's batches (src/cluster/codec.ts).
//
// Frames, both ways: type u8, length u32 LE, payload.
//   old -> new: HELLO (JSON: swarmd, pid, version, format), SECTION (name length u8, name, bytes:
//     what else the new process needs, such as the UDP connection-ID keys), STATE (peer-state
//     bytes), CHANGES (a cluster batch), DONE (JSON: changes sent)
//   new -> old: READY (empty: the snapshot is in and it answers), ACK (JSON: what it restored and applied)
// Anything malformed, or a socket that closes early, fails the handover on both sides with an
// error that says why; the old process then goes on serving (see the README's upgrade section).

import type net from 'node:net';
import { once } from 'node:events';
import { ANNOUNCE_OK } from '../store/swarm-store.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { BatchWriter, BATCH_LIVE, PEER_RECORD_BYTES6, readBatch } from '../cluster/codec.ts';
import { RecordAnnouncer } from '../cluster/applier.ts';
import type { Control, RecordSink } from '../cluster/codec.ts';
import type { ChangeVisitor } from '../cluster/change-log.ts';
import { writePeerState, PeerStateReader, PEER_STATE_VERSION, MAX_BLOCK } from './peer-state.ts';
import type { PeerStateReadOptions } from './peer-state.ts';

const HELLO = 1;
const SECTION = 2;
const STATE = 3;
const CHANGES = 4;
const DONE = 5;
const ACK = 6;
const READY = 7;
const FRAME_HEAD = 5;
const MAX_FRAME = MAX_BLOCK + 64;
const ACK_TIMEOUT_MS = 60_000;

export class HandoverError extends Error {
  constructor(message: string) {
    super(`handover: ${message}`);
    this.name = 'HandoverError';
  }
}

/** What the old process hands over. */
export interface HandoverSource {
  store: SwarmStore;
  /**
   * Hands each change recorded since the last call to `visit` (the change rings' drain), or null
   * when there are none to send. Must already record before sendHandover is called.
   */
  drainChanges: ((visit: ChangeVisitor) => number) | null;
  /** Called once the store is sent: stop reading requests and finish those in flight. */
  quiesce: () => Promise<void>;
  /** Named extras, sent first. */
  sections?: Record<string, Uint8Array>;
  version: string;
}

export interface HandoverReport {
  /** Peer-state bytes sent or received. */
  bytes: number;
  /** Change records sent or applied. */
  changes: number;
  /** Torrents and peers the new process restored. */
  torrents: number;
  peers: number;
  /** From the start to the new process's acknowledgement. */
  ms: number;
  /** From quiesce() to the acknowledgement: how long nobody answered in the old process. */
  quietMs: number;
}

function frame(type: number, payload: Uint8Array): Buffer {
  const f = Buffer.allocUnsafe(FRAME_HEAD + payload.length);
  f[0] = type;
  f.writeUInt32LE(payload.length, 1);
  f.set(payload, FRAME_HEAD);
  return f;
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');

async function send(socket: net.Socket, type: number, payload: Uint8Array): Promise<void> {
  if (socket.destroyed) throw new HandoverError('the socket closed');
  if (!socket.write(frame(type, payload))) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
}

/** Reads frames off a socket, one at a time. */
class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly chunks: AsyncIterator<Buffer>;

  constructor(socket: net.Socket) {
    this.chunks = (socket as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** The next frame, or null at the end of the stream (between frames). */
  async next(): Promise<{ type: number; payload: Buffer } | null> {
    for (;;) {
      if (this.pending.length >= FRAME_HEAD) {
        const length = this.pending.readUInt32LE(1);
        if (length > MAX_FRAME) throw new HandoverError(`a frame of ${length} bytes (at most ${MAX_FRAME})`);
        if (this.pending.length >= FRAME_HEAD + length) {
          const type = this.pending[0];
          const payload = this.pending.subarray(FRAME_HEAD, FRAME_HEAD + length);
          this.pending = this.pending.subarray(FRAME_HEAD + length);
          return { type, payload };
        }
      }
      const r = await this.chunks.next();
      if (r.done === true) {
        if (this.pending.length > 0) throw new HandoverError('the stream ended in the middle of a frame');
        return null;
      }
      this.pending = this.pending.length === 0 ? r.value : Buffer.concat([this.pending, r.value]);
    }
  }
}

function parseJson(payload: Buffer, what: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new HandoverError(`a malformed ${what} frame`);
}

/**
 * The old process's side: sends the store, quiesces, sends the last changes, and resolves with
 * the new process's acknowledgement. Rejects with a HandoverError when anything fails.
 */
export async function sendHandover(socket: net.Socket, source: HandoverSource): Promise<HandoverReport> {
  try {
    return await sendAll(socket, source);
  } catch (err) {
    socket.destroy();
    throw err instanceof HandoverError ? err : new HandoverError(`the socket failed: ${(err as Error).message}`);
  }
}

async function sendAll(socket: net.Socket, source: HandoverSource): Promise<HandoverReport> {
  const started = performance.now();
  const report: HandoverReport = { bytes: 0, changes: 0, torrents: 0, peers: 0, ms: 0, quietMs: 0 };
  const reader = new FrameReader(socket);
  const writer = new BatchWriter(0);
  const sendChanges = async (): Promise<void> => {
    if (source.drainChanges === null) return;
    const batches: Buffer[] = [];
    report.changes += source.drainChanges((tag, seeder, family, port, bytes, hashOffset, addressOffset) => {
      if (!writer.fits(PEER_RECORD_BYTES6)) batches.push(writer.take(BATCH_LIVE));
      writer.peer(tag, bytes, hashOffset, family, bytes, addressOffset, port, seeder);
    });
    if (writer.count > 0) batches.push(writer.take(BATCH_LIVE));
    for (const b of batches) await send(socket, CHANGES, b);
  };

  await send(socket, HELLO, json({ swarmd: 1, pid: process.pid, version: source.version, format: PEER_STATE_VERSION }));
  for (const [name, bytes] of Object.entries(source.sections ?? {})) {
    const n = Buffer.from(name, 'utf8');
    await send(socket, SECTION, Buffer.concat([Buffer.from([n.length]), n, bytes]));
  }
  for await (const chunk of writePeerState(source.store)) {
    await send(socket, STATE, chunk);
    report.bytes += chunk.length;
    await sendChanges();
  }
  const ready = await reader.next();
  if (ready === null || ready.type !== READY) throw new HandoverError('the new process closed the socket before it was ready');
  const quiet = performance.now();
  await source.quiesce();
  await sendChanges();
  await send(socket, DONE, json({ changes: report.changes }));
  const timer = setTimeout(() => socket.destroy(new HandoverError('no acknowledgement from the new process')), ACK_TIMEOUT_MS);
  try {
    const f = await reader.next();
    if (f === null || f.type !== ACK) throw new HandoverError('the new process closed the socket without acknowledging');
    const a = parseJson(f.payload, 'ACK');
    if (a.changes !== report.changes) throw new HandoverError(`the new process applied ${String(a.changes)} changes of ${report.changes}`);
    report.torrents = Number(a.torrents);
    report.peers = Number(a.peers);
  } finally {
    clearTimeout(timer);
  }
  report.quietMs = performance.now() - quiet;
  report.ms = performance.now() - started;
  socket.end();
  return report;
}

/** Applies change records as the announces they were (local peers, not synced ones). */
class ChangeApplier implements RecordSink {
  private readonly announcer: RecordAnnouncer;
  applied = 0;
  full = 0;

  constructor(store: SwarmStore) {
    this.announcer = new RecordAnnouncer(store, false);
  }

  peer(tag: number, hash: Uint8Array, hashOffset: number, family: number, address: Uint8Array, addressOffset: number, port: number, seeder: boolean): void {
    if (this.announcer.peer(tag, hash, hashOffset, family, address, addressOffset, port, seeder) !== ANNOUNCE_OK) this.full++;
    this.applied++;
  }

  torrent(): void {
    throw new HandoverError('a torrent record among the changes');
  }

  control(_c: Control): void {
    throw new HandoverError('a control record among the changes');
  }
}

export interface HandoverReceived extends HandoverReport {
  /** The old process's hello. */
  from: { pid: number; version: string };
  /** Changes the memory limit kept out. */
  full: number;
}

/**
 * The new process's side: restores the store as it arrives, applies the changes once the whole
 * snapshot is in, hands each section to `onSection`, and acknowledges. Rejects with a
 * HandoverError (or a PeerStateError) when anything fails; the store then holds part of it.
 */
export async function receiveHandover(
  socket: net.Socket,
  store: SwarmStore,
  options: PeerStateReadOptions & {
    onSection?: (name: string, bytes: Buffer) => void;
    /** Called once the snapshot is in: bind the listeners and answer; the old process stops after. */
    whenSnapshotIn?: () => Promise<void>;
  } = {},
): Promise<HandoverReceived> {
  const started = performance.now();
  const reader = new FrameReader(socket);
  const state = new PeerStateReader(store, options);
  const applier = new ChangeApplier(store);
  const queued: Buffer[] = [];
  const apply = (batch: Buffer) => {
    if (readBatch(batch, applier) === null) throw new HandoverError('a malformed CHANGES frame');
  };
  const first = await reader.next();
  if (first === null || first.type !== HELLO) throw new HandoverError('the old process did not say hello');
  const hello = parseJson(first.payload, 'HELLO');
  if (hello.swarmd !== 1 || hello.format !== PEER_STATE_VERSION) {
    throw new HandoverError(`the old process speaks format ${String(hello.format)}; this swarmd reads ${PEER_STATE_VERSION}`);
  }
  for (;;) {
    const f = await reader.next();
    if (f === null) throw new HandoverError('the old process closed the socket before it was done');
    if (f.type === SECTION) {
      const n = f.payload[0];
      if (f.payload.length < 1 + n) throw new HandoverError('a malformed SECTION frame');
      options.onSection?.(f.payload.toString('utf8', 1, 1 + n), Buffer.from(f.payload.subarray(1 + n)));
    } else if (f.type === STATE) {
      state.push(f.payload);
      if (!state.done) continue;
      for (const b of queued.splice(0)) apply(b);
      await options.whenSnapshotIn?.();
      await send(socket, READY, new Uint8Array(0));
    } else if (f.type === CHANGES) {
      if (state.done) apply(f.payload);
      else queued.push(Buffer.from(f.payload));
    } else if (f.type === DONE) {
      const done = parseJson(f.payload, 'DONE');
      const read = state.end();
      if (done.changes !== applier.applied) throw new HandoverError(`${applier.applied} changes arrived of ${String(done.changes)}`);
      const result: HandoverReceived = {
        bytes: read.bytes,
        changes: applier.applied,
        torrents: read.torrents,
        peers: read.peers,
        full: applier.full,
        ms: 0,
        quietMs: 0,
        from: { pid: Number(hello.pid), version: String(hello.version) },
      };
      await send(socket, ACK, json({ changes: result.changes, torrents: result.torrents, peers: result.peers }));
      socket.end();
      result.ms = performance.now() - started;
      return result;
    } else throw new HandoverError(`an unknown frame type ${f.type}`);
  }
}
