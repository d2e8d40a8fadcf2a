// The epoll TCP addon (native/tcp_batch.c) for the HTTP tracker: loading it, choosing it
// (listen.tcp.io), and the NativeTcpServer around it. C accepts, reads, writes and closes; this
// file hands the handler every connection whose request head arrived, as one batch per wake-up
// in preallocated memory, and turns every connection C lets go of into a net.Socket.
//
// The batch (RX, filled by C, valid only during the handler call):
//   rx.meta: RX_STRIDE int32s per entry: slot id, offset and length of the bytes in rx.data,
//     listener index (the order of listen() calls). The bytes hold at least one complete head
//     (up to a blank line, CRLF or bare LF) and maybe pipelined requests after it, or exactly
//     maxRequestBytes without a blank line (a head too large: answer 431).
//   rx.addrs: 20 bytes per entry, the client: [0] family 4 or 6 (IPv4-mapped IPv6 is 4),
//     [2..3] port big-endian, [4..19] address bytes (IPv4 in 4..7). The udp-batch.ts layout.
// The answers (TX, filled by the handler): every rx entry must get exactly one answer before the
// handler returns (one not answered is closed and counted in `unanswered`). Write the bytes at
// tx.data[tx.used...], then tx.answer(slot, length, action):
//   ACTION_CLOSE: write, then close. ACTION_KEEP: write, then wait for the next request (idle
//   timeout). ACTION_HANDOVER: write (length may be 0), then give the connection to Node: the
//   onHandover callback gets a net.Socket whose first bytes read are `replay` (e.g. the request,
//   for a path served by the net server: WebSocket upgrades, streamed answers, a pipelined
//   partial head).
// When tx.data or tx.meta is full the handler calls tx.flush() and goes on; the layer flushes
// the rest when the handler returns. One flush is one call into C for all its answers.
//
// Handed over to onHandover(socket, reason), the socket already holding the bytes read so far:
//   HANDOVER_PARTIAL_HEAD: the first read had bytes but no complete head (below maxRequestBytes);
//   HANDOVER_WRITE_BLOCKED: a KEEP answer the socket didn't take whole (the rest is queued on
//     the socket); a CLOSE answer so blocked is finished here (written, ended, destroyed after
//     the idle timeout if the client doesn't read it) and not handed on;
//   HANDOVER_ASKED: the handler's ACTION_HANDOVER.
// The Node side applies its own header/idle timeouts to what it is given.

import { closeSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { AddonStatus } from './addon.ts';
import { loadAddon, throttledStderr } from './addon.ts';

export const RX_STRIDE = 4;
export const RX_SLOT = 0;
export const RX_OFFSET = 1;
export const RX_LENGTH = 2;
export const RX_LISTENER = 3;
export const TX_STRIDE = 4;
const HO_STRIDE = 4;
export const ADDR_SIZE = 20;

export const ACTION_CLOSE = 0;
export const ACTION_KEEP = 1;
export const ACTION_HANDOVER = 2;
export type TcpAction = typeof ACTION_CLOSE | typeof ACTION_KEEP | typeof ACTION_HANDOVER;

export const HANDOVER_PARTIAL_HEAD = 1;
export const HANDOVER_WRITE_BLOCKED = 2;
export const HANDOVER_ASKED = 3;
export type HandoverReason = typeof HANDOVER_PARTIAL_HEAD | typeof HANDOVER_WRITE_BLOCKED | typeof HANDOVER_ASKED;

// Counters, in the order of the C enum. `open` is a gauge (connections in C's slots now).
export const TCP_COUNTER_NAMES = [
  'accepted', // connections accepted (including refused ones)
  'refused', // accepted and closed at once: maxConnections slots in use
  'acceptErrors', // accept failures other than "nothing pending" (EMFILE pauses the listener until the next sweep)
  'requests', // batch entries handed to the handler (a read holding a complete or a too-large head)
  'handoverPartialHead',
  'handoverWriteBlocked',
  'handoverAsked',
  'timeouts', // closed by the header or idle timeout
  'peerClosed', // the client closed while waiting for its (next) request
  'readErrors',
  'writeErrors', // send failed (reset by the client...): closed
  'bytesIn',
  'bytesOut', // by C; what handed-over sockets write is Node's
  'batches', // handler calls
  'handlerErrors', // handler or onHandover throws (the batch's unanswered connections are closed)
  'unanswered', // entries the handler gave no answer: closed
  'badAnswers', // answers naming no connection the handler holds, or bytes outside tx.data: dropped (the connection closed)
  'open',
] as const;
export type TcpCounters = Record<(typeof TCP_COUNTER_NAMES)[number], number>;

export class TcpRx {
  count = 0;
  readonly data: Buffer;
  readonly meta: Int32Array;
  readonly addrs: Buffer;
  constructor(capacity: number, bytes: number) {
    // Buffer.alloc, not the pool: the addon keeps pointers into this memory, which never moves.
    this.data = Buffer.alloc(bytes);
    this.meta = new Int32Array(capacity * RX_STRIDE);
    this.addrs = Buffer.alloc(capacity * ADDR_SIZE);
  }
}

export class TcpTx {
  count = 0;
  used = 0; // bytes of data taken by the answers so far
  readonly capacity: number;
  readonly data: Buffer;
  readonly meta: Int32Array;
  readonly replay: (Buffer | null)[];
  flushNow: () => void = () => {};
  constructor(capacity: number, bytes: number) {
    this.capacity = capacity;
    this.data = Buffer.alloc(bytes);
    this.meta = new Int32Array(capacity * TX_STRIDE);
    this.replay = new Array<Buffer | null>(capacity).fill(null);
  }
  // Room for another answer of `bytes` at data[used]: false when full (flush, or hand over).
  fits(bytes: number): boolean {
    return this.count < this.capacity && this.used + bytes <= this.data.length;
  }
  // The answer to `slot` is the `length` bytes already written at data[used].
  answer(slot: number, length: number, action: TcpAction): void {
    if (this.count >= this.capacity || this.used + length > this.data.length) throw new RangeError('tx is full: flush first');
    const m = this.count * TX_STRIDE;
    this.meta[m] = slot;
    this.meta[m + 1] = this.used;
    this.meta[m + 2] = length;
    this.meta[m + 3] = action;
    this.used += length;
    this.count++;
  }
  // Writes the `length` bytes at data[used] (0: none), then gives the connection to onHandover,
  // its readable side starting with `replay`.
  handover(slot: number, length: number, replay: Buffer | null): void {
    this.replay[this.count] = replay;
    this.answer(slot, length, ACTION_HANDOVER);
  }
  // Writes every answer so far (one call into C); data and meta are free again after it.
  flush(): void {
    this.flushNow();
  }
}

export type TcpBatchHandler = (rx: TcpRx, tx: TcpTx) => void;
export type TcpHandoverHandler = (socket: net.Socket, reason: HandoverReason) => void;

export interface NativeTcpOptions {
  maxConnections: number; // connections in C at once (1..1048575); more are accepted and closed
  maxRequestBytes: number; // largest head (16..16M); a read is at most this
  headerTimeout: number; // seconds: the first head must arrive within this after the connection
  idleTimeout: number; // seconds: a kept connection's next request must start within this
  batchSize?: number; // connections per handler call (1..4096, default 128)
  txBytes?: number; // answer bytes per flush (default 512 KiB)
  onError?: (err: unknown) => void; // what handler and onHandover throw (default: stderr, 1/s)
}

export interface TcpListenOptions {
  host: string; // numeric ('::' = dual stack unless ipv6Only)
  port: number; // 0 = ephemeral
  reusePort?: boolean; // SO_REUSEPORT: every worker listens on the same port
  ipv6Only?: boolean;
  backlog?: number; // default 511, as Node's
}

export interface NativeTcpServer {
  readonly io: 'native';
  listen(opts: TcpListenOptions): number; // the listener's index (rx.meta RX_LISTENER)
  address(listener: number): { address: string; port: number; family: 'IPv4' | 'IPv6' };
  readonly counters: Readonly<TcpCounters>;
  // Closes the listeners and every connection still in C (handed-over sockets are the caller's).
  close(): Promise<void>;
}

type Handle = object; // an opaque napi_external
interface NativeState {
  rxData: Buffer;
  rxMeta: Int32Array;
  rxAddrs: Buffer;
  txData: Buffer;
  txMeta: Int32Array;
  hoMeta: Int32Array;
  counters: Float64Array;
  onBatch: (requests: number, handovers: number) => void;
}
interface Addon {
  open(state: NativeState, maxConnections: number, maxRequest: number, headerMs: number, idleMs: number): Handle;
  listen(handle: Handle, host: string, port: number, flags: number, backlog: number): number;
  address(handle: Handle, listener: number): [4 | 6, number, string];
  flush(handle: Handle, count: number): number;
  close(handle: Handle): void;
}

const FLAG_REUSEPORT = 1;
const FLAG_IPV6ONLY = 2;
const C_HANDLER_ERRORS = TCP_COUNTER_NAMES.indexOf('handlerErrors');
export const MAX_CONNECTIONS = (1 << 20) - 1;

/** Where `npm install` builds the addon; SWARMD_TCP_ADDON names another file (the ASan build, or a missing one in tests). */
export const TCP_ADDON_PATH = process.env.SWARMD_TCP_ADDON || fileURLToPath(new URL('../../native/build/Release/swarmd_tcp.node', import.meta.url));

let addon: Addon | null = null;
let status: AddonStatus | null = null;

// Loads the addon once, lazily.
export function nativeTcpStatus(): AddonStatus {
  if (!status) ({ addon, status } = loadAddon<Addon>(TCP_ADDON_PATH, 'flush'));
  return status;
}

export type TcpIo = 'auto' | 'native' | 'net';

// listen.tcp.io: which path HTTP listeners take. 'native' without the addon is an error naming why.
export function chooseTcpIo(setting: TcpIo): { io: 'native' | 'net'; reason: string } {
  if (setting === 'net') return { io: 'net', reason: 'listen.tcp.io is net' };
  const s = nativeTcpStatus();
  if (s.available) return { io: 'native', reason: s.reason };
  if (setting === 'native') throw new Error(`swarmd: listen.tcp.io is native but the native TCP addon is not available: ${s.reason}`);
  return { io: 'net', reason: `native TCP addon not available (${s.reason})` };
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, not ${v}`);
  return v;
}

// A live read-only view of the counters (JSON.stringify gives a snapshot).
function countersView(values: Float64Array): Readonly<TcpCounters> {
  const view = {};
  TCP_COUNTER_NAMES.forEach((name, i) => Object.defineProperty(view, name, { get: () => values[i], enumerable: true }));
  return view as Readonly<TcpCounters>;
}

interface TcpSettings {
  maxConnections: number;
  maxRequest: number;
  headerMs: number;
  idleMs: number;
  capacity: number;
  txBytes: number;
}

// The options, checked (a RangeError names the first one out of range).
function tcpSettings(opts: NativeTcpOptions): TcpSettings {
  return {
    maxConnections: checkInt('maxConnections', opts.maxConnections, 1, MAX_CONNECTIONS),
    maxRequest: checkInt('maxRequestBytes', opts.maxRequestBytes, 16, 1 << 24),
    headerMs: checkInt('headerTimeout (ms)', Math.round(opts.headerTimeout * 1000), 1, 0x7fffffff),
    idleMs: checkInt('idleTimeout (ms)', Math.round(opts.idleTimeout * 1000), 1, 0x7fffffff),
    capacity: checkInt('batchSize', opts.batchSize ?? 128, 1, 4096),
    txBytes: checkInt('txBytes', opts.txBytes ?? 512 << 10, 1, 0x7fffffff),
  };
}

// What the handler and onHandover throw: counted in handlerErrors, then given to onError.
function errorSink(values: Float64Array, onError: (err: unknown) => void): (err: unknown) => void {
  return (err: unknown): void => {
    values[C_HANDLER_ERRORS]++;
    try {
      onError(err);
    } catch {
      // nowhere better to go: counted above
    }
  };
}

// The connections C lets go of, made net.Sockets: after a flush (handed over as asked, or a
// blocked answer finished here) and before a batch (partial heads, their bytes replayed).
function handoverPaths(
  rx: TcpRx,
  tx: TcpTx,
  ho: Int32Array,
  idleMs: number,
  onHandover: TcpHandoverHandler,
  fail: (err: unknown) => void,
): { afterFlush: (handovers: number) => void; readHandovers: (n: number) => void } {
  const give = (socket: net.Socket, reason: HandoverReason): void => {
    try {
      onHandover(socket, reason);
    } catch (err) {
      socket.destroy();
      fail(err);
    }
  };
  // A connection C let go of, as a net.Socket; null (fd closed) if Node can't take it.
  const adopt = (fd: number): net.Socket | null => {
    try {
      return new net.Socket({ fd, readable: true, writable: true });
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        // already gone
      }
      fail(err);
      return null;
    }
  };
  const afterFlush = (handovers: number): void => {
    for (let k = 0; k < handovers; k++) {
      const h = k * HO_STRIDE;
      const entry = ho[h + 2]! * TX_STRIDE;
      const offset = tx.meta[entry + 1]!;
      const length = tx.meta[entry + 2]!;
      const action = tx.meta[entry + 3]!;
      const replay = tx.replay[ho[h + 2]!] ?? null;
      const socket = adopt(ho[h]!);
      if (socket === null) continue;
      const written = ho[h + 3]!;
      if (written < length) socket.write(Buffer.from(tx.data.subarray(offset + written, offset + length)));
      if (action === ACTION_CLOSE) {
        socket.on('error', () => socket.destroy());
        socket.setTimeout(idleMs, () => socket.destroy());
        socket.end();
        continue;
      }
      if (replay !== null) socket.unshift(replay);
      give(socket, ho[h + 1] as HandoverReason);
    }
  };
  const readHandovers = (n: number): void => {
    for (let k = 0; k < n; k++) {
      const h = k * HO_STRIDE;
      const socket = adopt(ho[h]!);
      if (socket === null) continue;
      socket.unshift(Buffer.from(rx.data.subarray(ho[h + 2]!, ho[h + 2]! + ho[h + 3]!)));
      give(socket, ho[h + 1] as HandoverReason);
    }
  };
  return { afterFlush, readHandovers };
}

// The NativeTcpServer around an open handle; `release` runs once, at the first close().
function nativeServer(native: Addon, own: Handle, values: Float64Array, release: () => void): NativeTcpServer {
  let closed = false;
  return {
    io: 'native',
    listen(l: TcpListenOptions): number {
      const flags = (l.reusePort ? FLAG_REUSEPORT : 0) | (l.ipv6Only ? FLAG_IPV6ONLY : 0);
      return native.listen(own, l.host, checkInt('port', l.port, 0, 65535), flags, checkInt('backlog', l.backlog ?? 511, 1, 65535));
    },
    address(listener: number) {
      if (closed) throw new Error('native tcp server is closed');
      const [family, port, address] = native.address(own, listener);
      return { address, port, family: family === 6 ? 'IPv6' : 'IPv4' };
    },
    counters: countersView(values),
    close(): Promise<void> {
      if (!closed) {
        closed = true;
        release();
        native.close(own); // listeners and connections are closed now; the poll handle finishes on the loop
      }
      return Promise.resolve();
    },
  };
}

export function openNativeTcp(opts: NativeTcpOptions, handler: TcpBatchHandler, onHandover: TcpHandoverHandler): NativeTcpServer {
  if (!nativeTcpStatus().available || !addon) throw new Error(`native TCP addon not available: ${nativeTcpStatus().reason}`);
  const native = addon;
  const { maxConnections, maxRequest, headerMs, idleMs, capacity, txBytes } = tcpSettings(opts);
  const rx = new TcpRx(capacity, Math.max(4 * maxRequest, 128 << 10));
  const tx = new TcpTx(capacity, txBytes);
  const ho = new Int32Array(capacity * HO_STRIDE);
  const values = new Float64Array(TCP_COUNTER_NAMES.length);
  const fail = errorSink(values, opts.onError ?? throttledStderr('native tcp'));
  const { afterFlush, readHandovers } = handoverPaths(rx, tx, ho, idleMs, onHandover, fail);
  let handle: Handle | null = null;
  tx.flushNow = () => {
    const n = tx.count;
    const handovers = n > 0 && handle !== null ? native.flush(handle, n) : 0;
    afterFlush(handovers);
    for (let k = 0; k < n; k++) tx.replay[k] = null;
    tx.count = 0;
    tx.used = 0;
  };
  const state: NativeState = {
    rxData: rx.data,
    rxMeta: rx.meta,
    rxAddrs: rx.addrs,
    txData: tx.data,
    txMeta: tx.meta,
    hoMeta: ho,
    counters: values,
    onBatch: (requests: number, handovers: number): void => {
      readHandovers(handovers); // first: flush() reuses hoMeta
      rx.count = requests;
      try {
        if (requests > 0) handler(rx, tx);
      } catch (err) {
        tx.count = 0; // maybe half-written: C closes every connection of this batch instead
        tx.used = 0;
        tx.replay.fill(null);
        fail(err);
      }
      tx.flushNow();
      rx.count = 0;
    },
  };
  handle = native.open(state, maxConnections, maxRequest, headerMs, idleMs);
  return nativeServer(native, handle, values, () => {
    handle = null;
  });
}
