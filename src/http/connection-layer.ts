// The HTTP connection layer on node:net (and node:tls) sockets: accepts, reads, finds request
// heads with swarmd's own parser (node:http costs about twice as much per request, and a tracker
// only needs GET with a query), enforces the limits (connection cap, request size, header and
// idle timeouts: one sweep per second), keeps connections alive and pipelines when the client asks,
// writes the answers and closes. What a request gets is the Responder's (responder.ts): this file
// knows no endpoint. The native epoll layer of issue 15 is a second layer over the same Responder.

import net from 'node:net';
import tls from 'node:tls';
import { parseHttpHead } from '../protocol/http-head.ts';
import { C, G } from '../stats/counters.ts';
import type { Config } from '../config/config.ts';
import { addressBytes } from '../net/address.ts';
import { HttpRequest, HttpAnswer, ANSWER_KEEP, ANSWER_CLOSE, ANSWER_UPGRADE, errorResponse } from './responder.ts';
import type { Responder } from './responder.ts';

/** Past this much unsent output, a connection is not read until it drains (a client that doesn't read its answers). */
const WRITE_HIGH_WATER = 1 << 20;

/** Per-connection state. Connections are JS objects anyway (the socket); this adds one. */
class Connection {
  readonly socket: net.Socket;
  pending: Buffer | null = null;
  deadline: number;
  /** The client's address as bytes (IPv4-mapped addresses count as IPv4). */
  readonly family: number;
  readonly address: Buffer;
  closing = false;
  noDelay = false;

  constructor(socket: net.Socket, deadline: number) {
    this.socket = socket;
    this.deadline = deadline;
    this.address = Buffer.alloc(16);
    this.family = addressBytes(socket.remoteAddress ?? '', this.address);
  }
}

export class NetConnectionLayer {
  private readonly responder: Responder;
  private readonly counters: Float64Array;
  private readonly limits: Config['http'];
  private readonly req = new HttpRequest();
  private readonly out: HttpAnswer;
  private readonly connections = new Set<Connection>();
  private readonly servers: net.Server[] = [];
  private readonly sweeper: NodeJS.Timeout;

  constructor(limits: Config['http'], counters: Float64Array, responder: Responder, maxBody: number) {
    this.limits = limits;
    this.counters = counters;
    this.responder = responder;
    this.out = new HttpAnswer(maxBody, counters);
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
  }

  /** Listens on host:port (several workers share the port with SO_REUSEPORT). */
  listen(host: string, port: number): Promise<net.Server> {
    // No TCP_NODELAY up front: most clients send one request and the answer goes out with the
    // FIN; it is set once a connection is kept alive (see write()).
    return this.bind(
      net.createServer((socket) => this.accept(socket)),
      host,
      port,
    );
  }

  /** HTTPS (and WSS): TLS sockets go down the same accept path as plain ones. */
  listenTls(host: string, port: number, credentials: { cert: string; key: string }): Promise<tls.Server> {
    const server = tls.createServer({ ...credentials, handshakeTimeout: this.limits.headerTimeout * 1000 }, (socket) => this.accept(socket));
    // With a listener, Node leaves the socket open (a silent client would stay forever): close it.
    server.on('tlsClientError', (_err, socket) => {
      this.counters[C.tls_handshake_errors]++;
      socket.destroy();
    });
    return this.bind(server, host, port);
  }

  /** New certificate and key for every TLS listener; connections already open keep theirs. */
  setCredentials(credentials: { cert: string; key: string }): void {
    for (const s of this.servers) if (s instanceof tls.Server) s.setSecureContext(credentials);
  }

