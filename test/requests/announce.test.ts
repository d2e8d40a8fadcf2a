// The shared announce and scrape rules (src/requests/), for each protocol: refusals, their texts
// and counters from PROTOCOL_COUNTERS, the store, and the per-protocol numwant policy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config/config.ts';
import { SwarmStore, createStoreShared } from '../../src/store/swarm-store.ts';
import { AccessList, buildState, buildBlockState } from '../../src/access/access-list.ts';
import { KEY_WORDS, keyFromHex } from '../../src/access/hashes.ts';
import { C, NUMWANT, ROW } from '../../src/stats/counters.ts';
import { Woodpeckers } from '../../src/stats/woodpeckers.ts';
import { RequestLog } from '../../src/stats/request-log.ts';
import { EVENT_STARTED, EVENT_STOPPED } from '../../src/protocol/events.ts';
import { TrackerPolicy, storeSettings } from '../../src/requests/policy.ts';
import { Limits, createLimitsShared } from '../../src/limits/limits.ts';
import { AnnounceRules } from '../../src/requests/announce.ts';
import { ScrapeRules } from '../../src/requests/scrape.ts';
import { PROTO_UDP, PROTO_HTTP, PROTO_WS, PROTOCOL_COUNTERS } from '../../src/requests/protocols.ts';
import {
  ANSWERED,
  REFUSED_NOT_LISTED,
  REFUSED_BLOCKED,
  REFUSED_MISSING_PORT,
  REFUSED_INVALID_PORT,
  REFUSAL_TEXT,
  REFUSAL_BYTES,
} from '../../src/requests/refusals.ts';

const hash = (byte: number) => Buffer.alloc(20, byte);
const LISTED = hash(1);
const BLOCKED = hash(2);
const UNLISTED = hash(3);
const REASON = 'taken down: notice 7';

function keys(hashes: Buffer[]): Int32Array {
  const k = new Int32Array(hashes.length * KEY_WORDS);
  hashes.forEach((h, i) => keyFromHex(h.toString('hex'), k, i));
  return k;
}

function setup() {
  const config = { ...defaultConfig(), memoryLimit: 16 << 20 };
  const store = new SwarmStore(createStoreShared(config.memoryLimit), storeSettings(config));
  const counters = new Float64Array(ROW);
  // A whitelist of LISTED and BLOCKED; BLOCKED is also blocked by a takedown notice.
  const access = new AccessList(buildState('whitelist', 1, keys([LISTED, BLOCKED]), 2), buildBlockState(1, keys([BLOCKED]), Int32Array.of(0), 1, [REASON]));
  const woodpeckers = new Woodpeckers(Woodpeckers.create(1), 0);
  const ctx = {
    config,
    store,
    counters,
    policy: new TrackerPolicy(config),
    access,
    woodpeckers,
    requestLog: new RequestLog(null, 0, counters),
    changes: null,
    transparency: null,
    stats: null as never,
    limits: new Limits(createLimitsShared(config.limits), config.limits),
  };
  return { ctx, counters, store, rules: new AnnounceRules(ctx), scrapes: new ScrapeRules(ctx) };
}

function fill(rules: AnnounceRules, h: Buffer, port: number, want = -1): void {
  const a = rules.announce;
  a.hash = h;
  a.hashOffset = 0;
  a.family = 4;
  a.address = Uint8Array.of(10, 0, 0, 1);
  a.addressOffset = 0;
  a.port = port;
  a.event = EVENT_STARTED;
  a.want = want;
  a.families = 1;
  a.out = new Uint8Array(1200);
  a.out4Offset = a.out6Offset = 0;
}

