// Keeping the state over restarts: load the dump(s) at start, dump every `tracker.state_interval`
// seconds and once more at a graceful shutdown. Runs on the main thread; the dumps walk the store
// a few stripes at a time and let the event loop turn in between.
//
// Files (see the README, "State dumps"):
//   - dumps go to `tracker.state_file`, or else to the file given with `-l`;
//   - at start, `tracker.state_file` and the `-l` file are both loaded (counts are merged by
//     taking the larger one, so loading the same torrent twice never adds anything up);
//   - `tracker.state_interval 0` writes nothing (load only).

import path from 'node:path';
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import type { HashFilter } from '../scrape/full-scrape.ts';
import { loadStateDump, writeStateDump } from './state-dump.ts';
import { removeStaleTemps } from '../fs/atomic-file.ts';
import type { DumpResult, LoadResult } from './state-dump.ts';
import { C, G } from '../stats/counters.ts';

interface StateStats {
  /** Where dumps are written (null: nowhere). */
  file: string | null;
  /** Seconds between dumps (0: no periodic dumps). */
  interval: number;
  /** One result per file loaded at start. */
  loads: LoadResult[];
  /** Dumps written. */
  dumps: number;
  /** Dumps that failed (the previous file was kept). */
  dumpFailures: number;
  lastDump: DumpResult | null;
  /** When the last good dump finished (ms since the epoch), or null. */
  lastGoodDumpAt: number | null;
  /** A dump is being written now. */
  dumping: boolean;
}

export class StatePersistence {
  /** The main thread's counter row, to count dumps in (set by the tracker). */
  counters: Float64Array | null = null;
  private readonly store: SwarmStore;
  private readonly log: Logger;
  private readonly file: string | null;
  private readonly interval: number;
  private readonly loads: LoadResult[] = [];
  private dumps = 0;
  private failures = 0;
  private lastDump: DumpResult | null = null;
  private lastGoodDumpAt: number | null = null;
  private running: Promise<DumpResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(store: SwarmStore, log: Logger, file: string | null, interval: number) {
    this.store = store;
    this.log = log;
    this.file = file;
    this.interval = interval;
  }

  /**
   * Loads the configured dump(s) into the store, then schedules the periodic dumps. Call it
   * before the workers answer. Never rejects on file problems (they are logged); `allows` is the
   * access list, if any.
   */
  static async start(config: Config, store: SwarmStore, log: Logger, allows?: HashFilter | null): Promise<StatePersistence> {
    const stateFile = config.stateFile === null ? null : path.resolve(config.stateFile);
    const loadFile = config.loadState === null ? null : path.resolve(config.loadState);
    const target = config.stateInterval > 0 ? (stateFile ?? loadFile) : null;
    const p = new StatePersistence(store, log, target, config.stateInterval);

    // Loaded torrents live at least one peer timeout after the start, however long the tracker
    // was down, so that their clients can come back before the cleaner drops them.
    const nowMinute = Math.floor(Date.now() / 60000);
    const minActiveMinute = nowMinute - Math.ceil(config.torrentTimeout / 60) + Math.ceil(config.peerTimeout / 60);
    const files = [...new Set([loadFile, stateFile].filter((f): f is string => f !== null))];
    for (const file of files) {
      const result = await loadStateDump(store, file, log, { allows: allows ?? null, minActiveMinute });
      if (!result.found && file === loadFile && file !== target) {
        log.error({ file }, 'the state dump given with -l does not exist');
      }
      p.loads.push(result);
    }

    if (target !== null) {
      for (const temp of removeStaleTemps(target)) log.warn({ file: temp }, 'removed a temporary state dump left by an earlier run');
      try {
        fs.accessSync(path.dirname(target), fs.constants.W_OK);
      } catch {
        log.error({ file: target }, 'the state dump directory is not writable: dumps will fail');
      }
      p.schedule();
      log.info({ file: target, interval: config.stateInterval }, 'state dumps scheduled');
    }
    return p;
  }

  private schedule(): void {
    if (this.closed || this.file === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.dumpNow().then(() => this.schedule());
    }, this.interval * 1000);
    this.timer.unref();
  }

  /**
   * Writes a dump now (after the one being written, if any, so it holds the latest state).
   * Resolves with its result, or null when no dump file is configured. Never rejects.
   */
  dumpNow(): Promise<DumpResult | null> {
    const file = this.file;
    if (file === null) return Promise.resolve(null);
    const previous = this.running ?? Promise.resolve(null);
    const next: Promise<DumpResult> = previous.then(() => this.write(file));
    this.running = next;
    void next.then(() => {
      if (this.running === next) this.running = null;
    });
    return next;
  }

  private async write(file: string): Promise<DumpResult> {
    let result: DumpResult;
    try {
      result = await writeStateDump(this.store, file, this.log);
    } catch (err) {
      // writeStateDump handles its errors; this is only a last line of defence.
      result = { ok: false, file, torrents: 0, bytes: 0, ms: 0, error: String(err) };
      this.log.error({ file, error: result.error }, 'state dump failed');
    }
    this.lastDump = result;
    if (this.counters !== null) {
      // Row 0 of the shared counters: swarmd_state_dumps_total, ..._failures_total, ..._age_seconds.
      if (result.ok) {
        this.counters[C.state_dumps]++;
        this.counters[G.state_dump_at_ms] = Date.now();
      } else this.counters[C.state_dump_failures]++;
    }
    if (result.ok) {
      this.dumps++;
      this.lastGoodDumpAt = Date.now();
      this.log.info({ file, torrents: result.torrents, bytes: result.bytes, ms: Math.round(result.ms) }, 'state dumped');
    } else this.failures++;
    return result;
  }

  stats(): StateStats {
    return {
      file: this.file,
      interval: this.file === null ? 0 : this.interval,
      loads: this.loads,
      dumps: this.dumps,
      dumpFailures: this.failures,
      lastDump: this.lastDump,
      lastGoodDumpAt: this.lastGoodDumpAt,
      dumping: this.running !== null,
    };
  }

  /** Stops the schedule and writes a last dump (call it once the workers have stopped). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.dumpNow();
  }
}
