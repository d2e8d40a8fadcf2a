// What the main thread and the workers share and say to each other.

import type { Config } from '../config/config.ts';
import type { StoreShared } from '../store/swarm-store.ts';
import type { AccessState, BlockState } from '../access/access-list.ts';
import type { WsSwarmsShared } from '../store/ws-swarms.ts';
import type { TransparencyPages } from '../notices/transparency.ts';

export type SharedState = {
  store: StoreShared;
  connectionIdKeys: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  woodpeckers: SharedArrayBuffer;
  /** The last hour of figures, sampled by the main thread (src/stats/history.ts). */
  history: SharedArrayBuffer;
  /** Who asked for a full scrape when, shared so the limit holds across workers. */
  fullScrapeLimiter: SharedArrayBuffer;
  /** WebSocket peers per swarm and worker (src/store/ws-swarms.ts). */
  wsSwarms: WsSwarmsShared;
  /** Unix time (ms) the tracker started. */
  startedAt: number;
  /** A random number naming this run, as opentracker's tracker id. */
  trackerId: number;
  version: string;
};

export type ListeningSocket = { proto: 'tcp' | 'udp' | 'tls'; host: string; port: number; io: 'net' | 'recvmmsg' | 'dgram' };

/** Takedown notices as the workers use them (src/notices/): the blocked hashes and the public list. */
export type NoticesState = {
  generation: number;
  blocks: BlockState;
  /** null: the transparency page is off. */
  pages: TransparencyPages | null;
};

export type WorkerMessage =
  | { type: 'ready'; listening: ListeningSocket[] }
  /** The worker uses this version of the notices now (the main thread waits for it before answering). */
  | { type: 'notices-applied'; generation: number }
  /** The worker hands this version of the certificate to new TLS connections (the reload waits for every worker). */
  | { type: 'tls-applied'; generation: number }
  | { type: 'failed'; message: string; code: string }
  | { type: 'closed' };

/** PEM text of the TLS listeners' certificate chain and key. */
export type TlsCredentials = { cert: string; key: string };

/** What a worker starts with (its workerData): written by the main thread (tracker.ts), read by worker.ts. */
export type WorkerData = {
  /** The tracker's configuration, with the listeners this worker opens. */
  config: Config;
  shared: SharedState;
  /** The worker's row of the counters (row 0 is the main thread's). */
  row: number;
  /** The access list now (null: none); updates come as 'access' messages. */
  access: AccessState | null;
  /** The worker's ring of cluster changes (null: no cluster). */
  changes: SharedArrayBuffer | null;
  /** null: no TLS listener. */
  tls: TlsCredentials | null;
  /** The takedown notices now (null: none); updates come as 'notices' messages. */
  notices: NoticesState | null;
};

/** What the main thread says to a worker. */
export type MainMessage =
  | { type: 'access'; state: AccessState }
  /** `blocked`: the hashes this version newly blocks (20 bytes each), whose swarms the worker drops. */
  | { type: 'notices'; state: NoticesState; blocked: Uint8Array }
  | { type: 'tls'; credentials: TlsCredentials; generation: number }
  | { type: 'close' };
