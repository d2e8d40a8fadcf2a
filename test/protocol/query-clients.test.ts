// The announce parser against query strings as real clients and tracker-list checkers send them
// (test/helpers/client-queries.ts): none is refused, and what was ignored or defaulted is in q.lenient.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_COMPLETED, EVENT_NONE, EVENT_PAUSED, EVENT_STARTED, EVENT_STOPPED } from '../../src/protocol/events.ts';
import { AnnounceQuery, LENIENT_NAMES, QUERY_ERROR_NAMES, QUERY_OK, parseAnnounceQuery } from '../../src/protocol/query.ts';
import { CLIENT_QUERIES } from '../helpers/client-queries.ts';

const EVENTS: Record<string, number> = {
  none: EVENT_NONE,
  started: EVENT_STARTED,
  completed: EVENT_COMPLETED,
  stopped: EVENT_STOPPED,
  paused: EVENT_PAUSED,
};

function namesOf(bits: number): string[] {
  return LENIENT_NAMES.filter((_, i) => (bits & (1 << i)) !== 0);
}

test('every real client query is answered, with what it means', () => {
  // bytes that need escaping in every scheme, but no space (Python would send it as '+')
  const hash = Buffer.from('00ff7e2d252641263d2b0a0d5b5d3a2f3f23c3a9', 'hex');
  const peerId = Buffer.from('-XX1000-\x01\x02%&=+_ab~cd', 'latin1');
  const q = new AnnounceQuery();
  for (const c of CLIENT_QUERIES) {
    const s = c.build(hash, peerId, 51413);
    const buf = Buffer.from(s + ' HTTP/1.1', 'latin1');
    const r = parseAnnounceQuery(buf, 0, s.length, q);
    assert.equal(QUERY_ERROR_NAMES[r], QUERY_ERROR_NAMES[QUERY_OK], c.client);
    assert.ok(q.infoHash.equals(hash), c.client);
    assert.equal(q.port, 51413, c.client);
    assert.equal(q.left, c.expect.left, c.client);
    assert.equal(q.event, EVENTS[c.expect.event], c.client);
    assert.equal(q.numwant, c.expect.numwant, c.client);
    assert.deepEqual(namesOf(q.lenient), c.expect.lenient, c.client);
    if (!c.expect.lenient.includes('peer_id') && s.includes('peer_id=')) assert.ok(q.hasPeerId && q.peerId.equals(peerId), c.client);
  }
});

test('the table covers what the issue names', () => {
  const all = CLIENT_QUERIES.map((c) => c.build(Buffer.alloc(20, 0x61), Buffer.alloc(20, 0x62), 1)).join('&');
  for (const needle of [
    'event=paused',
    'numwant=-1',
    '&key=',
    'trackerid=',
    'supportcrypto=',
    'corrupt=',
    'no_peer_id=',
    'ipv4=',
    'ipv6=None',
    'ipv6=%5B',
    'ip=example.com',
    'uploaded=abc',
    'left=-1',
    'downloaded=x',
    '&left=&',
  ]) {
    assert.ok(all.includes(needle), needle);
  }
  for (const who of ['qBittorrent', 'Deluge', 'Transmission', 'uTorrent', 'aria2', 'Vuze', 'WebTorrent', 'rtorrent', 'newTrackon']) {
    assert.ok(
      CLIENT_QUERIES.some((c) => c.client.includes(who)),
      who,
    );
  }
});