  private bind<S extends net.Server>(server: S, host: string, port: number): Promise<S> {
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, reusePort: true, ipv6Only: false, backlog: 4096 }, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  /** Stops accepting, lets answers in flight finish, then closes what is left. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    // Stop accepting, then end the open connections: server.close() alone would wait for every
    // idle keep-alive client to leave by itself.
    const closed = Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    for (const c of this.connections) c.socket.destroy();
    await closed;
  }

  private accept(socket: net.Socket): void {
    this.counters[C.http_accepted]++;
    if (this.connections.size >= this.limits.maxConnections) {
      this.counters[C.http_refused]++;
      socket.destroy();
      return;
    }
    // A new connection's first request head is due within the header timeout; between requests
    // on a kept-alive connection the idle timeout applies, until the next head starts.
    const c = new Connection(socket, Date.now() + this.limits.headerTimeout * 1000);
    this.connections.add(c);
    this.counters[G.http_open_connections] = this.connections.size;
    socket.on('data', (chunk: Buffer) => this.receive(c, chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.forget(c));
    socket.on('drain', () => socket.resume());
  }

  private forget(c: Connection): void {
    this.connections.delete(c);
    this.counters[G.http_open_connections] = this.connections.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.connections) {
      if (c.deadline < now) {
        this.counters[C.http_timeouts]++;
        c.socket.destroy();
        this.connections.delete(c);
      }
    }
  }

  private receive(c: Connection, chunk: Buffer): void {
    this.counters[C.http_bytes_in] += chunk.length;
    if (c.closing) return;
    let buf = chunk;
    if (c.pending !== null) {
      buf = Buffer.concat([c.pending, chunk]);
      c.pending = null;
    } else {
      // The first bytes of a request: the whole head must now arrive within the header timeout.
      c.deadline = Math.min(c.deadline, Date.now() + this.limits.headerTimeout * 1000);
    }
    let start = 0;
    const max = this.limits.maxRequestBytes;
    while (start < buf.length && !c.closing) {
      const view = start === 0 ? buf : buf.subarray(start);
      const n = parseHttpHead(view, view.length, this.req.head, max);
      if (n === 0 && view.length < max) {
        c.pending = Buffer.from(view); // copy: keep only the unparsed part
        return;
      }
      if (n <= 0) return this.refuse(c, view.length >= max ? 431 : 400, view.length >= max ? C.http_too_large : C.http_malformed);
      this.counters[C.http_requests]++;
      if (!this.answer(c, view, n)) return;
      start += n;
      c.deadline = Date.now() + this.limits.idleTimeout * 1000;
    }
    if (c.socket.writableLength > WRITE_HIGH_WATER) c.socket.pause();
  }

  /** Answers the complete head at the start of `view`; false when the socket is no longer ours. */
  private answer(c: Connection, view: Buffer, headLength: number): boolean {
    const req = this.req;
    const out = this.out;
    req.bytes = view;
    req.family = c.family;
    req.address = c.address;
    const answer = this.responder.respond(req, out);
    if (answer === ANSWER_KEEP || answer === ANSWER_CLOSE) {
      this.write(c, answer === ANSWER_KEEP);
      return true;
    }
    c.closing = true;
    c.pending = null;
    if (answer === ANSWER_UPGRADE) {
      this.forget(c);
      const socket = c.socket;
      for (const event of ['data', 'error', 'close', 'drain']) socket.removeAllListeners(event);
      socket.resume();
      this.responder.upgrade(req, socket, Buffer.from(view.subarray(headLength)));
      return false;
    }
    const ms = this.responder.takeOver(req, c.socket);
    c.deadline = Date.now() + (ms > 0 ? ms : this.limits.idleTimeout * 1000);
    return false;
  }

  /** Writes out's answer; the connection closes after it unless `keep`. */
  private write(c: Connection, keep: boolean): void {
    const out = this.out;
    const bytes = Buffer.allocUnsafe(out.end - out.start);
    out.buf.copy(bytes, 0, out.start, out.end);
    this.counters[C.http_bytes_out] += bytes.length;
    if (!keep) return this.end(c, bytes);
    if (!c.noDelay) {
      c.noDelay = true;
      c.socket.setNoDelay(true); // answers on a kept-alive connection must not wait for ACKs
    }
    c.socket.write(bytes);
  }

  /** An unreadable or oversized request: an error status, and the connection closes. */
  private refuse(c: Connection, status: number, counter: number): void {
    this.counters[counter]++;
    const text = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    const bytes = Buffer.from(errorResponse(status, text, false, {}), 'latin1');
    this.counters[C.http_bytes_out] += bytes.length;
    this.end(c, bytes);
  }

  private end(c: Connection, bytes: Buffer): void {
    c.closing = true;
    c.pending = null;
    c.socket.end(bytes);
  }
}
