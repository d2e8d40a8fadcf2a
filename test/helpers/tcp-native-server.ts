// A small HTTP server on the native TCP layer (src/io/tcp-native.ts), for its tests, the fuzzer
// and the benchmark: swarmd's own head parser, one fixed-format answer per request, and the same
// answers from a plain net loop for the connections the layer hands over. The answer's body says
// which path served it and whom: "native 4 127.0.0.1 51234 /path" or "net ::1 51234 /path".
//   /handover...    the native path hands the connection over (the request replayed to net)
//   /big?bytes=N    a body of N bytes ('x'), for answers a socket doesn't take at once
// Connection: close (or HTTP/1.0 without keep-alive) closes after the answer; pipelined requests
// are answered in order; a head not complete in the native bytes is handed over with its bytes.

import net from 'node:net';
import { HttpHead, parseHttpHead, HEAD_ERROR_STATUS } from '../../src/protocol/http-head.ts';
import type { HandoverReason, NativeTcpOptions, NativeTcpServer, TcpRx, TcpTx } from '../../src/io/tcp-native.ts';
import { ACTION_CLOSE, ACTION_KEEP, ADDR_SIZE, RX_LENGTH, RX_OFFSET, RX_SLOT, RX_STRIDE, openNativeTcp } from '../../src/io/tcp-native.ts';

export type NativeTestServer = {
  server: NativeTcpServer;
  port: number;
  /** Connections the layer handed over: why, and the first bytes net read from them. */
  handovers: { reason: HandoverReason; firstData: string }[];
  close(): Promise<void>;
};

const ANNOUNCE_BODY = Buffer.concat([
  Buffer.from('d8:completei5e10:incompletei5e8:intervali1800e12:min intervali900e5:peers60:', 'latin1'),
  Buffer.alloc(60, 1),
  Buffer.from('e', 'latin1'),
]);

/** The answer to the head at buf[start, start+n), written at out[at]; its length. */
export function answerHead(buf: Buffer, start: number, head: HttpHead, who: string, out: Buffer, at: number, fixed: boolean): number {
  const path = buf.toString('latin1', start + head.targetStart, start + head.targetEnd);
  const big = /^\/big\?bytes=(\d+)/.exec(path);
  const bodyLength = fixed ? ANNOUNCE_BODY.length : big ? Number(big[1]) : who.length + 1 + path.length;
  const conn = head.keepAlive ? (head.versionMinor === 0 ? 'keep-alive' : '') : 'close';
  let p =
    at +
    out.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${bodyLength}\r\n${conn ? `Connection: ${conn}\r\n` : ''}\r\n`, at, 'latin1');
  if (fixed) p += ANNOUNCE_BODY.copy(out, p);
  else if (big) p += out.fill(0x78, p, p + bodyLength) && bodyLength;
  else p += out.write(`${who} ${path}`, p, 'latin1');
  return p - at;
}

function errorAnswer(status: number, out: Buffer, at: number): number {
  return out.write(`HTTP/1.1 ${status} Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, at, 'latin1');
}

export function formatAddress(addrs: Buffer, i: number): string {
  const a = i * ADDR_SIZE;
  const port = addrs.readUInt16BE(a + 2);
  if (addrs[a] === 4) return `4 ${addrs.subarray(a + 4, a + 8).join('.')} ${port}`;
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) groups.push(addrs.readUInt16BE(a + 4 + 2 * g).toString(16));
  return `6 ${groups.join(':')} ${port}`;
}

