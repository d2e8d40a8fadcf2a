// Structured logs: one JSON line per event (pino), on stdout.

import { pino } from 'pino';
import type { Logger } from 'pino';
import type { LogLevel } from './config/config.ts';

export function createLogger(level: LogLevel, destination: number = 1): Logger {
  return pino({ level, base: { name: 'swarmd' } }, pino.destination({ dest: destination, sync: true }));
}
