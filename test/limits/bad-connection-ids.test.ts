import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadConnectionIds, BAD_ID_ANSWER, BAD_ID_BAN, BAD_ID_IGNORE } from '../../src/limits/bad-connection-ids.ts';

const T0 = 1_800_000_000_000;
const a = Uint8Array.from([198, 51, 100, 1]);

test('the first errors are answered, then the source is ignored for the ban, then answered again', () => {
  const b = new BadConnectionIds({ answered: 3, banSeconds: 60, rowCells: 1024 });
  const seen = [];
  for (let i = 0; i < 6; i++) seen.push(b.check(4, a, 0, T0 + i));
  assert.deepEqual(seen, [BAD_ID_ANSWER, BAD_ID_ANSWER, BAD_ID_ANSWER, BAD_ID_BAN, BAD_ID_IGNORE, BAD_ID_IGNORE]);
  assert.equal(b.answeredCount, 3);
  assert.equal(b.ignoredCount, 3);
  assert.equal(b.banCount, 1);
  // still banned 59 s later; another source is not
  assert.equal(b.check(4, a, 0, T0 + 59_000), BAD_ID_IGNORE);
  assert.equal(b.check(4, Uint8Array.from([198, 51, 100, 2]), 0, T0 + 59_000), BAD_ID_ANSWER);
  // after the ban, the budget has refilled
  for (let i = 0; i < 3; i++) assert.equal(b.check(4, a, 0, T0 + 61_000), BAD_ID_ANSWER);
  assert.equal(b.check(4, a, 0, T0 + 61_000), BAD_ID_BAN);
  assert.equal(b.banCount, 2);
});

test('a client that reuses one expired ID now and then is always answered', () => {
  const b = new BadConnectionIds({ answered: 5, banSeconds: 600, rowCells: 1024 });
  // one bad request every two minutes (the ID expires, the client gets the error and reconnects)
  for (let i = 0; i < 100; i++) assert.equal(b.check(4, a, 0, T0 + i * 120_000), BAD_ID_ANSWER);
  assert.equal(b.banCount, 0);
});

test('IPv6 sources are their /64; views share the bans', () => {
  const b = new BadConnectionIds({ answered: 1, banSeconds: 30 });
  const view = new BadConnectionIds(b.shared());
  const x = Uint8Array.from(Buffer.from('20010db8000000070000000000000001', 'hex'));
  const y = Uint8Array.from(Buffer.from('20010db800000007ffffffffffffffff', 'hex'));
  assert.equal(b.check(6, x, 0, T0), BAD_ID_ANSWER);
  assert.equal(view.check(6, y, 0, T0), BAD_ID_BAN);
  assert.equal(view.banCount, 1);
  assert.throws(() => new BadConnectionIds({ answered: 0, banSeconds: 30 }), RangeError);
});

test('a source never seen before is answered whatever the clock reads', () => {
  for (let k = 0; k < 2000; k++) {
    const b = new BadConnectionIds({ answered: 10, banSeconds: 600, rowCells: 1 });
    assert.equal(b.check(4, a, 0, T0 + k * 7_654_321.123), BAD_ID_ANSWER, String(k));
  }
});
