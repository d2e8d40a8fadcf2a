// A pino logger that keeps its entries, for tests that check what was logged.

import { pino } from 'pino';
import type { Logger } from 'pino';

export interface Entry {
  level: number;
  msg: string;
  [k: string]: unknown;
}

const LEVELS: Record<string, number> = { debug: 20, info: 30, warn: 40, error: 50 };

export function capture(): { log: Logger; entries: Entry[]; at: (level: 'debug' | 'info' | 'warn' | 'error') => Entry[] } {
  const entries: Entry[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void entries.push(JSON.parse(s)) });
  return { log, entries, at: (level) => entries.filter((e) => e.level === LEVELS[level]) };
}
