// Flood control: a request budget per source (IPv4 address, IPv6 /64), shared by every worker,
// checked before a request is parsed. Over budget, UDP gets no answer at all (no egress, so no
// amplification) and HTTP a 429; the source is reported to the top-sources table that /stats and
// /metrics show. One FloodControl per protocol, each with its own budget; they may share one
// top-sources table. The budget lives in src/limits/source-table.ts, the table in top-sources.ts.

import { SourceTable } from './source-table.ts';
import type { SourceTableOptions } from './source-table.ts';
import { TopSources } from './top-sources.ts';

export const FLOOD_OK = 0;
export const FLOOD_OVER = 1;

/** What a worker needs to join the same budget: the buffers of the table and of the top sources. */
export type FloodShared = { table: SharedArrayBuffer; top: SharedArrayBuffer };

export class FloodControl {
  readonly table: SourceTable;
  readonly top: TopSources;
  /** Requests this thread found over budget. */
  over = 0;

  /** A new budget (reporting to `top`), or this thread's view of one made elsewhere. */
  constructor(from: SourceTableOptions | FloodShared, top?: TopSources) {
    if ('table' in from) {
      this.table = new SourceTable(from.table);
      this.top = new TopSources(from.top);
    } else {
      this.table = new SourceTable(from);
      this.top = top ?? new TopSources(32);
    }
  }

  shared(): FloodShared {
    return { table: this.table.buffer, top: this.top.buffer };
  }

  /**
   * One request from a source: FLOOD_OK, or FLOOD_OVER (counted, reported, nothing else to do but drop
   * it). `addr[off..]`: 4 bytes for family 4, 16 for family 6 (pass an IPv4-mapped address as family 4).
   */
  take(family: number, addr: Uint8Array, off: number, nowMs: number): number {
    if (this.table.take(family, addr, off, nowMs)) return FLOOD_OK;
    this.over++;
    this.top.report(family, addr, off, this.table.lastHash, nowMs);
    return FLOOD_OVER;
  }

  /** Seconds a refused HTTP client is told to wait (Retry-After). */
  retryAfterSeconds(): number {
    return this.table.retryAfterSeconds();
  }
}
