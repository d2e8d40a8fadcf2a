// The pages: opentracker's /stats modes (and, on the same path, the dashboard, mode=json and
// mode=metrics), /metrics, /stats.json and the public /transparency list of takedown notices. A
// page may take a store walk or a compression, so it is answered on the socket (ANSWER_SOCKET),
// once, and the connection closes after it, as opentracker does. The stats pages are as
// restricted as access.stats says; the transparency page is public.

import type net from 'node:net';
import { C } from '../stats/counters.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import type { AccessList } from '../access/access-list.ts';
import { opentrackerStats, STREAMED_MODES } from '../stats/opentracker-stats.ts';
import { statsPathAnswer, metricsAnswer, statsJsonAnswer, httpResponse } from '../stats/observability.ts';
import type { ObservabilityAnswer } from '../stats/observability.ts';
import { chooseCompression, parseTpbsFormat } from '../scrape/full-scrape.ts';
import type { HashFilter } from '../scrape/full-scrape.ts';
import { transparencyAnswer } from '../notices/transparency.ts';
import { NetworkList } from '../net/networks.ts';
import type { TrackerContext } from '../requests/context.ts';
import { ANSWER_SOCKET, ROUTE_STATS, ROUTE_METRICS, ROUTE_STATS_JSON, ROUTE_TRANSPARENCY, errorResponse } from './responder.ts';
import type { Endpoint, HttpRequest, HttpAnswer } from './responder.ts';
import { ClientAddress } from './client-address.ts';
import { streamStoreWalk } from './streamed.ts';

export class PagesEndpoint implements Endpoint {
  private readonly ctx: TrackerContext;
  private readonly store: SwarmStore;
  private readonly counters: Float64Array;
  private readonly readers: NetworkList;
  private readonly client: ClientAddress;
  private readonly notBlocked: HashFilter;

  constructor(ctx: TrackerContext) {
    const access: AccessList = ctx.access;
    this.ctx = ctx;
    this.store = ctx.store;
    this.counters = ctx.counters;
    this.readers = new NetworkList(ctx.config.statsNetworks);
    this.client = new ClientAddress(ctx.config.proxyNetworks);
    this.notBlocked = (hash, off) => access.blockedBy(hash, off) < 0;
  }

  /** The checks that answer at once; the page itself comes in takeOver(). */
  respond(req: HttpRequest, out: HttpAnswer): number {
    req.keepAlive = false;
    if (req.route === ROUTE_TRANSPARENCY) return ANSWER_SOCKET; // public
    if (req.route === ROUTE_STATS) {
      // A client using the stats URL as its announce URL gets a clear error (opentracker HEAD).
      if (queryParams(req).has('info_hash')) return this.fail(out, 400, 'Bad Request', C.http_invalid);
    }
    if (!this.allowed(req)) return this.fail(out, 403, 'Forbidden', C.http_forbidden);
    return ANSWER_SOCKET;
  }

  takeOver(req: HttpRequest, socket: net.Socket): number {
    const head = req.head;
    const stats = this.ctx.stats;
    if (req.route === ROUTE_METRICS) return this.send(socket, Promise.resolve(metricsAnswer(stats)));
    const params = queryParams(req);
    if (req.route === ROUTE_STATS_JSON) return this.send(socket, statsJsonAnswer(params, stats, head.acceptGzip));
    const accept = head.headerValue(req.bytes, 'accept');
    if (req.route === ROUTE_TRANSPARENCY)
      return this.send(socket, Promise.resolve(transparencyAnswer(this.ctx.transparency!, params, accept, head.acceptGzip)));
    // The stats path: the dashboard (a browser asking for HTML without a mode), its files, mode=json, mode=metrics...
    const ours = statsPathAnswer(params, accept, head.acceptGzip, stats);
    if (ours !== null) return this.send(socket, ours);
    // ...and opentracker's modes.
    const mode = params.get('mode') ?? 'peer';
    if (STREAMED_MODES.has(mode)) return this.stream(req, socket, mode, params);
    this.counters[C.http_stats]++;
    opentrackerStats(mode, stats).then(
      (answer) => {
        const body = Buffer.from(answer.body, 'utf8');
        const head = `HTTP/1.1 ${answer.status} ${answer.status === 200 ? 'OK' : 'Bad Request'}\r\nContent-Type: ${answer.contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
        this.end(socket, Buffer.concat([Buffer.from(head, 'latin1'), body]));
      },
      () => socket.destroy(),
    );
    return 0;
  }

  /** mode=statedump and mode=tpbs: a walk of the store, streamed. */
  private stream(req: HttpRequest, socket: net.Socket, mode: string, params: URLSearchParams): number {
    const acceptEncoding = req.head.headerValue(req.bytes, 'accept-encoding');
    if (mode === 'statedump') {
      const walk = { format: 'statedump' as const, filter: null, compress: chooseCompression(acceptEncoding, false), counter: C.http_stats };
      return streamStoreWalk(req, socket, this.store, this.counters, walk);
    }
    const format = parseTpbsFormat(params.get('format'));
    if (format === null) {
      this.counters[C.http_invalid]++;
      this.end(socket, Buffer.from(errorResponse(400, 'Bad Request', false, { message: 'mode=tpbs needs format=ben, bin, txt, txtp or url\n' }), 'latin1'));
      return 0;
    }
    const walk = { format, filter: this.notBlocked, compress: chooseCompression(acceptEncoding), counter: C.http_stats };
    return streamStoreWalk(req, socket, this.store, this.counters, walk);
  }

  /** Answers once and closes. */
  private send(socket: net.Socket, answer: Promise<ObservabilityAnswer>): number {
    this.counters[C.http_stats]++;
    answer.then(
      (a) => this.end(socket, httpResponse(a)),
      () => socket.destroy(),
    );
    return 0;
  }

  private end(socket: net.Socket, out: Buffer): void {
    this.counters[C.http_bytes_out] += out.length;
    socket.end(out);
  }

  /** Whether the client may read the stats pages (access.stats). */
  private allowed(req: HttpRequest): boolean {
    if (this.readers.empty) return true;
    this.client.resolve(req);
    return this.readers.contains(this.client.family, this.client.address);
  }

  private fail(out: HttpAnswer, status: number, text: string, counter: number): number {
    this.counters[counter]++;
    return out.error(status, text);
  }
}

function queryParams(req: HttpRequest): URLSearchParams {
  const head = req.head;
  return new URLSearchParams(req.bytes.toString('latin1', Math.min(head.pathEnd + 1, head.targetEnd), head.targetEnd));
}
