// Reading lines from a named pipe (FIFO) without tying up a thread.
//
// The FIFO is opened O_RDWR | O_NONBLOCK: holding a write end ourselves means Linux never reports
// end-of-file when a writer closes (so writers may come and go), and the open never blocks
// waiting for a writer. The descriptor is read by libuv as a pipe (net.Socket), on the event loop,
// never by a threadpool thread sitting in a blocking read().

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { LineSplitter } from '../text/lines.ts';
import type { LineHandler } from '../text/lines.ts';

/** Bytes of a line kept: enough to judge a hash line (41) and to quote a bad one; the rest is dropped. */
const LINE_KEEP = 80;

/**
 * Makes sure `file` is a FIFO: creates it (mode 0600, with coreutils' mkfifo) if nothing is there,
 * refuses anything else. Throws an Error with a message fit for the operator.
 */
export async function ensureFifo(file: string, what: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${what}: can't use ${file}: ${errorText(e)}`, { cause: e });
    await mkfifo(file, what);
    st = await fs.promises.lstat(file);
  }
  if (!st.isFIFO()) throw new Error(`${what}: ${file} exists and is not a named pipe (FIFO); remove it or choose another path`);
}

function mkfifo(file: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('mkfifo', ['-m', '600', '--', file], (err, _stdout, stderr) => {
      if (err === null) return resolve();
      // Someone else made it meanwhile: lstat decides.
      if (fs.existsSync(file)) return resolve();
      const why = String(stderr).trim() || err.message;
      reject(new Error(`${what}: can't create the named pipe ${file}: ${why}`));
    });
  });
}

export function errorText(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e);
}

/** A FIFO being read. */
export class FifoReader {
  private readonly socket: net.Socket;
  private readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /**
   * Opens an existing FIFO (see ensureFifo) and calls `onLine` for every line written to it, by any
   * writer, for as long as it is open (at most LINE_KEEP bytes of each, split by text/lines.ts).
   * `onError` hears read errors (the reader then stops).
   */
  static open(file: string, onLine: LineHandler, onError: (err: Error) => void): FifoReader {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    let socket: net.Socket;
    try {
      if (!fs.fstatSync(fd).isFIFO()) throw new Error(`${file} is not a named pipe (FIFO)`);
      socket = new net.Socket({ fd, readable: true, writable: false });
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    const lines = new LineSplitter(onLine, LINE_KEEP);
    socket.on('data', (chunk: Buffer) => lines.push(chunk));
    socket.on('error', onError);
    socket.unref(); // a FIFO alone does not keep the process running
    return new FifoReader(socket);
  }

  /** Stops reading and closes the descriptor. */
  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}