for (const proto of [PROTO_UDP, PROTO_HTTP]) {
  const P = PROTOCOL_COUNTERS[proto];
  test(`${P.name}: refusals come back as codes with opentracker's texts, counted in the protocol's counters`, () => {
    const { rules, counters } = setup();
    fill(rules, LISTED, -1);
    assert.equal(rules.answer(proto, 0), REFUSED_MISSING_PORT);
    fill(rules, LISTED, 0);
    assert.equal(rules.answer(proto, 0), REFUSED_INVALID_PORT);
    assert.equal(rules.refusalText(REFUSED_INVALID_PORT), 'invalid port');
    assert.equal(counters[P.invalid], 2);
    fill(rules, UNLISTED, 6881);
    assert.equal(rules.answer(proto, 0), REFUSED_NOT_LISTED);
    assert.equal(rules.refusalText(REFUSED_NOT_LISTED), 'Requested download is not authorized for use with this tracker.');
    assert.deepEqual(rules.refusalBytes(REFUSED_NOT_LISTED), REFUSAL_BYTES[REFUSED_NOT_LISTED]);
    assert.equal(counters[P.denied], 1);
    fill(rules, BLOCKED, 6881);
    assert.equal(rules.answer(proto, 0), REFUSED_BLOCKED);
    assert.equal(rules.refusalText(REFUSED_BLOCKED), REASON);
    assert.equal(rules.refusalBytes(REFUSED_BLOCKED).toString(), REASON);
    assert.equal(counters[P.blocked], 1);
    assert.equal(counters[P.announce], 4);
    assert.equal(counters[C.peers_new], 0);
  });

  test(`${P.name}: an allowed announce is stored and counted; a stop too`, () => {
    const { rules, counters, scrapes } = setup();
    fill(rules, LISTED, 6881, 500);
    assert.equal(rules.answer(proto, 0), ANSWERED);
    assert.equal(rules.announce.seeders, 1);
    assert.equal(rules.announce.want, proto === PROTO_HTTP ? defaultConfig().numwantMax : defaultConfig().udpNumwantMax4);
    assert.equal(counters[C.peers_new], 1);
    // opentracker's numwant histogram counts HTTP announces only
    const histogram = counters.subarray(NUMWANT, NUMWANT + 201).reduce((x, y) => x + y, 0);
    assert.equal(histogram, proto === PROTO_HTTP ? 1 : 0);
    fill(rules, LISTED, 6881);
    rules.announce.event = EVENT_STOPPED;
    assert.equal(rules.answer(proto, 0), ANSWERED);
    assert.equal(counters[C.peers_stopped], 1);
    scrapes.count(proto, LISTED, 0); // the stopped peer is gone
    assert.equal(scrapes.counts.seeders + scrapes.counts.leechers, 0);
  });
}

test('a refused or blocked hash scrapes as an unknown torrent, counted per protocol', () => {
  const { rules, scrapes, counters } = setup();
  fill(rules, LISTED, 6881);
  assert.equal(rules.answer(PROTO_UDP, 0), ANSWERED);
  for (const proto of [PROTO_UDP, PROTO_HTTP, PROTO_WS]) {
    const P = PROTOCOL_COUNTERS[proto];
    scrapes.received(proto);
    assert.equal(scrapes.count(proto, LISTED, 0), true);
    assert.equal(scrapes.counts.seeders, 1);
    assert.equal(scrapes.count(proto, UNLISTED, 0), false);
    assert.deepEqual([scrapes.counts.seeders, scrapes.counts.leechers, scrapes.counts.downloaded], [0, 0, 0]);
    assert.equal(scrapes.count(proto, BLOCKED, 0), false);
    assert.deepEqual([counters[P.scrape], counters[P.scrapeDenied], counters[P.scrapeBlocked]], [1, 1, 1]);
  }
});

test('WebSocket announces stop at admit(): refusals counted in the ws counters', () => {
  const { rules, counters } = setup();
  assert.equal(rules.admit(PROTO_WS, UNLISTED, 0, EVENT_STARTED), REFUSED_NOT_LISTED);
  assert.equal(rules.admit(PROTO_WS, BLOCKED, 0, EVENT_STARTED), REFUSED_BLOCKED);
  assert.equal(rules.admit(PROTO_WS, LISTED, 0, EVENT_STARTED), ANSWERED);
  assert.deepEqual([counters[C.ws_announce], counters[C.ws_announce_denied], counters[C.ws_announce_blocked]], [3, 1, 1]);
  // the access list lets a stop through, as for the other protocols; a takedown doesn't
  assert.equal(rules.admit(PROTO_WS, UNLISTED, 0, EVENT_STOPPED), ANSWERED);
  assert.equal(rules.admit(PROTO_WS, BLOCKED, 0, EVENT_STOPPED), REFUSED_BLOCKED);
});

test('one numwant and interval policy, with each protocol its own limits', () => {
  const config = { ...defaultConfig(), numwantDefault: 50, numwantMax: 200, udpNumwantMax4: 200, udpNumwantMax6: 70, interval: 1800, intervalVariation: 0 };
  config.ws = { ...config.ws, numwantMax: 10, interval: 120 };
  const policy = new TrackerPolicy(config);
  assert.deepEqual([policy.want(PROTO_HTTP, -1, 4), policy.want(PROTO_HTTP, 500, 6), policy.want(PROTO_HTTP, 7, 4)], [50, 200, 7]);
  assert.deepEqual([policy.want(PROTO_UDP, -1, 4), policy.want(PROTO_UDP, -1, 6), policy.want(PROTO_UDP, 100, 6)], [200, 70, 70]);
  assert.deepEqual([policy.want(PROTO_WS, -1, 4), policy.want(PROTO_WS, 3, 4), policy.want(PROTO_WS, 50, 4)], [10, 3, 10]);
  assert.deepEqual([policy.interval(PROTO_HTTP), policy.interval(PROTO_UDP), policy.interval(PROTO_WS)], [1800, 1800, 120]);
  assert.equal(REFUSAL_TEXT.length, REFUSAL_BYTES.length);
});
