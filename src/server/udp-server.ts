// The UDP tracker (BEP 15): answers one batch of datagrams at a time, writing replies straight into
// the outgoing batch. Framing only: connection IDs, parsing, and the reply packets; what an
// announce or a scrape does is src/requests/'s. Nothing is allocated per datagram.
//
// Before a datagram is parsed, its source's budget (limits.udp_per_source) is checked: over it, no
// answer at all, so a flood costs no egress and a spoofed one reflects nothing. A source that keeps
// sending bad connection IDs gets its first error packets (a client reusing an expired ID reconnects)
// and then silence for a while (limits.bad_connection_ids).

import { SLOT_SIZE, ADDR_SIZE } from '../io/udp-batch.ts';
import type { Batch } from '../io/udp-batch.ts';
import {
  UdpRequest,
  parseUdpRequest,
  ACTION_CONNECT,
  ACTION_ANNOUNCE,
  ACTION_SCRAPE,
  writeConnectReply,
  writeAnnounceReplyHeader,
  writeScrapeReplyHeader,
  writeScrapeEntry,
  writeErrorReply,
} from '../protocol/udp.ts';
import { ConnectionIds } from '../protocol/connection-id.ts';
import { currentMinute } from '../store/swarm-store.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { C } from '../stats/counters.ts';
import type { TrackerContext } from '../requests/context.ts';
import type { TrackerPolicy } from '../requests/policy.ts';
import { AnnounceRules } from '../requests/announce.ts';
import { ScrapeRules } from '../requests/scrape.ts';
import { PROTO_UDP } from '../requests/protocols.ts';
import { ANSWERED, REFUSAL_BYTES, REFUSED_BAD_CONNECTION_ID } from '../requests/refusals.ts';
import { FLOOD_OK } from '../limits/flood.ts';
import type { FloodControl } from '../limits/flood.ts';
import { BAD_ID_ANSWER, BAD_ID_BAN } from '../limits/bad-connection-ids.ts';
import type { BadConnectionIds } from '../limits/bad-connection-ids.ts';

export class UdpTracker {
  private readonly store: SwarmStore;
  private readonly ids: ConnectionIds;
  private readonly counters: Float64Array;
  private readonly policy: TrackerPolicy;
  private readonly req = new UdpRequest();
  private readonly announces: AnnounceRules;
  private readonly scrapes: ScrapeRules;
  /** Room for an address taken from the request (BEP 15's IP field) rather than the socket. */
  private readonly requestAddress = Buffer.alloc(4);
  private readonly flood: FloodControl | null;
  private readonly badIds: BadConnectionIds | null;
  /** The batch's wall-clock time (ms). */
  private nowMs = 0;
  /** Batches received, and those that came back full (the socket had more waiting): the overload signal's. */
  batches = 0;
  fullBatches = 0;

  constructor(ctx: TrackerContext, ids: ConnectionIds) {
    this.store = ctx.store;
    this.ids = ids;
    this.counters = ctx.counters;
    this.policy = ctx.policy;
    this.announces = new AnnounceRules(ctx);
    this.scrapes = new ScrapeRules(ctx);
    this.flood = ctx.limits.udp;
    this.badIds = ctx.limits.badIds;
  }

  /** The batch handler given to the socket layer. */
  readonly onBatch = (rx: Batch, tx: Batch): void => {
    const counters = this.counters;
    const nowMs = Date.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const flood = this.flood;
    this.nowMs = nowMs;
    this.batches++;
    if (rx.count === rx.capacity && rx.capacity > 1) this.fullBatches++;
    this.store.setClock(currentMinute(nowMs));
    let out = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    counters[C.udp_received] += rx.count;
    for (let i = 0; i < rx.count; i++) {
      const len = rx.lengths[i];
      bytesIn += len;
      if (len > SLOT_SIZE) {
        counters[C.udp_oversized]++;
        continue;
      }
      if (flood !== null && flood.take(rx.addrs[i * ADDR_SIZE], rx.addrs, i * ADDR_SIZE + 4, nowMs) !== FLOOD_OK) {
        counters[C.udp_flood_dropped]++;
        continue;
      }
      const written = this.answer(rx.data, i * SLOT_SIZE, len, rx.addrs, i * ADDR_SIZE, tx.data, out * SLOT_SIZE, nowSeconds);
      if (written === 0) continue;
      rx.addrs.copy(tx.addrs, out * ADDR_SIZE, i * ADDR_SIZE, (i + 1) * ADDR_SIZE);
      tx.lengths[out] = written;
      bytesOut += written;
      out++;
    }
    tx.count = out;
    counters[C.udp_sent] += out;
    counters[C.udp_bytes_in] += bytesIn;
    counters[C.udp_bytes_out] += bytesOut;
  };

