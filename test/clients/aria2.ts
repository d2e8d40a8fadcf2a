// aria2 (aria2c). Its UDP tracker client shares the DHT's socket, so for a udp:// tracker the
// DHT is switched on, bound to loopback, with no bootstrap node and an empty routing table of its
// own; the torrent is private (makeTorrent), so aria2 never looks the torrent up in the
// DHT. That socket is IPv4 only: aria2 1.36 cannot reach a UDP tracker over IPv6 (the tests
// use other clients for that).

import { join } from 'node:path';
import { Child, freePort } from '../helpers/process.ts';
import type { ClientDriver, ClientStart, RunningClient } from './client.ts';

export const aria2: ClientDriver = {
  name: 'aria2',
  tools: ['aria2c'],
  async start(s: ClientStart): Promise<RunningClient> {
    const udp = s.host === '127.0.0.1';
    const child = new Child('aria2c', [
      `--dir=${s.dir}`,
      `--listen-port=${await freePort(s.host)}`,
      '--check-integrity=true',
      '--seed-ratio=0.0', // keep seeding (after the download too) until stopped
      `--enable-dht=${udp}`,
      '--enable-dht6=false',
      `--dht-listen-port=${await freePort(s.host)}`,
      `--dht-file-path=${join(s.home, 'dht.dat')}`,
      `--interface=${s.host}`, // every socket on loopback
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--bt-max-peers=10',
      '--bt-tracker-connect-timeout=5',
      '--bt-tracker-timeout=5',
      '--async-dns=false', // its c-ares resolver never answered for a name from /etc/hosts (ip6-localhost)
      '--summary-interval=0',
      '--console-log-level=warn',
      '--no-conf=true',
      '--auto-save-interval=0',
      s.torrent,
    ]);
    return {
      name: 'aria2',
      // SIGINT: aria2's graceful shutdown, which announces event=stopped (SIGTERM does not)
      stop: async () => void (await child.stop('SIGINT')),
      kill: () => child.kill(),
      output: () => child.output(),
    };
  },
};
