// A swarmd node of a test cluster (a real tracker with one worker, on 127.0.0.1) and a UDP client
// that announces to it and reads its answers.

import { defaultConfig } from '../../src/config/config.ts';
import type { ClusterConfig, Config } from '../../src/config/config.ts';
import { startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { UdpClient, announcePacket, parseAnnounceReply, scrapePacket } from '../helpers/udp-client.ts';

export type Node = TestTracker & { name: string; client: UdpClient; connectionId: Buffer };

export async function startNode(name: string, cluster: Partial<ClusterConfig>, overrides: Partial<Config> = {}): Promise<Node> {
  const tracker = await startTestTracker({
    workers: 1,
    listeners: [
      { proto: 'tcp', host: '127.0.0.1', port: 0 },
      { proto: 'udp', host: '127.0.0.1', port: 0 },
    ],
    cluster: { ...defaultConfig().cluster, nodeName: name, ...cluster },
    ...overrides,
  });
  const client = await UdpClient.open('127.0.0.1', tracker.udp4);
  const connectionId = await client.connect();
  return Object.assign(tracker, { name, client, connectionId });
}

export async function stopNode(node: Node): Promise<void> {
  node.client.close();
  await node.close();
}

export const EVENT = { none: 0, completed: 1, started: 2, stopped: 3 } as const;

/** Announces 127.0.0.1:`port` to the node; the peers of its answer ("127.0.0.1:port"), or null without an answer. */
export async function announce(
  node: Node,
  hash: Buffer,
  port: number,
  opts: { event?: number; left?: bigint; timeoutMs?: number } = {},
): Promise<string[] | null> {
  const packet = announcePacket({
    connectionId: node.connectionId,
    transactionId: node.client.nextTransactionId(),
    infoHash: hash,
    port,
    event: opts.event ?? EVENT.none,
    left: opts.left ?? 1000n,
    numwant: 200,
  });
  const reply = await node.client.request(packet, opts.timeoutMs ?? 2000);
  if (reply === null || reply.length < 20 || reply.readUInt32BE(0) !== 1) return null;
  return parseAnnounceReply(reply, false).peers;
}

/** A torrent's counts on the node, by a UDP scrape. */
export async function scrape(node: Node, hash: Buffer): Promise<{ seeders: number; completed: number; leechers: number }> {
  const reply = await node.client.request(scrapePacket(node.connectionId, node.client.nextTransactionId(), [hash]));
  if (reply === null || reply.readUInt32BE(0) !== 2) throw new Error('no scrape answer');
  return { seeders: reply.readUInt32BE(8), completed: reply.readUInt32BE(12), leechers: reply.readUInt32BE(16) };
}

export function clusterConnected(node: Node): boolean {
  return node.cluster?.connected ?? false;
}

/** Polls `check` every 50 ms until it is true; returns the milliseconds it took, or throws after `timeoutMs`. */
export async function within(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
