// Batched UDP I/O on real sockets, for both implementations: the native recvmmsg/sendmmsg addon
// and the node:dgram fallback. Without the addon the native suite is skipped (with the reason),
// unless CI=true: then it runs and fails.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { Batch, UdpBatchSocket } from '../../src/io/udp-batch.ts';
import { ADDR_SIZE, SLOT_SIZE } from '../../src/io/udp-batch.ts';
import { nativeUdpStatus, openUdpBatchSocket } from '../../src/io/udp-socket.ts';
import { slotToAddress, writeAddressSlot } from '../../src/io/udp-dgram.ts';

const BATCH_URL = new URL('../../src/io/udp-batch.ts', import.meta.url).href;
const SOCKET_URL = new URL('../../src/io/udp-socket.ts', import.meta.url).href;
const native = nativeUdpStatus();
const nativeSkip = native.available || process.env.CI === 'true' ? false : `native UDP addon not available: ${native.reason}`;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

// Echo: every received datagram goes back to its sender (truncated ones: the bytes we have).
function echo(rx: Batch, tx: Batch): void {
  for (let i = 0; i < rx.count; i++) {
    const len = Math.min(rx.lengths[i]!, SLOT_SIZE);
    rx.data.copy(tx.data, i * SLOT_SIZE, i * SLOT_SIZE, i * SLOT_SIZE + len);
    tx.lengths[i] = len;
    rx.addrs.copy(tx.addrs, i * ADDR_SIZE, i * ADDR_SIZE, (i + 1) * ADDR_SIZE);
  }
  tx.count = rx.count;
}

function addrSlot(family: 4 | 6, port: number, bytes: number[]): Buffer {
  const b = Buffer.alloc(ADDR_SIZE);
  b[0] = family;
  b.writeUInt16BE(port, 2);
  Buffer.from(bytes).copy(b, 4);
  return b;
}
const LOOP4 = [127, 0, 0, 1];
const LOOP6 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

// Deterministic payload for datagram `seq`: its number, then a pattern, 8..1400 bytes.
function payload(seq: number): Buffer {
  const len = 8 + ((seq * 7919) % 1393);
  const b = Buffer.alloc(len);
  b.writeUInt32BE(seq, 0);
  for (let i = 4; i < len; i++) b[i] = (seq + i) & 0xff;
  return b;
}

// A client batch socket that records every reply by sequence number.
async function client(io: 'native' | 'dgram', host: string) {
  const replies = new Map<number, Buffer>();
  const froms: Buffer[] = [];
  const sock = await openUdpBatchSocket({ host, port: 0, io }, (rx) => {
    for (let i = 0; i < rx.count; i++) {
      const len = Math.min(rx.lengths[i]!, SLOT_SIZE);
      const d = Buffer.from(rx.data.subarray(i * SLOT_SIZE, i * SLOT_SIZE + len));
      replies.set(d.readUInt32BE(0), d);
      froms.push(Buffer.from(rx.addrs.subarray(i * ADDR_SIZE, (i + 1) * ADDR_SIZE)));
    }
  });
  return { sock, replies, froms };
}

// Sends datagrams first..first+count-1 from `sock` to `to` in bursts of `burst` (one send()
// each), waiting for each burst's replies before the next (closed loop: nothing is dropped).
async function exchange(sock: UdpBatchSocket, replies: Map<number, Buffer>, to: Buffer, first: number, count: number, burst = 32) {
  const batch = sock.newBatch();
  for (let base = first; base < first + count; base += burst) {
    const n = Math.min(burst, first + count - base, batch.capacity);
    for (let i = 0; i < n; i++) {
      const p = payload(base + i);
      p.copy(batch.data, i * SLOT_SIZE);
      batch.lengths[i] = p.length;
      to.copy(batch.addrs, i * ADDR_SIZE);
    }
    batch.count = n;
    assert.equal(sock.send(batch), n);
    await waitFor(`replies ${base}..${base + n - 1}`, () => {
      for (let i = 0; i < n; i++) if (!replies.has(base + i)) return false;
      return true;
    });
  }
  for (let seq = first; seq < first + count; seq++) assert.deepEqual(replies.get(seq), payload(seq), `reply ${seq}`);
}

// Runs `code` (an ES module body) in a child Node; resolves with its exit code and output.
function runChild(code: string, ms = 10_000): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

