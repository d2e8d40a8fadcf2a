// WebTorrent signalling over WebSocket, inside one worker. Browsers can't reach peers over TCP or
// UDP; they announce here with WebRTC offers, which the tracker hands to other peers of the swarm,
// and the answers come back the same way. The HTTP (and HTTPS) listener hands over upgrade
// requests (src/http/upgrade.ts); the ws package does the framing.
//
// Every worker listens on the same port, so the peers of one swarm sit on different workers.
// Each worker keeps its own connections and local swarms (connections are JS objects anyway; a
// peer is a few fields). The shared table (src/store/ws-swarms.ts) says how many WebSocket
// seeders and leechers each worker has in a swarm: complete/incomplete come from it, and offers
// that local peers can't all take go to the workers that have peers there, over one
// BroadcastChannel per worker (a name per tracker run and worker, so a restarted worker gets its
// mail again). A worker remembers the offers it delivered (bounded, for OFFER_TTL_MS), so that an
// answer goes back to the offerer's worker, and an answer to an offer never delivered is refused.

import { BroadcastChannel } from 'node:worker_threads';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { TrackerContext } from '../requests/context.ts';
import type { Upgrader, UpgradeRequest } from '../http/upgrade.ts';
import type { Config } from '../config/config.ts';
import { C, G } from '../stats/counters.ts';
import { AnnounceRules } from '../requests/announce.ts';
import { ScrapeRules } from '../requests/scrape.ts';
import { PROTO_WS } from '../requests/protocols.ts';
import {
  ANSWERED,
  REFUSAL_TEXT,
  REFUSED_FULL,
  REFUSED_WS_FULL_SCRAPE,
  REFUSED_WS_ONE_PEER_ID,
  REFUSED_WS_PEER_ID_TAKEN,
  REFUSED_WS_UNKNOWN_OFFER,
} from '../requests/refusals.ts';
import { WsSwarms, WsSwarmCounts } from '../store/ws-swarms.ts';
import type { WsSwarmsShared } from '../store/ws-swarms.ts';
import { parseWsMessage, announceReply, offerMessage, answerMessage, scrapeReply, failureMessage } from '../protocol/ws-messages.ts';
import { EVENT_STOPPED, EVENT_COMPLETED } from '../protocol/events.ts';
import type { WsAnnounce, WsOffer, WsScrape, ScrapeEntry } from '../protocol/ws-messages.ts';

/** An answer is accepted this long after its offer was delivered (aquatic_ws: 120 s; clients give up after 50 s). */
const OFFER_TTL_MS = 120_000;
/** Offers remembered per worker; the oldest are forgotten first. */
const MAX_PENDING_OFFERS = 1 << 16;
const SWEEP_MS = 1000;
/** Stale peers (connections that stopped announcing a torrent) are looked for this often. */
const PEER_SWEEP_MS = 30_000;

/** What one worker says to another. */
type Relay =
  | { type: 'offers'; infoHash: string; peerId: string; fromWorker: number; fromConn: number; offers: WsOffer[] }
  | { type: 'answer'; toConn: number; infoHash: string; toPeerId: string; peerId: string; offerId: string; answer: unknown };

class WsPeer {
  readonly peerId: string;
  readonly conn: WsConnection;
  readonly swarm: LocalSwarm;
  seeder = false;
  /** Its completion was counted: once per peer, as for HTTP and UDP peers. */
  completed = false;
  /** Position in swarm.peers (swap-removal). */
  index = 0;
  lastAnnounce = 0;
  constructor(peerId: string, conn: WsConnection, swarm: LocalSwarm) {
    this.peerId = peerId;
    this.conn = conn;
    this.swarm = swarm;
  }
}

class LocalSwarm {
  readonly infoHash: string;
  readonly peers: WsPeer[] = [];
  readonly byId = new Map<string, WsPeer>();
  seeders = 0;
  constructor(infoHash: string) {
    this.infoHash = infoHash;
  }
}

class WsConnection {
  readonly id: number;
  readonly socket: WebSocket;
  lastMessage: number;
  awaitingPong = false;
  lastPing: number;
  /** info hash -> this connection's peer in that swarm (one peer_id per torrent). */
  readonly peers = new Map<string, WsPeer>();
  constructor(id: number, socket: WebSocket, now: number) {
    this.id = id;
    this.socket = socket;
    this.lastMessage = now;
    this.lastPing = now;
  }
}

