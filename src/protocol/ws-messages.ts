// The WebTorrent tracker protocol over WebSocket (no BEP; bittorrent-tracker's and aquatic_ws's
// format): one JSON object per text message. This file turns a message into a checked request and
// builds the answers; it knows no sockets and no swarms.
//
// Binary strings: info_hash, peer_id, to_peer_id and offer_id are 20 bytes written as JS strings
// of 20 code units 0..255 (Buffer's 'latin1'). They are kept as strings: they are the map keys of
// the signalling server, and JSON.stringify writes them back unchanged.

import { EVENT_NONE, EVENT_STARTED, EVENT_COMPLETED, EVENT_STOPPED } from './events.ts';

/** One offer of an announce: the SDP object is relayed as it came, never looked into. */
export type WsOffer = { offerId: string; offer: unknown };

export type WsAnnounce = {
  action: 'announce';
  infoHash: string;
  peerId: string;
  /** EVENT_* (events.ts) */
  event: number;
  /** `left` is 0 (a missing `left`, as from a magnet link, is a leecher, as in both other trackers). */
  seeder: boolean;
  /** -1 when not given. */
  numwant: number;
  /** Well-formed offers only: malformed ones are skipped (bittorrent-tracker's own tests send some). */
  offers: WsOffer[];
  /** How many offers the message carried (well-formed or not), for the offers-per-announce cap. */
  offersSent: number;
  /** An answer to an offer that was relayed to this peer, or null. */
  answer: { toPeerId: string; offerId: string; sdp: unknown } | null;
};

export type WsScrape = {
  action: 'scrape';
  /** The hashes asked for (empty: a full scrape, which the server refuses). */
  infoHashes: string[];
};

export type WsRequest = WsAnnounce | WsScrape;

/** A message that can't be used: `reason` goes back to the client as the failure reason. */
export type WsBadMessage = { action: 'error'; reason: string; infoHash: string | null; tooManyOffers: boolean };

/** A 20-byte binary string: 20 code units, each 0..255. */
export function isBinaryString20(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 20) return false;
  for (let i = 0; i < 20; i++) if (v.charCodeAt(i) > 0xff) return false;
  return true;
}

function bad(reason: string, infoHash: string | null = null, tooManyOffers = false): WsBadMessage {
  return { action: 'error', reason, infoHash, tooManyOffers };
}

const EVENTS: Record<string, number> = { started: EVENT_STARTED, completed: EVENT_COMPLETED, stopped: EVENT_STOPPED, update: EVENT_NONE, '': EVENT_NONE };

/**
 * Parses one message. `maxOffers`: more offers than this refuse the announce (a client sends at
 * most numwant of them; bittorrent-tracker's client sends up to 10). `maxScrapeHashes` caps a scrape.
 */
export function parseWsMessage(text: string, maxOffers: number, maxScrapeHashes: number): WsRequest | WsBadMessage {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return bad('invalid JSON');
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return bad('a message must be a JSON object');
  const o = m as Record<string, unknown>;
  if (o.action === 'scrape') return parseScrape(o, maxScrapeHashes);
  if (o.action !== 'announce') return bad('invalid action');
  if (!isBinaryString20(o.info_hash)) return bad('invalid info_hash');
  const infoHash = o.info_hash;
  if (!isBinaryString20(o.peer_id)) return bad('invalid peer_id', infoHash);
  const eventName = o.event ?? '';
  const event = typeof eventName === 'string' && Object.hasOwn(EVENTS, eventName) ? EVENTS[eventName]! : -1;
  if (event < 0) return bad('invalid event', infoHash);
  const numwant = o.numwant === undefined ? -1 : toCount(o.numwant);
  if (numwant === -2) return bad('invalid numwant', infoHash);
  const left = o.left;
  const seeder = left === 0 || left === '0';
  let answer: WsAnnounce['answer'] = null;
  if (o.answer !== undefined) {
    if (!isBinaryString20(o.to_peer_id)) return bad('invalid to_peer_id', infoHash);
    if (!isBinaryString20(o.offer_id)) return bad('invalid offer_id', infoHash);
    if (typeof o.answer !== 'object' || o.answer === null) return bad('invalid answer', infoHash);
    answer = { toPeerId: o.to_peer_id, offerId: o.offer_id, sdp: o.answer };
  }
  const offers: WsOffer[] = [];
  let offersSent = 0;
  if (o.offers !== undefined) {
    if (!Array.isArray(o.offers)) return bad('invalid offers', infoHash);
    offersSent = o.offers.length;
    if (offersSent > maxOffers) return bad(`too many offers (at most ${maxOffers})`, infoHash, true);
    for (const item of o.offers as unknown[]) {
      if (typeof item !== 'object' || item === null) continue;
      const { offer_id: offerId, offer } = item as Record<string, unknown>;
      if (isBinaryString20(offerId) && typeof offer === 'object' && offer !== null) offers.push({ offerId, offer });
    }
  }
  return { action: 'announce', infoHash, peerId: o.peer_id, event, seeder, numwant, offers, offersSent, answer };
}

/** A whole number >= 0 (number or digit string), -2 when bad. */
function toCount(v: unknown): number {
  const n = typeof v === 'string' && /^[0-9]{1,9}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? Math.min(n, 2 ** 31 - 1) : -2;
}

function parseScrape(o: Record<string, unknown>, maxHashes: number): WsScrape | WsBadMessage {
  const ih = o.info_hash;
  if (ih === undefined) return { action: 'scrape', infoHashes: [] };
  const list = Array.isArray(ih) ? (ih as unknown[]) : [ih];
  if (list.length > maxHashes) return bad(`too many info hashes (at most ${maxHashes})`);
  for (const h of list) if (!isBinaryString20(h)) return bad('invalid info_hash');
  return { action: 'scrape', infoHashes: list as string[] };
}

// ---------------------------------------------------------------- answers (every one names its info_hash)

export function announceReply(infoHash: string, complete: number, incomplete: number, interval: number): string {
  return JSON.stringify({ action: 'announce', interval, info_hash: infoHash, complete, incomplete });
}

/** An offer relayed to a peer the tracker chose. */
export function offerMessage(infoHash: string, fromPeerId: string, offerId: string, offer: unknown): string {
  return JSON.stringify({ action: 'announce', info_hash: infoHash, peer_id: fromPeerId, offer_id: offerId, offer });
}

/** An answer relayed back to the offerer. */
export function answerMessage(infoHash: string, fromPeerId: string, offerId: string, answer: unknown): string {
  return JSON.stringify({ action: 'announce', info_hash: infoHash, peer_id: fromPeerId, offer_id: offerId, answer });
}

export type ScrapeEntry = { infoHash: string; complete: number; incomplete: number; downloaded: number };

export function scrapeReply(entries: readonly ScrapeEntry[], minInterval: number): string {
  const files: Record<string, { complete: number; incomplete: number; downloaded: number }> = {};
  for (const e of entries) files[e.infoHash] = { complete: e.complete, incomplete: e.incomplete, downloaded: e.downloaded };
  return JSON.stringify({ action: 'scrape', files, flags: { min_request_interval: minInterval } });
}

/** A refusal; `action` and `info_hash` are named when the request had them, so the client can tell whose it is. */
export function failureMessage(reason: string, action: 'announce' | 'scrape' | null, infoHash: string | null): string {
  const m: Record<string, string> = { 'failure reason': reason };
  if (action !== null) m.action = action;
  if (infoHash !== null) m.info_hash = infoHash;
  return JSON.stringify(m);
}