describe('address slots (dgram helpers)', () => {
  it('parses textual addresses into the 20-byte slot layout', () => {
    const b = Buffer.alloc(ADDR_SIZE);
    assert.equal(writeAddressSlot('192.0.2.7', 6881, b, 0), true);
    assert.deepEqual(b, addrSlot(4, 6881, [192, 0, 2, 7]));
    assert.equal(writeAddressSlot('::ffff:192.0.2.7', 6881, b, 0), true);
    assert.deepEqual(b, addrSlot(4, 6881, [192, 0, 2, 7]), 'v4-mapped becomes family 4');
    assert.equal(writeAddressSlot('::FFFF:c000:0207', 1, b, 0), true);
    assert.deepEqual(b, addrSlot(4, 1, [192, 0, 2, 7]));
    assert.equal(writeAddressSlot('2001:db8::1', 65535, b, 0), true);
    assert.deepEqual(b, addrSlot(6, 65535, [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
    assert.equal(writeAddressSlot('fe80::1%lo', 2, b, 0), true);
    assert.deepEqual(b, addrSlot(6, 2, [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
    assert.equal(writeAddressSlot('::', 3, b, 0), true);
    assert.deepEqual(b, addrSlot(6, 3, []));
    assert.equal(writeAddressSlot('1:2:3:4:5:6:7:8', 4, b, 0), true);
    assert.deepEqual(b, addrSlot(6, 4, [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]));
    for (const bad of ['1.2.3', '1.2.3.256', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '', 'localhost']) {
      assert.equal(writeAddressSlot(bad, 5, b, 0), false, bad);
      assert.deepEqual(b, Buffer.alloc(ADDR_SIZE), bad);
    }
  });

  it('turns slots back into text for the socket family', () => {
    assert.equal(slotToAddress(addrSlot(4, 1, [10, 1, 2, 3]), 0, 4), '10.1.2.3');
    assert.equal(slotToAddress(addrSlot(4, 1, [10, 1, 2, 3]), 0, 6), '::ffff:10.1.2.3');
    assert.equal(slotToAddress(addrSlot(6, 1, LOOP6), 0, 6), '0:0:0:0:0:0:0:1');
    assert.equal(slotToAddress(addrSlot(6, 1, LOOP6), 0, 4), null);
    assert.equal(slotToAddress(Buffer.alloc(ADDR_SIZE), 0, 6), null);
  });
});

describe('nativeUdpStatus', () => {
  it('says whether the addon loaded, and why not', () => {
    const s = nativeUdpStatus();
    assert.equal(typeof s.available, 'boolean');
    assert.ok(s.reason.length > 0);
  });
});

for (const io of ['native', 'dgram'] as const) {
  describe(`udp batch sockets, io: ${io}`, { skip: io === 'native' ? nativeSkip : false }, () => {
    it('reports its implementation and address', async () => {
      const s = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io }, () => {});
      assert.equal(s.io, io === 'native' ? 'recvmmsg' : 'dgram');
      const a = s.address();
      assert.equal(a.address, '127.0.0.1');
      assert.equal(a.family, 'IPv4');
      assert.ok(a.port > 0);
      assert.equal(s.newBatch().capacity, 64);
      assert.equal(s.newBatch().data.length, 64 * SLOT_SIZE);
      await s.close();
      await s.close(); // twice is fine
    });

    it('echoes many datagrams in batches on 127.0.0.1', async () => {
      let maxBatch = 0;
      const seen: Buffer[] = [];
      const server = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io, batchSize: 64 }, (rx, tx) => {
        maxBatch = Math.max(maxBatch, rx.count);
        seen.push(Buffer.from(rx.addrs.subarray(0, ADDR_SIZE)));
        echo(rx, tx);
      });
      const c = await client(io, '127.0.0.1');
      try {
        const port = server.address().port;
        await exchange(c.sock, c.replies, addrSlot(4, port, LOOP4), 0, 2000);
        assert.equal(server.counters.received, 2000);
        assert.equal(server.counters.sent, 2000);
        assert.equal(server.counters.sendErrors, 0);
        assert.equal(server.counters.truncated, 0);
        assert.equal(server.counters.handlerErrors, 0);
        assert.ok(server.counters.batches < 2000, `batches: ${server.counters.batches}`);
        assert.ok(maxBatch > 1, 'datagrams sent together arrive as one batch');
        assert.deepEqual(seen[0], addrSlot(4, c.sock.address().port, LOOP4), 'the server sees the client');
        assert.deepEqual(c.froms[0], addrSlot(4, port, LOOP4), 'the client sees the server');
        assert.equal(c.sock.counters.sent, 2000);
        assert.equal(c.sock.counters.received, 2000);
        assert.deepEqual(JSON.parse(JSON.stringify(server.counters)), { ...server.counters });
      } finally {
        await c.sock.close();
        await server.close();
      }
    });

    it('echoes over IPv6 (::1)', async () => {
      const seen: Buffer[] = [];
      const server = await openUdpBatchSocket({ host: '::1', port: 0, io }, (rx, tx) => {
        seen.push(Buffer.from(rx.addrs.subarray(0, ADDR_SIZE)));
        echo(rx, tx);
      });
      const c = await client(io, '::1');
      try {
        assert.equal(server.address().family, 'IPv6');
        assert.equal(server.address().address, '::1');
        await exchange(c.sock, c.replies, addrSlot(6, server.address().port, LOOP6), 0, 300);
        assert.deepEqual(seen[0], addrSlot(6, c.sock.address().port, LOOP6));
        assert.deepEqual(c.froms[0], addrSlot(6, server.address().port, LOOP6));
      } finally {
        await c.sock.close();
        await server.close();
      }
    });

    it("normalises IPv4 clients of a dual-stack '::' socket to family 4, and answers them", async () => {
      const seen: Buffer[] = [];
      const server = await openUdpBatchSocket({ host: '::', port: 0, io }, (rx, tx) => {
        for (let i = 0; i < rx.count; i++) seen.push(Buffer.from(rx.addrs.subarray(i * ADDR_SIZE, (i + 1) * ADDR_SIZE)));
        echo(rx, tx);
      });
      const c4 = await client(io, '127.0.0.1');
      const c6 = await client(io, '::1');
      try {
        const port = server.address().port;
        await exchange(c4.sock, c4.replies, addrSlot(4, port, LOOP4), 0, 100);
        assert.deepEqual(seen[0], addrSlot(4, c4.sock.address().port, LOOP4), 'family 4, not ::ffff:127.0.0.1');
        assert.deepEqual(c4.froms[0], addrSlot(4, port, LOOP4));
        seen.length = 0;
        await exchange(c6.sock, c6.replies, addrSlot(6, port, LOOP6), 100, 100);
        assert.deepEqual(seen[0], addrSlot(6, c6.sock.address().port, LOOP6));
      } finally {
        await c4.sock.close();
        await c6.sock.close();
        await server.close();
      }
    });

    it('ipv6Only leaves the IPv4 port free; without it, the dual-stack socket holds it', async () => {
      const only = await openUdpBatchSocket({ host: '::', port: 0, io, ipv6Only: true }, () => {});
      const v4 = await openUdpBatchSocket({ host: '0.0.0.0', port: only.address().port, io }, () => {});
      await v4.close();
      await only.close();
      const dual = await openUdpBatchSocket({ host: '::', port: 0, io }, () => {});
      await assert.rejects(
        openUdpBatchSocket({ host: '0.0.0.0', port: dual.address().port, io }, () => {}),
        {
          code: 'EADDRINUSE',
        },
      );
      await dual.close();
    });

    it('reports a datagram larger than SLOT_SIZE with its real length, and counts it', async () => {
      const got: { len: number; head: Buffer }[] = [];
      const server = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io }, (rx) => {
        for (let i = 0; i < rx.count; i++) {
          got.push({ len: rx.lengths[i]!, head: Buffer.from(rx.data.subarray(i * SLOT_SIZE, (i + 1) * SLOT_SIZE)) });
        }
      });
      const plain = createSocket('udp4');
      try {
        const big = Buffer.alloc(3000);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
        const exact = Buffer.alloc(SLOT_SIZE, 0xab);
        plain.send(big, server.address().port, '127.0.0.1');
        await waitFor('the big datagram', () => got.length === 1);
        plain.send(exact, server.address().port, '127.0.0.1');
        await waitFor('the exact datagram', () => got.length === 2);
        assert.equal(got[0]!.len, 3000);
        assert.deepEqual(got[0]!.head, big.subarray(0, SLOT_SIZE));
        assert.equal(got[1]!.len, SLOT_SIZE);
        assert.deepEqual(got[1]!.head, exact);
        assert.equal(server.counters.truncated, 1);
        assert.equal(server.counters.received, 2);
      } finally {
        plain.close();
        await server.close();
      }
    });

    it('lets two reusePort sockets share a port (and refuses a second bind without it)', async () => {
      const a = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io, reusePort: true }, echo);
      const port = a.address().port;
      const b = await openUdpBatchSocket({ host: '127.0.0.1', port, io, reusePort: true }, echo);
      await assert.rejects(openUdpBatchSocket({ host: '127.0.0.1', port, io }, echo), { code: 'EADDRINUSE' });
      const clients: Socket[] = [];
      let replies = 0;
      try {
        for (let i = 0; i < 64; i++) {
          const s = createSocket('udp4');
          s.on('message', () => replies++);
          clients.push(s);
          await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
          s.send(Buffer.from(`hello ${i}`), port, '127.0.0.1');
        }
        await waitFor('64 replies', () => replies === 64);
        assert.equal(a.counters.received + b.counters.received, 64);
        assert.ok(a.counters.received > 0 && b.counters.received > 0, 'the kernel spreads clients over both');
      } finally {
        for (const s of clients) s.close();
        await a.close();
        await b.close();
      }
    });

    it('send() returns how many were sent and skips (and counts) slots it cannot send', async () => {
      const got: number[] = [];
      const server = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io }, (rx) => {
        for (let i = 0; i < rx.count; i++) got.push(rx.lengths[i]!);
      });
      const c = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io }, () => {});
      try {
        const batch = c.newBatch();
        const to = addrSlot(4, server.address().port, LOOP4);
        for (let i = 0; i < 5; i++) to.copy(batch.addrs, i * ADDR_SIZE);
        batch.lengths.set([10, -1, SLOT_SIZE + 1, 0, 20]);
        addrSlot(6, server.address().port, LOOP6).copy(batch.addrs, 3 * ADDR_SIZE); // IPv6 from an IPv4 socket
        batch.count = 5;
        assert.equal(c.send(batch), 2);
        assert.equal(c.counters.sendErrors, 3);
        await waitFor('2 datagrams', () => got.length === 2);
        assert.deepEqual(got, [10, 20]);
        batch.count = 0;
        assert.equal(c.send(batch), 0);
      } finally {
        await c.close();
        await server.close();
      }
    });

    it('counts handler errors, hands them to onError, drops that batch and keeps going', async () => {
      const errors: unknown[] = [];
      const server = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io, onError: (err) => errors.push(err) }, (rx, tx) => {
        echo(rx, tx);
        for (let i = 0; i < rx.count; i++) {
          if (rx.data.toString('latin1', i * SLOT_SIZE, i * SLOT_SIZE + 4) === 'boom') throw new Error('boom');
        }
      });
      const plain = createSocket('udp4');
      const replies: string[] = [];
      plain.on('message', (m) => replies.push(m.toString()));
      try {
        const port = server.address().port;
        plain.send('boom', port, '127.0.0.1');
        await waitFor('the error', () => errors.length === 1);
        plain.send('fine', port, '127.0.0.1');
        await waitFor('the reply', () => replies.length === 1);
        assert.deepEqual(replies, ['fine']);
        assert.equal((errors[0] as Error).message, 'boom');
        assert.equal(server.counters.handlerErrors, 1);
        // a bad tx.count is a handler error too
        const bad = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io, onError: (err) => errors.push(err) }, (_rx, tx) => {
          tx.count = 1000;
        });
        plain.send('x', bad.address().port, '127.0.0.1');
        await waitFor('the second error', () => errors.length === 2);
        assert.ok(errors[1] instanceof RangeError);
        assert.equal(bad.counters.sent, 0);
        await bad.close();
      } finally {
        plain.close();
        await server.close();
      }
    });

    it('can be closed from inside its handler', async () => {
      let calls = 0;
      const server: UdpBatchSocket = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io }, (rx, tx) => {
        calls++;
        echo(rx, tx);
        void server.close();
      });
      const plain = createSocket('udp4');
      let replies = 0;
      plain.on('message', () => replies++);
      try {
        const port = server.address().port;
        for (let i = 0; i < 10; i++) plain.send('x', port, '127.0.0.1');
        await waitFor('the first batch', () => calls > 0);
        await sleep(50);
        assert.equal(calls, 1);
        assert.equal(replies, 0, 'replies of the batch that closed the socket are dropped');
        await server.close();
        // the port is free again
        const again = await openUdpBatchSocket({ host: '127.0.0.1', port, io }, () => {});
        await again.close();
      } finally {
        plain.close();
      }
    });

    it('close() lets the process exit', async () => {
      const code = `
        import { openUdpBatchSocket } from ${JSON.stringify(SOCKET_URL)};
        import { SLOT_SIZE } from ${JSON.stringify(BATCH_URL)};
        import { createSocket } from 'node:dgram';
        const s = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io: '${io}' }, (rx, tx) => {
          rx.data.copy(tx.data, 0, 0, rx.lengths[0]); tx.lengths[0] = rx.lengths[0];
          rx.addrs.copy(tx.addrs, 0, 0, 20); tx.count = 1;
        });
        const c = createSocket('udp4');
        c.on('message', async (m) => { console.log('reply ' + m); c.close(); await s.close(); console.log('closed'); });
        c.send('ping', s.address().port, '127.0.0.1');
      `;
      const r = await runChild(code);
      assert.equal(r.signal, null, `the child did not exit by itself: ${r.out}`);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /reply ping\nclosed/);
    });

    it('works in worker threads (one socket each), and survives a worker terminated with its socket open', async () => {
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        Promise.all([import(workerData.socketUrl), import(workerData.batchUrl)]).then(async ([{ openUdpBatchSocket }, { SLOT_SIZE }]) => {
          const s = await openUdpBatchSocket({ host: '127.0.0.1', port: workerData.port, io: workerData.io, reusePort: true }, (rx, tx) => {
            for (let i = 0; i < rx.count; i++) {
              const n = Math.min(rx.lengths[i], SLOT_SIZE);
              rx.data.copy(tx.data, i * SLOT_SIZE, i * SLOT_SIZE, i * SLOT_SIZE + n);
              tx.lengths[i] = n;
              rx.addrs.copy(tx.addrs, i * 20, i * 20, i * 20 + 20);
            }
            tx.count = rx.count;
          });
          parentPort.postMessage(s.address().port);
          parentPort.on('message', async (m) => { if (m === 'close') { await s.close(); parentPort.close(); } });
        });
      `;
      const start = (port: number) => {
        const w = new Worker(code, { eval: true, workerData: { socketUrl: SOCKET_URL, batchUrl: BATCH_URL, port, io } });
        const ready = new Promise<number>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        });
        return { w, ready };
      };
      const first = start(0);
      const port = await first.ready;
      const second = start(port);
      assert.equal(await second.ready, port);
      const plain = createSocket('udp4');
      let replies = 0;
      plain.on('message', () => replies++);
      try {
        for (let i = 0; i < 20; i++) plain.send(`w${i}`, port, '127.0.0.1');
        await waitFor('20 replies from the workers', () => replies === 20);
        // a worker that closes its socket exits on its own: nothing holds its loop
        const exited = new Promise<number>((resolve) => first.w.once('exit', resolve));
        first.w.postMessage('close');
        assert.equal(await exited, 0);
        // terminate() with the socket open: the addon's cleanup hook closes it
        assert.equal(await second.w.terminate(), 1);
        const again = await openUdpBatchSocket({ host: '127.0.0.1', port, io }, () => {});
        await again.close();
      } finally {
        plain.close();
      }
    });

    it('rejects bad options', async () => {
      await assert.rejects(
        openUdpBatchSocket({ host: '127.0.0.1', port: 70000, io }, () => {}),
        RangeError,
      );
      await assert.rejects(
        openUdpBatchSocket({ host: '127.0.0.1', port: 0, io, batchSize: 0 }, () => {}),
        RangeError,
      );
      await assert.rejects(
        openUdpBatchSocket({ host: '192.0.2.1', port: 0, io }, () => {}),
        { code: 'EADDRNOTAVAIL' },
      );
    });
  });
}

describe("io: 'auto'", () => {
  it('uses the addon when it loaded, else dgram', async () => {
    const s = await openUdpBatchSocket({ host: '127.0.0.1', port: 0 }, () => {});
    assert.equal(s.io, native.available ? 'recvmmsg' : 'dgram');
    await s.close();
  });
  it("io: 'native' fails clearly when the addon is not available, and 'auto' falls back to dgram", () => {
    // A separate process, where the addon's path names a missing file.
    const script = `
      const { openUdpBatchSocket, nativeUdpStatus } = await import(${JSON.stringify(SOCKET_URL)});
      const auto = await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io: 'auto' }, () => {});
      await auto.close();
      try { await openUdpBatchSocket({ host: '127.0.0.1', port: 0, io: 'native' }, () => {}); console.log('opened'); }
      catch (err) { console.log(JSON.stringify({ io: auto.io, status: nativeUdpStatus(), error: err.message })); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, SWARMD_UDP_ADDON: '/nonexistent/swarmd_udp.node' },
    });
    const out = JSON.parse(r.stdout);
    assert.equal(out.io, 'dgram');
    assert.equal(out.status.available, false);
    assert.match(out.status.reason, /not built: \/nonexistent/);
    assert.match(out.error, /not available/);
  });
});