type PendingOffer = { at: number; toConn: number; infoHash: string; fromPeerId: string; fromWorker: number; fromConn: number };

/** The channel name of a worker's inbox. */
function inboxName(trackerId: number, worker: number): string {
  return `swarmd-ws-${trackerId}-${worker}`;
}

export class WsSignalling implements Upgrader {
  private readonly wss: WebSocketServer;
  private readonly config: Config['ws'];
  private readonly ctx: TrackerContext;
  private readonly counters: Float64Array;
  private readonly table: WsSwarms;
  private readonly tableCounts: WsSwarmCounts;
  private readonly announces: AnnounceRules;
  private readonly scrapes: ScrapeRules;
  private readonly worker: number;
  private readonly workers: number;
  private readonly trackerId: number;
  private readonly connections = new Map<number, WsConnection>();
  private readonly swarms = new Map<string, LocalSwarm>();
  /** offer_id + receiving peer_id -> where the answer goes. Insertion order = age order. */
  private readonly pending = new Map<string, PendingOffer>();
  private readonly inbox: BroadcastChannel;
  private readonly outboxes = new Map<number, BroadcastChannel>();
  private readonly hashBytes = Buffer.alloc(20);
  private readonly sweeper: NodeJS.Timeout;
  private nextId = 1;
  private lastPeerSweep = Date.now();

  constructor(ctx: TrackerContext, shared: WsSwarmsShared, worker: number, trackerId: number) {
    this.ctx = ctx;
    this.config = ctx.config.ws;
    this.counters = ctx.counters;
    this.announces = new AnnounceRules(ctx);
    this.scrapes = new ScrapeRules(ctx);
    this.table = new WsSwarms(shared);
    this.tableCounts = new WsSwarmCounts(shared.workers);
    this.worker = worker;
    this.workers = shared.workers;
    this.trackerId = trackerId;
    // perMessageDeflate off: compression costs CPU per message and opens the door to zip bombs.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.config.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
    this.inbox = new BroadcastChannel(inboxName(trackerId, worker));
    this.inbox.onmessage = (e) => this.onRelay((e as MessageEvent).data as Relay);
    this.inbox.unref();
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Takes over a socket whose HTTP request asked for a WebSocket; `head`: the bytes after the request head. */
  upgrade(req: UpgradeRequest, socket: Duplex, head: Buffer): void {
    if (this.connections.size >= this.config.maxConnections) {
      this.counters[C.ws_refused]++;
      socket.on('error', () => socket.destroy()); // the HTTP server's handlers are gone: a reset must not escape
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req as unknown as IncomingMessage, socket, head, (ws) => this.open(ws));
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const c of this.connections.values()) c.socket.terminate();
    for (const c of this.connections.values()) this.drop(c);
    this.inbox.close();
    for (const b of this.outboxes.values()) b.close();
  }

