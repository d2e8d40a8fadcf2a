// Batched UDP I/O, the interface: the server gets the datagrams received in one wake-up as one
// Batch, writes its replies into another, and the socket sends them. What both implementations
// share is here (the Batch layout, the counters, running the handler); udp-socket.ts opens one,
// choosing between them, so neither implementation imports the file that imports it:
//  - 'recvmmsg' (udp-native.ts): the optional Node-API addon in native/, one recvmmsg and one
//    sendmmsg per batch (Linux). ~4 µs of server CPU per datagram echoed (bench/udp-echo.ts),
//    as much as a C recvmmsg echo.
//  - 'dgram' (udp-dgram.ts): node:dgram, the fallback where the addon isn't built. Same Batch
//    contents, ~10-12 µs per datagram.
//
// Errors thrown by the handler never escape to the event loop (they would kill a worker):
// runHandler catches them, counts them in counters.handlerErrors, drops that batch's replies
// (tx may be half-written) and passes the error to options.onError. Without onError, they are
// written to stderr, at most one line per second per socket (with how many were not printed).

export const SLOT_SIZE = 2048; // bytes reserved per datagram in a batch
// Per-slot address: [0] = family (4 or 6), [1] = 0, [2..3] = port big-endian,
// [4..19] = address bytes (IPv4 in 4..7, the rest zero).
export const ADDR_SIZE = 20;

export interface Batch {
  count: number; // number of datagrams in the batch
  readonly capacity: number;
  readonly data: Buffer; // capacity*SLOT_SIZE; datagram i starts at i*SLOT_SIZE
  // capacity; rx: the datagram's real length (may exceed SLOT_SIZE, then data is truncated);
  // tx: bytes to send (0..SLOT_SIZE; a slot outside that, or with an address the socket can't
  // reach, is skipped and counted in sendErrors)
  readonly lengths: Int32Array;
  readonly addrs: Buffer; // capacity*ADDR_SIZE
}

// Called once per received batch. The handler writes replies into tx (slots 0..tx.count-1,
// with lengths and addrs) and sets tx.count; the layer then sends them all (sendmmsg) and
// resets tx.count to 0. rx must not be used after the handler returns.
export type BatchHandler = (rx: Batch, tx: Batch) => void;

export interface UdpBatchCounters {
  received: number; // datagrams received
  sent: number; // datagrams handed to the kernel
  truncated: number; // datagrams longer than SLOT_SIZE (received, lengths[i] > SLOT_SIZE)
  sendErrors: number; // datagrams not sent: full send buffer (dropped, never blocks), bad slot, ...
  batches: number; // handler calls
  handlerErrors: number; // handler calls that threw (their replies were dropped)
  recvErrors: number; // receive errors other than "nothing to read"
}

export interface UdpBatchSocket {
  readonly io: 'recvmmsg' | 'dgram';
  address(): { address: string; port: number; family: 'IPv4' | 'IPv6' };
  // Sends batch.count datagrams now (for load generators that initiate traffic); returns how
  // many were sent (dgram: queued).
  send(batch: Batch): number;
  newBatch(): Batch; // a batch of this socket's capacity (for send())
  readonly counters: Readonly<UdpBatchCounters>;
  // Stops receiving and closes the socket: the port is free and the event loop no longer held
  // when the promise resolves. Safe to call twice, and from inside the handler.
  close(): Promise<void>;
}

// The options as the implementations get them: every default filled in, host numeric.
export interface ResolvedUdpOptions {
  host: string;
  family: 4 | 6;
  port: number;
  reusePort: boolean;
  ipv6Only: boolean;
  batchSize: number;
  recvBufferSize: number;
  sendBufferSize: number;
  onError: (err: unknown) => void;
}

export const MAX_BATCH_SIZE = 1024;

class BatchBuffers implements Batch {
  count = 0;
  readonly capacity: number;
  readonly data: Buffer;
  readonly lengths: Int32Array;
  readonly addrs: Buffer;
  constructor(capacity: number) {
    this.capacity = capacity;
    // Buffer.alloc never uses the shared pool: each batch owns its memory, which never moves
    // (the native addon keeps pointers into it).
    this.data = Buffer.alloc(capacity * SLOT_SIZE);
    this.lengths = new Int32Array(capacity);
    this.addrs = Buffer.alloc(capacity * ADDR_SIZE);
  }
}

export function allocBatch(capacity: number): Batch {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_BATCH_SIZE) {
    throw new RangeError(`batch capacity must be an integer in 1..${MAX_BATCH_SIZE}, not ${capacity}`);
  }
  return new BatchBuffers(capacity);
}

// Counters, indexes into the Float64Array both implementations update.
export const BATCH_COUNTER_NAMES = ['received', 'sent', 'truncated', 'sendErrors', 'batches', 'handlerErrors', 'recvErrors'] as const;
export const C_RECEIVED = 0;
export const C_SENT = 1;
export const C_TRUNCATED = 2;
export const C_SEND_ERRORS = 3;
export const C_BATCHES = 4;
export const C_HANDLER_ERRORS = 5;
export const C_RECV_ERRORS = 6;

// A read-only view of the counters array as the named object of UdpBatchSocket.counters
// (live getters; JSON.stringify and console.log show a snapshot).
export function countersView(values: Float64Array): Readonly<UdpBatchCounters> {
  const snapshot = (): UdpBatchCounters => {
    const out: Record<string, number> = {};
    BATCH_COUNTER_NAMES.forEach((name, i) => (out[name] = values[i]!));
    return out as unknown as UdpBatchCounters;
  };
  const view = {};
  BATCH_COUNTER_NAMES.forEach((name, i) => {
    Object.defineProperty(view, name, { get: () => values[i], enumerable: true });
  });
  Object.defineProperty(view, 'toJSON', { value: snapshot });
  Object.defineProperty(view, Symbol.for('nodejs.util.inspect.custom'), { value: snapshot });
  return view as Readonly<UdpBatchCounters>;
}

// Runs the handler for one batch: never throws, returns how many replies to send.
export function runHandler(handler: BatchHandler, rx: Batch, tx: Batch, counters: Float64Array, onError: (err: unknown) => void): number {
  tx.count = 0;
  let replies: number;
  try {
    handler(rx, tx);
    replies = tx.count;
    if (!(replies >= 0 && replies <= tx.capacity) || !Number.isInteger(replies)) {
      throw new RangeError(`tx.count must be an integer in 0..${tx.capacity}, not ${replies}`);
    }
  } catch (err) {
    replies = 0;
    counters[C_HANDLER_ERRORS]++;
    try {
      onError(err);
    } catch {
      // an onError that throws has nowhere better to go: the count above records it
    }
  }
  tx.count = 0;
  rx.count = 0;
  return replies;
}
