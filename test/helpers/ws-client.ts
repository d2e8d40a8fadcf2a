// A raw WebSocket client speaking the WebTorrent tracker protocol as JSON objects, for tests that
// need to send what no real client sends (too many offers, answers to offers never made...).

import { WebSocket } from 'ws';
import type { ClientOptions } from 'ws';

export type WsMessage = Record<string, unknown>;

export class WsTestClient {
  readonly socket: WebSocket;
  private readonly queue: WsMessage[] = [];
  private waiting: ((m: WsMessage) => void) | null = null;
  /** Resolves with the close code once the connection is closed. */
  readonly closed: Promise<number>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as WsMessage;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(m);
      } else this.queue.push(m);
    });
    this.closed = new Promise((resolve) => socket.on('close', (code: number) => resolve(code)));
    socket.on('error', () => {});
  }

  static open(url: string, options: ClientOptions = {}): Promise<WsTestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options);
      socket.once('open', () => resolve(new WsTestClient(socket)));
      socket.once('unexpected-response', (req, res) => {
        req.destroy(); // the connection is of no further use
        reject(new Error(`HTTP ${res.statusCode}`));
      });
      socket.once('error', reject);
    });
  }

  send(m: WsMessage): void {
    this.socket.send(JSON.stringify(m));
  }

  /** The next message, or an error after `timeoutMs`. */
  next(timeoutMs = 5000): Promise<WsMessage> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
    });
  }

  /**
   * Sends a scrape and resolves with every message that came before its answer: all that swarmd
   * had written to this connection when it read the scrape (so "nothing arrived" needs no sleep).
   */
  async sync(): Promise<WsMessage[]> {
    const probe = bin20('sync-probe');
    this.send({ action: 'scrape', info_hash: probe });
    const before: WsMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (m.action === 'scrape' && typeof m.files === 'object' && m.files !== null && probe in m.files) return before;
      before.push(m);
    }
  }

  /** Messages already received and not yet taken. */
  get pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.socket.terminate();
  }
}

/** A 20-byte binary string (the protocol's form of info_hash, peer_id, offer_id) from a label. */
export function bin20(label: string): string {
  return label.padEnd(20, '.').slice(0, 20);
}
