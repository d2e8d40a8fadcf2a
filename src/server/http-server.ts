// The HTTP tracker (BEP 3, 23, 7, 48) on plain `net` sockets with swarmd's own request parser:
// node:http costs about twice as much per request, and a tracker only needs GET with a query.
// Keep-alive and pipelining work when the client asks; idle and slow connections are closed by one
// sweep per second; every refusal is a clear status or failure reason, and counted.

import net from 'node:net';
import tls from 'node:tls';
import type { WsSignalling } from './ws-server.ts';
import { HttpHead, parseHttpHead, METHOD_GET } from '../protocol/http-head.ts';
import { AnnounceQuery, ScrapeQuery, parseAnnounceQuery, parseScrapeQuery, QUERY_ERROR_MESSAGES, EVENT_STOPPED } from '../protocol/query.ts';
import { writeInt, writeBytes, writeDecimal } from '../protocol/bencode.ts';
import { Announce, Counts, ANNOUNCE_OK } from '../store/swarm-store.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { C, G, NUMWANT, NUMWANT_BUCKETS } from '../stats/counters.ts';
import { opentrackerStats, STREAMED_MODES } from '../stats/opentracker-stats.ts';
import { statsPathAnswer, metricsAnswer, statsJsonAnswer, httpResponse } from '../stats/observability.ts';
import type { ObservabilityAnswer } from '../stats/observability.ts';
import type { RequestLog } from '../stats/request-log.ts';
import type { TrackerContext } from './context.ts';
import { noteRenewal } from './policy.ts';
import type { Config } from '../config/config.ts';
import type { TrackerPolicy } from './policy.ts';
import { addressBytes, addressText } from './address.ts';
import { NetworkList } from './networks.ts';
import { forwardedAddress } from './forwarded.ts';
import type { AccessList } from '../access/access-list.ts';
import { ANNOUNCE_ALLOWED, ANNOUNCE_NOT_LISTED } from '../access/access-list.ts';
import { NOT_AUTHORIZED } from './udp-server.ts';
import { fullScrape, pumpChunks, chooseCompression, parseTpbsFormat } from '../scrape/full-scrape.ts';
import type { FullScrapeFormat, Compression } from '../scrape/full-scrape.ts';
import { FullScrapeLimiter } from '../scrape/limiter.ts';
import type { ChangeLog } from '../cluster/change-log.ts';
import { transparencyAnswer } from '../notices/transparency.ts';

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const K_COMPLETE = latin1('d8:completei');
const K_DOWNLOADED = latin1('e10:downloadedi');
const K_INCOMPLETE = latin1('e10:incompletei');
const K_INTERVAL = latin1('e8:intervali');
const K_MIN_INTERVAL = latin1('e12:min intervali');
const K_PEERS = latin1('e5:peers');
const K_PEERS6 = latin1('6:peers6');
const K_FILES = latin1('d5:filesd');
const K_SCRAPE_ENTRY = K_COMPLETE;
const K_FAILURE = latin1('d14:failure reason');
const OK_HEAD = latin1('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ');
const CLOSE_TAIL = latin1('\r\nConnection: close\r\n\r\n');
const KEEP_TAIL = latin1('\r\n\r\n');
const KEEP_TAIL_10 = latin1('\r\nConnection: keep-alive\r\n\r\n');

const MISSING_INFO_HASH = "Your client forgot to send your torrent's info_hash.";
const MISSING_PORT = 'missing port';
const TRACKER_FULL = 'tracker full, try later';
const FULL_SCRAPE_OFF = 'full scrapes are turned off on this tracker';

const WRITE_HIGH_WATER = 1 << 20;
/** A streamed answer (full scrape, dumps) may take this long to reach a slow client (opentracker: 15 min). */
const STREAM_TIMEOUT_MS = 15 * 60 * 1000;

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
  /** The connection comes from a trusted reverse proxy: its forwarded-for headers count. */
  readonly viaProxy: boolean;

  constructor(socket: net.Socket, deadline: number, proxies: NetworkList) {
    this.socket = socket;
    this.deadline = deadline;
    this.address = Buffer.alloc(16);
    this.family = addressBytes(socket.remoteAddress ?? '', this.address);
    this.viaProxy = !proxies.empty && proxies.contains(this.family, this.address);
  }
}

