// The main thread's side of the info-hash access list: reads the list file, takes changes from
// the FIFOs, keeps them in the journal, and publishes each new version as an AccessState for the
// workers (access-list.ts).
//
// What is listed = (file ∪ added) − deleted. In whitelist mode the listed hashes are allowed, in
// blacklist mode they are refused; so access.fifo_add allows (whitelist) or blocks (blacklist) a
// hash, and access.fifo_delete does the opposite. The dynamic changes only ever record where they
// differ from the file: an add of a hash the file lists, or a delete of one it doesn't, changes
// nothing; and when a reload brings a file that agrees with a change, the change is dropped (the
// file now says it). So a FIFO change stays in force across reloads and restarts until the file
// takes it over, and a later edit of the file then decides.

import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { buildState, stateKeys } from './access-list.ts';
import type { AccessMode, AccessState } from './access-list.ts';
import { ensureFifo, errorText, FifoReader } from './fifo.ts';
import { JUNK_REPORTED, KEY_WORDS, compareKeys, findKey, isBlankOrComment, isHashLine, keyFromHex, parseList, sortUnique } from './hashes.ts';
import type { ParsedList } from './hashes.ts';
import { FifoJournal, readJournal } from './fifo-journal.ts';

/** FIFO changes are applied (and the table rebuilt) at most this often. */
export const BATCH_MS = 100;
/** Bad FIFO lines logged one by one per batch; the rest are only counted. */
const BAD_LINES_LOGGED = 5;
/** The journal is rewritten when it has this many times more lines than changes in force (and 1000 more). */
const COMPACT_RATIO = 4;
const COMPACT_SLACK = 1000;

type AccessStats = {
  mode: AccessMode;
  /** Version of the table in use (AccessState.generation). */
  generation: number;
  /** Hashes listed now: the file's plus the added minus the deleted. */
  hashes: number;
  /** Distinct hashes in the list file (at the last successful read). */
  fileHashes: number;
  /** FIFO changes in force: hashes listed although the file doesn't list them... */
  added: number;
  /** ...and hashes the file lists that are not listed. */
  deleted: number;
  /** Junk lines in the list file at the last successful read. */
  junkLines: number;
  /** Successful reloads (SIGHUP), and failed ones (the old list was kept). */
  reloads: number;
  reloadFailures: number;
  /** Lines read from the FIFOs that were hashes, and lines that were not (blank lines not counted). */
  fifoAccepted: number;
  fifoRejected: number;
  /** Journal writes that failed (the changes stay in force, but would be lost by a restart). */
  journalErrors: number;
  /** How long the last table build took (ms). */
  lastBuildMs: number;
};

type Op = '+' | '-';

/** One dynamic change: `+` lists a hash, `-` takes it off (40 lowercase hex digits). */
type AccessChange = { op: Op; hex: string };

/** Whether `data` (from another node) is a list of changes; anything else is refused whole. */
export function isAccessChanges(data: unknown): data is AccessChange[] {
  return (
    Array.isArray(data) &&
    data.every((c) => typeof c === 'object' && c !== null && (c.op === '+' || c.op === '-') && typeof c.hex === 'string' && /^[0-9a-f]{40}$/.test(c.hex))
  );
}

export class AccessManager {
  readonly mode: AccessMode;
  /** The list file. */
  readonly file: string;
  /** The journal of FIFO changes. */
  readonly changesFile: string;
  private readonly fifoAdd: string | null;
  private readonly fifoDelete: string | null;
  private readonly log: Logger;

