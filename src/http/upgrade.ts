// WebSocket upgrades (WebTorrent): a GET with `Upgrade: websocket` is handed, socket and all, to
// the WebSocket server (src/server/ws-server.ts implements Upgrader), with the request as the ws
// package reads it and the bytes that came after the head.

import type { Duplex } from 'node:stream';
import type net from 'node:net';
import type { HttpRequest } from './responder.ts';

/** A request as ws's handleUpgrade reads it: method, url, lowercase headers (and the socket, for `secure`). */
export type UpgradeRequest = { method: string; url: string; headers: Record<string, string>; socket: Duplex };

export interface Upgrader {
  /** Takes over a socket whose HTTP request asked for a WebSocket; `head`: the bytes after the request head. */
  upgrade(req: UpgradeRequest, socket: Duplex, head: Buffer): void;
}

/** The request of an upgrade, as ws wants it. */
export function upgradeRequest(req: HttpRequest, socket: net.Socket): UpgradeRequest {
  const head = req.head;
  const buf = req.bytes;
  const headers: Record<string, string> = {};
  for (let h = head.headerCount - 1; h >= 0; h--) {
    headers[buf.toString('latin1', head.headerNameStart[h], head.headerNameEnd[h]).toLowerCase()] = buf.toString(
      'latin1',
      head.headerValueStart[h],
      head.headerValueEnd[h],
    );
  }
  return { method: 'GET', url: buf.toString('latin1', head.targetStart, head.targetEnd), headers, socket };
}
