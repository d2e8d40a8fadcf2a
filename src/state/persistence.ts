// Keeping the state over restarts: load the dump(s) at start, dump every `tracker.state_interval`
// seconds and once more at a graceful shutdown. Runs on the main thread; the dumps walk the store
// a few stripes at a time and let the event loop turn in between.
//
// Files (see the README, "State dumps"):
//   - dumps go to `tracker.state_file`, or else to the file given with `-l`;
//   - at start, `tracker.state_file` and the `-l` file are both loaded (counts are merged by
//     taking the larger one, so loading the same torrent twice never adds anything up);
//   - `tracker.state_interval 0` writes nothing (load only).
//   - the peer state (`tracker.peer_state_file`, every peer and completed count) is loaded first
//     and written at the stop, and every `tracker.peer_state_interval` seconds when that is set.

import path from 'node:path';
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { currentMinute } from '../store/swarm-store.ts';
import type { HashFilter } from '../scrape/full-scrape.ts';
import { loadStateDump, writeStateDump } from './state-dump.ts';
import { loadPeerState, writePeerStateFile } from './peer-state.ts';
import type { PeerStateLoad, PeerStateWrite, PeerStateReadOptions } from './peer-state.ts';
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
  /** The peer state (tracker.peer_state_file), or null when none is configured. */
  peers: {
    file: string;
    interval: number;
    load: PeerStateLoad;
    writes: number;
    failures: number;
    lastWrite: PeerStateWrite | null;
  } | null;
}

/** One file rewritten every `interval` seconds (0: not on a timer) and at the stop, one write at a time. */
class Rewriter<R extends { ok: boolean }> {
  readonly file: string;
  readonly interval: number;
  writes = 0;
  failures = 0;
  last: R | null = null;
  lastGoodAt: number | null = null;
  private readonly write: (file: string) => Promise<R>;
  private readonly onResult: (result: R) => void;
  private running: Promise<R> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(file: string, interval: number, write: (file: string) => Promise<R>, onResult: (result: R) => void) {
    this.file = file;
    this.interval = interval;
    this.write = write;
    this.onResult = onResult;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  schedule(): void {
    if (this.closed || this.interval <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.now().then(() => this.schedule());
    }, this.interval * 1000);
    this.timer.unref();
  }

  /** Writes now (after the write under way, if any, so it holds the latest state). Never rejects. */
  now(): Promise<R> {
    const previous = this.running ?? Promise.resolve(null);
    const next: Promise<R> = previous.then(() => this.once());
    this.running = next;
    void next.then(() => {
      if (this.running === next) this.running = null;
    });
    return next;
  }

  /** Stops the timer and writes a last time. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.now();
  }

  private async once(): Promise<R> {
    const result = await this.write(this.file);
    this.last = result;
    if (result.ok) {
      this.writes++;
      this.lastGoodAt = Date.now();
    } else this.failures++;
    this.onResult(result);
    return result;
  }
}

/** Where a file's temporary copies are cleared and its directory checked, before it is first written. */
function prepareTarget(file: string, what: string, log: Logger): void {
  for (const temp of removeStaleTemps(file)) log.warn({ file: temp }, `removed a temporary ${what} left by an earlier run`);
  try {
    fs.accessSync(path.dirname(file), fs.constants.W_OK);
  } catch {
    log.error({ file }, `the ${what} directory is not writable: writing it will fail`);
  }
}

export class StatePersistence {
  /** The main thread's counter row, to count dumps in (set by the tracker). */
  counters: Float64Array | null = null;
  private readonly loads: LoadResult[] = [];
  private dump: Rewriter<DumpResult> | null = null;
  private peers: Rewriter<PeerStateWrite> | null = null;
  private peerLoad: PeerStateLoad | null = null;
  private readonly log: Logger;

  private constructor(log: Logger) {
    this.log = log;
  }

