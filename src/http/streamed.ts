// Answers streamed from a walk of the store: the full scrape (`/scrape` without an info hash, as
// opentracker), and the stats modes that dump every torrent (tpbs, statedump; pages.ts). They are
// a connection's last answer: chunked for HTTP/1.1, to the close for HTTP/1.0. The walk lets the
// event loop turn between chunks, so announces keep flowing. The full scrape is limited per
// client address (tracker.full_scrape_interval) and can be turned off (tracker.full_scrape).

import type net from 'node:net';
import { C } from '../stats/counters.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import type { AccessList } from '../access/access-list.ts';
import { fullScrape, pumpChunks, chooseCompression } from '../scrape/full-scrape.ts';
import type { FullScrapeFormat, Compression, HashFilter } from '../scrape/full-scrape.ts';
import { FullScrapeLimiter } from '../scrape/limiter.ts';
import type { TrackerContext } from '../requests/context.ts';
import { REFUSAL_TEXT, REFUSED_FULL_SCRAPE_OFF } from '../requests/refusals.ts';
import { ANSWER_SOCKET } from './responder.ts';
import type { Endpoint, HttpRequest, HttpAnswer } from './responder.ts';
import { ClientAddress } from './client-address.ts';

/** A streamed answer may take this long to reach a slow client (opentracker: 15 min). */
const STREAM_TIMEOUT_MS = 15 * 60 * 1000;

/**
 * Streams a store walk on a socket taken over, counting it in `counter` and its bytes; returns
 * the time the layer gives it.
 */
export function streamStoreWalk(
  req: HttpRequest,
  socket: net.Socket,
  store: SwarmStore,
  counters: Float64Array,
  walk: { format: FullScrapeFormat; filter: HashFilter | null; compress: Compression; counter: number },
): number {
  const chunked = req.head.versionMinor !== 0;
  const type = walk.format === 'bin' ? 'application/octet-stream' : 'text/plain';
  socket.write(
    `HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\n${walk.compress ? `Content-Encoding: ${walk.compress}\r\n` : ''}` +
      `${chunked ? 'Transfer-Encoding: chunked\r\n' : ''}Connection: close\r\n\r\n`,
    'latin1',
  );
  counters[walk.counter]++;
  pumpChunks(fullScrape(store, walk.format, walk.filter, { compress: walk.compress }), socket, { chunked }).then(
    (r) => {
      counters[C.http_full_scrape_bytes] += r.bytes;
      counters[C.http_bytes_out] += r.bytes;
      if (r.complete) socket.end();
    },
    () => socket.destroy(), // a chunked body can't be ended cleanly after a failure
  );
  return STREAM_TIMEOUT_MS;
}

/** `/scrape` without an info hash: every torrent the access list allows, bencoded. */
export class FullScrapeEndpoint implements Endpoint {
  private readonly store: SwarmStore;
  private readonly counters: Float64Array;
  private readonly enabled: boolean;
  private readonly limiter: FullScrapeLimiter;
  private readonly client: ClientAddress;
  private readonly allows: HashFilter;

  constructor(ctx: TrackerContext) {
    const access: AccessList = ctx.access;
    this.store = ctx.store;
    this.counters = ctx.counters;
    this.enabled = ctx.config.fullScrape;
    this.limiter = new FullScrapeLimiter(ctx.config.fullScrapeInterval, ctx.stats.fullScrapeLimiter);
    this.client = new ClientAddress(ctx.config.proxyNetworks);
    this.allows = (hash, off) => access.allows(hash, off);
  }

  respond(req: HttpRequest, out: HttpAnswer): number {
    req.keepAlive = false;
    if (!this.enabled) {
      this.counters[C.http_full_scrape_denied]++;
      return out.failure(REFUSAL_TEXT[REFUSED_FULL_SCRAPE_OFF], req);
    }
    this.client.resolve(req);
    const wait = this.limiter.check(this.client.family, this.client.address, 0);
    if (wait > 0) {
      this.counters[C.http_rate_limited]++;
      return out.error(429, 'Too Many Requests', false, { headers: `Retry-After: ${wait}\r\n` });
    }
    return ANSWER_SOCKET;
  }

  takeOver(req: HttpRequest, socket: net.Socket): number {
    const compress = chooseCompression(req.head.headerValue(req.bytes, 'accept-encoding'));
    return streamStoreWalk(req, socket, this.store, this.counters, { format: 'ben', filter: this.allows, compress, counter: C.http_full_scrape });
  }
}
