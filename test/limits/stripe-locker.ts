// A worker thread for overload.test.ts that makes a tracker worker slow on purpose: it holds the
// store's lock of one stripe for `holdMs` out of every `periodMs`, so a tracker worker announcing a
// hash of that stripe waits on it, its event loop stalled. Stops when the shared flag turns 1.

import { workerData } from 'node:worker_threads';
import { lock, unlock } from '../../src/store/lock.ts';

const { stripes, word, holdMs, periodMs, stop } = workerData as {
  stripes: SharedArrayBuffer;
  word: number;
  holdMs: number;
  periodMs: number;
  stop: SharedArrayBuffer;
};
const words = new Int32Array(stripes);
const flag = new Int32Array(stop);
while (Atomics.load(flag, 0) === 0) {
  lock(words, word);
  Atomics.wait(flag, 0, 0, holdMs);
  unlock(words, word);
  Atomics.wait(flag, 0, 0, periodMs - holdMs);
}
