// Three swarmd nodes and a real nats-server on loopback: sync, stops, snapshots for a late node,
// completed counts, a malformed message, a NATS outage under announce load, and the 8 MiB of
// changes a node keeps for NATS while it is down.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { infoHash, percentEncode } from '../helpers/tracker.ts';
import { get } from '../helpers/http-client.ts';
import { NatsServer, natsMissing } from './nats-server.ts';
import { EVENT, announce, clusterConnected, scrape, startNode, stopNode, within } from './node.ts';
import { announcePacket } from '../helpers/udp-client.ts';
import type { Node } from './node.ts';

const missing = natsMissing();

describe('a cluster of three nodes over NATS', { skip: missing ?? false }, () => {
  let nats: NatsServer;
  const nodes: Node[] = [];
  let a: Node;
  let b: Node;
  let c: Node;
  /** A port nobody else uses: each check announces a probe peer of its own. */
  let nextPort = 20000;
  const probe = () => nextPort++;

  before(async () => {
    nats = await NatsServer.start();
    for (const name of ['a', 'b', 'c']) nodes.push(await startNode(name, { servers: [nats.url] }));
    [a, b, c] = nodes;
    await within(5000, 'every node connected', async () => nodes.every(clusterConnected));
  });

  after(async () => {
    for (const n of nodes) await stopNode(n);
    await nats?.kill();
  });

  const completedCount = async (n: Node, hash: Buffer) => (await scrape(n, hash)).completed;
  const has = async (n: Node, hash: Buffer, port: number) => (await announce(n, hash, probe()))?.includes(`127.0.0.1:${port}`) ?? false;

  test('a peer announced to node A is in the answers of nodes B and C within one second', async () => {
    const hash = infoHash('sync');
    assert.deepEqual(await announce(a, hash, 6881), []);
    const took = await Promise.all([b, c].map((n) => within(1000, `peer on ${n.name}`, () => has(n, hash, 6881))));
    assert.ok(took.every((ms) => ms <= 1000));
    assert.ok(a.counters().cluster_records_published >= 1);
    assert.ok(b.counters().cluster_records_applied >= 1);
  });

  test('a peer announced over HTTP is synced the same way', async () => {
    const hash = infoHash('http');
    const r = await get('127.0.0.1', a.tcp4, `/announce?info_hash=${percentEncode(hash)}&peer_id=-TS0001-000000006886&port=6886&left=0&compact=1`);
    assert.equal(r.status, 200);
    await within(1000, 'peer on c', () => has(c, hash, 6886));
    assert.equal((await scrape(c, hash)).seeders, 1);
  });

  test('a stopped event removes the peer everywhere', async () => {
    const hash = infoHash('stop');
    await announce(a, hash, 6882, { left: 0n }); // a seeder, as most peers that stop are
    await within(1000, 'peer on b', () => has(b, hash, 6882));
    await within(1000, 'peer on c', () => has(c, hash, 6882));
    assert.notEqual(await announce(a, hash, 6882, { event: EVENT.stopped, left: 0n }), null);
    await within(1000, 'peer gone from b', async () => !(await has(b, hash, 6882)));
    await within(1000, 'peer gone from c', async () => !(await has(c, hash, 6882)));
  });

  test('completed counts agree on every node', async () => {
    const hash = infoHash('done');
    await announce(b, hash, 6883);
    await announce(b, hash, 6883, { event: EVENT.completed, left: 0n });
    assert.equal(await completedCount(b, hash), 1);
    for (const n of [a, c]) await within(1000, `count on ${n.name}`, async () => (await completedCount(n, hash)) === 1);
    // The same peer completing again counts nowhere. b sends its changes in order: once a peer
    // announced after that completion is on a and c, the completion has reached them too.
    await announce(b, hash, 6883, { event: EVENT.completed, left: 0n });
    await announce(b, hash, 6893);
    for (const n of [a, c]) await within(1000, `the later peer on ${n.name}`, () => has(n, hash, 6893));
    for (const n of nodes) assert.equal(await completedCount(n, hash), 1, n.name);
  });

  test('a message that fails to parse is counted and dropped, never applied', async () => {
    const before = b.totals();
    const failures = b.counters().cluster_parse_failures;
    const nc = await connect({ servers: nats.url });
    const cut = Buffer.from([1, 1, 0, 0, 0, 9, 0, 0, 0, 1, 0, 1, 1, 0, ...infoHash('junk'), 4, 10, 0, 0]); // a peer record cut short
    nc.publish('swarmd.changes', cut);
    nc.publish('swarmd.changes', Buffer.from('not a batch'));
    await nc.flush();
    await nc.close();
    await within(2000, 'failures counted', async () => b.counters().cluster_parse_failures >= failures + 2);
    assert.equal(b.totals().torrents, before.torrents);
    assert.equal(await completedCount(b, infoHash('junk')), 0);
  });

  test('a fourth node started later gets the existing swarms by snapshot', async () => {
    const hash = infoHash('snapshot');
    await announce(a, hash, 6884);
    await announce(c, hash, 6885);
    // Every node that may serve the snapshot holds both peers first: a batch still in a ring
    // (drained every 250 ms) would reach d after its snapshot, too late for this check.
    for (const n of [a, b, c]) {
      for (const port of [6884, 6885]) await within(1000, `${port} on ${n.name} before d starts`, () => has(n, hash, port));
    }
    const served = () => a.counters().cluster_snapshots_served + b.counters().cluster_snapshots_served + c.counters().cluster_snapshots_served;
    const servedBefore = served();
    const d = await startNode('d', { servers: [nats.url] });
    nodes.push(d);
    await within(3000, 'snapshot loaded', async () => d.counters().cluster_snapshots_loaded === 1);
    const peers = await announce(d, hash, probe());
    assert.ok(peers?.includes('127.0.0.1:6884') && peers.includes('127.0.0.1:6885'), `d answers ${peers}`);
    assert.equal(served(), servedBefore + 1, 'one node of the queue group answered');
  });

  test('with nats-server killed under announce load, no announce fails, and the nodes converge after', async () => {
    const running = nodes.slice(0, 3);
    let load = true;
    let failed = 0;
    let sent = 0;
    const answered = new Map<Node, number>(running.map((n) => [n, 0]));
    /** Resolves once every node has answered `more` announces beyond what it had now. */
    const answersFromEveryNode = (more: number, what: string) => {
      const from = new Map(answered);
      return within(60_000, what, async () => running.every((n) => answered.get(n)! >= from.get(n)! + more));
    };
    const hash = infoHash('outage');
    const ports = new Map<Node, number[]>(running.map((n) => [n, []]));
    const loops = running.map(async (n, k) => {
      for (let i = 0; load; i++) {
        const port = 30000 + k * 2000 + (i % 2000);
        if (i < 2000) ports.get(n)!.push(port);
        sent++;
        if ((await announce(n, hash, port, { timeoutMs: 1000 })) === null) failed++;
        else answered.set(n, answered.get(n)! + 1);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    await answersFromEveryNode(20, 'the load reaches every node');
    await nats.kill();
    await within(3000, 'every node saw the outage', async () => running.every((n) => !clusterConnected(n)));
    // The outage lasts while every node answers 200 more announces (seconds: the nodes retry
    // NATS every second) and buffers their changes.
    await answersFromEveryNode(200, 'every node answers during the outage');
    await nats.restart();
    await within(5000, 'every node reconnected', async () => running.every(clusterConnected));
    await answersFromEveryNode(20, 'every node answers after the reconnection');
    load = false;
    await Promise.all(loops);
    assert.equal(failed, 0, `${failed} of ${sent} announces failed`);
    for (const n of running) assert.ok(n.counters().cluster_outages >= 1, `${n.name} counted the outage`);
    // Every node ends up with every peer any node was announced, the outage's included.
    const all = new Set([...ports.values()].flat()).size;
    await within(10_000, `every node holds all ${all} peers`, async () => {
      for (const n of running) if ((await scrape(n, hash)).leechers !== all) return false;
      return true;
    });
  });
});

describe('the outage buffer: changes made while NATS is down', { skip: missing ?? false }, () => {
  let nats: NatsServer;
  const nodes: Node[] = [];
  after(async () => {
    for (const n of nodes) await stopNode(n);
    await nats?.kill();
  });

  test('are kept up to 8 MiB and sent on reconnection; past that they are dropped and counted', { timeout: 300_000 }, async () => {
    nats = await NatsServer.start();
    const [a, b] = [await startNode('buffering', { servers: [nats.url] }), await startNode('receiving', { servers: [nats.url] })];
    nodes.push(a, b);
    await within(5000, 'both connected', async () => clusterConnected(a) && clusterConnected(b));
    await nats.kill();
    await within(5000, 'a saw the outage', async () => !clusterConnected(a));
    const before = a.counters();
    // 330,000 new peers (29 bytes of changes each: 9.6 MB) announced to a, 100 in flight at a time.
    const hashes = [0, 1, 2, 3, 4, 5].map((t) => infoHash(`outage-buffer-${t}`));
    const WINDOW = 100;
    let answered = 0;
    for (let n = 0; n < 330_000; n += WINDOW) {
      const replies = new Promise<void>((resolve, reject) => {
        let got = 0;
        const timer = setTimeout(() => reject(new Error(`announce ${n}: ${got} of ${WINDOW} answered`)), 10_000);
        const onMessage = () => {
          if (++got === WINDOW) {
            clearTimeout(timer);
            a.client.socket.off('message', onMessage);
            resolve();
          }
        };
        a.client.socket.on('message', onMessage);
      });
      for (let k = n; k < n + WINDOW; k++) {
        const packet = announcePacket({
          connectionId: a.connectionId,
          transactionId: a.client.nextTransactionId(),
          infoHash: hashes[k % 6]!,
          port: 1024 + Math.floor(k / 6),
          numwant: 0,
        });
        a.client.socket.send(packet, a.udp4, '127.0.0.1');
      }
      await replies;
      answered += WINDOW;
    }
    assert.equal(a.totals().peers4, answered);
    // Every change went into a batch: published into the buffer, or dropped once it was full.
    await within(10_000, 'every change batched', async () => {
      const c = a.counters();
      return c.cluster_records_published - before.cluster_records_published > 0 && c.cluster_outage_dropped > before.cluster_outage_dropped;
    });
    const down = a.counters();
    const buffered = down.cluster_bytes_published - before.cluster_bytes_published;
    const bufferedRecords = down.cluster_records_published - before.cluster_records_published;
    assert.ok(buffered <= 8 << 20, `${buffered} bytes buffered, over 8 MiB`);
    assert.ok(buffered > (8 << 20) - 2 * 65536, `${buffered} bytes buffered: the buffer was not filled before dropping`);
    assert.equal(down.cluster_ring_dropped, 0, 'no change lost before it was batched');
    assert.ok(down.cluster_outage_dropped - before.cluster_outage_dropped >= 1, 'batches past the buffer are dropped and counted');
    const metrics = (await get('127.0.0.1', a.tcp4, '/metrics')).body.toString();
    assert.match(metrics, new RegExp(`swarmd_cluster_dropped_total\\{reason="outage"\\} ${down.cluster_outage_dropped}\\n`));
    // Back: the buffered batches reach b (with the snapshot b asks a for as they reconnect).
    const applied = b.counters().cluster_records_applied;
    await nats.restart();
    await within(10_000, 'both reconnected', async () => clusterConnected(a) && clusterConnected(b));
    await within(60_000, `b applied the ${bufferedRecords} buffered changes`, async () => b.counters().cluster_records_applied - applied >= bufferedRecords);
    await within(60_000, 'b holds every peer of a', async () => b.totals().peers4 === answered);
  });
});