export class HttpTracker {
  private readonly store: SwarmStore;
  private readonly counters: Float64Array;
  private readonly policy: TrackerPolicy;
  private readonly config: Config;
  private readonly head = new HttpHead();
  private readonly query = new AnnounceQuery();
  private readonly scrapeQuery: ScrapeQuery;
  private readonly announce = new Announce();
  private readonly counts = new Counts();
  private readonly body: Buffer;
  private readonly peers: Buffer;
  private readonly connections = new Set<Connection>();
  private readonly servers: net.Server[] = [];
  private readonly sweeper: NodeJS.Timeout;

  private readonly stats: TrackerContext['stats'];
  private readonly requestLog: RequestLog;
  private readonly proxies: NetworkList;
  private readonly statsReaders: NetworkList;
  /** The client address of the current request when a proxy forwarded it. */
  private readonly forwarded = Buffer.alloc(16);

  private readonly access: AccessList;
  private readonly changes: ChangeLog | null;
  private readonly limiter: FullScrapeLimiter;
  private readonly allows: (hash: Uint8Array, off: number) => boolean;
  private readonly notBlocked: (hash: Uint8Array, off: number) => boolean;
  /** For the transparency pages, which the worker swaps when notices change. */
  private readonly ctx: TrackerContext;

  /** WebSocket upgrades go there (null: WebSocket turned off, upgrades are ordinary requests). */
  private readonly ws: WsSignalling | null;

  constructor(ctx: TrackerContext, ws: WsSignalling | null = null) {
    this.ws = ws;
    const config = ctx.config;
    const access = ctx.access;
    this.ctx = ctx;
    this.stats = ctx.stats;
    this.access = access;
    this.changes = ctx.changes;
    this.requestLog = ctx.requestLog;
    this.allows = (hash, off) => access.allows(hash, off);
    this.notBlocked = (hash, off) => access.blockedBy(hash, off) < 0;
    this.limiter = new FullScrapeLimiter(config.fullScrapeInterval, ctx.stats.fullScrapeLimiter);
    this.proxies = new NetworkList(config.proxyNetworks);
    this.statsReaders = new NetworkList(config.statsNetworks);
    this.store = ctx.store;
    this.counters = ctx.counters;
    this.policy = ctx.policy;
    this.config = config;
    this.scrapeQuery = new ScrapeQuery(config.maxScrapeHashes);
    this.peers = Buffer.alloc(config.numwantMax * 24);
    // Room for the largest answer: peers in the dictionary model (~70 bytes each) or a full multi-scrape.
    this.body = Buffer.alloc(4096 + Math.max(config.numwantMax * 70, config.maxScrapeHashes * 100));
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
  }

  /** Listens on host:port (several workers share the port with SO_REUSEPORT). */
  listen(host: string, port: number): Promise<net.Server> {
    // No TCP_NODELAY up front: most clients send one request and the answer goes out with the
    // FIN; it is set once a connection is kept alive (see send()).
    return this.bind(net.createServer((socket) => this.accept(socket)), host, port);
  }

