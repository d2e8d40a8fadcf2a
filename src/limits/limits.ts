// A public tracker's defences as one worker holds them: the per-source budgets of UDP and HTTP
// (flood.ts), the bad-connection-ID bans (bad-connection-ids.ts), the top sources over budget
// (top-sources.ts), shared by every worker, and this worker's overload signal (overload.ts).
// createLimitsShared() runs once in the main thread; each worker builds its Limits from the result.

import type { LimitsConfig } from '../config/config.ts';
import { FloodControl } from './flood.ts';
import type { FloodShared } from './flood.ts';
import { BadConnectionIds } from './bad-connection-ids.ts';
import type { BadConnectionIdShared } from './bad-connection-ids.ts';
import { TopSources } from './top-sources.ts';
import { OverloadSignal } from './overload.ts';

/** Entries of the top-sources table. */
export const TOP_SOURCES = 32;

/** null where a limit is off. */
export type LimitsShared = {
  udp: FloodShared | null;
  http: FloodShared | null;
  badIds: BadConnectionIdShared | null;
  top: SharedArrayBuffer;
};

export function createLimitsShared(config: LimitsConfig): LimitsShared {
  const top = new TopSources(TOP_SOURCES);
  const budget = (rate: number) => (rate === 0 ? null : new FloodControl({ rate, burst: config.burst }, top).shared());
  return {
    udp: budget(config.udpPerSource),
    http: budget(config.httpPerSource),
    badIds: config.badConnectionIds === 0 ? null : new BadConnectionIds({ answered: config.badConnectionIds, banSeconds: config.badConnectionIdBan }).shared(),
    top: top.buffer,
  };
}

export class Limits {
  readonly udp: FloodControl | null;
  readonly http: FloodControl | null;
  readonly badIds: BadConnectionIds | null;
  readonly top: TopSources;
  readonly overload: OverloadSignal;

  constructor(shared: LimitsShared, config: LimitsConfig) {
    this.udp = shared.udp === null ? null : new FloodControl(shared.udp);
    this.http = shared.http === null ? null : new FloodControl(shared.http);
    this.badIds = shared.badIds === null ? null : new BadConnectionIds(shared.badIds);
    this.top = new TopSources(shared.top);
    this.overload = new OverloadSignal({ delayMs: config.overloadDelay, maxFactor: config.overloadMaxFactor });
  }
}
