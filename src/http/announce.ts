// The HTTP announce endpoint (BEP 3, 23, 7): parses the query into the shared rules' Announce
// (src/requests/announce.ts), whose peers go to a buffer of our own, and writes the bencoded
// answer, compact (BEP 23: peers and peers6) or as BEP 3's dictionaries, or the refusal as a
// failure reason. Nothing allocated per request (the dictionary model's address texts aside).

import type net from 'node:net';
import { AnnounceQuery, parseAnnounceQuery, QUERY_ERROR_MESSAGES } from '../protocol/query.ts';
import { writeInt, writeBytes, writeDecimal } from '../protocol/bencode.ts';
import type { Announce, SwarmStore } from '../store/swarm-store.ts';
import { addressText } from '../net/address.ts';
import type { TrackerContext } from '../requests/context.ts';
import type { TrackerPolicy } from '../requests/policy.ts';
import { AnnounceRules } from '../requests/announce.ts';
import { PROTO_HTTP } from '../requests/protocols.ts';
import { ANSWERED, REFUSED_MISSING_INFO_HASH } from '../requests/refusals.ts';
import { put } from './responder.ts';
import type { Endpoint, HttpRequest, HttpAnswer } from './responder.ts';
import { ClientAddress } from './client-address.ts';

const latin1 = (s: string) => Buffer.from(s, 'latin1');
export const K_COMPLETE = latin1('d8:completei');
export const K_DOWNLOADED = latin1('e10:downloadedi');
export const K_INCOMPLETE = latin1('e10:incompletei');
const K_INTERVAL = latin1('e8:intervali');
const K_MIN_INTERVAL = latin1('e12:min intervali');
const K_PEERS = latin1('e5:peers');
const K_PEERS6 = latin1('6:peers6');
const K_IP = latin1('d2:ip');
const K_PORT = latin1('4:port');

export class AnnounceEndpoint implements Endpoint {
  private readonly store: SwarmStore;
  private readonly policy: TrackerPolicy;
  private readonly query = new AnnounceQuery();
  private readonly rules: AnnounceRules;
  private readonly client: ClientAddress;
  /** Where the store writes the answer's compact peers: IPv4 first, IPv6 after numwantMax of them. */
  private readonly peers: Buffer;

  constructor(ctx: TrackerContext) {
    this.store = ctx.store;
    this.policy = ctx.policy;
    this.rules = new AnnounceRules(ctx);
    this.client = new ClientAddress(ctx.config.proxyNetworks);
    this.peers = Buffer.alloc(ctx.config.numwantMax * 24);
  }

  /** The largest answer body: peers in the dictionary model, about 70 bytes each. */
  maxBody(): number {
    return 4096 + this.policy.numwantMax * 70;
  }

  respond(req: HttpRequest, out: HttpAnswer): number {
    const head = req.head;
    const q = this.query;
    const rules = this.rules;
    if (head.pathEnd === head.targetEnd) return this.refuse(rules.invalid(PROTO_HTTP, REFUSED_MISSING_INFO_HASH), req, out);
    const err = parseAnnounceQuery(req.bytes, head.pathEnd + 1, head.targetEnd, q);
    if (err !== 0) {
      rules.invalid(PROTO_HTTP, 0);
      return out.failure(QUERY_ERROR_MESSAGES[err], req);
    }
    const a = rules.announce;
    a.hash = q.infoHash;
    a.hashOffset = 0;
    if (this.policy.ipFromQuery && q.ipFamily !== 0) {
      a.family = q.ipFamily;
      a.address = q.ip;
    } else {
      this.client.resolve(req);
      a.family = this.client.family;
      a.address = this.client.address;
    }
    a.addressOffset = 0;
    a.port = q.port;
    a.event = q.event;
    a.want = q.numwant;
    a.families = 3;
    a.out = this.peers;
    a.out4Offset = 0;
    a.out6Offset = this.policy.numwantMax * 6;
    this.store.setClock();
    const status = rules.answer(PROTO_HTTP, q.left);
    if (status !== ANSWERED) return this.refuse(status, req, out);
    return out.ok(this.writeAnswer(out.buf, out.bodyStart(), a, q.compact !== 0), req);
  }

  takeOver(_req: HttpRequest, socket: net.Socket): number {
    socket.destroy(); // never asked for
    return 0;
  }

  private refuse(code: number, req: HttpRequest, out: HttpAnswer): number {
    return out.failure(this.rules.refusalText(code), req);
  }

  /** The bencoded answer from `a`'s outputs at b[o...]; returns its end. */
  private writeAnswer(b: Buffer, o: number, a: Announce, compact: boolean): number {
    const interval = this.policy.interval(PROTO_HTTP);
    o = put(b, o, K_COMPLETE);
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
    if (!compact) o = this.writePeerDicts(b, o, a);
    else {
      o = writeBytes(b, o, this.peers, a.out4Offset, a.peers4 * 6);
      if (a.peers6 > 0) {
        o = put(b, o, K_PEERS6);
        o = writeBytes(b, o, this.peers, a.out6Offset, a.peers6 * 18);
      }
    }
    b[o++] = 0x65; // e
    return o;
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
