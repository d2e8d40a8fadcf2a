// Structured logs: one JSON line per event (pino), on stdout.

import { pino } from 'pino';
import type { Logger } from 'pino';

/** pino's levels, the values of log.level. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, destination: number = 1): Logger {
  return pino({ level, base: { name: 'swarmd' } }, pino.destination({ dest: destination, sync: true }));
}