  private open(socket: WebSocket): void {
    const now = Date.now();
    const c = new WsConnection(this.nextId++, socket, now);
    this.connections.set(c.id, c);
    this.counters[C.ws_connections]++;
    this.counters[G.ws_open_connections] = this.connections.size;
    // Text or binary frames alike carry one JSON object (aquatic_ws accepts both too).
    socket.on('message', (data: Buffer) => this.receive(c, data));
    socket.on('pong', () => (c.awaitingPong = false));
    socket.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.counters[C.ws_too_large]++;
      socket.terminate();
    });
    socket.on('close', () => this.drop(c));
  }

  /** A connection is gone: its peers leave their swarms. */
  private drop(c: WsConnection): void {
    if (!this.connections.delete(c.id)) return;
    this.counters[G.ws_open_connections] = this.connections.size;
    for (const p of c.peers.values()) this.removePeer(p);
    c.peers.clear();
  }

  private receive(c: WsConnection, data: Buffer): void {
    this.counters[C.ws_bytes_in] += data.length;
    if (!this.connections.has(c.id)) return; // closed by the sweep: its peers are gone, none may join again
    c.lastMessage = Date.now();
    const m = parseWsMessage(data.toString('utf8'), this.config.maxOffers, this.ctx.config.maxScrapeHashes);
    if (m.action === 'announce') return this.announce(c, m);
    if (m.action === 'scrape') return this.scrape(c, m);
    if (m.tooManyOffers) {
      this.counters[C.ws_announce]++;
      this.counters[C.ws_too_many_offers]++;
    } else this.counters[C.ws_malformed]++;
    this.send(c, failureMessage(m.reason, m.infoHash === null ? null : 'announce', m.infoHash));
  }

  private announce(c: WsConnection, m: WsAnnounce): void {
    const hash = this.hashBytes;
    hash.write(m.infoHash, 0, 'latin1');
    const admitted = this.announces.admit(PROTO_WS, hash, 0, m.event);
    if (admitted !== ANSWERED) return this.send(c, failureMessage(this.announces.refusalText(admitted), 'announce', m.infoHash));
    let peer = c.peers.get(m.infoHash) ?? null;
    if (peer !== null && peer.peerId !== m.peerId) return this.refusePeerId(c, m, REFUSED_WS_ONE_PEER_ID);
    if (m.answer !== null) return this.answer(c, m);
    if (m.event === EVENT_STOPPED) {
      if (peer !== null) this.removePeer(peer);
      return this.reply(c, m.infoHash);
    }
    const now = Date.now();
    if (peer === null) {
      const swarm = this.swarms.get(m.infoHash) ?? new LocalSwarm(m.infoHash);
      if (swarm.byId.has(m.peerId)) return this.refusePeerId(c, m, REFUSED_WS_PEER_ID_TAKEN);
      peer = new WsPeer(m.peerId, c, swarm);
      peer.seeder = m.seeder;
      if (!this.publish(swarm, 1, m.seeder ? 1 : 0)) {
        this.counters[C.ws_full]++;
        return this.send(c, failureMessage(REFUSAL_TEXT[REFUSED_FULL], 'announce', m.infoHash));
      }
      this.swarms.set(m.infoHash, swarm);
      peer.index = swarm.peers.length;
      swarm.peers.push(peer);
      swarm.byId.set(m.peerId, peer);
      if (m.seeder) swarm.seeders++;
      c.peers.set(m.infoHash, peer);
    } else if (peer.seeder !== m.seeder) {
      peer.seeder = m.seeder;
      peer.swarm.seeders += m.seeder ? 1 : -1;
      this.publish(peer.swarm, 0, 0);
    }
    peer.lastAnnounce = now;
    // Counted in the store's torrent, so scrapes over every protocol and state dumps include it.
    if (m.event === EVENT_COMPLETED && m.seeder && !peer.completed && this.announces.countCompletion(hash, 0)) peer.completed = true;
    this.reply(c, m.infoHash);
    const want = Math.min(m.offers.length, this.ctx.policy.want(PROTO_WS, m.numwant, 4));
    if (want > 0) this.relayOffers(peer, m.offers, want);
  }

  private refusePeerId(c: WsConnection, m: WsAnnounce, refusal: number): void {
    this.counters[C.ws_peer_id_refused]++;
    this.send(c, failureMessage(REFUSAL_TEXT[refusal], 'announce', m.infoHash));
  }

  /** complete/incomplete: WebSocket peers of every worker plus the HTTP/UDP peers of the store. */
  private reply(c: WsConnection, infoHash: string): void {
    const hash = this.hashBytes;
    hash.write(infoHash, 0, 'latin1');
    this.table.read(hash, 0, this.tableCounts);
    this.ctx.store.setClock();
    this.ctx.store.scrape(hash, 0, this.scrapes.counts); // admitted already: no access check again
    const t = this.tableCounts;
    const s = this.scrapes.counts;
    this.send(c, announceReply(infoHash, t.seeders + s.seeders, t.leechers + s.leechers, this.ctx.policy.interval(PROTO_WS)));
  }

  /**
   * Writes this worker's counts of a swarm to the shared table. A new swarm that doesn't fit is
   * refused (false). `extraPeers`/`extraSeeders`: a peer about to join.
   */
  private publish(swarm: LocalSwarm, extraPeers: number, extraSeeders: number): boolean {
    const seeders = swarm.seeders + extraSeeders;
    const leechers = swarm.peers.length + extraPeers - seeders;
    this.hashBytes.write(swarm.infoHash, 0, 'latin1');
    return this.table.set(this.hashBytes, 0, this.worker, seeders, leechers);
  }

  /** Drops this worker's swarm of the info hash at hash[off] (a takedown notice blocks it): true if there was one. */
  dropSwarm(hash: Uint8Array, off: number): boolean {
    const swarm = this.swarms.get(Buffer.from(hash.buffer, hash.byteOffset + off, 20).toString('latin1'));
    if (swarm === undefined) return false;
    for (const p of [...swarm.peers]) this.removePeer(p);
    return true;
  }

  private removePeer(p: WsPeer): void {
    const swarm = p.swarm;
    if (swarm.byId.get(p.peerId) !== p) return;
    const last = swarm.peers.pop()!;
    if (last !== p) {
      swarm.peers[p.index] = last;
      last.index = p.index;
    }
    swarm.byId.delete(p.peerId);
    if (p.seeder) swarm.seeders--;
    p.conn.peers.delete(swarm.infoHash);
    if (swarm.peers.length === 0) this.swarms.delete(swarm.infoHash);
    this.publish(swarm, 0, 0);
  }

  /** Hands up to `want` offers to local peers, the rest to the other workers with peers in the swarm. */
  private relayOffers(from: WsPeer, offers: WsOffer[], want: number): void {
    const placed = this.deliverOffers(from.swarm.infoHash, from.peerId, this.worker, from.conn.id, offers, 0, want);
    if (placed === want) return;
    let next = placed;
    if (this.workers > 1) {
      this.hashBytes.write(from.swarm.infoHash, 0, 'latin1');
      this.table.read(this.hashBytes, 0, this.tableCounts);
      const peersOf = this.tableCounts.peersOf;
      const start = Math.floor(Math.random() * this.workers);
      for (let k = 0; k < this.workers && next < want; k++) {
        const w = (start + k) % this.workers;
        if (w === this.worker || peersOf[w] === 0) continue;
        const n = Math.min(want - next, peersOf[w]);
        this.post(w, {
          type: 'offers',
          infoHash: from.swarm.infoHash,
          peerId: from.peerId,
          fromWorker: this.worker,
          fromConn: from.conn.id,
          offers: offers.slice(next, next + n),
        });
        this.counters[C.ws_offers_forwarded] += n;
        next += n;
      }
    }
    this.counters[C.ws_offers_unplaced] += want - next;
  }

  /**
   * Delivers offers[first, first + want) to distinct local peers of the swarm other than the
   * offerer, from a random start (a window, as aquatic does). Returns how many were delivered.
   */
  private deliverOffers(infoHash: string, fromPeerId: string, fromWorker: number, fromConn: number, offers: WsOffer[], first: number, want: number): number {
    const swarm = this.swarms.get(infoHash);
    if (swarm === undefined) return 0;
    const list = swarm.peers;
    const start = Math.floor(Math.random() * list.length);
    const now = Date.now();
    let sent = 0;
    for (let k = 0; k < list.length && sent < want; k++) {
      const to = list[(start + k) % list.length];
      if (to.peerId === fromPeerId) continue;
      const o = offers[first + sent];
      this.remember(o.offerId + to.peerId, { at: now, toConn: to.conn.id, infoHash, fromPeerId, fromWorker, fromConn });
      this.send(to.conn, offerMessage(infoHash, fromPeerId, o.offerId, o.offer));
      this.counters[C.ws_offers_relayed]++;
      sent++;
    }
    return sent;
  }

  private remember(key: string, p: PendingOffer): void {
    this.pending.delete(key); // re-inserted at the young end
    this.pending.set(key, p);
    if (this.pending.size > MAX_PENDING_OFFERS) this.pending.delete(this.pending.keys().next().value!);
  }

  /** An answer: only to an offer delivered to this connection's peer, back to the offerer's worker. */
  private answer(c: WsConnection, m: WsAnnounce): void {
    const a = m.answer!;
    const key = a.offerId + m.peerId;
    const p = this.pending.get(key);
    if (p === undefined || p.toConn !== c.id || p.infoHash !== m.infoHash || p.fromPeerId !== a.toPeerId || Date.now() - p.at > OFFER_TTL_MS) {
      this.counters[C.ws_answers_refused]++;
      return this.send(c, failureMessage(REFUSAL_TEXT[REFUSED_WS_UNKNOWN_OFFER], 'announce', m.infoHash));
    }
    this.pending.delete(key);
    if (p.fromWorker === this.worker) return this.deliverAnswer(p.fromConn, m.infoHash, a.toPeerId, m.peerId, a.offerId, a.sdp);
    this.post(p.fromWorker, {
      type: 'answer',
      toConn: p.fromConn,
      infoHash: m.infoHash,
      toPeerId: a.toPeerId,
      peerId: m.peerId,
      offerId: a.offerId,
      answer: a.sdp,
    });
  }

  private deliverAnswer(toConn: number, infoHash: string, toPeerId: string, fromPeerId: string, offerId: string, answer: unknown): void {
    const c = this.connections.get(toConn);
    if (c === undefined || c.peers.get(infoHash)?.peerId !== toPeerId) {
      this.counters[C.ws_answers_refused]++; // the offerer left meanwhile
      return;
    }
    this.send(c, answerMessage(infoHash, fromPeerId, offerId, answer));
    this.counters[C.ws_answers_relayed]++;
  }

  private onRelay(r: Relay): void {
    if (r.type === 'answer') return this.deliverAnswer(r.toConn, r.infoHash, r.toPeerId, r.peerId, r.offerId, r.answer);
    const sent = this.deliverOffers(r.infoHash, r.peerId, r.fromWorker, r.fromConn, r.offers, 0, r.offers.length);
    this.counters[C.ws_offers_unplaced] += r.offers.length - sent;
  }

  private post(worker: number, r: Relay): void {
    let out = this.outboxes.get(worker);
    if (out === undefined) {
      out = new BroadcastChannel(inboxName(this.trackerId, worker));
      out.unref();
      this.outboxes.set(worker, out);
    }
    out.postMessage(r);
  }

  private scrape(c: WsConnection, m: WsScrape): void {
    const scrapes = this.scrapes;
    scrapes.received(PROTO_WS);
    if (m.infoHashes.length === 0) return this.send(c, failureMessage(REFUSAL_TEXT[REFUSED_WS_FULL_SCRAPE], 'scrape', null));
    const entries: ScrapeEntry[] = [];
    const hash = this.hashBytes;
    const t = this.tableCounts;
    const s = scrapes.counts;
    this.ctx.store.setClock();
    for (const infoHash of m.infoHashes) {
      hash.write(infoHash, 0, 'latin1');
      // A refused hash answers as an unknown torrent: the store's zeros, and none of the table's.
      if (scrapes.count(PROTO_WS, hash, 0)) this.table.read(hash, 0, t);
      else t.seeders = t.leechers = 0;
      entries.push({ infoHash, complete: t.seeders + s.seeders, incomplete: t.leechers + s.leechers, downloaded: s.downloaded });
    }
    this.send(c, scrapeReply(entries, this.ctx.policy.interval(PROTO_WS)));
  }

  /** Sends, or drops a client whose queue is over ws.max_queue_size (it doesn't read). */
  private send(c: WsConnection, text: string): void {
    const socket = c.socket;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.config.maxQueuedBytes) {
      this.counters[C.ws_slow_dropped]++;
      socket.terminate();
      return;
    }
    this.counters[C.ws_bytes_out] += Buffer.byteLength(text);
    socket.send(text);
  }

  /** Idle connections, unanswered pings, expired offers and peers that stopped announcing. */
  private sweep(): void {
    const now = Date.now();
    const idle = this.config.idleTimeout * 1000;
    const ping = this.config.pingInterval * 1000;
    for (const c of this.connections.values()) {
      if (now - c.lastMessage > idle) {
        this.counters[C.ws_idle_timeouts]++;
        c.socket.close(1001, 'idle');
        this.drop(c);
      } else if (now - c.lastPing >= ping) {
        if (c.awaitingPong) {
          this.counters[C.ws_ping_timeouts]++;
          c.socket.terminate();
          this.drop(c);
          continue;
        }
        c.awaitingPong = true;
        c.lastPing = now;
        c.socket.ping();
      }
    }
    for (const [key, p] of this.pending) {
      if (now - p.at <= OFFER_TTL_MS) break;
      this.pending.delete(key);
    }
    if (now - this.lastPeerSweep >= PEER_SWEEP_MS) {
      this.lastPeerSweep = now;
      for (const c of this.connections.values()) {
        for (const p of c.peers.values()) if (now - p.lastAnnounce > idle) this.removePeer(p);
      }
    }
  }
}