  /**
   * Loads the peer state and the configured dump(s) into the store, then schedules the periodic
   * writes. Call it before the workers answer. Never rejects on file problems (they are logged);
   * `allows` is the access list, if any.
   */
  static async start(config: Config, store: SwarmStore, log: Logger, allows?: HashFilter | null): Promise<StatePersistence> {
    const stateFile = config.stateFile === null ? null : path.resolve(config.stateFile);
    const loadFile = config.loadState === null ? null : path.resolve(config.loadState);
    const target = config.stateInterval > 0 ? (stateFile ?? loadFile) : null;
    const p = new StatePersistence(log);

    // Loaded torrents live at least one peer timeout after the start, however long the tracker
    // was down, so that their clients can come back before the cleaner drops them.
    const nowMinute = currentMinute();
    const minActiveMinute = nowMinute - Math.ceil(config.torrentTimeout / 60) + Math.ceil(config.peerTimeout / 60);
    if (config.peerStateFile !== null) {
      const file = path.resolve(config.peerStateFile);
      p.peerLoad = await loadPeers(store, file, log, { allows: allows ?? null, minActiveMinute });
      prepareTarget(file, 'peer state', log);
      p.peers = new Rewriter(
        file,
        config.peerStateInterval,
        (f) => writePeerStateFile(store, f, log),
        (r) => {
          if (r.ok) log.info({ file, torrents: r.torrents, peers: r.peers, bytes: r.bytes, ms: Math.round(r.ms) }, 'peer state written');
        },
      );
      p.peers.schedule();
    }
    const files = [...new Set([loadFile, stateFile].filter((f): f is string => f !== null))];
    for (const file of files) {
      const result = await loadStateDump(store, file, log, { allows: allows ?? null, minActiveMinute });
      if (!result.found && file === loadFile && file !== target) {
        log.error({ file }, 'the state dump given with -l does not exist');
      }
      p.loads.push(result);
    }

    if (target !== null) {
      prepareTarget(target, 'state dump', log);
      p.dump = new Rewriter(
        target,
        config.stateInterval,
        (f) => writeStateDump(store, f, log),
        (r) => p.counted(r),
      );
      p.dump.schedule();
      log.info({ file: target, interval: config.stateInterval }, 'state dumps scheduled');
    }
    return p;
  }

  /**
   * Writes a dump now (after the one being written, if any, so it holds the latest state).
   * Resolves with its result, or null when no dump file is configured. Never rejects.
   */
  dumpNow(): Promise<DumpResult | null> {
    return this.dump === null ? Promise.resolve(null) : this.dump.now();
  }

  /** Writes the peer state now; null when none is configured. Never rejects. */
  writePeersNow(): Promise<PeerStateWrite | null> {
    return this.peers === null ? Promise.resolve(null) : this.peers.now();
  }

  private counted(result: DumpResult): void {
    if (this.counters !== null) {
      // Row 0 of the shared counters: swarmd_state_dumps_total, ..._failures_total, ..._age_seconds.
      if (result.ok) {
        this.counters[C.state_dumps]++;
        this.counters[G.state_dump_at_ms] = Date.now();
      } else this.counters[C.state_dump_failures]++;
    }
    if (result.ok) this.log.info({ file: result.file, torrents: result.torrents, bytes: result.bytes, ms: Math.round(result.ms) }, 'state dumped');
  }

  stats(): StateStats {
    const d = this.dump;
    const p = this.peers;
    return {
      file: d?.file ?? null,
      interval: d?.interval ?? 0,
      loads: this.loads,
      dumps: d?.writes ?? 0,
      dumpFailures: d?.failures ?? 0,
      lastDump: d?.last ?? null,
      lastGoodDumpAt: d?.lastGoodAt ?? null,
      dumping: d?.busy ?? false,
      peers:
        p === null
          ? null
          : {
              file: p.file,
              interval: p.interval,
              load: this.peerLoad!,
              writes: p.writes,
              failures: p.failures,
              lastWrite: p.last,
            },
    };
  }

  /** Stops the schedules and writes the last dump and peer state (call it once the workers have stopped). */
  async close(): Promise<void> {
    await Promise.all([this.dump?.close(), this.peers?.close()]);
  }
}

/** Loads the peer state, saying in the log what came back or why nothing did. */
async function loadPeers(store: SwarmStore, file: string, log: Logger, options: PeerStateReadOptions): Promise<PeerStateLoad> {
  const r = await loadPeerState(store, file, options);
  if (!r.found) log.warn({ file }, 'no peer state to load (a first start?)');
  else if (!r.ok) log.error({ file, error: r.error }, 'the peer state file is damaged or unreadable: nothing of it is loaded, starting without its peers');
  else {
    const { torrents, peers, expired, refused } = r;
    log.info(
      { file, torrents, peers, expired, refused, ms: Math.round(r.ms), writtenAt: new Date(r.writtenMinute * 60000).toISOString() },
      'peer state loaded',
    );
    if (r.full) log.error({ file }, 'the memory limit is reached: the rest of the peer state is not loaded');
  }
  return r;
}
