// The recvmmsg/sendmmsg addon (native/udp_batch.c): loading it, and the UdpBatchSocket around
// it. The addon owns the socket and polls it on this thread's event loop; for each recvmmsg it
// fills the rx batch's memory and calls onBatch(n), whose return value is the number of tx
// slots it then sends with sendmmsg. See udp-batch.ts for the interface.

import { fileURLToPath } from 'node:url';
import type { AddonStatus } from './addon.ts';
import { loadAddon } from './addon.ts';
import type { Batch, BatchHandler, ResolvedUdpOptions, UdpBatchSocket } from './udp-batch.ts';
import { BATCH_COUNTER_NAMES, allocBatch, countersView, runHandler } from './udp-batch.ts';

interface NativeState {
  rxData: Buffer;
  rxLengths: Int32Array;
  rxAddrs: Buffer;
  txData: Buffer;
  txLengths: Int32Array;
  txAddrs: Buffer;
  counters: Float64Array;
  onBatch: (n: number) => number;
}

type Handle = object; // an opaque napi_external

interface Addon {
  open(host: string, port: number, flags: number, rcvbuf: number, sndbuf: number, state: NativeState): Handle;
  address(handle: Handle): [4 | 6, number, string];
  send(handle: Handle, data: Buffer, lengths: Int32Array, addrs: Buffer, count: number): number;
  close(handle: Handle): void;
}

const FLAG_REUSEPORT = 1;
const FLAG_IPV6ONLY = 2;

/** Where `npm install` builds the addon; SWARMD_UDP_ADDON names another file (tests use it to see the fallback). */
const NATIVE_ADDON_PATH = process.env.SWARMD_UDP_ADDON || fileURLToPath(new URL('../../native/build/Release/swarmd_udp.node', import.meta.url));

let addon: Addon | null = null;
let status: AddonStatus | null = null;

// Loads the addon once (lazily: nothing is dlopen'ed until a socket or the status is asked for).
export function nativeStatus(): AddonStatus {
  if (!status) ({ addon, status } = loadAddon<Addon>(NATIVE_ADDON_PATH, 'open'));
  return status;
}

export function openNativeSocket(opts: ResolvedUdpOptions, handler: BatchHandler): UdpBatchSocket {
  if (!nativeStatus().available || !addon) throw new Error(`native UDP addon not available: ${nativeStatus().reason}`);
  const native = addon;
  const rx = allocBatch(opts.batchSize);
  const tx = allocBatch(opts.batchSize);
  const values = new Float64Array(BATCH_COUNTER_NAMES.length);
  const onError = opts.onError;
  const state: NativeState = {
    rxData: rx.data,
    rxLengths: rx.lengths,
    rxAddrs: rx.addrs,
    txData: tx.data,
    txLengths: tx.lengths,
    txAddrs: tx.addrs,
    counters: values,
    onBatch: (n: number): number => {
      rx.count = n;
      return runHandler(handler, rx, tx, values, onError);
    },
  };
  const flags = (opts.reusePort ? FLAG_REUSEPORT : 0) | (opts.ipv6Only ? FLAG_IPV6ONLY : 0);
  const handle = native.open(opts.host, opts.port, flags, opts.recvBufferSize, opts.sendBufferSize, state);
  let closed = false;
  const capacity = opts.batchSize;
  const counters = countersView(values);

  return {
    io: 'recvmmsg',
    address() {
      if (closed) throw new Error('udp socket is closed');
      const [family, port, address] = native.address(handle);
      return { address, port, family: family === 6 ? 'IPv6' : 'IPv4' };
    },
    send(batch: Batch): number {
      if (closed) return 0;
      return native.send(handle, batch.data, batch.lengths, batch.addrs, batch.count);
    },
    newBatch: () => allocBatch(capacity),
    counters,
    close(): Promise<void> {
      if (!closed) {
        closed = true;
        native.close(handle); // the fd is closed now; the poll handle finishes closing on the loop
      }
      return Promise.resolve();
    },
  };
}