  private fileList: ParsedList = { keys: new Int32Array(0), count: 0, lines: 0, junk: 0, junkLines: [] };
  /** The changes in force, as lowercase hex: added ∩ file = ∅, deleted ⊆ file. */
  private readonly added = new Set<string>();
  private readonly deleted = new Set<string>();
  private current!: AccessState;
  private readonly listeners: ((state: AccessState) => void)[] = [];
  private journal: FifoJournal | null = null;
  private readonly readers: FifoReader[] = [];
  private pending: AccessChange[] = [];
  /** The FIFO changes among `pending` (not those applied from other nodes), for the FIFO listeners. */
  private pendingFromFifo: AccessChange[] = [];
  private readonly fifoListeners: ((changes: AccessChange[]) => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private badLogged = 0;
  private badUnlogged = 0;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  private closed = false;
  private readonly counters = {
    reloads: 0,
    reloadFailures: 0,
    fifoAccepted: 0,
    fifoRejected: 0,
    journalErrors: 0,
    lastBuildMs: 0,
  };
  private readonly scratch = new Int32Array(KEY_WORDS);

  private constructor(mode: AccessMode, file: string, changesFile: string, fifoAdd: string | null, fifoDelete: string | null, log: Logger) {
    this.mode = mode;
    this.file = file;
    this.changesFile = changesFile;
    this.fifoAdd = fifoAdd;
    this.fifoDelete = fifoDelete;
    this.log = log;
  }

  /**
   * Starts the access list described by `config.access`, or returns null when there is none (an
   * open tracker). Reads the list file (an unreadable file is an error, in either mode), replays
   * the journal, creates and opens the FIFOs. Throws an Error fit for the operator.
   */
  static async open(config: Config, log: Logger): Promise<AccessManager | null> {
    const a = config.access;
    const file = a.whitelist ?? a.blacklist;
    if (file === null) return null;
    if (a.whitelist !== null && a.blacklist !== null) throw new Error("access.whitelist and access.blacklist can't be used together");
    const mode: AccessMode = a.whitelist !== null ? 'whitelist' : 'blacklist';
    const m = new AccessManager(mode, file, a.changesFile ?? `${file}.changes`, a.fifoAdd, a.fifoDelete, log);
    try {
      await m.start();
    } catch (e) {
      await m.close();
      throw e;
    }
    return m;
  }

  /** The version in use: post it to every worker at start (and to a restarted worker). */
  get state(): AccessState {
    return this.current;
  }

  /** Calls `fn` with each new version (after a reload or a batch of FIFO changes). */
  onChange(fn: (state: AccessState) => void): void {
    this.listeners.push(fn);
  }

  /** Calls `fn` with each batch of changes read from the FIFOs here (the cluster sends them on). */
  onFifoChanges(fn: (changes: AccessChange[]) => void): void {
    this.fifoListeners.push(fn);
  }

  /**
   * Applies changes made elsewhere (another node's FIFOs) as if they had been written to the FIFOs
   * here: journaled and batched the same way, but not handed to the onFifoChanges listeners.
   */
  applyChanges(changes: AccessChange[]): void {
    this.pending.push(...changes);
    this.scheduleFlush();
  }

  /** The dynamic changes in force, in lists of at most `per` (for a joining cluster node's snapshot). */
  changesInForce(per: number): AccessChange[][] {
    const all: AccessChange[] = [...[...this.added].map((hex) => ({ op: '+' as const, hex })), ...[...this.deleted].map((hex) => ({ op: '-' as const, hex }))];
    const out: AccessChange[][] = [];
    for (let i = 0; i < all.length; i += per) out.push(all.slice(i, i + per));
    return out;
  }

  /** Whether a hash (40 hex digits) is allowed by the current version. For tests and tools. */
  allowsHex(hex: string): boolean {
    const key = keyFromHex(hex, this.scratch);
    const listed = findKeyIn(this.current, key);
    return listed === (this.mode === 'whitelist');
  }

  stats(): AccessStats {
    return {
      mode: this.mode,
      generation: this.current?.generation ?? 0,
      hashes: this.current?.count ?? 0,
      fileHashes: this.fileList.count,
      added: this.added.size,
      deleted: this.deleted.size,
      junkLines: this.fileList.junk,
      ...this.counters,
    };
  }

  // ------------------------------------------------------------ start-up

  private async start(): Promise<void> {
    const what = `access.${this.mode}`;
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(this.file);
    } catch (e) {
      throw new Error(`${what}: can't read ${this.file}: ${errorText(e)}`, { cause: e });
    }
    this.installFile(parseList(bytes), 'loaded');

    await this.replayJournal();
    this.publish(false);

    if (this.fifoAdd !== null) await this.openFifo(this.fifoAdd, '+', 'access.fifo_add');
    if (this.fifoDelete !== null) await this.openFifo(this.fifoDelete, '-', 'access.fifo_delete');
    this.log.info(
      {
        mode: this.mode,
        file: this.file,
        hashes: this.current.count,
        added: this.added.size,
        deleted: this.deleted.size,
        fifoAdd: this.fifoAdd,
        fifoDelete: this.fifoDelete,
        journal: this.journal ? this.changesFile : null,
      },
      `access list: ${this.mode} of ${this.current.count} info hashes`,
    );
    if (this.mode === 'whitelist' && this.current.count === 0) {
      this.log.warn({ file: this.file }, 'access list: the whitelist is empty, every announce is refused');
    }
  }

