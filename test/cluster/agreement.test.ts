// What must agree across nodes besides peers: access-list changes made through one node's FIFO,
// and the NATS credentials (user/password, token) that nodes must present.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { infoHash } from '../helpers/tracker.ts';
import { NatsServer, natsMissing } from './nats-server.ts';
import { announce, clusterConnected, startNode, stopNode, within } from './node.ts';
import type { Node } from './node.ts';

const missing = natsMissing();

describe('access-list changes written to one node\'s FIFO apply on every node', { skip: missing ?? false }, () => {
  let nats: NatsServer;
  const nodes: Node[] = [];
  let dir: string;

  before(async () => {
    nats = await NatsServer.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-cluster-acl-'));
    for (const name of ['a', 'b']) nodes.push(await startAclNode(name));
    await within(5000, 'connected', async () => nodes.every(clusterConnected));
  });

  const startAclNode = (name: string) => {
    const list = path.join(dir, `${name}.black`);
    fs.writeFileSync(list, '');
    return startNode(name, { servers: [nats.url], subjectPrefix: 'acl.test' }, {
      access: { whitelist: null, blacklist: list, fifoAdd: path.join(dir, `${name}.add`), fifoDelete: path.join(dir, `${name}.delete`), changesFile: null },
    });
  };

  after(async () => {
    for (const n of nodes) await stopNode(n);
    await nats?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a hash blocked on node A is refused by node B and by a node started later, and unblocked again', async () => {
    const [a, b] = nodes;
    const hash = infoHash('blocked');
    assert.notEqual(await announce(b, hash, 7001), null);
    fs.appendFileSync(path.join(dir, 'a.add'), `${hash.toString('hex')}\n`);
    await within(3000, 'refused on a', async () => (await announce(a, hash, 7002)) === null);
    await within(3000, 'refused on b', async () => (await announce(b, hash, 7003)) === null);
    // B journals the change like one of its own FIFO lines (the append and its fdatasync may finish
    // just after the new table is in use).
    await within(3000, 'journaled on b', async () => fs.readFileSync(path.join(dir, 'b.black.changes'), 'utf8').includes(`+${hash.toString('hex')}`));
    // A node started later gets the change in force with its snapshot.
    const late = await startAclNode('late');
    nodes.push(late);
    await within(3000, 'refused on the late node', async () => (await announce(late, hash, 7005)) === null);
    fs.appendFileSync(path.join(dir, 'a.delete'), `${hash.toString('hex')}\n`);
    await within(3000, 'allowed again on b', async () => (await announce(b, hash, 7004)) !== null);
    await within(3000, 'allowed again on the late node', async () => (await announce(late, hash, 7006)) !== null);
  });
});

describe('NATS credentials', { skip: missing ?? false }, () => {
  const started: Node[] = [];
  const servers: NatsServer[] = [];
  after(async () => {
    for (const n of started) await stopNode(n);
    for (const s of servers) await s.kill();
  });

  const pair = async (server: NatsServer, creds: { user?: string; password?: string; token?: string }) => {
    const cfg = { servers: [server.url], user: creds.user ?? null, password: creds.password ?? null, token: creds.token ?? null };
    const a = await startNode('a', cfg);
    const b = await startNode('b', cfg);
    started.push(a, b);
    return [a, b];
  };

  test('nodes with the right user and password sync; a wrong password keeps a node out, answering alone', async () => {
    const server = await NatsServer.start(['--user', 'swarm', '--pass', 's3cret']);
    servers.push(server);
    const [a, b] = await pair(server, { user: 'swarm', password: 's3cret' });
    await within(5000, 'connected', async () => clusterConnected(a) && clusterConnected(b));
    const hash = infoHash('userpass');
    await announce(a, hash, 7101);
    await within(1000, 'synced', async () => (await announce(b, hash, 7102))?.includes('127.0.0.1:7101') ?? false);
    const intruder = await startNode('x', { servers: [server.url], user: 'swarm', password: 'wrong' });
    started.push(intruder);
    await within(3000, 'outage counted', async () => intruder.counters().cluster_outages === 1);
    assert.equal(clusterConnected(intruder), false);
    assert.deepEqual(await announce(intruder, hash, 7103), [], 'it answers from what it has: nothing of the cluster');
  });

  test('nodes with the right token sync', async () => {
    const server = await NatsServer.start(['--auth', 'tok-3n']);
    servers.push(server);
    const [a, b] = await pair(server, { token: 'tok-3n' });
    await within(5000, 'connected', async () => clusterConnected(a) && clusterConnected(b));
    const hash = infoHash('token');
    await announce(b, hash, 7201);
    await within(1000, 'synced', async () => (await announce(a, hash, 7202))?.includes('127.0.0.1:7201') ?? false);
  });
});
