// Real BitTorrent clients end to end through swarmd: libtorrent-rasterbar (qBittorrent's and
// Deluge's engine), aria2 and Transmission, from Debian's packages (scripts/test-setup.sh
// installs them). For each pair: a random file and a private torrent naming only swarmd; one
// client seeds, the other downloads, and they find each other only through swarmd (DHT, local
// peer discovery, PEX, UPnP and NAT-PMP off). Then swarmd's scrape must show one download and
// two seeders, and each client's clean exit (event=stopped) must lower the counts.
// The pairs cover HTTP and UDP, IPv4 and IPv6, and every pair of different clients in both
// directions; they run at the same time against one tracker. In CI a missing client fails; elsewhere it skips.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookup } from 'node:dns/promises';
import { startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';
import { makeTorrent, missingTools } from './client.ts';
import type { ClientDriver, Host, RunningClient } from './client.ts';
import { waitUntil } from '../helpers/process.ts';
import { scrape } from '../helpers/http-client.ts';
import type { ScrapeCounts } from '../helpers/http-client.ts';
import { libtorrent } from './libtorrent.ts';
import { aria2 } from './aria2.ts';
import { transmission } from './transmission.ts';

type Pair = { seeder: ClientDriver; leecher: ClientDriver; proto: 'http' | 'udp'; host: Host };
const PAIRS: Pair[] = [
  { seeder: libtorrent, leecher: aria2, proto: 'http', host: '127.0.0.1' },
  { seeder: aria2, leecher: libtorrent, proto: 'udp', host: '127.0.0.1' },
  { seeder: libtorrent, leecher: transmission, proto: 'http', host: '::1' },
  { seeder: transmission, leecher: libtorrent, proto: 'udp', host: '127.0.0.1' },
  { seeder: aria2, leecher: transmission, proto: 'udp', host: '127.0.0.1' },
  { seeder: transmission, leecher: aria2, proto: 'http', host: '::1' },
  { seeder: aria2, leecher: libtorrent, proto: 'http', host: '::1' },
  // UDP over IPv6: libtorrent only. aria2 1.36 sends UDP tracker requests through its IPv4 DHT
  // socket, and Transmission 3.00 opens its IPv6 UDP socket only on a host with a global IPv6
  // address, so neither reaches udp://[::1].
  { seeder: libtorrent, leecher: libtorrent, proto: 'udp', host: '::1' },
];
// Transmission 3.00 cannot parse a tracker URL with an IPv6 literal: its IPv6 torrents name the
// tracker by a host name that resolves to ::1 only (scripts/test-setup.sh makes sure it does).
const IPV6_NAME = 'ip6-localhost';
const FILE_SIZE = 512 * 1024;
const STEP_MS = 60_000; // each wait below: generous, but a stuck swarm fails within minutes

const missing = missingTools(['mktorrent', ...new Set(PAIRS.flatMap((p) => [...p.seeder.tools, ...p.leecher.tools]))]);
const inCi = process.env.CI === 'true';
const skip = !inCi && missing.length > 0 ? `missing ${missing.join(', ')} (scripts/test-setup.sh installs them)` : false;

describe('real BitTorrent clients find each other through swarmd and share a file', { skip, concurrency: true, timeout: 240_000 }, () => {
  let tracker: TestTracker;
  let root: string;
  const clients: RunningClient[] = [];

  before(async () => {
    assert.deepEqual(missing, [], 'the BitTorrent clients and mktorrent are installed');
    assert.deepEqual(
      (await lookup(IPV6_NAME, { all: true })).map((a) => a.address),
      ['::1'],
      `${IPV6_NAME} names ::1 only`,
    );
    root = mkdtempSync(join(tmpdir(), 'swarmd-clients-'));
    tracker = await startTestTracker({ workers: 2 });
  });

  after(async () => {
    for (const c of clients) c.kill();
    await tracker?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  for (const [i, pair] of PAIRS.entries()) {
    const label = `${pair.seeder.name} seeds, ${pair.leecher.name} downloads, over ${pair.proto.toUpperCase()} on ${pair.host === '::1' ? 'IPv6' : 'IPv4'}`;
    test(label, async () => {
      const bracketed = pair.host === '127.0.0.1' ? pair.host : [pair.seeder, pair.leecher].includes(transmission) ? IPV6_NAME : '[::1]';
      const port = pair.proto === 'http' ? (pair.host === '::1' ? tracker.tcp6 : tracker.tcp4) : pair.host === '::1' ? tracker.udp6 : tracker.udp4;
      const announce = pair.proto === 'http' ? `http://${bracketed}:${port}/announce` : `udp://${bracketed}:${port}`;
      const name = `pair${i}-${pair.seeder.name}-${pair.leecher.name}`;
      const t = await makeTorrent(root, name, FILE_SIZE, announce);
      const home = (who: string) => {
        const d = join(root, `${name}-${who}-home`);
        mkdirSync(d, { recursive: true });
        return d;
      };
      const downloads = join(root, `${name}-download`);
      mkdirSync(downloads, { recursive: true });
      const counts = () => scrape(tracker.tcp4, t.infoHash);
      // A scrape that gets no answer in time (the clients keep both cores busy) is asked again until
      // waitUntil's deadline, like any scrape that doesn't show the counts yet.
      const shows = (want: ScrapeCounts) => async () => {
        const c = await counts().catch(() => null);
        return c !== null && c.complete === want.complete && c.incomplete === want.incomplete && c.downloaded === want.downloaded;
      };
      const until = async (want: ScrapeCounts, what: string, who: RunningClient[]) =>
        waitUntil(
          shows(want),
          STEP_MS,
          async () =>
            `${what}: scrape ${JSON.stringify(await counts().catch((e: Error) => e.message))}, want ${JSON.stringify(want)}\n${who.map((c) => `--- ${c.name}:\n${c.output()}`).join('\n')}`,
        );

      const startSeeder = async () => {
        const c = await pair.seeder.start({ torrent: t.torrent, dir: t.dir, host: pair.host, seed: true, home: home('seed') });
        clients.push(c);
        return c;
      };
      const startLeecher = async () => {
        const c = await pair.leecher.start({ torrent: t.torrent, dir: downloads, host: pair.host, seed: false, home: home('leech') });
        clients.push(c);
        return c;
      };
      // Transmission ignores loopback addresses from a tracker: it goes first, so that the other
      // client learns its address from swarmd and connects to it.
      let seeder: RunningClient;
      let leecher: RunningClient;
      if (pair.leecher === transmission) {
        leecher = await startLeecher();
        await until({ complete: 0, incomplete: 1, downloaded: 0 }, 'the leecher announces', [leecher]);
        seeder = await startSeeder();
      } else {
        seeder = await startSeeder();
        await until({ complete: 1, incomplete: 0, downloaded: 0 }, 'the seeder announces', [seeder]);
        leecher = await startLeecher();
      }
      await until({ complete: 2, incomplete: 0, downloaded: 1 }, 'the download completes', [seeder, leecher]);
      assert.ok(readFileSync(join(downloads, `${name}.bin`)).equals(t.content), 'the downloaded file is the seeded one');

      const oneLeft = { complete: 1, incomplete: 0, downloaded: 1 };
      await leecher.stop(shows(oneLeft));
      await until(oneLeft, "the downloader's clean exit is heard", [seeder]);
      const noneLeft = { complete: 0, incomplete: 0, downloaded: 1 };
      await seeder.stop(shows(noneLeft));
      await until(noneLeft, "the seeder's clean exit is heard", []);
    });
  }
});
