// The contract between a connection layer and the endpoints. A connection layer (connection-layer.ts
// on node:net sockets; the native epoll byte mover of issue 15) reads bytes until a request head is
// complete, parses it into an HttpRequest with the client's address, and calls a Responder, which
// either writes the whole answer into an HttpAnswer (a reusable buffer: the layer's own, or a place
// in a shared output buffer) and says whether the connection stays open, or asks for the socket:
//
//   ANSWER_KEEP     the answer is out.buf[out.start, out.end); keep the connection for the next request
//   ANSWER_CLOSE    the answer is there too; close the connection once it is written
//   ANSWER_SOCKET   the answer is streamed or comes later (full scrapes, dumps, the stats pages):
//                   call takeOver() with the connection's net.Socket, at once, with the same request
//   ANSWER_UPGRADE  a WebSocket upgrade: the layer lets go of the socket, then calls upgrade()
//
// The request's bytes are only read during these calls, so a layer may reuse them afterwards. The
// answer writers here put a 200 head in front of a body written in place (no copy of the body),
// so announces and scrapes cost no allocation until the layer hands the bytes to the kernel.

import type net from 'node:net';
import { HttpHead } from '../protocol/http-head.ts';
import { writeDecimal } from '../protocol/bencode.ts';
import { C } from '../stats/counters.ts';

export const ANSWER_KEEP = 0;
export const ANSWER_CLOSE = 1;
export const ANSWER_SOCKET = 2;
export const ANSWER_UPGRADE = 3;

// What the router made of a request (HttpRequest.route).
/** Nowhere: 404. */
export const ROUTE_NOT_FOUND = 0;
export const ROUTE_ANNOUNCE = 1;
export const ROUTE_SCRAPE = 2;
export const ROUTE_STATS = 3;
export const ROUTE_METRICS = 4;
export const ROUTE_STATS_JSON = 5;
export const ROUTE_TRANSPARENCY = 6;
/** A bare '/' without a query: the redirect's, when there is one. */
export const ROUTE_ROOT = 7;

/** One request as the layer hands it over; reused from request to request. */
export class HttpRequest {
  readonly head = new HttpHead();
  /** The request's bytes: the head starts at 0. */
  bytes: Buffer = Buffer.alloc(0);
  /** The client's address (4 bytes for IPv4, 16 for IPv6; IPv4-mapped addresses count as IPv4). */
  family = 0;
  address: Uint8Array = new Uint8Array(16);
  /** What the router made of it (ROUTE_*), for the endpoint and the layer. */
  route = 0;
  /** The client asked to keep the connection and the tracker allows it. */
  keepAlive = false;
}

export interface Responder {
  /** Answers one complete request head: ANSWER_*. */
  respond(req: HttpRequest, out: HttpAnswer): number;
  /**
   * After ANSWER_SOCKET: answers on the socket (the layer keeps reading and counting it, and
   * closes it after `ms` milliseconds if it isn't done by then; 0: the layer's idle timeout).
   */
  takeOver(req: HttpRequest, socket: net.Socket): number;
  /** After ANSWER_UPGRADE: the socket is the WebSocket server's; `rest` is what came after the head. */
  upgrade(req: HttpRequest, socket: net.Socket, rest: Buffer): void;
}

/** One endpoint of the router: the same contract for one kind of request. */
export interface Endpoint {
  respond(req: HttpRequest, out: HttpAnswer): number;
  takeOver(req: HttpRequest, socket: net.Socket): number;
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const OK_HEAD = latin1('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ');
const CLOSE_TAIL = latin1('\r\nConnection: close\r\n\r\n');
const KEEP_TAIL = latin1('\r\n\r\n');
const KEEP_TAIL_10 = latin1('\r\nConnection: keep-alive\r\n\r\n');
const K_FAILURE = latin1('d14:failure reason');
/** Room left in front of a body for its 200 head (the longest is under 100 bytes). */
const HEAD_ROOM = 128;

/** Where an endpoint writes its answer: a whole HTTP response in buf[start, end). */
export class HttpAnswer {
  buf: Buffer;
  /** Where this answer may begin: 0 for a layer with a buffer of its own, else the next free byte. */
  base = 0;
  start = 0;
  end = 0;
  private readonly counters: Float64Array;

  /** `maxBody`: the largest body an endpoint writes (peers or a multi-scrape at their limits). */
  constructor(maxBody: number, counters: Float64Array) {
    this.buf = Buffer.allocUnsafe(HEAD_ROOM + maxBody);
    this.counters = counters;
  }

  /** Where to write a 200 answer's body; then ok() with its end. */
  bodyStart(): number {
    return this.base + HEAD_ROOM;
  }

  /** Puts a 200 head (text/plain, Content-Length) in front of the body that ends at bodyEnd. */
  ok(bodyEnd: number, req: HttpRequest): number {
    const tail = !req.keepAlive ? CLOSE_TAIL : req.head.versionMinor === 0 ? KEEP_TAIL_10 : KEEP_TAIL;
    const bodyStart = this.base + HEAD_ROOM;
    const length = bodyEnd - bodyStart;
    const start = bodyStart - tail.length - digits(length) - OK_HEAD.length;
    let o = put(this.buf, start, OK_HEAD);
    o = writeDecimal(this.buf, o, length);
    put(this.buf, o, tail);
    this.start = start;
    this.end = bodyEnd;
    return req.keepAlive ? ANSWER_KEEP : ANSWER_CLOSE;
  }

  /** A BEP 3 failure: status 200 with a bencoded reason (counted in http_invalid). */
  failure(reason: string, req: HttpRequest): number {
    this.counters[C.http_invalid]++;
    const b = this.buf;
    let o = put(b, this.bodyStart(), K_FAILURE);
    o = writeDecimal(b, o, reason.length);
    b[o++] = 0x3a; // :
    o += b.write(reason, o, 'latin1');
    b[o++] = 0x65; // e
    return this.ok(o, req);
  }

  /** An HTTP error status with a short text body; closes unless `keepAlive`. */
  error(status: number, text: string, keepAlive = false, extra: { headers?: string; message?: string } = {}): number {
    return this.text(errorResponse(status, text, keepAlive, extra), keepAlive);
  }

  /** 302 to `url`. */
  redirect(url: string, keepAlive: boolean): number {
    return this.text(`HTTP/1.1 302 Found\r\nLocation: ${url}\r\nContent-Length: 0\r\n${keepAlive ? '' : 'Connection: close\r\n'}\r\n`, keepAlive);
  }

  private text(response: string, keepAlive: boolean): number {
    this.start = this.base;
    this.end = this.base + this.buf.write(response, this.base, 'latin1');
    return keepAlive ? ANSWER_KEEP : ANSWER_CLOSE;
  }
}

/** An HTTP error response as text, for the answer buffer or a socket taken over. */
export function errorResponse(status: number, text: string, keepAlive: boolean, extra: { headers?: string; message?: string }): string {
  const body = `${status} ${text}\n${extra.message ?? ''}`;
  const allow = status === 405 ? 'Allow: GET\r\n' : '';
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${allow}${extra.headers ?? ''}${keepAlive ? '' : 'Connection: close\r\n'}\r\n${body}`;
}

export function put(buf: Buffer, off: number, bytes: Buffer): number {
  bytes.copy(buf, off);
  return off + bytes.length;
}

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}
