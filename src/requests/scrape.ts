// What a scrape does, whichever protocol brought it: each info hash the access list allows is
// looked up in the store; a refused or blocked one answers as an unknown torrent (zeros), so a
// scrape never tells which hashes are refused, and is counted. The transport loops over its
// hashes, calls count() for each and writes `counts` into its reply. Nothing allocated per hash.

import { Counts } from '../store/swarm-store.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import type { AccessList } from '../access/access-list.ts';
import type { RequestLog } from '../stats/request-log.ts';
import { addressText } from '../net/address.ts';
import type { TrackerContext } from './context.ts';
import { PROTOCOL_COUNTERS } from './protocols.ts';

export class ScrapeRules {
  /** One hash's counts, filled by count(). */
  readonly counts = new Counts();
  private readonly store: SwarmStore;
  private readonly counters: Float64Array;
  private readonly access: AccessList;
  private readonly requestLog: RequestLog;

  constructor(ctx: TrackerContext) {
    this.store = ctx.store;
    this.counters = ctx.counters;
    this.access = ctx.access;
    this.requestLog = ctx.requestLog;
  }

  /** Counts a scrape request (any number of hashes, a full scrape, or a malformed one). */
  received(proto: number): void {
    this.counters[PROTOCOL_COUNTERS[proto].scrape]++;
  }

  /**
   * Fills `counts` for the hash at hash[off]: its torrent's, or zeros when refused. Returns
   * whether it was allowed. The caller has set the store's clock.
   */
  count(proto: number, hash: Uint8Array, off: number): boolean {
    const c = this.counts;
    if (this.access.allows(hash, off)) {
      this.store.scrape(hash, off, c);
      return true;
    }
    c.seeders = c.leechers = c.downloaded = 0;
    c.found = false;
    const P = PROTOCOL_COUNTERS[proto];
    this.counters[this.access.blockedBy(hash, off) >= 0 ? P.scrapeBlocked : P.scrapeDenied]++;
    return false;
  }

  /** The request log's line for a scrape of `hashes` hashes, when this one is sampled. */
  log(proto: number, hashes: number, family: number, address: Uint8Array, addressOffset: number): void {
    if (!this.requestLog.sample()) return;
    this.requestLog.write({ proto: PROTOCOL_COUNTERS[proto].name, action: 'scrape', client: addressText(address, addressOffset, family), hashes });
  }
}
