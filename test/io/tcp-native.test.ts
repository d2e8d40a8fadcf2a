// The native TCP layer (native/tcp_batch.c through src/io/tcp-native.ts) on real loopback
// sockets: answers in batches, keep-alive, pipelining, every handover path with its bytes intact,
// the limits (head size, connection cap, header and idle timeouts), hostile input, and the
// listen.tcp.io choice when the addon is missing. Without the addon the suite is skipped (with
// the reason), unless CI=true: then it runs and fails.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, it } from 'node:test';
import { ACTION_CLOSE, RX_SLOT, RX_STRIDE, chooseTcpIo, nativeTcpStatus, openNativeTcp } from '../../src/io/tcp-native.ts';
import { rawExchange } from '../helpers/http-client.ts';
import type { RawResponse } from '../helpers/http-client.ts';
import { startNativeTestServer } from '../helpers/tcp-native-server.ts';
import type { NativeTestServer } from '../helpers/tcp-native-server.ts';

const native = nativeTcpStatus();
const skip = native.available || process.env.CI === 'true' ? false : `native TCP addon not available: ${native.reason}`;
const HOST = '127.0.0.1';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function withServer(opts: Parameters<typeof startNativeTestServer>[0], run: (s: NativeTestServer) => Promise<void>): Promise<void> {
  const s = await startNativeTestServer(opts);
  try {
    await run(s);
  } finally {
    await s.close();
  }
}

/** A connection that collects what it receives and says when the server closed it. */
function connect(port: number, host = HOST) {
  const socket = net.connect({ port, host });
  const got: Buffer[] = [];
  socket.on('data', (d) => got.push(d));
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  const ready = new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  return { socket, got, closed, ready, text: () => Buffer.concat(got).toString('latin1') };
}

const body = (r: RawResponse) => r.body.toString('latin1');

