// A tracker with takedown notices on (a journal in a new directory, the admin API on loopback),
// and a small client for the admin API.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/config.ts';
import type { Config } from '../../src/config/config.ts';
import type { FieldError } from '../../src/notices/notice.ts';
import type { NoticeSummary, NoticeView } from '../../src/notices/registry.ts';
import { startTestTracker } from '../helpers/tracker.ts';
import type { TestTracker } from '../helpers/tracker.ts';

export const TOKEN = 'test-token-0123456789abcdef';

/**
 * An admin API reply (always a JSON object): a notice (POST /notices, GET /notices/ID, .../lift), the
 * list (GET /notices: summaries, without hashes and lifts), or an error with the fields at fault. Which
 * fields are there depends on the request; the tests say which they expect.
 */
export type AdminReply = Partial<NoticeView & { notices: (NoticeSummary & Partial<NoticeView>)[]; error: string; errors: FieldError[] }>;

export type NoticeTracker = TestTracker & {
  journal: string;
  api: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: AdminReply; headers: Headers }>;
};

export function journalPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'swarmd-notices-')), 'notices.jsonl');
}

export async function startNoticeTracker(overrides: Partial<Config> = {}, journal = journalPath()): Promise<NoticeTracker> {
  const tracker = await startTestTracker({
    noticesJournal: journal,
    admin: { ...defaultConfig().admin, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN },
    ...overrides,
  });
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${tracker.admin!.port}${path}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as AdminReply, headers: res.headers };
  };
  return Object.assign(tracker, { journal, api });
}

/** A notice with sensible fields; `hashes` as given. */
export function notice(id: string, hashes: string[], extra: Record<string, unknown> = {}) {
  return { id, received: '2024-05-01', sender: 'Rights Agency', on_behalf_of: 'Big Studio', hashes, ...extra };
}
