// The protocols a request can come over, and which counter each shared rule increments for each
// of them. The rules in announce.ts and scrape.ts index this table with the request's protocol, so
// they count the right counter without asking which protocol it was; a counter a protocol doesn't
// have is -1 (never incremented).

import { C, NUMWANT } from '../stats/counters.ts';

export const PROTO_UDP = 0;
export const PROTO_HTTP = 1;
export const PROTO_WS = 2;

interface ProtocolCounters {
  /** The request log's `proto` field. */
  readonly name: string;
  /** Announces received, whatever became of them. */
  readonly announce: number;
  /** Announces refused for a bad or missing parameter. */
  readonly invalid: number;
  /** Announces the access list refuses. */
  readonly denied: number;
  /** Announces of a hash blocked by a takedown notice. */
  readonly blocked: number;
  /** Announces the store had no room for (also counted in store_full). */
  readonly storeFull: number;
  /** The first bucket of the numwant histogram (opentracker counts HTTP's only). */
  readonly numwant: number;
  readonly scrape: number;
  /** Info hashes in scrapes that the access list refuses (answered as unknown torrents). */
  readonly scrapeDenied: number;
  /** Info hashes in scrapes blocked by a takedown notice (answered as unknown torrents). */
  readonly scrapeBlocked: number;
}

/** Indexed by PROTO_*. */
export const PROTOCOL_COUNTERS: readonly ProtocolCounters[] = [
  {
    name: 'udp',
    announce: C.udp_announce,
    invalid: C.udp_invalid,
    denied: C.udp_announce_denied,
    blocked: C.udp_announce_blocked,
    storeFull: C.udp_store_full,
    numwant: -1,
    scrape: C.udp_scrape,
    scrapeDenied: C.udp_scrape_denied,
    scrapeBlocked: C.udp_scrape_blocked,
  },
  {
    name: 'http',
    announce: C.http_announce,
    invalid: C.http_announce_invalid,
    denied: C.http_announce_denied,
    blocked: C.http_announce_blocked,
    storeFull: -1,
    numwant: NUMWANT,
    scrape: C.http_scrape,
    scrapeDenied: C.http_scrape_denied,
    scrapeBlocked: C.http_scrape_blocked,
  },
  {
    name: 'ws',
    announce: C.ws_announce,
    invalid: -1,
    denied: C.ws_announce_denied,
    blocked: C.ws_announce_blocked,
    storeFull: -1,
    numwant: -1,
    scrape: C.ws_scrape,
    scrapeDenied: C.ws_scrape_denied,
    scrapeBlocked: C.ws_scrape_blocked,
  },
];
