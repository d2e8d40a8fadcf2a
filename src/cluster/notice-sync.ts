// Takedown notices across a cluster: a notice or lift filed on one node is journaled and applied
// on every other node (NoticeRegistry.applyRecord), and a node that joins late gets them all with
// its snapshot. A notice may list ~100,000 hashes (4 MB of JSON), far over one control record
// (64 KiB), so each record travels in parts of at most PART_HASHES hashes, put back together here
// before it is applied. NATS keeps one publisher's messages in order, so a record's parts arrive
// in order; parts of a record whose first part was never seen are dropped and counted.

import type { Logger } from 'pino';
import type { Cluster } from './cluster.ts';
import type { NoticeRegistry } from '../notices/registry.ts';
import type { NoticeRecord } from '../notices/notice-journal.ts';
import { C } from '../stats/counters.ts';

export const NOTICE_KIND = 'notice';
/** 1,000 hex hashes are ~43 KB of JSON: a part stays under the 64 KiB control record. */
const PART_HASHES = 1000;
/** Records being put back together at once (one per node filing at the same moment is plenty). */
const MAX_PENDING = 64;

/** One part of a record: the record with a slice of its hashes. */
type Part = { part: number; parts: number; record: NoticeRecord };

export function splitRecord(record: NoticeRecord): Part[] {
  const hashes = record.hashes ?? [];
  const parts = Math.max(1, Math.ceil(hashes.length / PART_HASHES));
  const out: Part[] = [];
  for (let i = 0; i < parts; i++) {
    const slice = record.hashes === null ? null : hashes.slice(i * PART_HASHES, (i + 1) * PART_HASHES);
    out.push({ part: i, parts, record: { ...record, hashes: slice } as NoticeRecord });
  }
  return out;
}

function isPart(v: unknown): v is Part {
  const p = v as Part | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    Number.isInteger(p.part) &&
    Number.isInteger(p.parts) &&
    p.part >= 0 &&
    p.part < p.parts &&
    typeof p.record === 'object' &&
    p.record !== null &&
    (p.record.type === 'notice' || p.record.type === 'lift') &&
    typeof p.record.id === 'string' &&
    (p.record.hashes === null || Array.isArray(p.record.hashes))
  );
}

/** Puts parts back into records; a record is complete when its last part arrives. */
export class RecordAssembler {
  private readonly pending = new Map<string, { next: number; hashes: unknown[] }>();

  /** The whole record when `part` completes one; null while parts are missing; 'bad' for a part out of place. */
  add(part: Part): NoticeRecord | null | 'bad' {
    const r = part.record;
    const key = `${r.type}\0${r.id}\0${r.type === 'notice' ? r.filed : r.at}`;
    if (part.parts === 1) return part.part === 0 ? r : 'bad';
    let p = this.pending.get(key);
    if (part.part === 0) {
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
      p = { next: 0, hashes: [] };
      this.pending.set(key, p);
    }
    if (p === undefined || part.part !== p.next) {
      this.pending.delete(key);
      return 'bad';
    }
    p.hashes.push(...(r.hashes ?? []));
    p.next++;
    if (p.next < part.parts) return null;
    this.pending.delete(key);
    return { ...r, hashes: p.hashes } as NoticeRecord;
  }
}

/** Sends this node's notices and lifts to the cluster, and applies the other nodes'. */
export function syncNotices(cluster: Cluster, registry: NoticeRegistry, counters: Float64Array, log: Logger): void {
  const assembler = new RecordAssembler();
  registry.onRecord((record) => {
    try {
      for (const part of splitRecord(record)) cluster.publishControl(NOTICE_KIND, part);
    } catch (err) {
      // Only a part over 64 KiB without its hashes (a note of that size) gets here.
      log.error(
        { id: record.id, err: (err as Error).message },
        `cluster: takedown ${record.type} ${record.id} not sent to the other nodes: ${(err as Error).message}`,
      );
    }
  });
  cluster.onControl(
    NOTICE_KIND,
    (data) => {
      if (!isPart(data)) return false;
      const record = assembler.add(data);
      if (record === 'bad') return false;
      if (record === null) return true;
      // The registry checks the record as strictly as one read from its journal.
      void registry.applyRecord(record).then((outcome) => {
        if (outcome.ok) return;
        counters[C.cluster_parse_failures]++;
        log.warn(
          { id: record.id, type: record.type, error: outcome.message },
          `cluster: a takedown ${record.type} from another node was refused: ${outcome.message}`,
        );
      });
      return true;
    },
    () => registry.records().flatMap(splitRecord),
  );
}
