// Transmission: transmission-daemon in the foreground with its own config directory and RPC
// port, driven by transmission-remote. Transmission 3.00 ignores loopback peer addresses that a
// tracker hands out, so on loopback the other client must connect to it: the tests start
// Transmission first and the other client once swarmd knows Transmission's address.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child, freePort, waitUntil } from '../helpers/process.ts';
import type { ClientDriver, ClientStart, RunningClient } from './client.ts';

const run = promisify(execFile);

// Asynchronous, so the test process (which runs the tracker's main thread) never blocks on it.
async function remote(rpcPort: number, args: string[]): Promise<string> {
  try {
    return (await run('transmission-remote', [`127.0.0.1:${rpcPort}`, ...args], { encoding: 'utf8', timeout: 10_000 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`transmission-remote ${args.join(' ')}: ${e.stderr || e.message}`, { cause: err });
  }
}

export const transmission: ClientDriver = {
  name: 'transmission',
  tools: ['transmission-daemon', 'transmission-remote'],
  async start(s: ClientStart): Promise<RunningClient> {
    const rpcPort = await freePort('127.0.0.1');
    writeFileSync(
      join(s.home, 'settings.json'),
      JSON.stringify({
        'dht-enabled': false,
        'lpd-enabled': false,
        'pex-enabled': false,
        'port-forwarding-enabled': false,
        'utp-enabled': false, // TCP only: uTP between libtorrent and Transmission can stall near the end
        'rpc-port': rpcPort,
        'rpc-bind-address': '127.0.0.1',
        'rpc-authentication-required': false,
        'rpc-whitelist-enabled': false,
        'rpc-host-whitelist-enabled': false,
        // its HTTP announces leave from bind-address-ipv4, so for an IPv6 tracker it must stay unset
        'bind-address-ipv4': s.host === '127.0.0.1' ? '127.0.0.1' : '0.0.0.0',
        'bind-address-ipv6': '::1',
        'peer-port': await freePort(s.host),
        'peer-port-random-on-start': false,
        'download-dir': s.dir,
        'incomplete-dir-enabled': false,
        'rename-partial-files': false,
        'start-added-torrents': true,
        'ratio-limit-enabled': false,
        'idle-seeding-limit-enabled': false,
        'watch-dir-enabled': false,
        'blocklist-enabled': false,
        'speed-limit-up-enabled': false,
        'speed-limit-down-enabled': false,
        'alt-speed-enabled': false,
        'message-level': 3, // debug: it logs each tracker answer
      }),
    );
    const child = new Child('transmission-daemon', ['--foreground', '--config-dir', s.home]);
    try {
      await waitUntil(
        async () => {
          if (!child.running) throw new Error(`transmission-daemon exited: ${child.output()}`);
          return remote(rpcPort, ['--session-info']).then(
            () => true,
            () => false,
          );
        },
        20_000,
        () => `transmission-daemon's RPC port ${rpcPort} never answered: ${child.output()}`,
      );
      await remote(rpcPort, ['--add', s.torrent, '--download-dir', s.dir]);
    } catch (err) {
      child.kill();
      throw err;
    }
    return {
      name: 'transmission',
      // Stopping the torrent announces event=stopped; the daemon is shut down once the tracker
      // has heard it (its own shutdown does not always get the announce out, and its log does
      // not show UDP answers).
      stop: async (heard) => {
        await remote(rpcPort, ['--torrent', 'all', '--stop']);
        if (heard) await waitUntil(heard, 20_000, () => `the tracker never heard transmission's stopped announce: ${child.output()}`);
        await child.stop('SIGTERM');
      },
      kill: () => child.kill(),
      output: () => child.output(),
    };
  },
};