  /** Answers one datagram; returns the reply's length, or 0 to send nothing. */
  private answer(data: Buffer, off: number, len: number, addrs: Buffer, addrOff: number, out: Buffer, outOff: number, nowSeconds: number): number {
    const counters = this.counters;
    const req = this.req;
    if (parseUdpRequest(data, off, len, req) !== 0) {
      counters[C.udp_malformed]++;
      return 0;
    }
    const family = addrs[addrOff];
    const ipLen = family === 4 ? 4 : 16;
    if (req.action === ACTION_CONNECT) {
      counters[C.udp_connect]++;
      const end = writeConnectReply(out, outOff, req.transactionId);
      this.ids.write(out, end, addrs, addrOff + 4, ipLen, nowSeconds);
      return end + 8 - outOff;
    }
    if (!this.ids.check(data, off, addrs, addrOff + 4, ipLen, nowSeconds)) {
      // The error packet is shorter than any announce or scrape, so it can't amplify a spoofed request;
      // still, a source that keeps earning it is ignored for a while.
      if (this.badIds !== null) {
        const verdict = this.badIds.check(family, addrs, addrOff + 4, this.nowMs);
        if (verdict !== BAD_ID_ANSWER) {
          counters[C.udp_bad_connection_id_ignored]++;
          if (verdict === BAD_ID_BAN) counters[C.udp_bad_connection_id_bans]++;
          return 0;
        }
      }
      counters[C.udp_bad_connection_id]++;
      if (req.action === ACTION_SCRAPE) counters[C.udp_scrape_bad_connection_id]++;
      return writeErrorReply(out, outOff, req.transactionId, REFUSAL_BYTES[REFUSED_BAD_CONNECTION_ID]) - outOff;
    }
    if (req.action === ACTION_ANNOUNCE) return this.answerAnnounce(data, off, addrs, addrOff, family, out, outOff);
    return this.answerScrape(data, off, addrs, addrOff, family, out, outOff);
  }

  /** Fills the announce from the datagram (its peers go straight into the reply), then answers it. */
  private answerAnnounce(data: Buffer, off: number, addrs: Buffer, addrOff: number, family: number, out: Buffer, outOff: number): number {
    const req = this.req;
    const a = this.announces.announce;
    a.hash = data;
    a.hashOffset = off + 16;
    a.family = family;
    a.address = addrs;
    a.addressOffset = addrOff + 4;
    if (this.policy.ipFromQuery && family === 4 && req.ip !== 0) {
      // BEP 15's IP field, honoured only when the operator allows addresses from requests.
      a.address = this.requestAddress;
      a.addressOffset = 0;
      this.requestAddress.writeUInt32BE(req.ip >>> 0, 0);
    }
    a.port = req.port;
    a.event = req.event;
    a.want = req.numwant;
    a.families = family === 4 ? 1 : 2;
    a.out = out;
    a.out4Offset = a.out6Offset = outOff + 20;
    const status = this.announces.answer(PROTO_UDP, req.left);
    if (status !== ANSWERED) return writeErrorReply(out, outOff, req.transactionId, this.announces.refusalBytes(status)) - outOff;
    writeAnnounceReplyHeader(out, outOff, req.transactionId, this.policy.interval(PROTO_UDP), a.leechers, a.seeders);
    return 20 + (a.peers4 + a.peers6) * (family === 4 ? 6 : 18); // only the client's own family
  }

  private answerScrape(data: Buffer, off: number, addrs: Buffer, addrOff: number, family: number, out: Buffer, outOff: number): number {
    const req = this.req;
    const scrapes = this.scrapes;
    const c = scrapes.counts;
    scrapes.received(PROTO_UDP);
    let o = writeScrapeReplyHeader(out, outOff, req.transactionId);
    for (let k = 0; k < req.scrapeCount; k++) {
      scrapes.count(PROTO_UDP, data, off + 16 + k * 20);
      o = writeScrapeEntry(out, o, c.seeders, c.downloaded, c.leechers);
    }
    scrapes.log(PROTO_UDP, req.scrapeCount, family, addrs, addrOff + 4);
    return o - outOff;
  }
}
