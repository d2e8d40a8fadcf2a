// A worker thread for access-manager.test.ts: looks hashes up in a loop while the main thread
// reloads the list, swapping tables as they arrive (between slices of lookups, as a server
// swaps between requests). Every answer is checked against what the table's generation must say.

import { parentPort, workerData } from 'node:worker_threads';
import { AccessList } from '../../src/access/access-list.ts';
import type { AccessState } from '../../src/access/access-list.ts';

type Data = {
  state: AccessState;
  /** Hashes listed in every version, and never listed. */
  always: Uint8Array;
  never: Uint8Array;
  /** Listed in odd generations only. */
  toggled: Uint8Array;
};

const { state, always, never, toggled } = workerData as Data;
const port = parentPort!;
const list = new AccessList(state);
let lookups = 0;
let wrong = 0;
let swaps = 0;
const generations = new Set<number>();
let stop = false;

port.on('message', (m: { type: 'state'; state: AccessState } | { type: 'stop' }) => {
  if (m.type === 'state') {
    list.update(m.state);
    swaps++;
  } else {
    stop = true;
  }
});

function slice(): void {
  const toggledListed = list.generation % 2 === 1;
  generations.add(list.generation);
  for (let r = 0; r < 200; r++) {
    for (let off = 0; off < always.length; off += 20) {
      lookups++;
      if (!list.allows(always, off)) wrong++;
    }
    for (let off = 0; off < never.length; off += 20) {
      lookups++;
      if (list.allows(never, off)) wrong++;
    }
    for (let off = 0; off < toggled.length; off += 20) {
      lookups++;
      if (list.allows(toggled, off) !== toggledListed) wrong++;
    }
  }
  if (stop) {
    port.postMessage({ lookups, wrong, swaps, generations: generations.size });
    port.close();
    return;
  }
  setImmediate(slice);
}

slice();