  private async replayJournal(): Promise<void> {
    const file = this.changesFile;
    let content;
    try {
      content = await readJournal(file);
    } catch (e) {
      throw new Error(`access.changes_file: can't read ${file}: ${errorText(e)}`, { cause: e });
    }
    const useFifos = this.fifoAdd !== null || this.fifoDelete !== null;
    if (!content.exists && !useFifos) return;
    for (const { op, hex } of content.ops) {
      if (op === '+') {
        this.deleted.delete(hex);
        this.added.add(hex);
      } else if (op === '-') {
        this.added.delete(hex);
        this.deleted.add(hex);
      } else {
        this.added.delete(hex);
        this.deleted.delete(hex);
      }
    }
    if (content.bad > 0) {
      this.log.warn(
        { file, line: content.badLines[0], lines: content.badLines, count: content.bad },
        `access list journal ${file}: ${content.bad} lines are not changes; skipped (lines ${listLines(content.badLines, content.bad)})`,
      );
    }
    if (content.torn > 0) {
      this.log.warn({ file, line: content.torn }, `access list journal ${file}:${content.torn}: the last line is incomplete (cut short by a crash?); skipped`);
    }
    const pruned = this.prune().length;
    const live = this.added.size + this.deleted.size;
    if (content.exists && content.ops.length > 0) {
      this.log.info({ file, changes: content.ops.length, added: this.added.size, deleted: this.deleted.size }, 'access list: journal replayed');
    }
    try {
      // Rewritten compactly unless it is already exactly the changes in force.
      if (!content.exists || content.torn > 0 || content.bad > 0 || pruned > 0 || content.ops.length !== live) {
        this.journal = await FifoJournal.create(file, this.journalLines());
      } else {
        this.journal = await FifoJournal.append(file, content.ops.length);
      }
    } catch (e) {
      throw new Error(`access.changes_file: can't write ${file}: ${errorText(e)} (set access.changes_file to a writable place)`, { cause: e });
    }
  }

  private async openFifo(file: string, op: Op, what: string): Promise<void> {
    await ensureFifo(file, what);
    let lineNo = 0;
    const reader = FifoReader.open(
      file,
      (bytes, start, end) => {
        lineNo++;
        this.fifoLine(op, file, lineNo, bytes, start, end);
      },
      (err) => this.log.error({ fifo: file, err: err.message }, `${what}: reading ${file} failed; no more changes are read from it`),
    );
    this.readers.push(reader);
  }

  // ------------------------------------------------------------ the FIFOs

  private fifoLine(op: Op, fifo: string, lineNo: number, bytes: Buffer, start: number, end: number): void {
    if (isHashLine(bytes, start, end)) {
      this.counters.fifoAccepted++;
      const change = { op, hex: bytes.toString('latin1', start, start + 40).toLowerCase() };
      this.pending.push(change);
      this.pendingFromFifo.push(change);
    } else {
      if (isBlankOrComment(bytes, start, end)) return; // ignored, as in the list file
      this.counters.fifoRejected++;
      if (this.badLogged < BAD_LINES_LOGGED) {
        this.badLogged++;
        this.log.warn({ fifo, line: lineNo, text: bytes.toString('latin1', start, end) }, `${fifo}:${lineNo}: not an info hash (40 hex digits); ignored`);
      } else {
        this.badUnlogged++;
      }
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.timer === null && !this.closed) {
      this.timer = setTimeout(() => this.flush(), BATCH_MS);
      this.timer.unref();
    }
  }

