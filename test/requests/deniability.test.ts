import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deniability } from '../../src/requests/deniability.ts';
import { startTestTracker, infoHash, percentEncode } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { decode } from '../../src/protocol/bencode.ts';

function peers4(buf: Uint8Array, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(`${buf[i * 6]}.${buf[i * 6 + 1]}.${buf[i * 6 + 2]}.${buf[i * 6 + 3]}`);
  return out;
}

test('decoys are added below numwant, drawn from the ranges, and shuffled in', () => {
  const d = new Deniability(20, ['198.18.0.0/15', '2001:db8::/32']);
  const out = new Uint8Array(50 * 6);
  for (let i = 0; i < 40; i++) out.set([10, 0, 0, i + 1, 0x1a, 0xe1], i * 6);
  const n = d.mix(out, 0, 40, 50, 4);
  assert.equal(n, 50);
  const all = peers4(out, n);
  const decoys = all.filter((a) => a.startsWith('198.18.') || a.startsWith('198.19.'));
  assert.equal(decoys.length, 10);
  assert.equal(all.filter((a) => a.startsWith('10.0.0.')).length, 40, 'every real peer is still there');
  assert.notDeepEqual(all.slice(40).sort(), decoys.sort(), 'decoys are not just appended');
});

test('at numwant, some real peers give way; IPv6 lists get IPv6 decoys; no ranges, no decoys', () => {
  const d = new Deniability(10, ['2001:db8::/32']);
  const out6 = new Uint8Array(20 * 18);
  assert.equal(d.mix(out6, 0, 20, 20, 6), 20);
  let decoys = 0;
  for (let i = 0; i < 20; i++) if (out6[i * 18] === 0x20 && out6[i * 18 + 1] === 0x01 && out6[i * 18 + 2] === 0x0d) decoys++;
  assert.equal(decoys, 2);
  const out4 = new Uint8Array(60);
  assert.equal(d.mix(out4, 0, 3, 10, 4), 3, 'no IPv4 range: IPv4 lists stay as they are');
});

test('a tracker with deniability on mixes decoys into real answers', async () => {
  const tracker = await startTestTracker({ deniabilityPercent: 50, deniabilityRanges: ['198.18.0.0/15'] });
  try {
    const hash = infoHash('deny');
    for (let p = 1; p <= 4; p++) await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(hash)}&port=${p}&left=1`);
    const d = decode((await get('127.0.0.1', tracker.tcp4, `/announce?info_hash=${percentEncode(hash)}&port=9&left=1`)).body) as Map<string, Uint8Array>;
    const list = peers4(d.get('peers')!, d.get('peers')!.length / 6);
    assert.equal(list.length, 8);
    assert.equal(list.filter((a) => a === '127.0.0.1').length, 4);
  } finally {
    await tracker.close();
  }
});
