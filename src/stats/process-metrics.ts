// The process_* figures every Prometheus client library exports (CPU time, open and max file
// descriptors), read from Node and Linux's /proc when /metrics is scraped: never on the hot path.
// A scrape lists /proc/self/fd once (a few hundred entries on a busy tracker).

import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessFigures {
  /** User and system CPU time of every thread, seconds. */
  cpuSeconds: number;
  residentBytes: number;
  /** Open file descriptors (sockets included); null where /proc is not there. */
  openFds: number | null;
  /** The soft limit on file descriptors (LimitNOFILE=, ulimit -n); null where /proc is not there. */
  maxFds: number | null;
}

function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

function maxFds(): number | null {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line === null) return null;
    return line[1] === 'unlimited' ? Infinity : Number(line[1]);
  } catch {
    return null;
  }
}

export function processFigures(): ProcessFigures {
  const cpu = process.cpuUsage();
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: process.memoryUsage.rss(), openFds: openFds(), maxFds: maxFds() };
}
