// What both transports answer the same way: intervals, numwant limits, whose address counts.

import type { Config } from '../config/config.ts';
import type { StoreSettings, Announce } from '../store/swarm-store.ts';
import { C, RENEW, RENEW_BUCKETS } from '../stats/counters.ts';
import type { Woodpeckers } from '../stats/woodpeckers.ts';
import { Deniability } from './deniability.ts';

export class TrackerPolicy {
  readonly numwantDefault: number;
  readonly numwantMax: number;
  readonly udpNumwantMax4: number;
  readonly udpNumwantMax6: number;
  readonly maxScrapeHashes: number;
  readonly ipFromQuery: boolean;
  readonly deniability: Deniability;
  /** Room for an address taken from a request rather than the socket. */
  readonly scratchAddress = Buffer.alloc(16);
  /** A re-announce younger than this many minutes is a woodpecker's (20 for the default 30-minute interval, as opentracker). */
  readonly woodpeckerMinutes: number;
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
    this.deniability = new Deniability(config.deniabilityPercent, config.deniabilityRanges);
    this.woodpeckerMinutes = Math.max(1, Math.floor(config.interval / 90));
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

/** Counts a renewal in the `renew` histogram, and as a woodpecker when it came far too soon. */
export function noteRenewal(counters: Float64Array, policy: TrackerPolicy, woodpeckers: Woodpeckers, a: Announce): void {
  const age = a.renewAge;
  if (age < 0) return;
  if (age < RENEW_BUCKETS) counters[RENEW + age]++;
  if (age >= 1 && age < policy.woodpeckerMinutes) {
    counters[C.woodpeckers]++;
    woodpeckers.note(a.family, a.address, a.addressOffset);
  }
}