describe('native TCP layer', { skip }, () => {
  it('answers many Connection: close clients, each with its own address', async () => {
    await withServer({}, async (s) => {
      const clients = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const c = connect(s.port);
          await c.ready;
          const local = c.socket.localPort;
          c.socket.write(`GET /c${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
          await c.closed;
          return { i, local, text: c.text() };
        }),
      );
      for (const c of clients) {
        assert.match(c.text, /^HTTP\/1\.1 200 OK\r\n/);
        assert.ok(c.text.endsWith(`\r\n\r\nnative 4 127.0.0.1 ${c.local} /c${c.i}`), c.text);
      }
      const k = s.server.counters;
      assert.equal(k.requests, 200);
      assert.equal(k.accepted, 200);
      assert.equal(k.handoverPartialHead + k.handoverAsked + k.handoverWriteBlocked, 0);
      await waitFor('every slot free', () => s.server.counters.open === 0);
    });
  });

  it('keeps a connection for several requests, and pipelined requests are answered in order', async () => {
    await withServer({}, async (s) => {
      const c = connect(s.port);
      await c.ready;
      for (let i = 1; i <= 3; i++) {
        c.socket.write(`GET /k${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
        await waitFor(`answer ${i}`, () => c.text().endsWith(`/k${i}`));
      }
      c.socket.write('GET /p1 HTTP/1.1\r\n\r\nGET /p2 HTTP/1.1\r\n\r\nGET /p3 HTTP/1.1\r\nConnection: close\r\n\r\n');
      await c.closed;
      const answers = [...c.text().matchAll(/native 4 127\.0\.0\.1 \d+ (\/[kp]\d)/g)].map((m) => m[1]);
      assert.deepEqual(answers, ['/k1', '/k2', '/k3', '/p1', '/p2', '/p3']);
      assert.equal(s.server.counters.accepted, 1);
      assert.equal(s.server.counters.requests, 4);
    });
  });

  it('hands a head that arrives in pieces to net with the bytes already read', async () => {
    await withServer({}, async (s) => {
      const c = connect(s.port);
      await c.ready;
      c.socket.write('GET /pieces HTTP/1.1\r\nHo');
      await waitFor('the handover', () => s.handovers.length === 1);
      c.socket.write('st: x\r\nConnection: close\r\n\r\n');
      await c.closed;
      assert.match(c.text(), /\r\n\r\nnet 127\.0\.0\.1 \d+ \/pieces$/);
      assert.equal(s.handovers[0]!.reason, 1);
      assert.ok(s.handovers[0]!.firstData.startsWith('GET /pieces HTTP/1.1\r\nHo'), s.handovers[0]!.firstData);
      assert.equal(s.server.counters.handoverPartialHead, 1);
    });
  });

  it('hands over a pipelined partial head after answering the complete ones', async () => {
    await withServer({}, async (s) => {
      const c = connect(s.port);
      await c.ready;
      c.socket.write('GET /first HTTP/1.1\r\n\r\nGET /second HTTP/1.1\r\n');
      await waitFor('the first answer', () => c.text().includes('/first'));
      c.socket.write('Connection: close\r\n\r\n');
      await c.closed;
      assert.match(c.text(), /native 4 127\.0\.0\.1 \d+ \/first.*net 127\.0\.0\.1 \d+ \/second$/s);
      assert.equal(s.handovers[0]!.reason, 3);
      assert.equal(s.handovers[0]!.firstData.slice(0, 22), 'GET /second HTTP/1.1\r\n');
    });
  });

  it('hands over what the handler asks for, with the request replayed', async () => {
    await withServer({}, async (s) => {
      const r = await rawExchange(HOST, s.port, 'GET /handover/ws HTTP/1.1\r\nConnection: close\r\n\r\n');
      assert.equal(r.responses.length, 1);
      assert.match(body(r.responses[0]!), /^net 127\.0\.0\.1 \d+ \/handover\/ws$/);
      assert.equal(s.server.counters.handoverAsked, 1);
    });
  });

  it('hands over an answer the socket does not take at once, and the client gets all of it', async () => {
    await withServer({ txBytes: 12 << 20 }, async (s) => {
      const bytes = 8 << 20;
      const r = await rawExchange(HOST, s.port, `GET /big?bytes=${bytes} HTTP/1.1\r\nConnection: close\r\n\r\n`, { timeoutMs: 10000 });
      assert.equal(r.closedByServer, true);
      assert.equal(r.responses.length, 1);
      assert.equal(r.responses[0]!.body.length, bytes);
      assert.ok(r.responses[0]!.body.every((b) => b === 0x78));
      assert.equal(s.server.counters.handoverWriteBlocked, 1);
      assert.ok(s.server.counters.bytesOut < bytes, 'C wrote part, net the rest');
    });
  });

  it('answers 431 to a head over the size limit, and 400 to a malformed one', async () => {
    await withServer({ maxRequestBytes: 1024 }, async (s) => {
      const big = await rawExchange(HOST, s.port, `GET / HTTP/1.1\r\nX: ${'a'.repeat(3000)}\r\n\r\n`);
      assert.equal(big.responses[0]?.status, 431);
      assert.equal(big.closedByServer, true);
      const bad = await rawExchange(HOST, s.port, 'GET / HTTP/9.9\r\n\r\n');
      assert.equal(bad.responses[0]?.status, 505);
      const junk = await rawExchange(HOST, s.port, 'G E T\r\n\r\n');
      assert.equal(junk.responses[0]?.status, 400);
    });
  });

  it('accepts and closes connections over the cap, and reuses freed slots', async () => {
    await withServer({ maxConnections: 5 }, async (s) => {
      const idle = Array.from({ length: 5 }, () => connect(s.port));
      await waitFor('5 connections in C', () => s.server.counters.open === 5);
      const over = connect(s.port);
      await over.closed;
      assert.equal(over.text(), '');
      assert.equal(s.server.counters.refused, 1);
      for (const c of idle) c.socket.destroy();
      await waitFor('slots freed', () => s.server.counters.open === 0);
      for (let i = 0; i < 20; i++) {
        const r = await rawExchange(HOST, s.port, `GET /again${i} HTTP/1.1\r\nConnection: close\r\n\r\n`);
        assert.match(body(r.responses[0]!), new RegExp(`/again${i}$`));
      }
      assert.equal(s.server.counters.refused, 1);
    });
  });

  it('closes a connection that sends no head within the header timeout, and an idle kept one at the idle timeout', async () => {
    await withServer({ headerTimeout: 0.4, idleTimeout: 0.8 }, async (s) => {
      const silent = connect(s.port);
      await silent.ready;
      const t0 = Date.now();
      const kept = connect(s.port);
      await kept.ready;
      kept.socket.write('GET /once HTTP/1.1\r\n\r\n');
      await waitFor('the answer', () => kept.text().endsWith('/once'));
      const t1 = Date.now();
      const silentClosed = (await silent.closed) - t0;
      const keptClosed = (await kept.closed) - t1;
      assert.ok(silentClosed >= 300 && silentClosed < 3000, `header timeout after ${silentClosed} ms`);
      assert.ok(keptClosed >= 600 && keptClosed < 4000, `idle timeout after ${keptClosed} ms`);
      assert.equal(s.server.counters.timeouts, 2);
      assert.equal(s.server.counters.open, 0);
    });
  });

  it('serves IPv6 clients on ::1 and IPv4 clients of a dual-stack :: listener', async () => {
    await withServer({ host: '::1' }, async (s) => {
      const c = connect(s.port, '::1');
      await c.ready;
      const local = c.socket.localPort;
      c.socket.write('GET /six HTTP/1.1\r\nConnection: close\r\n\r\n');
      await c.closed;
      assert.ok(c.text().endsWith(`native 6 0:0:0:0:0:0:0:1 ${local} /six`), c.text());
    });
    await withServer({ host: '::' }, async (s) => {
      const c4 = connect(s.port, HOST);
      await c4.ready;
      const local = c4.socket.localPort;
      c4.socket.write('GET /four HTTP/1.1\r\nConnection: close\r\n\r\n');
      await c4.closed;
      assert.ok(c4.text().endsWith(`native 4 127.0.0.1 ${local} /four`), c4.text());
    });
  });

  it('survives hostile input: random bytes, half-open and reset connections', async () => {
    await withServer({ headerTimeout: 1 }, async (s) => {
      const outcomes = await Promise.all(
        Array.from({ length: 150 }, async (_, i) => {
          const c = connect(s.port);
          await c.ready;
          if (i % 3 === 0) c.socket.write(randomBytes(1 + (i % 700)));
          else if (i % 3 === 1)
            c.socket.end(`GET /half${i} HTTP/1.1\r\n\r\n`); // request, then FIN
          else c.socket.resetAndDestroy();
          const at = await c.closed;
          return { i, at, text: c.text() };
        }),
      );
      for (const o of outcomes.filter((o) => o.i % 3 === 1)) assert.ok(o.text.endsWith(`/half${o.i}`), o.text);
      for (const o of outcomes.filter((o) => o.i % 3 === 0)) assert.ok(o.text === '' || /^HTTP\/1\.1 [1-5]\d\d /.test(o.text), o.text);
      await waitFor('every slot free', () => s.server.counters.open === 0);
      const r = await rawExchange(HOST, s.port, 'GET /after HTTP/1.1\r\nConnection: close\r\n\r\n');
      assert.match(body(r.responses[0]!), /\/after$/);
    });
  });

  it('closes what the handler leaves unanswered or answers wrongly, and counts a throwing handler', async () => {
    let mode = 'ignore';
    const server = openNativeTcp(
      { maxConnections: 100, maxRequestBytes: 4096, headerTimeout: 2, idleTimeout: 2, onError: () => {} },
      (rx, tx) => {
        const slot = rx.meta[RX_SLOT]!;
        if (mode === 'bad slot') tx.answer(slot + 1, 0, ACTION_CLOSE);
        else if (mode === 'bad offset') {
          tx.answer(slot, 0, ACTION_CLOSE);
          tx.meta[2] = tx.data.length + 1;
        } else if (mode === 'throw') throw new Error('handler bug');
        else if (mode === 'twice') {
          tx.data.write('HTTP/1.1 204 No Content\r\n\r\n', 0, 'latin1');
          tx.answer(slot, 27, ACTION_CLOSE);
          tx.flush();
          tx.answer(slot, 27, ACTION_CLOSE);
        }
        assert.equal(rx.meta.length % RX_STRIDE, 0);
      },
      (socket) => socket.destroy(),
    );
    try {
      const port = server.address(server.listen({ host: HOST, port: 0 })).port;
      for (const m of ['ignore', 'bad slot', 'bad offset', 'throw', 'twice']) {
        mode = m;
        const r = await rawExchange(HOST, port, 'GET / HTTP/1.1\r\n\r\n');
        assert.equal(r.closedByServer, true, m);
        assert.equal(r.data.length, m === 'twice' ? 27 : 0, m);
      }
      const k = server.counters;
      assert.equal(k.unanswered, 3, 'ignore, bad slot, throw');
      assert.equal(k.badAnswers, 3, 'bad slot, bad offset, the second answer of twice');
      assert.equal(k.handlerErrors, 1);
      assert.equal(k.open, 0);
    } finally {
      await server.close();
    }
  });

  it('closes its listeners and connections on close(), and the event loop is free', async () => {
    const script = `
      import { startNativeTestServer } from ${JSON.stringify(new URL('../helpers/tcp-native-server.ts', import.meta.url).href)};
      import net from 'node:net';
      const s = await startNativeTestServer({});
      const c = net.connect(s.port, '127.0.0.1');
      c.on('close', () => console.log('client saw close'));
      c.on('connect', async () => { await new Promise((r) => setTimeout(r, 100)); await s.close(); });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /client saw close/);
  });
});

describe('listen.tcp.io', () => {
  it('auto falls back to net without the addon, native fails naming why, net never loads it', () => {
    const script = `
      import { chooseTcpIo, nativeTcpStatus } from ${JSON.stringify(new URL('../../src/io/tcp-native.ts', import.meta.url).href)};
      const out = { auto: chooseTcpIo('auto'), net: chooseTcpIo('net') };
      try { chooseTcpIo('native'); } catch (err) { out.error = err.message; }
      out.status = nativeTcpStatus();
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, SWARMD_TCP_ADDON: '/nonexistent/swarmd_tcp.node' },
    });
    const out = JSON.parse(r.stdout);
    assert.equal(out.auto.io, 'net');
    assert.match(out.auto.reason, /not built: \/nonexistent/);
    assert.equal(out.net.io, 'net');
    assert.match(out.error, /listen\.tcp\.io is native but the native TCP addon is not available: not built/);
  });

  it('auto and native take the addon where it loads', { skip }, () => {
    assert.equal(chooseTcpIo('auto').io, 'native');
    assert.equal(chooseTcpIo('native').io, 'native');
    assert.equal(chooseTcpIo('net').io, 'net');
  });
});
