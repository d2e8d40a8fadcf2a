// What both transports answer the same way: intervals, numwant limits, whose address counts.

import type { Config } from '../config/config.ts';
import type { StoreSettings } from '../store/swarm-store.ts';

export class TrackerPolicy {
  readonly numwantDefault: number;
  readonly numwantMax: number;
  readonly udpNumwantMax4: number;
  readonly udpNumwantMax6: number;
  readonly maxScrapeHashes: number;
  readonly ipFromQuery: boolean;
  /** Room for an address taken from a request rather than the socket. */
  readonly scratchAddress = Buffer.alloc(16);
  private readonly base: number;
  private readonly variation: number;

  constructor(config: Config) {
    this.numwantDefault = config.numwantDefault;
    this.numwantMax = config.numwantMax;
    this.udpNumwantMax4 = config.udpNumwantMax4;
    this.udpNumwantMax6 = config.udpNumwantMax6;
    this.maxScrapeHashes = config.maxScrapeHashes;
    this.ipFromQuery = config.ipFromQuery;
    this.base = config.interval - (config.intervalVariation >> 1);
    this.variation = config.intervalVariation;
  }

  /** The announce interval, jittered per answer so that clients don't come back in lockstep. */
  interval(): number {
    return this.base + Math.floor(Math.random() * this.variation);
  }
}

/** The store counts time in minutes. */
export function storeSettings(config: Config): StoreSettings {
  return {
    peerTimeoutMinutes: Math.max(1, Math.ceil(config.peerTimeout / 60)),
    torrentTimeoutMinutes: Math.max(1, Math.ceil(config.torrentTimeout / 60)),
  };
}
