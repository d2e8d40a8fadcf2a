import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLift, checkNotice, parseInfoHash } from '../../src/notices/notice.ts';

const HEX = '0123456789abcdef0123456789abcdef01234567';
// The same 20 bytes in base32 (RFC 4648).
const BASE32 = base32(Buffer.from(HEX, 'hex'));

function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

test('an info hash is read from hex (either case), base32 (either case) and magnet links', () => {
  assert.equal(BASE32.length, 32);
  for (const text of [
    HEX,
    HEX.toUpperCase(),
    BASE32,
    BASE32.toLowerCase(),
    ` ${HEX} `,
    `magnet:?xt=urn:btih:${HEX}&dn=some+name`,
    `magnet:?dn=x&xt=urn:btih:${BASE32}`,
    `MAGNET:?xt=urn:btih:${HEX.toUpperCase()}`,
  ]) {
    assert.deepEqual(parseInfoHash(text), { hex: HEX }, text);
  }
});

test('what is not an info hash says why', () => {
  const error = (t: string) => ('error' in parseInfoHash(t) ? (parseInfoHash(t) as { error: string }).error : '');
  assert.match(error(HEX.slice(1)), /not an info hash/);
  assert.match(error(HEX + '0'), /not an info hash/);
  assert.match(error('g'.repeat(40)), /not an info hash/);
  assert.match(error('1'.repeat(32)), /not an info hash/); // 1 is not a base32 digit
  assert.match(error('a'.repeat(64)), /v2/);
  assert.match(error('magnet:?dn=x'), /without an xt=urn:btih/);
  assert.match(error('magnet:?xt=urn:btih:xyz'), /btih is not/);
});

const good = { id: 'DMCA-2024.001', received: '2024-03-01', sender: 'Agency', on_behalf_of: 'Studio', hashes: [HEX], note: 'line 1\nline 2' };

test('a good notice is kept as given, hashes as lowercase hex with repeats', () => {
  const r = checkNotice({ ...good, hashes: [HEX, HEX.toUpperCase(), BASE32] });
  assert.ok('notice' in r);
  assert.deepEqual(r.notice, { ...good, hashes: [HEX, HEX, HEX] });
  const timed = checkNotice({ ...good, received: '2024-03-01T10:00:00+02:00' });
  assert.ok('notice' in timed && timed.notice.received === '2024-03-01T08:00:00.000Z');
});

test('every bad field of a notice gets its own error naming it', () => {
  const r = checkNotice({ id: 'bad id/..', received: '2024-02-30', sender: '', hashes: [HEX, 'nope', 42], note: 7, extra: 1 }, Date.parse('2024-06-01'));
  assert.ok('errors' in r);
  const fields = r.errors.map((e) => e.field).sort();
  assert.deepEqual(fields, ['extra', 'hashes[1]', 'hashes[2]', 'id', 'note', 'on_behalf_of', 'received', 'sender']);
  assert.match(r.errors.find((e) => e.field === 'hashes[1]')!.message, /"nope" is not an info hash/);
  assert.match(r.errors.find((e) => e.field === 'on_behalf_of')!.message, /required/);
});

test('dates: no future, no impossible days, no other formats; hashes: not empty, not too many errors listed', () => {
  const now = Date.parse('2024-06-01T00:00:00Z');
  for (const received of ['2024-06-03', '03/01/2024', '2024-13-01', 20240301]) {
    const r = checkNotice({ ...good, received }, now);
    assert.ok('errors' in r && r.errors[0]!.field === 'received', String(received));
  }
  const none = checkNotice({ ...good, hashes: [] });
  assert.ok('errors' in none && /at least one/.test(none.errors[0]!.message));
  const many = checkNotice({ ...good, hashes: Array(50).fill('x') });
  assert.ok('errors' in many);
  assert.equal(many.errors.length, 21);
  assert.match(many.errors[20]!.message, /30 more entries/);
  assert.ok('errors' in checkNotice([good]));
  assert.ok('errors' in checkNotice({ ...good, id: 'x'.repeat(65) }));
});

test('a lift needs a reason; its hashes are optional', () => {
  assert.deepEqual(checkLift({ reason: 'counter-notice' }), { lift: { reason: 'counter-notice', hashes: null } });
  assert.deepEqual(checkLift({ reason: 'r', hashes: [BASE32] }), { lift: { reason: 'r', hashes: [HEX] } });
  const bad = checkLift({ hashes: ['x'], why: 1 });
  assert.ok('errors' in bad);
  assert.deepEqual(bad.errors.map((e) => e.field).sort(), ['hashes[0]', 'reason', 'why']);
});
