// libtorrent-rasterbar through its Python binding (libtorrent-client.py), run by Debian's
// /usr/bin/python3: the pyenv python3 earlier on PATH has no libtorrent module.

import { fileURLToPath } from 'node:url';
import { Child } from '../helpers/process.ts';
import type { ClientDriver, ClientStart, RunningClient } from './client.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./libtorrent-client.py', import.meta.url));

export const libtorrent: ClientDriver = {
  name: 'libtorrent',
  tools: [PYTHON],
  async start(s: ClientStart): Promise<RunningClient> {
    const child = new Child(PYTHON, [SCRIPT, s.torrent, s.dir, s.host]);
    return {
      name: 'libtorrent',
      // SIGTERM: the script pauses the torrent, which announces event=stopped; it exits 1 if the
      // tracker did not answer
      stop: async () => {
        const code = await child.stop('SIGTERM');
        if (code !== 0) throw new Error(`libtorrent's stop failed (exit ${code}): ${child.output()}`);
      },
      kill: () => child.kill(),
      output: () => child.output(),
    };
  },
};
