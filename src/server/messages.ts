// What the main thread and the workers share and say to each other.

import type { StoreShared } from '../store/swarm-store.ts';
import type { AccessState } from '../access/access-list.ts';

export type SharedState = {
  store: StoreShared;
  connectionIdKeys: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  woodpeckers: SharedArrayBuffer;
  /** The last hour of figures, sampled by the main thread (src/stats/history.ts). */
  history: SharedArrayBuffer;
  /** Who asked for a full scrape when, shared so the limit holds across workers. */
  fullScrapeLimiter: SharedArrayBuffer;
  /** Unix time (ms) the tracker started. */
  startedAt: number;
  /** A random number naming this run, as opentracker's tracker id. */
  trackerId: number;
  version: string;
};

export type ListeningSocket = { proto: 'tcp' | 'udp'; host: string; port: number; io: 'net' | 'recvmmsg' | 'dgram' };

export type WorkerMessage =
  | { type: 'ready'; listening: ListeningSocket[] }
  | { type: 'failed'; message: string; code: string }
  | { type: 'closed' };

/** What the main thread says to a worker. */
export type MainMessage = { type: 'access'; state: AccessState } | { type: 'close' };
