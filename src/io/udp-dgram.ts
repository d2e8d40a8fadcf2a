// The fallback UdpBatchSocket on node:dgram, for where the native addon isn't built. It fills
// the same Batch contents as the addon (addresses parsed from rinfo into the 20-byte slot
// layout, IPv4-mapped IPv6 normalised to family 4, real lengths of truncated datagrams).
// Datagrams are gathered until the event loop's check phase (setImmediate), so the datagrams
// dgram delivered in one poll wake-up form one batch (or a full batch is handled at once).
// Replies are copied out of the tx batch: dgram may send them a tick later (after its address
// "lookup"), when the tx batch already holds the next replies.

import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import type { Batch, BatchHandler, ResolvedUdpOptions, UdpBatchCounters, UdpBatchSocket } from './udp-batch.ts';
import {
  ADDR_SIZE,
  BATCH_COUNTER_NAMES,
  C_BATCHES,
  C_RECEIVED,
  C_RECV_ERRORS,
  C_SEND_ERRORS,
  C_SENT,
  C_TRUNCATED,
  SLOT_SIZE,
  allocBatch,
  countersView,
  runHandler,
} from './udp-batch.ts';

// Writes a textual address into a 20-byte slot (family, 0, port BE, bytes). Returns false when
// the text is not an IPv4 or IPv6 address (the slot is then zeroed).
export function writeAddressSlot(text: string, port: number, out: Buffer, offset: number): boolean {
  out.fill(0, offset, offset + ADDR_SIZE);
  out[offset + 2] = port >>> 8;
  out[offset + 3] = port & 0xff;
  if (text.includes(':')) {
    const b = offset + 4;
    if (!parseIPv6(text, out, b)) return fail(out, offset);
    // ::ffff:a.b.c.d is an IPv4 client of a dual-stack socket
    let mapped = out[b + 10] === 0xff && out[b + 11] === 0xff;
    for (let i = 0; i < 10 && mapped; i++) mapped = out[b + i] === 0;
    if (mapped) {
      out.copyWithin(b, b + 12, b + 16);
      out.fill(0, b + 4, b + 16);
      out[offset] = 4;
    } else {
      out[offset] = 6;
    }
    return true;
  }
  if (!parseIPv4(text, out, offset + 4)) return fail(out, offset);
  out[offset] = 4;
  return true;
}

function fail(out: Buffer, offset: number): false {
  out.fill(0, offset, offset + ADDR_SIZE);
  return false;
}

function parseIPv4(text: string, out: Buffer, at: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return false;
    out[at + i] = Number(p);
  }
  return true;
}

// RFC 4291 text (with '::', an embedded dotted quad, a %zone which is ignored) into 16 bytes.
function parseIPv6(text: string, out: Buffer, at: number): boolean {
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const words: number[] = [];
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (s: string, last: boolean): number[] | null => {
    if (s === '') return [];
    const res: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (last && i === parts.length - 1 && p.includes('.')) {
        const q = Buffer.alloc(4);
        if (!parseIPv4(p, q, 0)) return null;
        res.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        res.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return res;
  };
  const head = groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1]!, true) : [];
  if (!head || !tail) return false;
  if (halves.length === 1) {
    if (head.length !== 8) return false;
    words.push(...head);
  } else {
    if (head.length + tail.length > 7) return false;
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  }
  for (let i = 0; i < 8; i++) {
    out[at + 2 * i] = words[i]! >>> 8;
    out[at + 2 * i + 1] = words[i]! & 0xff;
  }
  return true;
}

// The slot back to text for dgram.send (family 4 from an IPv6 socket: v4-mapped). null when the
// socket can't reach it.
export function slotToAddress(addrs: Buffer, offset: number, socketFamily: 4 | 6): string | null {
  const family = addrs[offset];
  const b = offset + 4;
  if (family === 4) {
    const v4 = `${addrs[b]}.${addrs[b + 1]}.${addrs[b + 2]}.${addrs[b + 3]}`;
    return socketFamily === 4 ? v4 : `::ffff:${v4}`;
  }
  if (family !== 6 || socketFamily !== 6) return null;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((addrs[b + i]! << 8) | addrs[b + i + 1]!).toString(16));
  return words.join(':');
}

export async function openDgramSocket(opts: ResolvedUdpOptions, handler: BatchHandler): Promise<UdpBatchSocket> {
  const socket = new DgramBatchSocket(opts, handler);
  await socket.bind(opts.host, opts.port);
  return socket;
}

