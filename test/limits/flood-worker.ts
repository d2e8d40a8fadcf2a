// A worker thread for flood.test.ts: joins a FloodControl made by the main thread and takes
// `count` requests for one source at the given time, then reports how many were within budget.

import { parentPort, workerData } from 'node:worker_threads';
import { FloodControl, FLOOD_OK } from '../../src/limits/flood.ts';

const { shared, count, nowMs, addr } = workerData as {
  shared: { table: SharedArrayBuffer; top: SharedArrayBuffer };
  count: number;
  nowMs: number;
  addr: number[];
};
const flood = new FloodControl(shared);
const bytes = Uint8Array.from(addr);
let ok = 0;
for (let i = 0; i < count; i++) if (flood.take(4, bytes, 0, nowMs) === FLOOD_OK) ok++;
parentPort!.postMessage({ ok, over: flood.over });
