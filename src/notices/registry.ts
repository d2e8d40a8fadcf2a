// The takedown notices (main thread): every notice filed, which hashes each blocks, and the table
// of blocked hashes the workers check (access-list.ts's BlockState).
//
// A hash is blocked while some notice listing it stands (is not lifted for it); the earliest such
// notice is the one named in failure reasons. Counting follows opentrackr.org's published lists:
// of the hashes a notice lists, those repeated within it or already blocked by an earlier notice
// are duplicates, the others are new; listed = new + duplicates.
//
// Every change goes through one queue: checked against the notices so far, written to the journal
// (and flushed), applied, then the change listeners run (the tracker publishes the new table to the
// workers and waits for them) before the caller gets its answer. The same records replay the
// journal at start and, for a cluster, apply what another node filed (applyRecord).

import type { Logger } from 'pino';
import { buildBlockState } from '../access/access-list.ts';
import type { BlockState } from '../access/access-list.ts';
import { KEY_WORDS, keyFromHex } from '../access/hashes.ts';
import { checkLift, checkNotice } from './notice.ts';
import type { FieldError, LiftFields, NoticeFields } from './notice.ts';
import { NoticeJournal } from './notice-journal.ts';
import type { NoticeRecord } from './notice-journal.ts';

type Lift = { at: string; reason: string; hashes: string[] };

type Entry = {
  index: number;
  fields: NoticeFields;
  filed: string;
  /** The hashes listed, each once, in the order given. */
  distinct: string[];
  listed: number;
  fresh: number;
  duplicates: number;
  /** Hashes this notice no longer blocks. */
  lifted: Set<string>;
  lifts: Lift[];
};

/** A notice as the admin API and the transparency page show it. */
export type NoticeSummary = {
  id: string;
  received: string;
  sender: string;
  on_behalf_of: string;
  filed: string;
  /** Hashes listed (repeats included) = new + duplicates. */
  listed: number;
  new: number;
  duplicates: number;
  /** Hashes this notice no longer blocks. */
  lifted: number;
};
export type PublicNotice = NoticeSummary & { hashes: string[]; lifts: Lift[] };
export type NoticeView = PublicNotice & { note: string };

export type Outcome =
  | { ok: true; notice: NoticeView; changed: boolean }
  | { ok: false; kind: 'invalid' | 'not_found' | 'conflict' | 'journal'; message: string; errors?: FieldError[] };

/** What a change did: the hashes it newly blocked (their swarms are to be dropped). */
type Change = { blocked: string[] };

const blockReason = (id: string) => `blocked by takedown notice ${id}`;

export class NoticeRegistry {
  private readonly journal: NoticeJournal;
  private readonly log: Logger;
  private readonly entries: Entry[] = [];
  private readonly byId = new Map<string, Entry>();
  /** Blocked hash -> the standing notices listing it (entry indexes, ascending; one number when one). */
  private readonly blocking = new Map<string, number | number[]>();
  private hashesListed = 0;
  private generation = 0;
  private current: BlockState;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly changeListeners: ((change: Change) => Promise<void>)[] = [];
  private readonly recordListeners: ((record: NoticeRecord) => void)[] = [];

  private constructor(journal: NoticeJournal, log: Logger) {
    this.journal = journal;
    this.log = log;
    this.current = this.build();
  }

