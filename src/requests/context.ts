// What a worker's transports share: the store, this thread's counters, the policy, the access
// list, the stats sources. One object, so each transport's constructor takes what it needs from it.

import type { Config } from '../config/config.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import type { AccessList } from '../access/access-list.ts';
import type { Woodpeckers } from '../stats/woodpeckers.ts';
import type { RequestLog } from '../stats/request-log.ts';
import type { StatsSource } from '../stats/opentracker-stats.ts';
import type { ObservabilitySource } from '../stats/observability.ts';
import type { TrackerPolicy } from './policy.ts';
import type { ChangeLog } from '../cluster/change-log.ts';
import type { TransparencyPages } from '../notices/transparency.ts';

export interface TrackerContext {
  readonly config: Config;
  readonly store: SwarmStore;
  /** This thread's row of the shared counters. */
  readonly counters: Float64Array;
  readonly policy: TrackerPolicy;
  readonly access: AccessList;
  readonly woodpeckers: Woodpeckers;
  readonly requestLog: RequestLog;
  /** Where announces record their changes for the cluster; null without one. */
  readonly changes: ChangeLog | null;
  /** The public list of takedown notices (null: notices or the page are off); the worker swaps it. */
  transparency: TransparencyPages | null;
  /** What the stats pages read (shared memory every thread sees). */
  readonly stats: StatsSource & ObservabilitySource & { fullScrapeLimiter: SharedArrayBuffer };
}
