// The UDP tracker (BEP 15): answers one batch of datagrams at a time, writing replies straight into
// the outgoing batch. Nothing is allocated per datagram.

import { SLOT_SIZE, ADDR_SIZE } from '../io/udp-batch.ts';
import type { Batch } from '../io/udp-batch.ts';
import {
  UdpRequest, parseUdpRequest, ACTION_CONNECT, ACTION_ANNOUNCE, ACTION_SCRAPE,
  writeConnectReply, writeAnnounceReplyHeader, writeScrapeReplyHeader, writeScrapeEntry, writeErrorReply,
} from '../protocol/udp.ts';
import { ConnectionIds } from '../protocol/connection-id.ts';
import { Announce, Counts, ANNOUNCE_OK, currentMinute } from '../store/swarm-store.ts';
import { EVENT_STOPPED } from '../protocol/events.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { C } from '../stats/counters.ts';
import { noteRenewal } from './policy.ts';
import type { TrackerPolicy } from './policy.ts';
import type { Woodpeckers } from '../stats/woodpeckers.ts';
import type { AccessList } from '../access/access-list.ts';
import { ANNOUNCE_ALLOWED, ANNOUNCE_NOT_LISTED } from '../access/access-list.ts';
import type { RequestLog } from '../stats/request-log.ts';
import type { TrackerContext } from './context.ts';
import { addressText } from '../net/address.ts';
import type { ChangeLog } from '../cluster/change-log.ts';

const BAD_CONNECTION_ID = Buffer.from('Connection ID missmatch.\0'); // opentracker's text, which clients may match on
const INVALID_PORT = Buffer.from('invalid port');
const TRACKER_FULL = Buffer.from('tracker full, try later');
export const NOT_AUTHORIZED = 'Requested download is not authorized for use with this tracker.'; // opentracker's text
const NOT_AUTHORIZED_BYTES = Buffer.from(NOT_AUTHORIZED);

export class UdpTracker {
  private readonly store: SwarmStore;
  private readonly ids: ConnectionIds;
  private readonly counters: Float64Array;
  private readonly policy: TrackerPolicy;
  private readonly req = new UdpRequest();
  private readonly announce = new Announce();
  private readonly counts = new Counts();

  private readonly woodpeckers: Woodpeckers;
  private readonly access: AccessList;

  private readonly requestLog: RequestLog;
  private readonly changes: ChangeLog | null;

  constructor(ctx: TrackerContext, ids: ConnectionIds) {
    this.changes = ctx.changes;
    this.woodpeckers = ctx.woodpeckers;
    this.access = ctx.access;
    this.requestLog = ctx.requestLog;
    this.store = ctx.store;
    this.ids = ids;
    this.counters = ctx.counters;
    this.policy = ctx.policy;
  }

  /** The batch handler given to the socket layer. */
  readonly onBatch = (rx: Batch, tx: Batch): void => {
    const counters = this.counters;
    const nowMs = Date.now();
    const nowSeconds = Math.floor(nowMs / 1000);
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
      // The error packet is shorter than any announce or scrape, so it can't amplify a spoofed request.
      counters[C.udp_bad_connection_id]++;
      if (req.action === ACTION_SCRAPE) counters[C.udp_scrape_bad_connection_id]++;
      return writeErrorReply(out, outOff, req.transactionId, BAD_CONNECTION_ID) - outOff;
    }
    if (req.action === ACTION_ANNOUNCE) return this.answerAnnounce(data, off, addrs, addrOff, family, out, outOff);
    return this.answerScrape(data, off, out, outOff);
  }

  private answerAnnounce(data: Buffer, off: number, addrs: Buffer, addrOff: number, family: number, out: Buffer, outOff: number): number {
    const counters = this.counters;
    const req = this.req;
    counters[C.udp_announce]++;
    if (req.port === 0) {
      counters[C.udp_invalid]++;
      return writeErrorReply(out, outOff, req.transactionId, INVALID_PORT) - outOff;
    }
    const refusal = this.access.announceRefusal(data, off + 16, req.event === EVENT_STOPPED);
    if (refusal !== ANNOUNCE_ALLOWED) {
      const notListed = refusal === ANNOUNCE_NOT_LISTED;
      counters[notListed ? C.udp_announce_denied : C.udp_announce_blocked]++;
      return writeErrorReply(out, outOff, req.transactionId, notListed ? NOT_AUTHORIZED_BYTES : this.access.blockReasonBytes(refusal)) - outOff;
    }
    const a = this.announce;
    const policy = this.policy;
    a.hash = data;
    a.hashOffset = off + 16;
    a.family = family;
    a.address = addrs;
    a.addressOffset = addrOff + 4;
    if (policy.ipFromQuery && family === 4 && req.ip !== 0) {
      // BEP 15's IP field, honoured only when the operator allows addresses from requests.
      a.address = policy.scratchAddress;
      a.addressOffset = 0;
      policy.scratchAddress.writeUInt32BE(req.ip >>> 0, 0);
    }
    a.port = req.port;
    a.event = req.event;
    a.seeder = req.left === 0;
    a.synced = false;
    const max = family === 4 ? policy.udpNumwantMax4 : policy.udpNumwantMax6;
    a.want = req.numwant < 0 || req.numwant > max ? max : req.numwant;
    a.families = family === 4 ? 1 : 2;
    a.out = out;
    a.out4Offset = a.out6Offset = outOff + 20;
    const status = this.store.announce(a);
    if (status !== ANNOUNCE_OK) {
      counters[C.store_full]++;
      counters[C.udp_store_full]++;
      return writeErrorReply(out, outOff, req.transactionId, TRACKER_FULL) - outOff;
    }
    if (this.changes !== null) this.changes.record(a);
    if (a.isNew) counters[C.peers_new]++;
    if (a.completed) counters[C.completed]++;
    if (req.event === EVENT_STOPPED) counters[C.peers_stopped]++;
    else noteRenewal(counters, policy, this.woodpeckers, a);
    writeAnnounceReplyHeader(out, outOff, req.transactionId, policy.interval(), a.leechers, a.seeders);
    let peers = a.peers4 + a.peers6; // only the client's own family
    if (policy.deniability.enabled) peers = policy.deniability.mix(out, outOff + 20, peers, a.want, family);
    if (this.requestLog.sample()) {
      this.requestLog.write({
        proto: 'udp', action: 'announce', client: addressText(addrs, addrOff + 4, family), port: a.port,
        info_hash: data.toString('hex', off + 16, off + 36), event: req.event, left: req.left, numwant: a.want, peers,
      });
    }
    return 20 + peers * (family === 4 ? 6 : 18);
  }

  private answerScrape(data: Buffer, off: number, out: Buffer, outOff: number): number {
    this.counters[C.udp_scrape]++;
    const req = this.req;
    const c = this.counts;
    let o = writeScrapeReplyHeader(out, outOff, req.transactionId);
    for (let k = 0; k < req.scrapeCount; k++) {
      const hashOff = off + 16 + k * 20;
      // A refused torrent scrapes as an unknown one.
      if (this.access.allows(data, hashOff)) this.store.scrape(data, hashOff, c);
      else {
        c.seeders = c.leechers = c.downloaded = 0;
        this.counters[this.access.blockedBy(data, hashOff) >= 0 ? C.udp_scrape_blocked : C.udp_scrape_denied]++;
      }
      o = writeScrapeEntry(out, o, c.seeders, c.downloaded, c.leechers);
    }
    if (this.requestLog.sample()) this.requestLog.write({ proto: 'udp', action: 'scrape', hashes: req.scrapeCount });
    return o - outOff;
  }
}
