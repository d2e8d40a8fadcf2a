// A mutex over one Int32 word of shared memory, usable from every thread (the futex scheme of
// Drepper's "Futexes Are Tricky": 0 free, 1 locked, 2 locked with waiters). Critical sections in
// the store last microseconds, so a short spin comes before sleeping.

const SPINS = 64;

export function lock(words: Int32Array, index: number): void {
  if (Atomics.compareExchange(words, index, 0, 1) === 0) return;
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(words, index) === 0 && Atomics.compareExchange(words, index, 0, 1) === 0) return;
  }
  // Mark the lock contended, then sleep until the holder wakes us.
  while (Atomics.exchange(words, index, 2) !== 0) Atomics.wait(words, index, 2, 50);
}

export function unlock(words: Int32Array, index: number): void {
  if (Atomics.exchange(words, index, 0) === 2) Atomics.notify(words, index, 1);
}
