// What must agree across nodes besides peers: access-list changes made through one node's FIFO,
// and the NATS credentials that nodes must present: user/password, token, an NKey seed file (a
// nats-server with nkey users) and a creds file (a nats-server in operator mode, with operator,
// account and user JWTs made here with @nats-io/jwt, as nsc makes them).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { infoHash } from '../helpers/tracker.ts';
import { NatsServer, natsMissing } from './nats-server.ts';
import { announce, clusterConnected, startNode, stopNode, within } from './node.ts';
import type { Node } from './node.ts';

const missing = natsMissing();

describe("access-list changes written to one node's FIFO apply on every node", { skip: missing ?? false }, () => {
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
    return startNode(
      name,
      { servers: [nats.url], subjectPrefix: 'acl.test' },
      {
        access: { whitelist: null, blacklist: list, fifoAdd: path.join(dir, `${name}.add`), fifoDelete: path.join(dir, `${name}.delete`), changesFile: null },
      },
    );
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

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmd-cluster-creds-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** Writes a secret file as an operator would: readable by its owner only. */
  const secret = (name: string, text: string | Uint8Array) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  };

  type Creds = { user?: string; password?: string; token?: string; nkeySeedFile?: string; credsFile?: string };
  const pair = async (server: NatsServer, creds: Creds) => {
    const cfg = {
      servers: [server.url],
      user: creds.user ?? null,
      password: creds.password ?? null,
      token: creds.token ?? null,
      nkeySeedFile: creds.nkeySeedFile ?? null,
      credsFile: creds.credsFile ?? null,
    };
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

  /** A node that must be kept out: never connected, its outage counted, answering alone. */
  const keptOut = async (server: NatsServer, name: string, creds: Creds, hash: Buffer, port: number) => {
    const cfg = { servers: [server.url], nkeySeedFile: creds.nkeySeedFile ?? null, credsFile: creds.credsFile ?? null };
    const intruder = await startNode(name, cfg);
    started.push(intruder);
    await within(5000, `${name}'s outage counted`, async () => intruder.counters().cluster_outages === 1);
    assert.equal(clusterConnected(intruder), false);
    assert.deepEqual(await announce(intruder, hash, port), [], 'it answers from what it has: nothing of the cluster');
  };

  test('nodes with the NKey seed of a user nats-server knows sync; another seed keeps a node out', async () => {
    const user = createUser();
    const conf = secret('nkey-server.conf', `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`);
    const server = await NatsServer.start(['-c', conf]);
    servers.push(server);
    const seed = secret('swarm.nk', `${new TextDecoder().decode(user.getSeed())}\n`);
    const [a, b] = await pair(server, { nkeySeedFile: seed });
    await within(5000, 'connected', async () => clusterConnected(a) && clusterConnected(b));
    const hash = infoHash('nkey');
    await announce(a, hash, 7301);
    await within(1000, 'synced', async () => (await announce(b, hash, 7302))?.includes('127.0.0.1:7301') ?? false);
    const other = secret('other.nk', new TextDecoder().decode(createUser().getSeed()));
    await keptOut(server, 'nkey-intruder', { nkeySeedFile: other }, hash, 7303);
  });

  test('nodes with a creds file (user JWT signed by a known account) sync; an unknown account keeps a node out', async () => {
    const operator = createOperator();
    const account = createAccount();
    const operatorJwt = await encodeOperator('test-operator', operator);
    // No limits (nsc's default for a new account; the library's defaults allow no connection).
    const limits = { conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, leaf: -1 };
    const accountJwt = await encodeAccount('swarm', account, { limits }, { signer: operator });
    const conf = secret(
      'operator-server.conf',
      [`operator: ${operatorJwt}`, 'resolver: MEMORY', `resolver_preload: { ${account.getPublicKey()}: ${accountJwt} }`, ''].join('\n'),
    );
    const server = await NatsServer.start(['-c', conf]);
    servers.push(server);
    const user = createUser();
    const userJwt = await encodeUser('swarmd', user, account, { pub: { allow: ['swarmd.>', '_INBOX.>'] }, sub: { allow: ['swarmd.>', '_INBOX.>'] } });
    const creds = secret('swarmd.creds', fmtCreds(userJwt, user));
    const [a, b] = await pair(server, { credsFile: creds });
    await within(5000, 'connected', async () => clusterConnected(a) && clusterConnected(b));
    const hash = infoHash('creds');
    await announce(b, hash, 7401);
    await within(1000, 'synced', async () => (await announce(a, hash, 7402))?.includes('127.0.0.1:7401') ?? false);
    // A user of an account this server was never told of.
    const stranger = createUser();
    const strangerJwt = await encodeUser('stranger', stranger, createAccount());
    await keptOut(server, 'creds-intruder', { credsFile: secret('stranger.creds', fmtCreds(strangerJwt, stranger)) }, hash, 7403);
  });
});
