import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestTracker, infoHash, percentEncode } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { decode } from '../../src/protocol/bencode.ts';
import { NetworkList } from '../../src/net/networks.ts';

test('network lists match by prefix and family', () => {
  const list = new NetworkList(['10.0.0.0/8', '192.0.2.128/25', '2001:db8::/32', '127.0.0.1/32']);
  const v4 = (s: string) => Uint8Array.from(s.split('.').map(Number));
  assert.ok(list.contains(4, v4('10.200.1.1')));
  assert.ok(list.contains(4, v4('192.0.2.200')));
  assert.ok(!list.contains(4, v4('192.0.2.127')));
  assert.ok(list.contains(4, v4('127.0.0.1')));
  assert.ok(!list.contains(4, v4('127.0.0.2')));
  const v6 = Buffer.alloc(16);
  v6.writeUInt32BE(0x20010db8, 0);
  assert.ok(list.contains(6, v6));
  assert.ok(!list.contains(4, v6), 'families never mix');
  assert.ok(new NetworkList([]).empty);
});

describe('behind a reverse proxy', () => {
  let tracker: TestTracker;
  before(async () => {
    tracker = await startTestTracker({ proxyNetworks: ['127.0.0.1/32'], statsNetworks: ['198.51.100.9/32'] });
  });
  after(() => tracker.close());

  /** Announces with extra headers, then returns the peers a fresh IPv6 client sees. */
  async function storedAs(label: string, headers: string, host = '127.0.0.1'): Promise<string[]> {
    const hash = infoHash(label);
    await get(host, host === '::1' ? tracker.tcp6 : tracker.tcp4, `/announce?info_hash=${percentEncode(hash)}&port=1111&left=1`, headers);
    const d = decode((await get('::1', tracker.tcp6, `/announce?info_hash=${percentEncode(hash)}&port=2222&left=1`)).body) as Map<string, Uint8Array>;
    const out: string[] = [];
    const p4 = Buffer.from(d.get('peers') ?? new Uint8Array());
    for (let o = 0; o < p4.length; o += 6) out.push(`${p4[o]}.${p4[o + 1]}.${p4[o + 2]}.${p4[o + 3]}`);
    const p6 = Buffer.from(d.get('peers6') ?? new Uint8Array());
    for (let o = 0; o < p6.length; o += 18) if (p6.readUInt16BE(o + 16) === 1111) out.push(p6.subarray(o, o + 16).toString('hex'));
    return out;
  }

  test('X-Forwarded-For from a trusted proxy names the client', async () => {
    assert.deepEqual(await storedAs('xff', 'X-Forwarded-For: 203.0.113.7\r\n'), ['203.0.113.7']);
  });

  test('in a chain, the right-most address that is not a trusted proxy counts', async () => {
    assert.deepEqual(await storedAs('chain', 'X-Forwarded-For: 6.6.6.6, 203.0.113.8, 127.0.0.1\r\n'), ['203.0.113.8']);
  });

  test('Forwarded (RFC 7239) and X-Real-IP work too', async () => {
    assert.deepEqual(await storedAs('fwd', 'Forwarded: for="[2001:db8::5]:4711";proto=https\r\n'), ['20010db8000000000000000000000005']);
    assert.deepEqual(await storedAs('real', 'X-Real-IP: 203.0.113.9\r\n'), ['203.0.113.9']);
  });

  test('from an untrusted address the headers are ignored', async () => {
    assert.deepEqual(await storedAs('untrusted', 'X-Forwarded-For: 203.0.113.10\r\n', '::1'), ['00000000000000000000000000000001']);
  });

  test("garbage in the header falls back to the proxy's own address", async () => {
    assert.deepEqual(await storedAs('garbage', 'X-Forwarded-For: not-an-address\r\n'), ['127.0.0.1']);
  });

  test('stats are refused outside access.stats, and allowed for a client the proxy names', async () => {
    assert.equal((await get('127.0.0.1', tracker.tcp4, '/stats?mode=peer')).status, 403);
    assert.equal((await get('::1', tracker.tcp6, '/stats?mode=peer')).status, 403);
    assert.equal((await get('127.0.0.1', tracker.tcp4, '/stats?mode=peer', 'X-Forwarded-For: 198.51.100.9\r\n')).status, 200);
    assert.ok(tracker.counters().http_forbidden >= 2);
  });
});