/** Serves a handed-over socket with the same answers, as the net path would. */
function serveNet(socket: net.Socket, maxRequest: number, timeoutMs: number, fixed: boolean, seen: { firstData: string }): void {
  const head = new HttpHead();
  const out = Buffer.alloc(Math.max(1 << 16, maxRequest));
  let pending = Buffer.alloc(0);
  const who = `net ${socket.remoteAddress} ${socket.remotePort}`;
  socket.setTimeout(timeoutMs, () => socket.destroy()); // as the net server's header timeout
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    if (seen.firstData === '') seen.firstData = chunk.toString('latin1');
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      const n = parseHttpHead(buf, buf.length, head, maxRequest);
      if (n === 0) break;
      if (n < 0) {
        socket.end(out.subarray(0, errorAnswer(HEAD_ERROR_STATUS[-n] ?? 400, out, 0)));
        return;
      }
      const big = /^GET \/big\?bytes=(\d+)/.exec(buf.toString('latin1', 0, 40));
      const answer = big ? Buffer.alloc(Number(big[1]) + 200) : out;
      socket.write(Buffer.from(answer.subarray(0, answerHead(buf, 0, head, who, answer, 0, fixed))));
      if (!head.keepAlive) {
        socket.end();
        return;
      }
      buf = buf.subarray(n);
    }
    pending = Buffer.from(buf);
  });
}

/** Answers one rx entry (maybe several pipelined heads) into tx. */
function answerEntry(rx: TcpRx, tx: TcpTx, i: number, head: HttpHead, max: number, fixed: boolean): void {
  const m = i * RX_STRIDE;
  const slot = rx.meta[m + RX_SLOT]!;
  const end = rx.meta[m + RX_OFFSET]! + rx.meta[m + RX_LENGTH]!;
  let start = rx.meta[m + RX_OFFSET]!;
  const who = fixed ? '' : `native ${formatAddress(rx.addrs, i)}`;
  const at = tx.used;
  let written = 0;
  while (start < end) {
    const view = rx.data.subarray(start, end);
    const n = parseHttpHead(view, view.length, head, max);
    if (n === 0 && view.length < max) break; // a partial head after complete ones: net takes it
    if (n <= 0) {
      written += errorAnswer(n === 0 ? 431 : (HEAD_ERROR_STATUS[-n] ?? 400), tx.data, at + written);
      return tx.answer(slot, written, ACTION_CLOSE);
    }
    if (rx.data.toString('latin1', start + head.targetStart, start + head.targetStart + 9) === '/handover') break;
    const big = /^\/big\?bytes=(\d+)/.exec(view.toString('latin1', head.targetStart, head.targetEnd));
    if (!tx.fits(written + 300 + (big ? Number(big[1]) : 2 * (head.targetEnd - head.targetStart)))) break;
    written += answerHead(view, 0, head, who, tx.data, at + written, fixed);
    start += n;
    if (!head.keepAlive) return tx.answer(slot, written, ACTION_CLOSE);
  }
  if (start >= end) return tx.answer(slot, written, ACTION_KEEP);
  tx.handover(slot, written, Buffer.from(rx.data.subarray(start, end)));
}

export async function startNativeTestServer(
  opts: Partial<NativeTcpOptions> & { host?: string; port?: number; fixed?: boolean; ipv6Only?: boolean } = {},
): Promise<NativeTestServer> {
  const maxRequest = opts.maxRequestBytes ?? 8192;
  const head = new HttpHead();
  const handovers: NativeTestServer['handovers'] = [];
  const fixed = opts.fixed ?? false;
  const headerTimeout = opts.headerTimeout ?? 2;
  const server = openNativeTcp(
    { maxConnections: 1000, idleTimeout: 3, ...opts, headerTimeout, maxRequestBytes: maxRequest },
    (rx, tx) => {
      for (let i = 0; i < rx.count; i++) {
        if (!tx.fits(2 * maxRequest)) tx.flush();
        answerEntry(rx, tx, i, head, maxRequest, fixed);
      }
    },
    (socket, reason) => {
      const seen = { reason, firstData: '' };
      handovers.push(seen);
      serveNet(socket, maxRequest, headerTimeout * 1000, fixed, seen);
    },
  );
  const listener = server.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0, ipv6Only: opts.ipv6Only, reusePort: true });
  return { server, port: server.address(listener).port, handovers, close: () => server.close() };
}
