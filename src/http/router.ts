// Which endpoint answers a request, by opentracker's path matching: after the leading slashes, a
// path starting with 'a' announces and one starting with 'sc' scrapes (so /announce, /a, /scrape.php
// all work, as clients expect); the stats, metrics, stats.json and transparency paths are the
// configured ones; a bare '/' redirects when redirect_url is set. The router is the Responder the
// connection layers call (responder.ts); the endpoints are announce.ts, scrape.ts, streamed.ts
// (full scrapes) and pages.ts.

import type net from 'node:net';
import { METHOD_GET } from '../protocol/http-head.ts';
import { C } from '../stats/counters.ts';
import type { TrackerContext } from '../requests/context.ts';
import type { Config } from '../config/config.ts';
import {
  ANSWER_SOCKET,
  ANSWER_UPGRADE,
  ROUTE_NOT_FOUND,
  ROUTE_ROOT,
  ROUTE_ANNOUNCE,
  ROUTE_SCRAPE,
  ROUTE_STATS,
  ROUTE_METRICS,
  ROUTE_STATS_JSON,
  ROUTE_TRANSPARENCY,
} from './responder.ts';
import type { Responder, Endpoint, HttpRequest, HttpAnswer } from './responder.ts';
import { AnnounceEndpoint } from './announce.ts';
import { ScrapeEndpoint } from './scrape.ts';
import { PagesEndpoint } from './pages.ts';
import { upgradeRequest } from './upgrade.ts';
import { ClientAddress } from './client-address.ts';
import { FLOOD_OK } from '../limits/flood.ts';
import type { FloodControl } from '../limits/flood.ts';
import type { Upgrader } from './upgrade.ts';

/** Not routed yet, or nowhere: 404. */
export class HttpRouter implements Responder {
  private readonly config: Config;
  private readonly counters: Float64Array;
  private readonly ctx: TrackerContext;
  private readonly announce: AnnounceEndpoint;
  private readonly scrape: ScrapeEndpoint;
  private readonly pages: PagesEndpoint;
  /** WebSocket upgrades go there (null: WebSocket turned off, upgrades are ordinary requests). */
  private readonly upgrader: Upgrader | null;
  /** The endpoint that last asked for the socket (takeOver() follows respond() at once). */
  private taker: Endpoint | null = null;
  /** limits.http_per_source (null: no limit), by client (behind a trusted proxy, the forwarded one). */
  private readonly flood: FloodControl | null;
  private readonly client: ClientAddress;
  private readonly retryAfter: { headers: string };

  constructor(ctx: TrackerContext, upgrader: Upgrader | null) {
    this.ctx = ctx;
    this.config = ctx.config;
    this.counters = ctx.counters;
    this.upgrader = upgrader;
    this.announce = new AnnounceEndpoint(ctx);
    this.scrape = new ScrapeEndpoint(ctx);
    this.pages = new PagesEndpoint(ctx);
    this.flood = ctx.limits.http;
    this.client = new ClientAddress(ctx.config.proxyNetworks);
    this.retryAfter = { headers: `Retry-After: ${this.flood?.retryAfterSeconds() ?? 1}\r\n` };
  }

  /** The largest body an endpoint writes into the answer buffer. */
  maxBody(): number {
    return this.announce.maxBody() > this.scrape.maxBody() ? this.announce.maxBody() : this.scrape.maxBody();
  }

  respond(req: HttpRequest, out: HttpAnswer): number {
    const head = req.head;
    if (this.flood !== null) {
      // before anything is parsed: over budget, 429 and the connection closed
      this.client.resolve(req);
      if (this.flood.take(this.client.family, this.client.address, 0, Date.now()) !== FLOOD_OK) {
        this.counters[C.http_flood_refused]++;
        return out.error(429, 'Too Many Requests', false, this.retryAfter);
      }
    }
    if (head.upgradeWebSocket && this.upgrader !== null) return ANSWER_UPGRADE;
    if (head.method !== METHOD_GET) return this.fail(out, 405, 'Method Not Allowed', C.http_method);
    if (head.contentLength > 0) return this.fail(out, 400, 'Bad Request', C.http_malformed); // a GET with a body
    req.keepAlive = head.keepAlive && this.config.http.keepAlive;
    const endpoint = this.route(req);
    if (endpoint === null) {
      if (req.route === ROUTE_ROOT && this.config.redirectUrl !== null) {
        this.counters[C.http_redirect]++;
        return out.redirect(this.config.redirectUrl, req.keepAlive);
      }
      return this.fail(out, 404, 'Not Found', C.http_not_found, req.keepAlive);
    }
    const answer = endpoint.respond(req, out);
    if (answer === ANSWER_SOCKET) this.taker = endpoint;
    return answer;
  }

  takeOver(req: HttpRequest, socket: net.Socket): number {
    const taker = this.taker!;
    this.taker = null;
    return taker.takeOver(req, socket);
  }

  upgrade(req: HttpRequest, socket: net.Socket, rest: Buffer): void {
    this.upgrader!.upgrade(upgradeRequest(req, socket), socket, rest);
  }

  /** Sets req.route and returns its endpoint, or null (ROUTE_NOT_FOUND or ROUTE_ROOT). */
  private route(req: HttpRequest): Endpoint | null {
    const head = req.head;
    const buf = req.bytes;
    let p = head.targetStart;
    while (p < head.pathEnd && buf[p] === 0x2f) p++;
    req.route = ROUTE_NOT_FOUND;
    if (p === head.pathEnd) {
      if (head.pathEnd === head.targetEnd) req.route = ROUTE_ROOT;
      return null;
    }
    if (buf[p] === 0x61 /* a */) return this.to(req, ROUTE_ANNOUNCE, this.announce);
    if (buf[p] === 0x73 /* s */ && buf[p + 1] === 0x63 /* c */) return this.to(req, ROUTE_SCRAPE, this.scrape);
    const path = buf.toString('latin1', p, head.pathEnd);
    const config = this.config;
    if (path === config.statsPath) return this.to(req, ROUTE_STATS, this.pages);
    if (path === config.metricsPath && path !== '') return this.to(req, ROUTE_METRICS, this.pages);
    if (path === config.statsJsonPath && path !== '') return this.to(req, ROUTE_STATS_JSON, this.pages);
    if (path === config.transparencyPath && this.ctx.transparency !== null) return this.to(req, ROUTE_TRANSPARENCY, this.pages);
    return null;
  }

  private to(req: HttpRequest, route: number, endpoint: Endpoint): Endpoint {
    req.route = route;
    return endpoint;
  }

  private fail(out: HttpAnswer, status: number, text: string, counter: number, keepAlive = false): number {
    this.counters[counter]++;
    return out.error(status, text, keepAlive);
  }
}