  /** Applies the pending FIFO changes: journal, rebuild, publish. */
  private flush(): void {
    this.timer = null;
    if (this.applyPending()) this.publish(true);
  }

  /** Applies the pending FIFO changes to the sets and the journal; true if the sets changed. */
  private applyPending(): boolean {
    if (this.badUnlogged > 0) {
      this.log.warn({ count: this.badUnlogged }, `access list: ${this.badUnlogged} more FIFO lines were not info hashes; ignored`);
    }
    this.badLogged = 0;
    this.badUnlogged = 0;
    const pending = this.pending;
    if (pending.length === 0) return false;
    this.pending = [];
    const fromFifo = this.pendingFromFifo;
    this.pendingFromFifo = [];
    if (fromFifo.length > 0) {
      for (const fn of this.fifoListeners) {
        try {
          fn(fromFifo);
        } catch (e) {
          this.log.error({ err: (e as Error).message }, 'access list: a FIFO change listener failed');
        }
      }
    }
    const lines: string[] = [];
    for (const { op, hex } of pending) {
      const inFile = this.inFile(hex);
      if (op === '+') {
        if (this.deleted.delete(hex)) lines.push(`~${hex}`);
        if (!inFile && !this.added.has(hex)) {
          this.added.add(hex);
          lines.push(`+${hex}`);
        }
      } else {
        if (this.added.delete(hex)) lines.push(`~${hex}`);
        if (inFile && !this.deleted.has(hex)) {
          this.deleted.add(hex);
          lines.push(`-${hex}`);
        }
      }
    }
    this.log.info(
      { changes: pending.length, effective: lines.length, added: this.added.size, deleted: this.deleted.size },
      'access list: FIFO changes applied',
    );
    this.writeJournal(lines);
    return lines.length > 0;
  }

  private writeJournal(lines: string[]): void {
    const journal = this.journal;
    if (journal === null) return;
    journal.write(lines).catch((e: unknown) => {
      this.counters.journalErrors++;
      this.log.error(
        { file: journal.file, err: errorText(e) },
        `access list: can't write the journal ${journal.file}; the latest changes go out again with the next one, and a restart before that loses them`,
      );
    });
    const live = this.added.size + this.deleted.size;
    if (journal.lines > COMPACT_RATIO * live + COMPACT_SLACK) {
      journal.compact(this.journalLines()).catch((e: unknown) => {
        this.log.warn({ file: journal.file, err: errorText(e) }, 'access list: could not compact the journal; appending to it');
      });
    }
  }

  // ------------------------------------------------------------ reload