  /** Opens the journal and replays it. Throws only when the file can't be opened or read. */
  static async open(file: string, log: Logger): Promise<NoticeRegistry> {
    let opened;
    try {
      opened = await NoticeJournal.open(file);
    } catch (e) {
      throw new Error(`notices.journal: can't open ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    const { journal, read } = opened;
    const r = new NoticeRegistry(journal, log);
    if (read.torn !== null) {
      log.warn(
        { file, line: read.torn.line, text: read.torn.text },
        `notices journal ${file}:${read.torn.line}: the last line is incomplete (a write cut short by a crash, never acknowledged); skipped and cut off`,
      );
    }
    for (const line of read.unreadable) log.error({ file, line }, `notices journal ${file}:${line}: not JSON; skipped`);
    for (const { line, value } of read.lines) {
      const record = parseRecord(value);
      const outcome = 'errors' in record ? { ok: false as const, message: describe(record.errors) } : r.apply(record.record);
      if (!outcome.ok) log.error({ file, line }, `notices journal ${file}:${line}: ${outcome.message}; skipped`);
    }
    r.current = r.build();
    log.info({ file, notices: r.entries.length, blocked: r.blocking.size }, `notices: ${r.entries.length} notices, ${r.blocking.size} info hashes blocked`);
    return r;
  }

  /** The blocked hashes as the workers read them. */
  get blocks(): BlockState {
    return this.current;
  }

  get count(): number {
    return this.entries.length;
  }

  get blockedCount(): number {
    return this.blocking.size;
  }

  /** Runs `fn` after each change, before the change is answered (the tracker publishes it to the workers). */
  onChange(fn: (change: Change) => Promise<void>): void {
    this.changeListeners.push(fn);
  }

  /** Calls `fn` with each record filed here (through file() and lift()), once journaled: for a cluster to pass on. */
  onRecord(fn: (record: NoticeRecord) => void): void {
    this.recordListeners.push(fn);
  }

  /** Files a notice (as sent to the admin API). */
  file(body: unknown): Promise<Outcome> {
    return this.serially(async () => {
      const checked = checkNotice(body);
      if ('errors' in checked) return invalid(checked.errors);
      return this.commit({ type: 'notice', filed: new Date().toISOString(), ...checked.notice }, true);
    });
  }

  /** Lifts a notice's block (all its hashes or some), with a reason; the notice's record stays. */
  lift(id: string, body: unknown): Promise<Outcome> {
    return this.serially(async () => {
      const checked = checkLift(body);
      if ('errors' in checked) return invalid(checked.errors);
      const lift: LiftFields = checked.lift;
      return this.commit({ type: 'lift', id, at: new Date().toISOString(), reason: lift.reason, hashes: lift.hashes }, true);
    });
  }

  /**
   * Applies a record filed elsewhere (another node of a cluster): checked, journaled, applied and
   * published like a local one, but not passed to onRecord listeners. A notice already here with
   * the same id and content, or a lift already done, changes nothing (`changed: false`).
   */
  applyRecord(value: unknown): Promise<Outcome> {
    return this.serially(async () => {
      const parsed = parseRecord(value);
      if ('errors' in parsed) return invalid(parsed.errors);
      return this.commit(parsed.record, false);
    });
  }

  /** Every record in force, in the order filed (by time): what a node joining a cluster replays. */
  records(): NoticeRecord[] {
    const out: { time: string; record: NoticeRecord }[] = [];
    for (const e of this.entries) {
      // Only the distinct hashes are kept: repeats within the notice come back as repeats of the
      // first one, so that a node replaying this counts the notice as this one did.
      const repeats: string[] = new Array(e.listed - e.distinct.length).fill(e.distinct[0]);
      out.push({ time: e.filed, record: { type: 'notice', filed: e.filed, ...e.fields, hashes: [...e.distinct, ...repeats] } });
      for (const l of e.lifts) out.push({ time: l.at, record: { type: 'lift', id: e.fields.id, at: l.at, reason: l.reason, hashes: l.hashes } });
    }
    return out.sort((a, b) => Date.parse(a.time) - Date.parse(b.time)).map((x) => x.record);
  }

  list(): NoticeSummary[] {
    return this.entries.map(summary);
  }

  get(id: string): NoticeView | null {
    const e = this.byId.get(id);
    return e === undefined ? null : view(e);
  }

  /** What the transparency page shows: every notice without the operator's notes, and the totals. */
  published(): { notices: PublicNotice[]; hashesBlocked: number; hashesListed: number } {
    return { notices: this.entries.map(publicView), hashesBlocked: this.blocking.size, hashesListed: this.hashesListed };
  }

  /** Waits for the changes under way, then closes the journal. */
  async close(): Promise<void> {
    await this.queue.catch(() => {});
    await this.journal.close();
  }

  // ------------------------------------------------------------ applying

  private serially(fn: () => Promise<Outcome>): Promise<Outcome> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Checks a record against what is here, journals it, applies it, publishes it. */
  private async commit(record: NoticeRecord, local: boolean): Promise<Outcome> {
    const problem = this.check(record);
    if (problem !== null) return problem;
    // The same notice again, or a lift already done: answered as it is, nothing journaled.
    const e = this.byId.get(record.id);
    if (e !== undefined && (record.type === 'notice' || (record.hashes ?? e.distinct).every((h) => e.lifted.has(h)))) {
      return { ok: true, notice: view(e), changed: false };
    }
    try {
      await this.journal.append(record);
    } catch (err) {
      this.log.error({ file: this.journal.file, err: (err as Error).message }, 'notices: the journal could not be written; nothing was changed');
      return { ok: false, kind: 'journal', message: `the notices journal could not be written (${(err as Error).message}); nothing was changed` };
    }
    const blocked: string[] = [];
    const outcome = this.apply(record, blocked);
    this.current = this.build();
    for (const fn of this.changeListeners) await fn({ blocked });
    if (local) for (const fn of this.recordListeners) fn(record);
    this.log.info(
      record.type === 'notice'
        ? { notice: record.id, hashes: record.hashes.length, newlyBlocked: blocked.length, blocked: this.blocking.size }
        : { notice: record.id, lift: record.reason, hashes: record.hashes?.length ?? 'all', blocked: this.blocking.size },
      record.type === 'notice' ? `notices: notice ${record.id} filed` : `notices: notice ${record.id} lifted`,
    );
    return outcome;
  }

  /** Whether a record can be applied; an Outcome saying why not, or null. Idempotent repeats are fine. */
  private check(record: NoticeRecord): Outcome | null {
    const e = this.byId.get(record.id);
    if (record.type === 'notice') {
      if (e === undefined || sameNotice(e, record)) return null;
      return { ok: false, kind: 'conflict', message: `a notice with the id ${record.id} was filed already (${e.filed})` };
    }
    if (e === undefined) return { ok: false, kind: 'not_found', message: `no notice with the id ${record.id}` };
    const errors: FieldError[] = [];
    const listed = new Set(e.distinct);
    record.hashes?.forEach((h, i) => {
      if (!listed.has(h)) errors.push({ field: `hashes[${i}]`, message: `${h} is not listed in notice ${record.id}` });
    });
    return errors.length > 0 ? invalid(errors) : null;
  }

  /** Applies a checked record; `blocked` collects the hashes it newly blocked. */
  private apply(record: NoticeRecord, blocked: string[] = []): Outcome {
    const problem = this.check(record);
    if (problem !== null) return problem;
    const existing = this.byId.get(record.id);
    if (record.type === 'notice') {
      if (existing !== undefined) return { ok: true, notice: view(existing), changed: false };
      const { type: _type, filed, ...fields } = record;
      const e: Entry = {
        index: this.entries.length,
        fields,
        filed,
        distinct: [],
        listed: fields.hashes.length,
        fresh: 0,
        duplicates: 0,
        lifted: new Set(),
        lifts: [],
      };
      const seen = new Set<string>();
      for (const h of fields.hashes) {
        if (seen.has(h)) {
          e.duplicates++;
          continue;
        }
        seen.add(h);
        e.distinct.push(h);
        const by = this.blocking.get(h);
        if (by === undefined) {
          e.fresh++;
          blocked.push(h);
          this.blocking.set(h, e.index);
        } else {
          e.duplicates++;
          this.blocking.set(h, typeof by === 'number' ? [by, e.index] : [...by, e.index]);
        }
      }
      e.fields = { ...fields, hashes: [] }; // the distinct list is kept; the repeats are counted
      this.entries.push(e);
      this.byId.set(fields.id, e);
      this.hashesListed += e.listed;
      return { ok: true, notice: view(e), changed: true };
    }
    const e = existing!;
    const lifted = (record.hashes ?? e.distinct).filter((h) => !e.lifted.has(h));
    if (lifted.length === 0) return { ok: true, notice: view(e), changed: false };
    for (const h of lifted) {
      e.lifted.add(h);
      const by = this.blocking.get(h)!;
      const rest = typeof by === 'number' ? [] : by.filter((i) => i !== e.index);
      if (rest.length === 0) this.blocking.delete(h);
      else this.blocking.set(h, rest.length === 1 ? rest[0]! : rest);
    }
    e.lifts.push({ at: record.at, reason: record.reason, hashes: lifted });
    return { ok: true, notice: view(e), changed: true };
  }

  /** The table of blocked hashes, each with the earliest standing notice listing it. */
  private build(): BlockState {
    // Lowercase hex sorts as the bytes do; sorting the strings (natively) beats sorting keys and
    // looking each up again by its hex.
    const hexes = [...this.blocking.keys()].sort();
    const count = hexes.length;
    const keys = new Int32Array(count * KEY_WORDS);
    const notices = new Int32Array(count);
    hexes.forEach((hex, i) => {
      keyFromHex(hex, keys, i);
      const by = this.blocking.get(hex)!;
      notices[i] = typeof by === 'number' ? by : by[0]!;
    });
    return buildBlockState(
      ++this.generation,
      keys,
      notices,
      count,
      this.entries.map((e) => blockReason(e.fields.id)),
    );
  }
}

function invalid(errors: FieldError[]): Outcome {
  return { ok: false, kind: 'invalid', message: describe(errors), errors };
}

function describe(errors: FieldError[]): string {
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
}

/** A journal line (or a record from another node) checked as carefully as an API request. */
function parseRecord(value: unknown): { record: NoticeRecord } | { errors: FieldError[] } {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { errors: [{ field: '', message: 'not a record (a JSON object)' }] };
  const { type, ...rest } = v;
  const at = (field: string): string | FieldError => {
    const t = rest[field];
    delete rest[field];
    return typeof t === 'string' && !Number.isNaN(Date.parse(t)) ? t : { field, message: 'is not an ISO 8601 time' };
  };
  if (type === 'notice') {
    const filed = at('filed');
    const checked = checkNotice(rest, Infinity);
    const errors = [...(typeof filed === 'string' ? [] : [filed]), ...('errors' in checked ? checked.errors : [])];
    if (errors.length > 0 || 'errors' in checked) return { errors };
    return { record: { type, filed: filed as string, ...checked.notice } };
  }
  if (type === 'lift') {
    const when = at('at');
    const id = rest.id;
    delete rest.id;
    if (rest.hashes === null) delete rest.hashes;
    const checked = checkLift(rest);
    const errors = [
      ...(typeof when === 'string' ? [] : [when]),
      ...(typeof id === 'string' ? [] : [{ field: 'id', message: 'is not a notice id' }]),
      ...('errors' in checked ? checked.errors : []),
    ];
    if (errors.length > 0 || 'errors' in checked) return { errors };
    return { record: { type, id: id as string, at: when as string, ...checked.lift } };
  }
  return { errors: [{ field: 'type', message: 'is neither "notice" nor "lift"' }] };
}

function sameNotice(e: Entry, r: NoticeFields): boolean {
  const f = e.fields;
  const listed = new Set(e.distinct);
  return (
    f.received === r.received &&
    f.sender === r.sender &&
    f.on_behalf_of === r.on_behalf_of &&
    f.note === r.note &&
    e.listed === r.hashes.length &&
    new Set(r.hashes).size === e.distinct.length &&
    r.hashes.every((h) => listed.has(h))
  );
}

function summary(e: Entry): NoticeSummary {
  const f = e.fields;
  return {
    id: f.id,
    received: f.received,
    sender: f.sender,
    on_behalf_of: f.on_behalf_of,
    filed: e.filed,
    listed: e.listed,
    new: e.fresh,
    duplicates: e.duplicates,
    lifted: e.lifted.size,
  };
}

function publicView(e: Entry): PublicNotice {
  return { ...summary(e), hashes: e.distinct, lifts: e.lifts };
}

function view(e: Entry): NoticeView {
  return { ...publicView(e), note: e.fields.note };
}
