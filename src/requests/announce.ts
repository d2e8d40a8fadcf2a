// What an announce does, whichever protocol brought it (opentracker's trackerlogic.c, which both
// ot_http.c and ot_udp.c call): the port check, the access list's and takedown notices' refusal,
// the numwant policy, the store, deniability, the cluster's change record, the counters (new,
// completed, stopped, renewals, woodpeckers, numwant) and the request log. The transport parses
// the request into `announce` (the store's reusable Announce: hash, address, port, event, numwant,
// where peers go), calls announce() and writes its reply from the outputs or from the refusal
// code. Nothing here allocates per request: the counters come from PROTOCOL_COUNTERS by protocol.

import { Announce, ANNOUNCE_OK } from '../store/swarm-store.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { EVENT_STOPPED } from '../protocol/events.ts';
import { ANNOUNCE_ALLOWED, ANNOUNCE_NOT_LISTED } from '../access/access-list.ts';
import type { AccessList } from '../access/access-list.ts';
import { C, RENEW, RENEW_BUCKETS, NUMWANT_BUCKETS } from '../stats/counters.ts';
import type { Woodpeckers } from '../stats/woodpeckers.ts';
import type { RequestLog } from '../stats/request-log.ts';
import type { ChangeLog } from '../cluster/change-log.ts';
import { addressText } from '../net/address.ts';
import type { TrackerContext } from './context.ts';
import type { TrackerPolicy } from './policy.ts';
import { PROTOCOL_COUNTERS } from './protocols.ts';
import {
  ANSWERED,
  REFUSED_NOT_LISTED,
  REFUSED_BLOCKED,
  REFUSED_FULL,
  REFUSED_INVALID_PORT,
  REFUSED_MISSING_PORT,
  REFUSAL_TEXT,
  REFUSAL_BYTES,
} from './refusals.ts';

export class AnnounceRules {
  /** The transport fills the inputs before announce() and reads the outputs after it. */
  readonly announce = new Announce();
  private readonly store: SwarmStore;
  private readonly counters: Float64Array;
  private readonly policy: TrackerPolicy;
  private readonly access: AccessList;
  private readonly woodpeckers: Woodpeckers;
  private readonly requestLog: RequestLog;
  private readonly changes: ChangeLog | null;
  /** The notice behind the last REFUSED_BLOCKED, for its reason. */
  private notice = -1;

  constructor(ctx: TrackerContext) {
    this.store = ctx.store;
    this.counters = ctx.counters;
    this.policy = ctx.policy;
    this.access = ctx.access;
    this.woodpeckers = ctx.woodpeckers;
    this.requestLog = ctx.requestLog;
    this.changes = ctx.changes;
  }

  /**
   * Answers the announce in `announce` (its `want` is the client's numwant, -1 when absent):
   * ANSWERED with the outputs filled (peers, deniability's decoys mixed in), or a refusal code.
   * `left` is the client's, for the request log. The caller has set the store's clock.
   */
  answer(proto: number, left: number): number {
    const a = this.announce;
    if (a.port <= 0) return this.invalid(proto, a.port < 0 ? REFUSED_MISSING_PORT : REFUSED_INVALID_PORT);
    const admitted = this.admit(proto, a.hash, a.hashOffset, a.event);
    if (admitted !== ANSWERED) return admitted;
    const P = PROTOCOL_COUNTERS[proto];
    const counters = this.counters;
    const policy = this.policy;
    a.seeder = left === 0;
    a.synced = false;
    a.want = policy.want(proto, a.want, a.family);
    const stored = this.store.announce(a);
    if (a.evicted > 0) counters[C.store_evicted] += a.evicted;
    if (stored !== ANNOUNCE_OK) {
      counters[C.store_full]++;
      if (P.storeFull >= 0) counters[P.storeFull]++;
      return REFUSED_FULL;
    }
    if (policy.deniability.enabled) {
      if (a.families & 1) a.peers4 = policy.deniability.mix(a.out, a.out4Offset, a.peers4, a.want, 4);
      if (a.families & 2) a.peers6 = policy.deniability.mix(a.out, a.out6Offset, a.peers6, a.want, 6);
    }
    if (this.changes !== null) this.changes.record(a);
    if (a.isNew) counters[C.peers_new]++;
    if (a.completed) counters[C.completed]++;
    if (a.event === EVENT_STOPPED) counters[C.peers_stopped]++;
    else this.noteRenewal(a);
    if (P.numwant >= 0) counters[P.numwant + Math.min(a.want, NUMWANT_BUCKETS - 1)]++;
    if (this.requestLog.sample()) this.log(P.name, left);
    return ANSWERED;
  }

  /**
   * Counts an announce and checks its hash against the access list and the takedown notices:
   * ANSWERED (go on), REFUSED_NOT_LISTED or REFUSED_BLOCKED (counted). WebSocket announces, whose
   * peers live in the signalling server rather than the store, stop here.
   */
  admit(proto: number, hash: Uint8Array, off: number, event: number): number {
    const P = PROTOCOL_COUNTERS[proto];
    this.counters[P.announce]++;
    const refusal = this.access.announceRefusal(hash, off, event === EVENT_STOPPED);
    if (refusal === ANNOUNCE_ALLOWED) return ANSWERED;
    if (refusal === ANNOUNCE_NOT_LISTED) {
      this.counters[P.denied]++;
      return REFUSED_NOT_LISTED;
    }
    this.counters[P.blocked]++;
    this.notice = refusal;
    return REFUSED_BLOCKED;
  }

  /** Counts an announce the transport could not read (a bad or missing parameter); returns `code`. */
  invalid(proto: number, code: number): number {
    const P = PROTOCOL_COUNTERS[proto];
    this.counters[P.announce]++;
    if (P.invalid >= 0) this.counters[P.invalid]++;
    return code;
  }

  /** A completion a WebSocket peer reported: counted in the store's torrent, once per peer (the caller's). */
  countCompletion(hash: Uint8Array, off: number): boolean {
    if (!this.store.countCompletion(hash, off)) return false;
    this.counters[C.completed]++;
    return true;
  }

  /** The failure reason of a refusal code: the blocking notice's own reason for REFUSED_BLOCKED. */
  refusalText(code: number): string {
    return code === REFUSED_BLOCKED ? this.access.blockReason(this.notice) : REFUSAL_TEXT[code];
  }

  /** refusalText() as bytes, for UDP's error packets. */
  refusalBytes(code: number): Buffer {
    return code === REFUSED_BLOCKED ? this.access.blockReasonBytes(this.notice) : REFUSAL_BYTES[code];
  }

  /** Counts a renewal in the `renew` histogram, and as a woodpecker when it came far too soon. */
  private noteRenewal(a: Announce): void {
    const age = a.renewAge;
    if (age < 0) return;
    if (age < RENEW_BUCKETS) this.counters[RENEW + age]++;
    if (age >= 1 && age < this.policy.woodpeckerMinutes) {
      this.counters[C.woodpeckers]++;
      this.woodpeckers.note(a.family, a.address, a.addressOffset);
    }
  }

  /** One sampled request's log line (the peer as stored: its address may come from the request or a proxy). */
  private log(proto: string, left: number): void {
    const a = this.announce;
    this.requestLog.write({
      proto,
      action: 'announce',
      client: addressText(a.address, a.addressOffset, a.family),
      port: a.port,
      info_hash: Buffer.from(a.hash.buffer, a.hash.byteOffset + a.hashOffset, 20).toString('hex'),
      event: a.event,
      left,
      numwant: a.want,
      peers: a.peers4 + a.peers6,
    });
  }
}