  /**
   * Re-reads the list file (SIGHUP). If it can't be read the old list is kept and an error logged;
   * never rejects. The FIFO changes stay in force. Calls during a reload run one more afterwards.
   */
  reload(): Promise<void> {
    if (this.reloading !== null) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.reloadOnce();
      } while (this.reloadAgain && !this.closed);
      this.reloading = null;
    })();
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    if (this.closed) return;
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(this.file);
    } catch (e) {
      this.counters.reloadFailures++;
      this.log.error(
        { file: this.file, err: errorText(e), hashes: this.current.count },
        `access list: can't reread ${this.file} (${errorText(e)}); keeping the list in use`,
      );
      return;
    }
    if (this.closed) return;
    this.installFile(parseList(bytes), 'reloaded');
    const pruned = this.prune();
    if (pruned.length > 0) this.writeJournal(pruned.map((hex) => `~${hex}`));
    // Pending FIFO changes go in with this build.
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.applyPending();
    this.publish(true);
    this.counters.reloads++;
  }

  // ------------------------------------------------------------ building

  private installFile(list: ParsedList, verb: string): void {
    this.fileList = list;
    this.log.info({ file: this.file, hashes: list.count, lines: list.lines, junk: list.junk }, `access list: ${verb} ${this.file}`);
    if (list.junk > 0) {
      this.log.warn(
        { file: this.file, line: list.junkLines[0], lines: list.junkLines, count: list.junk },
        `access list ${this.file}: ${list.junk} lines are not info hashes; ignored (lines ${listLines(list.junkLines, list.junk)})`,
      );
    }
  }

  /** Drops the changes the file now agrees with; returns their hashes. */
  private prune(): string[] {
    const dropped: string[] = [];
    for (const hex of this.added) {
      if (this.inFile(hex)) {
        this.added.delete(hex);
        dropped.push(hex);
      }
    }
    for (const hex of this.deleted) {
      if (!this.inFile(hex)) {
        this.deleted.delete(hex);
        dropped.push(hex);
      }
    }
    return dropped;
  }

  private inFile(hex: string): boolean {
    keyFromHex(hex, this.scratch);
    return findKey(this.fileList.keys, this.fileList.count, this.scratch, 0) >= 0;
  }

  private journalLines(): string[] {
    return [...[...this.added].sort().map((h) => `+${h}`), ...[...this.deleted].sort().map((h) => `-${h}`)];
  }

  /** Builds (file ∪ added) − deleted into a new table and tells the listeners. */
  private publish(notify: boolean): void {
    const started = performance.now();
    const file = this.fileList;
    const generation = (this.current?.generation ?? 0) + 1;
    if (this.added.size === 0 && this.deleted.size === 0) {
      this.install(buildState(this.mode, generation, file.keys, file.count), started, notify);
      return;
    }
    const added = sortedKeys(this.added);
    const deleted = sortedKeys(this.deleted);
    const out = new Int32Array((file.count + added.count) * KEY_WORDS);
    let n = 0;
    let i = 0;
    let j = 0;
    let d = 0;
    const copy = (from: Int32Array, k: number) => {
      const src = k * KEY_WORDS;
      const dst = n * KEY_WORDS;
      for (let w = 0; w < KEY_WORDS; w++) out[dst + w] = from[src + w]!;
      n++;
    };
    while (i < file.count || j < added.count) {
      // The smaller of the next file key and the next added key (they never share a hash).
      const fromFile = j >= added.count || (i < file.count && compareKeys(file.keys, i, added.keys, j) < 0);
      if (!fromFile) {
        copy(added.keys, j++);
        continue;
      }
      while (d < deleted.count && compareKeys(deleted.keys, d, file.keys, i) < 0) d++;
      if (d < deleted.count && compareKeys(deleted.keys, d, file.keys, i) === 0) {
        i++;
        continue;
      }
      copy(file.keys, i++);
    }
    this.install(buildState(this.mode, generation, out, n), started, notify);
  }

  private install(state: AccessState, started: number, notify: boolean): void {
    this.current = state;
    this.counters.lastBuildMs = performance.now() - started;
    if (!notify) return;
    for (const fn of this.listeners) {
      try {
        fn(this.current);
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'access list: a change listener failed');
      }
    }
  }

  // ------------------------------------------------------------ shutdown

  /** Stops reading the FIFOs, applies what was read, and waits for the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.readers.map((r) => r.close()));
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.reloading;
    // What was read is kept (journal), though no longer published.
    if (this.current !== undefined) this.applyPending();
    await this.journal?.close();
  }
}

function sortedKeys(set: Set<string>): { keys: Int32Array; count: number } {
  const keys = new Int32Array(set.size * KEY_WORDS);
  let k = 0;
  for (const hex of set) keyFromHex(hex, keys, k++);
  return { keys, count: sortUnique(keys, k) };
}

function findKeyIn(state: AccessState, key: Int32Array): boolean {
  return findKey(stateKeys(state), state.count, key, 0) >= 0;
}

function listLines(lines: number[], count: number): string {
  return lines.join(', ') + (count > JUNK_REPORTED ? ', ...' : '');
}
