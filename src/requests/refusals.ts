// Every reason the tracker gives for not answering a request, in one table: opentracker's texts
// where it has one (clients and scripts match on them, "missmatch" and its NUL included), and the
// answers of the shared rules (announce.ts, scrape.ts) and the transports are these codes. A
// transport writes REFUSAL_TEXT[code] (HTTP, WebSocket) or REFUSAL_BYTES[code] (UDP) into its
// reply; a hash blocked by a takedown notice gets the notice's own reason instead (AnnounceRules).

import { QUERY_ERROR_MESSAGES, QUERY_MISSING_INFO_HASH } from '../protocol/query.ts';

/** Not a refusal: the request was answered. */
export const ANSWERED = 0;
export const REFUSED_NOT_LISTED = 1;
/** The reason is the blocking notice's (AnnounceRules.refusalText()). */
export const REFUSED_BLOCKED = 2;
/** The store (or WebSocket's table of swarms) has no room for one more torrent or peer. */
export const REFUSED_FULL = 3;
export const REFUSED_INVALID_PORT = 4;
export const REFUSED_MISSING_PORT = 5;
export const REFUSED_MISSING_INFO_HASH = 6;
export const REFUSED_BAD_CONNECTION_ID = 7;
export const REFUSED_FULL_SCRAPE_OFF = 8;
export const REFUSED_WS_FULL_SCRAPE = 9;
export const REFUSED_WS_PEER_ID_TAKEN = 10;
export const REFUSED_WS_ONE_PEER_ID = 11;
export const REFUSED_WS_UNKNOWN_OFFER = 12;

export const REFUSAL_TEXT: readonly string[] = Object.freeze([
  'ok',
  'Requested download is not authorized for use with this tracker.',
  'blocked by a takedown notice',
  'tracker full, try later',
  'invalid port',
  'missing port',
  QUERY_ERROR_MESSAGES[QUERY_MISSING_INFO_HASH], // the query parser's text: "Your client forgot to send ..."
  'Connection ID missmatch.\0',
  'full scrapes are turned off on this tracker',
  'full scrapes are not available over WebSocket',
  'this peer_id is in use by another connection',
  'only one peer_id per torrent per connection',
  'no such offer was relayed to you',
]);

/** REFUSAL_TEXT as bytes (latin1), for replies written into buffers. */
export const REFUSAL_BYTES: readonly Buffer[] = Object.freeze(REFUSAL_TEXT.map((t) => Buffer.from(t, 'latin1')));
