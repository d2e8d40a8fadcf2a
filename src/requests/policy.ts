// What every protocol answers the same way, from the configuration: announce intervals, how many
// peers an answer holds, whether a request may name its own address, deniability, when a
// re-announce is a woodpecker's. Per protocol only where the settings differ (UDP's per-family
// numwant limits, which keep a reply in one datagram; WebSocket's own interval and offer cap).

import type { Config } from '../config/config.ts';
import type { StoreSettings } from '../store/swarm-store.ts';
import { Deniability } from './deniability.ts';
import { PROTO_UDP, PROTO_HTTP, PROTO_WS } from './protocols.ts';
import type { OverloadSignal } from '../limits/overload.ts';

/** One protocol's limits: peers given when the client asks for none in particular, and at most. */
type Limits = {
  readonly default4: number;
  readonly default6: number;
  readonly max4: number;
  readonly max6: number;
  readonly interval: number;
  readonly variation: number;
};

export class TrackerPolicy {
  readonly numwantMax: number;
  readonly ipFromQuery: boolean;
  readonly deniability: Deniability;
  /** A re-announce younger than this many minutes is a woodpecker's (20 for the default 30-minute interval, as opentracker). */
  readonly woodpeckerMinutes: number;
  /** Indexed by PROTO_*. */
  private readonly limits: readonly Limits[];
  /** While the worker is behind, intervals are stretched by its factor (null: never). */
  private readonly overload: OverloadSignal | null;

  constructor(config: Config, overload: OverloadSignal | null = null) {
    this.overload = overload;
    this.numwantMax = config.numwantMax;
    this.ipFromQuery = config.ipFromQuery;
    this.deniability = new Deniability(config.deniabilityPercent, config.deniabilityRanges);
    this.woodpeckerMinutes = Math.max(1, Math.floor(config.interval / 90));
    const interval = config.interval - (config.intervalVariation >> 1);
    const variation = config.intervalVariation;
    const limits: Limits[] = [];
    limits[PROTO_UDP] = {
      default4: config.udpNumwantMax4,
      default6: config.udpNumwantMax6,
      max4: config.udpNumwantMax4,
      max6: config.udpNumwantMax6,
      interval,
      variation,
    };
    limits[PROTO_HTTP] = {
      default4: config.numwantDefault,
      default6: config.numwantDefault,
      max4: config.numwantMax,
      max6: config.numwantMax,
      interval,
      variation,
    };
    const ws = config.ws.numwantMax;
    limits[PROTO_WS] = { default4: ws, default6: ws, max4: ws, max6: ws, interval: config.ws.interval, variation: 0 };
    this.limits = limits;
  }

  /**
   * The announce interval, jittered per answer so that clients don't come back in lockstep, and
   * stretched while the worker is behind (limits.overload_delay).
   */
  interval(proto: number): number {
    const l = this.limits[proto];
    const interval = l.variation === 0 ? l.interval : l.interval + Math.floor(Math.random() * l.variation);
    return this.overload === null ? interval : this.overload.stretch(interval);
  }

  /** BEP 31's `retry in` for a failure, in minutes: the stretched interval while behind, else 0 (none). */
  retryInMinutes(proto: number): number {
    return this.overload === null || !this.overload.behind ? 0 : Math.ceil(this.interval(proto) / 60);
  }

  /** Peers (WebSocket: offers) to give a client that asked for `requested` (-1: didn't say). */
  want(proto: number, requested: number, family: number): number {
    const l = this.limits[proto];
    if (requested < 0) return family === 6 ? l.default6 : l.default4;
    return Math.min(requested, family === 6 ? l.max6 : l.max4);
  }
}

/** The store counts time in minutes. */
export function storeSettings(config: Config): StoreSettings {
  return {
    peerTimeoutMinutes: Math.max(1, Math.ceil(config.peerTimeout / 60)),
    torrentTimeoutMinutes: Math.max(1, Math.ceil(config.torrentTimeout / 60)),
  };
}
