// swarmd as a child process (bin/swarmd.js), for the tests that signal or kill it, and a small
// closed-loop UDP announce load that counts every request that went unanswered or wrong.

import { fileURLToPath } from 'node:url';
import { Child, freePort, waitUntil } from './process.ts';
import { UdpClient, announcePacket, parseAnnounceReply } from './udp-client.ts';

const SWARMD = fileURLToPath(new URL('../../bin/swarmd.js', import.meta.url));

export interface ChildTracker {
  child: Child;
  port: number;
  /** Every line swarmd printed (its JSON log). */
  lines: string[];
}

/** Starts swarmd on 127.0.0.1 (one port for TCP and UDP) with `args`, and waits until it answers. */
export async function startChildTracker(args: string[], port?: number): Promise<ChildTracker> {
  const p = port ?? (await freePort('127.0.0.1'));
  const child = new Child(process.execPath, [SWARMD, '--listen-tcp-udp', `127.0.0.1:${p}`, '--workers', '2', '--memory-limit', '64M', ...args]);
  const lines: string[] = [];
  child.onLine((l) => lines.push(l));
  await waitUntil(
    async () => {
      if (!child.running) throw new Error(`swarmd exited: ${child.output()}`);
      const c = await UdpClient.open('127.0.0.1', p);
      try {
        await c.connect();
        return true;
      } catch {
        return false;
      } finally {
        c.close();
      }
    },
    20_000,
    () => `swarmd never answered on port ${p}: ${child.output()}`,
  );
  return { child, port: p, lines };
}

export interface LoadResult {
  sent: number;
  failed: string[];
}

/**
 * Announces in `streams` parallel loops until `stop()` says so, each over its own UDP socket;
 * an announce without a right answer within `timeoutMs` is a failure. `announce(n)` picks the
 * hash and event of the n-th announce.
 */
export function udpLoad(
  port: number,
  opts: { streams: number; timeoutMs?: number; announce: (n: number) => { infoHash: Buffer; event?: number; left?: bigint; port?: number } },
) {
  const result: LoadResult = { sent: 0, failed: [] };
  let running = true;
  const loops = Array.from({ length: opts.streams }, async (_, s) => {
    const c = await UdpClient.open('127.0.0.1', port);
    try {
      let cid = await c.connect();
      while (running) {
        const n = result.sent++;
        const a = opts.announce(n);
        const reply = await c.request(
          announcePacket({
            connectionId: cid,
            transactionId: c.nextTransactionId(),
            infoHash: a.infoHash,
            event: a.event,
            left: a.left,
            port: a.port ?? 20000 + s,
          }),
          opts.timeoutMs ?? 3000,
        );
        if (reply === null) result.failed.push(`announce ${n}: no answer`);
        else if (reply.readUInt32BE(0) !== 1) result.failed.push(`announce ${n}: ${reply.subarray(8).toString('latin1')}`);
        else parseAnnounceReply(reply, false);
        if (n % 200 === 0) cid = await c.connect(); // a fresh ID now and then, as clients do
      }
    } finally {
      c.close();
    }
  });
  return {
    result,
    /** Stops the loops and waits for them. */
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}
