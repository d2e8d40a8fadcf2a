// Opening a batched UDP socket (the interface is udp-batch.ts): the options checked and
// completed, a host name resolved once, then the native recvmmsg/sendmmsg socket (udp-native.ts)
// when its addon loaded, else the node:dgram one (udp-dgram.ts), or the one asked for.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { MAX_BATCH_SIZE } from './udp-batch.ts';
import type { BatchHandler, ResolvedUdpOptions, UdpBatchSocket } from './udp-batch.ts';
import { nativeStatus, openNativeSocket } from './udp-native.ts';
import { openDgramSocket } from './udp-dgram.ts';
import { throttledStderr } from './addon.ts';

export interface UdpBatchOptions {
  // '::' = dual stack (IPv4 clients show up as family 4, never as v4-mapped), '0.0.0.0',
  // '127.0.0.1', '::1', ... (a name is resolved once, first address)
  host: string;
  port: number; // 0 = ephemeral
  reusePort?: boolean; // SO_REUSEPORT, so several workers can bind the same port
  ipv6Only?: boolean; // default false
  batchSize?: number; // default 64, at most 1024
  recvBufferSize?: number; // SO_RCVBUF, default 8 MiB (best effort)
  sendBufferSize?: number; // SO_SNDBUF, default 8 MiB (best effort)
  io?: 'auto' | 'native' | 'dgram'; // auto: native when it loaded, else dgram; native: error if it can't
  onError?: (err: unknown) => void; // errors thrown by the handler (see the top of this file)
}

const DEFAULT_BATCH_SIZE = 64;
const DEFAULT_BUFFER_SIZE = 8 << 20;

// Why the addon can or can't be used here ('loaded from ...', 'not Linux', 'not built: ...',
// or the load error).
export function nativeUdpStatus(): { available: boolean; reason: string } {
  return nativeStatus();
}

async function resolveOptions(opts: UdpBatchOptions): Promise<ResolvedUdpOptions> {
  let host = opts.host;
  const zone = host.indexOf('%');
  let family = isIP(zone >= 0 ? host.slice(0, zone) : host);
  if (family === 0) {
    const found = await lookup(host);
    host = found.address;
    family = found.family;
  }
  const port = opts.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bad UDP port ${port}`);
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`batchSize must be an integer in 1..${MAX_BATCH_SIZE}, not ${batchSize}`);
  }
  const bufSize = (v: number | undefined, name: string) => {
    if (v === undefined) return DEFAULT_BUFFER_SIZE;
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new RangeError(`bad ${name} ${v}`);
    return v;
  };
  return {
    host,
    family: family === 6 ? 6 : 4,
    port,
    reusePort: opts.reusePort ?? false,
    ipv6Only: opts.ipv6Only ?? false,
    batchSize,
    recvBufferSize: bufSize(opts.recvBufferSize, 'recvBufferSize'),
    sendBufferSize: bufSize(opts.sendBufferSize, 'sendBufferSize'),
    onError: opts.onError ?? throttledStderr(`udp ${opts.host}:${port}`),
  };
}

export async function openUdpBatchSocket(opts: UdpBatchOptions, handler: BatchHandler): Promise<UdpBatchSocket> {
  const io = opts.io ?? 'auto';
  if (io !== 'auto' && io !== 'native' && io !== 'dgram') throw new TypeError(`bad io '${String(io)}'`);
  if (typeof handler !== 'function') throw new TypeError('handler must be a function');
  const resolved = await resolveOptions(opts);
  if (io === 'dgram') return openDgramSocket(resolved, handler);
  const status = nativeStatus();
  if (status.available) return openNativeSocket(resolved, handler);
  if (io === 'native') throw new Error(`swarmd: the native UDP addon is not available: ${status.reason}`);
  return openDgramSocket(resolved, handler);
}
