import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseWsMessage, isBinaryString20, announceReply, offerMessage, answerMessage, scrapeReply, failureMessage } from '../../src/protocol/ws-messages.ts';
import { EVENT_NONE, EVENT_STARTED, EVENT_STOPPED } from '../../src/protocol/events.ts';

const hash = '\u0000\u00ff\u0080abcdefghijklmnopq';
const peer = 'peer-id-0123456789ab';
const parse = (m: unknown) => parseWsMessage(typeof m === 'string' ? m : JSON.stringify(m), 10, 5);

test('binary strings: 20 code units of 0..255 only', () => {
  assert.ok(isBinaryString20(hash));
  assert.ok(!isBinaryString20(hash.slice(1)));
  assert.ok(!isBinaryString20(hash.slice(1) + '\u0100'));
  assert.ok(!isBinaryString20(42));
});

test('an announce with offers: the fields, missing ones defaulted', () => {
  const m = parse({
    action: 'announce',
    info_hash: hash,
    peer_id: peer,
    event: 'started',
    left: 0,
    numwant: 3,
    offers: [{ offer_id: 'o'.repeat(20), offer: { type: 'offer', sdp: 's' } }],
  });
  assert.deepEqual(m, {
    action: 'announce',
    infoHash: hash,
    peerId: peer,
    event: EVENT_STARTED,
    seeder: true,
    numwant: 3,
    offers: [{ offerId: 'o'.repeat(20), offer: { type: 'offer', sdp: 's' } }],
    offersSent: 1,
    answer: null,
  });
  const bare = parse({ action: 'announce', info_hash: hash, peer_id: peer });
  assert.equal(bare.action, 'announce');
  if (bare.action === 'announce') {
    assert.equal(bare.event, EVENT_NONE);
    assert.equal(bare.seeder, false, 'no left (a magnet link): a leecher');
    assert.equal(bare.numwant, -1);
  }
});

test('malformed offers are skipped, not fatal (bittorrent-tracker sends fake ones in its tests)', () => {
  const m = parse({ action: 'announce', info_hash: hash, peer_id: peer, offers: [{ fake_offer: 'x' }, { offer_id: 'short', offer: {} }, null] });
  assert.equal(m.action, 'announce');
  if (m.action === 'announce') {
    assert.deepEqual(m.offers, []);
    assert.equal(m.offersSent, 3);
  }
});

test('an answer needs to_peer_id, offer_id and an answer object', () => {
  const m = parse({
    action: 'announce',
    info_hash: hash,
    peer_id: peer,
    to_peer_id: 't'.repeat(20),
    offer_id: 'o'.repeat(20),
    answer: { type: 'answer', sdp: 'a' },
  });
  assert.equal(m.action, 'announce');
  if (m.action === 'announce') assert.deepEqual(m.answer, { toPeerId: 't'.repeat(20), offerId: 'o'.repeat(20), sdp: { type: 'answer', sdp: 'a' } });
  assert.equal(
    (parse({ action: 'announce', info_hash: hash, peer_id: peer, to_peer_id: 'x', offer_id: 'o'.repeat(20), answer: {} }) as { reason: string }).reason,
    'invalid to_peer_id',
  );
});

test('refusals name the reason, and the info_hash when there was a good one', () => {
  assert.deepEqual(parse('nope'), { action: 'error', reason: 'invalid JSON', infoHash: null, tooManyOffers: false });
  assert.equal((parse([1]) as { reason: string }).reason, 'a message must be a JSON object');
  assert.equal((parse({ action: 'dance' }) as { reason: string }).reason, 'invalid action');
  assert.deepEqual(parse({ action: 'announce', info_hash: hash, peer_id: 'x' }), {
    action: 'error',
    reason: 'invalid peer_id',
    infoHash: hash,
    tooManyOffers: false,
  });
  assert.equal((parse({ action: 'announce', info_hash: hash, peer_id: peer, event: 'paused' }) as { reason: string }).reason, 'invalid event');
  assert.equal((parse({ action: 'announce', info_hash: hash, peer_id: peer, numwant: -1 }) as { reason: string }).reason, 'invalid numwant');
  const many = parse({ action: 'announce', info_hash: hash, peer_id: peer, offers: Array(11).fill({}) });
  assert.deepEqual(many, { action: 'error', reason: 'too many offers (at most 10)', infoHash: hash, tooManyOffers: true });
});

test('scrape: one hash, a list, none (a full scrape), at most maxScrapeHashes', () => {
  assert.deepEqual(parse({ action: 'scrape', info_hash: hash }), { action: 'scrape', infoHashes: [hash] });
  assert.deepEqual(parse({ action: 'scrape', info_hash: [hash, hash] }), { action: 'scrape', infoHashes: [hash, hash] });
  assert.deepEqual(parse({ action: 'scrape' }), { action: 'scrape', infoHashes: [] });
  assert.equal((parse({ action: 'scrape', info_hash: Array(6).fill(hash) }) as { reason: string }).reason, 'too many info hashes (at most 5)');
  assert.equal((parse({ action: 'scrape', info_hash: ['x'] }) as { reason: string }).reason, 'invalid info_hash');
});

test('every reply names its info_hash and survives a JSON round trip byte for byte', () => {
  assert.deepEqual(JSON.parse(announceReply(hash, 1, 2, 120)), { action: 'announce', interval: 120, info_hash: hash, complete: 1, incomplete: 2 });
  assert.equal(JSON.parse(offerMessage(hash, peer, 'o'.repeat(20), { sdp: 1 })).info_hash, hash);
  assert.equal(JSON.parse(answerMessage(hash, peer, 'o'.repeat(20), { sdp: 1 })).info_hash, hash);
  assert.deepEqual(JSON.parse(scrapeReply([{ infoHash: hash, complete: 1, incomplete: 0, downloaded: 3 }], 120)).files, {
    [hash]: { complete: 1, incomplete: 0, downloaded: 3 },
  });
  assert.deepEqual(JSON.parse(failureMessage('no', 'announce', hash)), { 'failure reason': 'no', action: 'announce', info_hash: hash });
  assert.deepEqual(JSON.parse(failureMessage('no', null, null)), { 'failure reason': 'no' });
});

test('any input is a request or a refusal, never an exception', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.json(),
        fc.jsonValue().map((v) => JSON.stringify({ action: 'announce', info_hash: hash, peer_id: peer, offers: v, numwant: v, event: v, answer: v })),
      ),
      (text) => {
        const m = parseWsMessage(text, 10, 5);
        assert.ok(m.action === 'announce' || m.action === 'scrape' || m.action === 'error');
      },
    ),
  );
});

test('event stopped is recognised', () => {
  const m = parse({ action: 'announce', info_hash: hash, peer_id: peer, event: 'stopped' });
  assert.equal(m.action === 'announce' && m.event, EVENT_STOPPED);
});