class DgramBatchSocket implements UdpBatchSocket {
  readonly io = 'dgram';
  readonly counters: Readonly<UdpBatchCounters>;
  private readonly values = new Float64Array(BATCH_COUNTER_NAMES.length);
  private readonly socket: Socket;
  private readonly family: 4 | 6;
  private readonly capacity: number;
  private readonly rx: Batch;
  private readonly tx: Batch;
  private readonly handler: BatchHandler;
  private readonly onError: (err: unknown) => void;
  private closed = false;
  private scheduled: NodeJS.Immediate | null = null;

  constructor(opts: ResolvedUdpOptions, handler: BatchHandler) {
    this.family = opts.family;
    this.capacity = opts.batchSize;
    this.rx = allocBatch(this.capacity);
    this.tx = allocBatch(this.capacity);
    this.handler = handler;
    this.onError = opts.onError;
    this.counters = countersView(this.values);
    this.socket = createSocket({
      type: this.family === 6 ? 'udp6' : 'udp4',
      reusePort: opts.reusePort,
      ipv6Only: opts.ipv6Only,
      recvBufferSize: opts.recvBufferSize || undefined,
      sendBufferSize: opts.sendBufferSize || undefined,
    });
  }

  /** Binds the socket; rejects (and closes it) if the bind fails. */
  bind(host: string, port: number): Promise<void> {
    const socket = this.socket;
    return new Promise<void>((resolve, reject) => {
      const onBindError = (err: Error): void => {
        this.closed = true;
        try {
          socket.close();
        } catch {
          // already closed by the failed bind
        }
        reject(err);
      };
      socket.once('error', onBindError);
      socket.once('listening', () => {
        socket.off('error', onBindError);
        // After bind, an 'error' must never go unhandled (that would kill the worker).
        socket.on('error', () => {
          this.values[C_RECV_ERRORS]++;
        });
        socket.on('message', this.onMessage);
        resolve();
      });
      socket.bind({ port, address: host, exclusive: true });
    });
  }

  address(): { address: string; port: number; family: 'IPv4' | 'IPv6' } {
    const a = this.socket.address();
    return { address: a.address, port: a.port, family: a.family === 'IPv6' ? 'IPv6' : 'IPv4' };
  }

  send(batch: Batch): number {
    return this.closed ? 0 : this.sendSlots(batch);
  }

  newBatch(): Batch {
    return allocBatch(this.capacity);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    return new Promise<void>((done) => this.socket.close(() => done()));
  }

  /** One shared callback: dgram only reports send errors to a callback. */
  private readonly afterSend = (err: Error | null): void => {
    if (err) this.values[C_SEND_ERRORS]++;
    else this.values[C_SENT]++;
  };

  private sendSlots(batch: Batch): number {
    let queued = 0;
    const n = Math.min(batch.count, batch.capacity);
    for (let i = 0; i < n; i++) {
      const len = batch.lengths[i]!;
      const to = slotToAddress(batch.addrs, i * ADDR_SIZE, this.family);
      const port = batch.addrs.readUInt16BE(i * ADDR_SIZE + 2);
      if (to === null || !(len >= 0 && len <= SLOT_SIZE)) {
        this.values[C_SEND_ERRORS]++;
        continue;
      }
      const start = i * SLOT_SIZE;
      const copy = Buffer.allocUnsafe(len);
      batch.data.copy(copy, 0, start, start + len);
      this.socket.send(copy, port, to, this.afterSend);
      queued++;
    }
    return queued;
  }

  /** Hands the gathered datagrams to the handler and sends its replies. */
  private readonly flush = (): void => {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    const { rx, tx } = this;
    if (rx.count === 0 || this.closed) return;
    this.values[C_BATCHES]++;
    const replies = runHandler(this.handler, rx, tx, this.values, this.onError);
    if (replies > 0 && !this.closed) {
      tx.count = replies;
      this.sendSlots(tx);
      tx.count = 0;
    }
  };

  private readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (this.closed) return;
    const rx = this.rx;
    const i = rx.count;
    const len = msg.length;
    msg.copy(rx.data, i * SLOT_SIZE, 0, Math.min(len, SLOT_SIZE));
    rx.lengths[i] = len;
    if (len > SLOT_SIZE) this.values[C_TRUNCATED]++;
    writeAddressSlot(rinfo.address, rinfo.port, rx.addrs, i * ADDR_SIZE);
    this.values[C_RECEIVED]++;
    rx.count = i + 1;
    if (rx.count === this.capacity) this.flush();
    else if (!this.scheduled) this.scheduled = setImmediate(this.flush);
  };
}
