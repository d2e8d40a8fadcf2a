// The HTTP scrape endpoint (BEP 48): the counts of each info hash asked for, in a bencoded `files`
// dictionary sorted by hash (bencode wants sorted keys; duplicates answered once). The rules
// (a refused hash answers as an unknown torrent) are src/requests/scrape.ts's. Without an info
// hash it is the full scrape (streamed.ts).

import type net from 'node:net';
import { ScrapeQuery, parseScrapeQuery, QUERY_ERROR_MESSAGES } from '../protocol/query.ts';
import { writeBytes, writeDecimal } from '../protocol/bencode.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { C } from '../stats/counters.ts';
import type { TrackerContext } from '../requests/context.ts';
import { ScrapeRules } from '../requests/scrape.ts';
import { PROTO_HTTP } from '../requests/protocols.ts';
import { put } from './responder.ts';
import type { Endpoint, HttpRequest, HttpAnswer } from './responder.ts';
import { FullScrapeEndpoint } from './streamed.ts';
import { K_COMPLETE, K_DOWNLOADED, K_INCOMPLETE } from './announce.ts';

const K_FILES = Buffer.from('d5:filesd', 'latin1');

export class ScrapeEndpoint implements Endpoint {
  private readonly store: SwarmStore;
  private readonly counters: Float64Array;
  private readonly query: ScrapeQuery;
  private readonly rules: ScrapeRules;
  private readonly full: FullScrapeEndpoint;
  private readonly maxHashes: number;

  constructor(ctx: TrackerContext) {
    this.store = ctx.store;
    this.counters = ctx.counters;
    this.maxHashes = ctx.config.maxScrapeHashes;
    this.query = new ScrapeQuery(this.maxHashes);
    this.rules = new ScrapeRules(ctx);
    this.full = new FullScrapeEndpoint(ctx);
  }

  /** The largest answer body: about 100 bytes per hash. */
  maxBody(): number {
    return 4096 + this.maxHashes * 100;
  }

  respond(req: HttpRequest, out: HttpAnswer): number {
    const rules = this.rules;
    const head = req.head;
    const q = this.query;
    rules.received(PROTO_HTTP);
    if (head.pathEnd === head.targetEnd) return this.full.respond(req, out);
    const err = parseScrapeQuery(req.bytes, head.pathEnd + 1, head.targetEnd, q);
    if (err !== 0 && q.count === 0) return this.full.respond(req, out);
    if (err !== 0) {
      this.counters[C.http_scrape_invalid]++;
      return out.failure(QUERY_ERROR_MESSAGES[err], req);
    }
    this.store.setClock();
    const answer = out.ok(this.writeAnswer(out.buf, out.bodyStart()), req);
    rules.log(PROTO_HTTP, q.count, req.family, req.address, 0);
    return answer;
  }

  /** Only the full scrape asks for the socket. */
  takeOver(req: HttpRequest, socket: net.Socket): number {
    return this.full.takeOver(req, socket);
  }

  private writeAnswer(b: Buffer, o: number): number {
    const q = this.query;
    const hashes = q.hashes;
    const counts = this.rules.counts;
    o = put(b, o, K_FILES);
    let previous = -1;
    for (const i of sortHashes(hashes, q.count)) {
      if (previous >= 0 && hashes.compare(hashes, i * 20, i * 20 + 20, previous * 20, previous * 20 + 20) === 0) continue;
      previous = i;
      this.rules.count(PROTO_HTTP, hashes, i * 20);
      o = writeBytes(b, o, hashes, i * 20, 20);
      o = put(b, o, K_COMPLETE);
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
    return o;
  }
}

/** Indexes of the `count` 20-byte hashes in ascending byte order (bencode wants sorted keys). */
function sortHashes(hashes: Buffer, count: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  order.sort((x, y) => hashes.compare(hashes, y * 20, y * 20 + 20, x * 20, x * 20 + 20));
  return order;
}