  /** HTTPS (and WSS): TLS sockets go down the same accept path as plain ones. */
  listenTls(host: string, port: number, credentials: { cert: string; key: string }): Promise<tls.Server> {
    const server = tls.createServer({ ...credentials, handshakeTimeout: this.config.http.headerTimeout * 1000 }, (socket) => this.accept(socket));
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
    if (this.connections.size >= this.config.http.maxConnections) {
      this.counters[C.http_refused]++;
      socket.destroy();
      return;
    }
    // A new connection's first request head is due within the header timeout; between requests
    // on a kept-alive connection the idle timeout applies, until the next head starts.
    const c = new Connection(socket, Date.now() + this.config.http.headerTimeout * 1000, this.proxies);
    this.connections.add(c);
    this.counters[G.http_open_connections] = this.connections.size;
    socket.on('data', (chunk: Buffer) => this.receive(c, chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.connections.delete(c);
      this.counters[G.http_open_connections] = this.connections.size;
    });
    socket.on('drain', () => socket.resume());
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
      c.deadline = Math.min(c.deadline, Date.now() + this.config.http.headerTimeout * 1000);
    }
    let start = 0;
    const head = this.head;
    const max = this.config.http.maxRequestBytes;
    while (start < buf.length && !c.closing) {
      const view = start === 0 ? buf : buf.subarray(start);
      const n = parseHttpHead(view, view.length, head, max);
      if (n === 0) {
        if (view.length >= max) return this.fail(c, 431, 'Request Header Fields Too Large', C.http_too_large);
        c.pending = Buffer.from(view); // copy: the chunk's memory is reused by nobody, but keep it small
        return;
      }
      if (n < 0) {
        if (view.length >= max) return this.fail(c, 431, 'Request Header Fields Too Large', C.http_too_large);
        return this.fail(c, 400, 'Bad Request', C.http_malformed);
      }
      this.counters[C.http_requests]++;
      if (head.upgradeWebSocket && this.ws !== null) return this.upgrade(c, view, n);
      this.handle(c, view);
      start += n;
      c.deadline = Date.now() + this.config.http.idleTimeout * 1000;
    }
    if (c.socket.writableLength > WRITE_HIGH_WATER) c.socket.pause(); // a client that doesn't read its answers
  }

  /**
   * Hands the socket to the WebSocket server: off this parser and the idle sweep, with the request
   * as ws reads it and the bytes that came after the head.
   */
  private upgrade(c: Connection, buf: Buffer, headLength: number): void {
    const head = this.head;
    const socket = c.socket;
    c.closing = true;
    c.pending = null;
    this.connections.delete(c);
    this.counters[G.http_open_connections] = this.connections.size;
    for (const event of ['data', 'error', 'close', 'drain']) socket.removeAllListeners(event);
    socket.resume();
    const headers: Record<string, string> = {};
    for (let h = head.headerCount - 1; h >= 0; h--) {
      headers[buf.toString('latin1', head.headerNameStart[h], head.headerNameEnd[h]).toLowerCase()] =
        buf.toString('latin1', head.headerValueStart[h], head.headerValueEnd[h]);
    }
    const url = buf.toString('latin1', head.targetStart, head.targetEnd);
    this.ws!.upgrade({ method: 'GET', url, headers, socket }, socket, Buffer.from(buf.subarray(headLength)));
  }

  /** One complete request head at the start of `buf`. */
  private handle(c: Connection, buf: Buffer): void {
    const head = this.head;
    if (head.method !== METHOD_GET) return this.fail(c, 405, 'Method Not Allowed', C.http_method);
    if (head.contentLength > 0) return this.fail(c, 400, 'Bad Request', C.http_malformed); // a GET with a body
    const keepAlive = head.keepAlive && this.config.http.keepAlive;
    // Route like opentracker: after the slashes, 'a...' announces and 'sc...' scrapes.
    let p = head.targetStart;
    while (p < head.pathEnd && buf[p] === 0x2f) p++;
    const hasQuery = head.pathEnd < head.targetEnd;
    if (p === head.pathEnd) {
      if (this.config.redirectUrl !== null && !hasQuery) return this.redirect(c, this.config.redirectUrl, keepAlive);
      return this.fail(c, 404, 'Not Found', C.http_not_found, keepAlive);
    }
    if (buf[p] === 0x61 /* a */) return this.answerAnnounce(c, buf, hasQuery, keepAlive);
    if (buf[p] === 0x73 /* s */ && buf[p + 1] === 0x63 /* c */) return this.answerScrape(c, buf, hasQuery, keepAlive);
    const path = buf.toString('latin1', p, head.pathEnd);
    if (path === this.config.statsPath) return this.answerStats(c, buf);
    if (path === this.config.metricsPath && path !== '') return this.answerObservability(c, buf, 'metrics');
    if (path === this.config.statsJsonPath && path !== '') return this.answerObservability(c, buf, 'json');
    if (path === this.config.transparencyPath && this.ctx.transparency !== null) return this.answerTransparency(c, buf);
    return this.fail(c, 404, 'Not Found', C.http_not_found, keepAlive);
  }

  private answerAnnounce(c: Connection, buf: Buffer, hasQuery: boolean, keepAlive: boolean): void {
    this.counters[C.http_announce]++;
    const head = this.head;
    const q = this.query;
    if (!hasQuery) return this.failure(c, MISSING_INFO_HASH, keepAlive, C.http_announce_invalid);
    const err = parseAnnounceQuery(buf, head.pathEnd + 1, head.targetEnd, q);
    if (err !== 0) return this.failure(c, QUERY_ERROR_MESSAGES[err], keepAlive, C.http_announce_invalid);
    if (q.port < 0) return this.failure(c, MISSING_PORT, keepAlive, C.http_announce_invalid);
    const refusal = this.access.announceRefusal(q.infoHash, 0, q.event === EVENT_STOPPED);
    if (refusal === ANNOUNCE_NOT_LISTED) return this.failure(c, NOT_AUTHORIZED, keepAlive, C.http_announce_denied);
    if (refusal !== ANNOUNCE_ALLOWED) return this.failure(c, this.access.blockReason(refusal), keepAlive, C.http_announce_blocked);
    const policy = this.policy;
    const a = this.announce;
    a.hash = q.infoHash;
    a.hashOffset = 0;
    if (policy.ipFromQuery && q.ipFamily !== 0) {
      a.family = q.ipFamily;
      a.address = q.ip;
    } else {
      this.clientAddress(c, buf, a);
    }
    a.addressOffset = 0;
    a.port = q.port;
    a.event = q.event;
    a.seeder = q.left === 0;
    a.synced = false;
    a.want = q.numwant < 0 ? policy.numwantDefault : Math.min(q.numwant, policy.numwantMax);
    a.families = 3;
    a.out = this.peers;
    a.out4Offset = 0;
    a.out6Offset = policy.numwantMax * 6;
    this.store.now = Math.floor(Date.now() / 60000);
    if (this.store.announce(a) !== ANNOUNCE_OK) {
      this.counters[C.store_full]++;
      return this.failure(c, TRACKER_FULL, keepAlive);
    }
    if (policy.deniability.enabled) {
      a.peers4 = policy.deniability.mix(this.peers, a.out4Offset, a.peers4, a.want, 4);
      a.peers6 = policy.deniability.mix(this.peers, a.out6Offset, a.peers6, a.want, 6);
    }
    if (this.changes !== null) this.changes.record(a);
    if (a.isNew) this.counters[C.peers_new]++;
    if (a.completed) this.counters[C.completed]++;
    if (q.event === EVENT_STOPPED) this.counters[C.peers_stopped]++;
    else noteRenewal(this.counters, policy, this.stats.woodpeckers, a);
    this.counters[NUMWANT + Math.min(a.want, NUMWANT_BUCKETS - 1)]++;
    const b = this.body;
    const interval = policy.interval();
    let o = put(b, 0, K_COMPLETE);
    o = writeDecimal(b, o, a.seeders);
    o = put(b, o, K_DOWNLOADED);
    o = writeDecimal(b, o, a.downloaded);
    o = put(b, o, K_INCOMPLETE);
    o = writeDecimal(b, o, a.leechers);
    o = put(b, o, K_INTERVAL);
    o = writeDecimal(b, o, interval);
    o = put(b, o, K_MIN_INTERVAL);
    o = writeDecimal(b, o, interval >> 1);
    o = put(b, o, K_PEERS);
    if (q.compact === 0) o = this.writePeerDicts(b, o, a);
    else {
      o = writeBytes(b, o, this.peers, a.out4Offset, a.peers4 * 6);
      if (a.peers6 > 0) {
        o = put(b, o, K_PEERS6);
        o = writeBytes(b, o, this.peers, a.out6Offset, a.peers6 * 18);
      }
    }
    b[o++] = 0x65; // e
    this.send(c, b, o, keepAlive);
    if (this.requestLog.sample()) {
      this.requestLog.write({
        proto: 'http', action: 'announce', client: addressText(a.address, a.addressOffset, a.family), port: a.port,
        info_hash: q.infoHash.toString('hex'), event: q.event, left: q.left, numwant: a.want, peers: a.peers4 + a.peers6,
      });
    }
  }

  /** The socket's address, or the one a trusted proxy forwarded. */
  private clientAddress(c: Connection, buf: Buffer, into: { family: number; address: Uint8Array }): void {
    const family = c.viaProxy ? forwardedAddress(this.head, buf, this.proxies, this.forwarded) : 0;
    into.family = family === 0 ? c.family : family;
    into.address = family === 0 ? c.address : this.forwarded;
  }

  /** BEP 3's original peer list: dictionaries of ip (text) and port, both families in one list. */
  private writePeerDicts(b: Buffer, o: number, a: Announce): number {
    b[o++] = 0x6c; // l
    const peers = this.peers;
    for (let i = 0; i < a.peers4; i++) {
      const p = a.out4Offset + i * 6;
      o = writePeerDict(b, o, addressText(peers, p, 4), (peers[p + 4] << 8) | peers[p + 5]);
    }
    for (let i = 0; i < a.peers6; i++) {
      const p = a.out6Offset + i * 18;
      o = writePeerDict(b, o, addressText(peers, p, 6), (peers[p + 16] << 8) | peers[p + 17]);
    }
    b[o++] = 0x65;
    return o;
  }

  private answerScrape(c: Connection, buf: Buffer, hasQuery: boolean, keepAlive: boolean): void {
    this.counters[C.http_scrape]++;
    const head = this.head;
    const q = this.scrapeQuery;
    if (!hasQuery) return this.answerFullScrape(c, buf);
    const err = parseScrapeQuery(buf, head.pathEnd + 1, head.targetEnd, q);
    if (err !== 0 && q.count === 0) return this.answerFullScrape(c, buf);
    if (err !== 0) return this.failure(c, QUERY_ERROR_MESSAGES[err], keepAlive, C.http_scrape_invalid);
    const order = sortHashes(q.hashes, q.count);
    const b = this.body;
    const counts = this.counts;
    this.store.now = Math.floor(Date.now() / 60000);
    let o = put(b, 0, K_FILES);
    let previous = -1;
    for (const i of order) {
      if (previous >= 0 && q.hashes.compare(q.hashes, i * 20, i * 20 + 20, previous * 20, previous * 20 + 20) === 0) continue;
      previous = i;
      if (this.access.allows(q.hashes, i * 20)) this.store.scrape(q.hashes, i * 20, counts);
      else {
        counts.seeders = counts.leechers = counts.downloaded = 0; // a refused torrent scrapes as an unknown one
        this.counters[this.access.blockedBy(q.hashes, i * 20) >= 0 ? C.http_scrape_blocked : C.http_scrape_denied]++;
      }
      o = writeBytes(b, o, q.hashes, i * 20, 20);
      o = put(b, o, K_SCRAPE_ENTRY);
      o = writeDecimal(b, o, counts.seeders);
      o = put(b, o, K_DOWNLOADED);
      o = writeDecimal(b, o, counts.downloaded);
      o = put(b, o, K_INCOMPLETE);
      o = writeDecimal(b, o, counts.leechers);
      b[o++] = 0x65;
      b[o++] = 0x65;
    }
    b[o++] = 0x65;
    b[o++] = 0x65;
    this.send(c, b, o, keepAlive);
    if (this.requestLog.sample()) {
      this.requestLog.write({ proto: 'http', action: 'scrape', client: addressText(c.address, 0, c.family), hashes: q.count });
    }
  }

  /** `/scrape` without an info_hash: every torrent, streamed (opentracker's full scrape). */
  private answerFullScrape(c: Connection, buf: Buffer): void {
    if (!this.config.fullScrape) {
      this.counters[C.http_full_scrape_denied]++;
      return this.failure(c, FULL_SCRAPE_OFF, false);
    }
    const client = { family: 0, address: c.address as Uint8Array };
    this.clientAddress(c, buf, client);
    const wait = this.limiter.check(client.family, client.address, 0);
    if (wait > 0) {
      return this.fail(c, 429, 'Too Many Requests', C.http_rate_limited, false, { headers: `Retry-After: ${wait}\r\n` });
    }
    this.stream(c, 'ben', this.allows, chooseCompression(this.head.headerValue(buf, 'accept-encoding')), C.http_full_scrape);
  }

  /**
   * Streams a store walk as the connection's last answer: chunked for HTTP/1.1, to the close for
   * HTTP/1.0. The walk lets the event loop turn between chunks, so announces keep flowing.
   */
  private stream(c: Connection, format: FullScrapeFormat, filter: ((h: Uint8Array, o: number) => boolean) | null, compress: Compression, counter: number): void {
    const chunked = this.head.versionMinor !== 0;
    c.closing = true;
    c.pending = null;
    c.deadline = Date.now() + STREAM_TIMEOUT_MS;
    const type = format === 'bin' ? 'application/octet-stream' : 'text/plain';
    c.socket.write(
      `HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\n${compress ? `Content-Encoding: ${compress}\r\n` : ''}` +
        `${chunked ? 'Transfer-Encoding: chunked\r\n' : ''}Connection: close\r\n\r\n`,
      'latin1',
    );
    this.counters[counter]++;
    pumpChunks(fullScrape(this.store, format, filter, { compress }), c.socket, { chunked }).then(
      (r) => {
        this.counters[C.http_full_scrape_bytes] += r.bytes;
        this.counters[C.http_bytes_out] += r.bytes;
        if (r.complete) c.socket.end();
      },
      () => c.socket.destroy(), // a chunked body can't be ended cleanly after a failure
    );
  }

  /**
   * opentracker's /stats modes. The answer may take a store walk, so the connection is answered
   * once and closed (as opentracker does), whatever comes after the request.
   */
  private answerStats(c: Connection, buf: Buffer): void {
    const head = this.head;
    const params = new URLSearchParams(buf.toString('latin1', Math.min(head.pathEnd + 1, head.targetEnd), head.targetEnd));
    // A client using the stats URL as its announce URL gets a clear error (opentracker HEAD).
    if (params.has('info_hash')) return this.fail(c, 400, 'Bad Request', C.http_invalid);
    if (!this.statsAllowed(c, buf)) return this.fail(c, 403, 'Forbidden', C.http_forbidden);
    // The dashboard (a browser asking for HTML without a mode), its files, mode=json, mode=metrics.
    const ours = statsPathAnswer(params, head.headerValue(buf, 'accept'), head.acceptGzip, this.stats);
    if (ours !== null) return this.sendObservability(c, ours);
    const mode = params.get('mode') ?? 'peer';
    if (STREAMED_MODES.has(mode)) {
      if (mode === 'statedump') return this.stream(c, 'statedump', null, chooseCompression(this.head.headerValue(buf, 'accept-encoding'), false), C.http_stats);
      const format = parseTpbsFormat(params.get('format'));
      if (format === null) return this.fail(c, 400, 'Bad Request', C.http_invalid, false, { message: 'mode=tpbs needs format=ben, bin, txt, txtp or url\n' });
      return this.stream(c, format, this.notBlocked, chooseCompression(this.head.headerValue(buf, 'accept-encoding')), C.http_stats);
    }
    this.counters[C.http_stats]++;
    c.closing = true;
    c.pending = null;
    opentrackerStats(mode, this.stats).then(
      (answer) => {
        const body = Buffer.from(answer.body, 'utf8');
        const head = `HTTP/1.1 ${answer.status} ${answer.status === 200 ? 'OK' : 'Bad Request'}\r\nContent-Type: ${answer.contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
        const out = Buffer.concat([Buffer.from(head, 'latin1'), body]);
        this.counters[C.http_bytes_out] += out.length;
        c.socket.end(out);
      },
      () => c.socket.destroy(),
    );
  }

  /** Whether the client may read the stats pages (access.stats). */
  private statsAllowed(c: Connection, buf: Buffer): boolean {
    if (this.statsReaders.empty) return true;
    const client = { family: 0, address: c.address as Uint8Array };
    this.clientAddress(c, buf, client);
    return this.statsReaders.contains(client.family, client.address);
  }

  /** /metrics and /stats.json: as restricted as the stats path. */
  private answerObservability(c: Connection, buf: Buffer, what: 'metrics' | 'json'): void {
    if (!this.statsAllowed(c, buf)) return this.fail(c, 403, 'Forbidden', C.http_forbidden);
    const head = this.head;
    if (what === 'metrics') return this.sendObservability(c, Promise.resolve(metricsAnswer(this.stats)));
    const params = new URLSearchParams(buf.toString('latin1', Math.min(head.pathEnd + 1, head.targetEnd), head.targetEnd));
    this.sendObservability(c, statsJsonAnswer(params, this.stats, head.acceptGzip));
  }

  /** The public list of takedown notices: HTML for a browser, JSON otherwise (or as ?format= says). Public. */
  private answerTransparency(c: Connection, buf: Buffer): void {
    const head = this.head;
    const params = new URLSearchParams(buf.toString('latin1', Math.min(head.pathEnd + 1, head.targetEnd), head.targetEnd));
    this.sendObservability(c, Promise.resolve(transparencyAnswer(this.ctx.transparency!, params, head.headerValue(buf, 'accept'), head.acceptGzip)));
  }

  /** Answers once and closes, as the stats modes do. */
  private sendObservability(c: Connection, answer: Promise<ObservabilityAnswer>): void {
    this.counters[C.http_stats]++;
    c.closing = true;
    c.pending = null;
    answer.then(
      (a) => {
        const out = httpResponse(a);
        this.counters[C.http_bytes_out] += out.length;
        c.socket.end(out);
      },
      () => c.socket.destroy(),
    );
  }

  /** A BEP 3 failure: status 200 with a bencoded reason; `counter` names the kind of failure too. */
  private failure(c: Connection, reason: string, keepAlive: boolean, counter = -1): void {
    this.counters[C.http_invalid]++;
    if (counter >= 0) this.counters[counter]++;
    const b = this.body;
    let o = put(b, 0, K_FAILURE);
    o = writeDecimal(b, o, reason.length);
    b[o++] = 0x3a;
    o += b.write(reason, o, 'latin1');
    b[o++] = 0x65;
    this.send(c, b, o, keepAlive);
  }

  private send(c: Connection, body: Buffer, length: number, keepAlive: boolean): void {
    const tail = !keepAlive ? CLOSE_TAIL : this.head.versionMinor === 0 ? KEEP_TAIL_10 : KEEP_TAIL;
    const digits = String(length).length;
    const out = Buffer.allocUnsafe(OK_HEAD.length + digits + tail.length + length);
    let o = put(out, 0, OK_HEAD);
    o = writeDecimal(out, o, length);
    o = put(out, o, tail);
    body.copy(out, o, 0, length);
    this.counters[C.http_bytes_out] += out.length;
    if (keepAlive) {
      if (!c.noDelay) {
        c.noDelay = true;
        c.socket.setNoDelay(true); // answers on a kept-alive connection must not wait for ACKs
      }
      c.socket.write(out);
    } else this.end(c, out);
  }

  private redirect(c: Connection, url: string, keepAlive: boolean): void {
    this.counters[C.http_redirect]++;
    const text = `HTTP/1.1 302 Found\r\nLocation: ${url}\r\nContent-Length: 0\r\n${keepAlive ? '' : 'Connection: close\r\n'}\r\n`;
    this.counters[C.http_bytes_out] += text.length;
    if (keepAlive) c.socket.write(text, 'latin1');
    else this.end(c, Buffer.from(text, 'latin1'));
  }

  /** An HTTP error status; the connection closes unless the request was well-formed and asked to stay. */
  private fail(c: Connection, status: number, text: string, counter: number, keepAlive = false, extra: { headers?: string; message?: string } = {}): void {
    this.counters[counter]++;
    const body = `${status} ${text}\n${extra.message ?? ''}`;
    const allow = status === 405 ? 'Allow: GET\r\n' : '';
    const response = `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${allow}${extra.headers ?? ''}${keepAlive ? '' : 'Connection: close\r\n'}\r\n${body}`;
    this.counters[C.http_bytes_out] += response.length;
    if (keepAlive) c.socket.write(response, 'latin1');
    else this.end(c, Buffer.from(response, 'latin1'));
  }

  private end(c: Connection, out: Buffer): void {
    c.closing = true;
    c.pending = null;
    c.socket.end(out);
  }
}

function put(buf: Buffer, off: number, bytes: Buffer): number {
  bytes.copy(buf, off);
  return off + bytes.length;
}

function writePeerDict(b: Buffer, o: number, ip: string, port: number): number {
  o = put(b, o, K_IP);
  o = writeDecimal(b, o, ip.length);
  b[o++] = 0x3a;
  o += b.write(ip, o, 'latin1');
  o = put(b, o, K_PORT);
  o = writeInt(b, o, port);
  b[o++] = 0x65;
  return o;
}
const K_IP = latin1('d2:ip');
const K_PORT = latin1('4:port');

/** Indexes of the `count` 20-byte hashes in ascending byte order (bencode wants sorted keys). */
function sortHashes(hashes: Buffer, count: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  order.sort((x, y) => hashes.compare(hashes, y * 20, y * 20 + 20, x * 20, x * 20 + 20));
  return order;
}
