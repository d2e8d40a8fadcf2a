// One swarmd per address and port. Every worker binds its sockets with SO_REUSEPORT, so the
// kernel would let a second swarmd bind the same port too and split the clients between two
// processes with two stores: every swarm cut in half without a word in any log. So each listener
// is also held as a lock: an abstract Unix socket named `swarmd:<proto>:<host>:<port>` (Linux;
// it has no file to leave behind and vanishes with the process, even after a SIGKILL).
//
// A process that cannot bind a lock's name connects to it: the holder answers with one JSON
// line (pid, version, start time, listener), which the refusal quotes. A lock whose host covers
// another's (0.0.0.0 covers every IPv4 address, :: every address) conflicts too: those are found
// in /proc/net/unix.
//
// The only process let in beside the holder is the new half of an upgrade: the holder is told a
// one-time token (allowTakeOver), the new process sends it ({"take": token}), and the holder
// closes its lock and says so before the new process binds the name. No window opens in which
// a third process could start unnoticed, short of one racing the rebind itself.

import net from 'node:net';
import fs from 'node:fs';

/** Who holds a lock, as its handshake says. */
export interface LockHolder {
  pid: number;
  version: string;
  /** ms since the epoch. */
  startedAt: number;
  /** The listener, as `udp 0.0.0.0:6969`. */
  listener: string;
}

export interface LockedListener {
  proto: string;
  host: string;
  port: number;
}

/** A second swarmd on a listener in use: the message names the first. */
export class ListenerInUseError extends Error {
  readonly holder: LockHolder | null;
  constructor(listener: string, holder: LockHolder | null, detail = '') {
    const who =
      holder === null
        ? `another process that does not answer as swarmd${detail}`
        : `swarmd pid ${holder.pid} (version ${holder.version}, started ${new Date(holder.startedAt).toISOString()}${holder.listener === listener ? '' : `, on ${holder.listener}`})`;
    super(`${listener} is in use by ${who}: stop it first (two processes on one port would split every swarm between them)`);
    this.name = 'ListenerInUseError';
    this.holder = holder;
  }
}

const PREFIX = 'swarmd:';
const ANSWER_MS = 2000;
const BIND_TRIES = 5;

export function describeListener(l: LockedListener): string {
  return `${l.proto} ${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}

/** The lock's abstract socket name (without the leading NUL). */
export function lockName(l: LockedListener): string {
  return `${PREFIX}${l.proto}:${l.host.toLowerCase()}:${l.port}`;
}

/** Whether the platform has abstract Unix sockets (Linux): elsewhere there are no locks. */
export const locksSupported = process.platform === 'linux';

export class ListenerLock {
  readonly listener: LockedListener;
  private readonly server: net.Server;
  private readonly hello: string;
  private token: string | null = null;
  private closed = false;
  private takenOver: (() => void) | null = null;

  private constructor(listener: LockedListener, server: net.Server, hello: string) {
    this.listener = listener;
    this.server = server;
    this.hello = hello;
    server.on('connection', (socket) => this.answer(socket));
    // A lock never keeps the process alive by itself: the tracker's own work does.
    server.unref();
  }

  /**
   * Takes the lock of a listener, or throws a ListenerInUseError naming its holder. With `take`
   * (the token an upgrade was given), a holder that allows it hands its lock over.
   */
  static async acquire(listener: LockedListener, me: { pid: number; version: string; startedAt: number }, take: string | null = null): Promise<ListenerLock> {
    const name = lockName(listener);
    const hello = `${JSON.stringify({ swarmd: 1, pid: me.pid, version: me.version, startedAt: me.startedAt, listener: describeListener(listener) })}\n`;
    for (let attempt = 1; ; attempt++) {
      const server = net.createServer();
      const err = await listen(server, name);
      if (err === null) return new ListenerLock(listener, server, hello);
      if (err.code !== 'EADDRINUSE') throw err;
      const answer = await ask(name, take === null ? null : { take });
      if (answer === null) {
        // It went away meanwhile (a holder stopping), or it is not swarmd.
        if (attempt < BIND_TRIES) continue;
        throw new ListenerInUseError(describeListener(listener), null, ` (abstract socket @${name})`);
      }
      if (take !== null && answer.released === true) continue; // handed over: bind it now
      throw new ListenerInUseError(describeListener(listener), answer.holder);
    }
  }

  /** Lets the process that sends `token` take the lock over, once (an upgrade). */
  allowTakeOver(token: string, onTaken: () => void = () => {}): void {
    this.token = token;
    this.takenOver = onTaken;
  }

  /** Whether it was handed over or closed. */
  get released(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(socket: net.Socket): void {
    socket.unref();
    socket.on('error', () => {});
    socket.setTimeout(ANSWER_MS, () => socket.destroy());
    socket.write(this.hello);
    readLine(socket, (line) => {
      let asked: { take?: unknown } = {};
      try {
        asked = JSON.parse(line) as { take?: unknown };
      } catch {
        // Not a request: the hello was all it gets.
      }
      if (typeof asked.take !== 'string' || this.token === null || asked.take !== this.token || this.closed) {
        socket.end(`${JSON.stringify({ released: false })}\n`);
        return;
      }
      this.token = null;
      void this.close().then(() => {
        socket.end(`${JSON.stringify({ released: true })}\n`);
        this.takenOver?.();
      });
    });
  }
}

/**
 * Takes the locks of every listener; on a conflict releases those taken and throws. Also refuses
 * when another swarmd holds a listener whose host covers one of these (or the other way round),
 * unless that is the process being replaced (`upgradeFrom`).
 */
export async function acquireListenerLocks(
  listeners: LockedListener[],
  me: { pid: number; version: string; startedAt: number },
  upgrade: { token: string; pid: number } | null = null,
): Promise<ListenerLock[]> {
  if (!locksSupported) return [];
  const locks: ListenerLock[] = [];
  try {
    for (const l of listeners) {
      if (l.port === 0 || locks.some((k) => lockName(k.listener) === lockName(l))) continue;
      locks.push(await ListenerLock.acquire(l, me, upgrade?.token ?? null));
    }
    const mine = new Set(locks.map((k) => lockName(k.listener)));
    for (const name of heldLocks()) {
      if (mine.has(name)) continue;
      const other = parseLockName(name);
      const clash = other === null ? undefined : locks.find((k) => covers(k.listener, other) || covers(other, k.listener));
      if (clash === undefined) continue;
      const answer = await ask(name, null);
      if (answer !== null && upgrade !== null && answer.holder.pid === upgrade.pid) continue;
      if (answer === null) continue; // gone meanwhile
      throw new ListenerInUseError(describeListener(clash.listener), answer.holder);
    }
    return locks;
  } catch (err) {
    await Promise.all(locks.map((k) => k.close()));
    throw err;
  }
}

/** Whether listening on `a` takes traffic meant for `b` (same protocol and port, a's host covers b's). */
function covers(a: LockedListener, b: LockedListener): boolean {
  if (a.proto !== b.proto || a.port !== b.port) return false;
  if (a.host.toLowerCase() === b.host.toLowerCase()) return true;
  if (a.host === '::') return true; // dual-stack: every address
  return a.host === '0.0.0.0' && net.isIPv4(b.host);
}

function parseLockName(name: string): LockedListener | null {
  const m = /^swarmd:([a-z]+):(.+):(\d+)$/.exec(name);
  return m === null ? null : { proto: m[1], host: m[2], port: Number(m[3]) };
}

/** The names of the swarmd locks held on this host (in this network namespace). */
function heldLocks(): string[] {
  let table: string;
  try {
    table = fs.readFileSync('/proc/net/unix', 'latin1');
  } catch {
    return [];
  }
  const names = new Set<string>();
  for (const line of table.split('\n')) {
    const at = line.indexOf(` @${PREFIX}`);
    if (at >= 0) names.add(line.slice(at + 2).trim());
  }
  return [...names];
}

function listen(server: net.Server, name: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ path: `\0${name}` }, () => {
      server.removeAllListeners('error');
      resolve(null);
    });
  });
}

type Answer = { holder: LockHolder; released: boolean | undefined };

/**
 * Connects to a lock, reads its holder's hello and, with a request, the answer to it. Null when
 * nobody listens or the other end does not answer as swarmd.
 */
function ask(name: string, request: object | null): Promise<Answer | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: `\0${name}` });
    let holder: LockHolder | null = null;
    const done = (a: Answer | null) => {
      socket.destroy();
      resolve(a);
    };
    socket.setTimeout(ANSWER_MS, () => done(null));
    socket.on('error', () => done(null));
    socket.on('close', () => done(null));
    readLines(socket, (line) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return done(null);
      }
      if (holder === null) {
        if (m.swarmd !== 1 || typeof m.pid !== 'number') return done(null);
        holder = { pid: m.pid, version: String(m.version), startedAt: Number(m.startedAt), listener: String(m.listener) };
        if (request === null) return done({ holder, released: undefined });
        socket.write(`${JSON.stringify(request)}\n`);
        return;
      }
      done({ holder, released: m.released === true });
    });
  });
}

/** Calls `onLine` with the first line only. */
function readLine(socket: net.Socket, onLine: (line: string) => void): void {
  let called = false;
  readLines(socket, (line) => {
    if (called) return;
    called = true;
    onLine(line);
  });
}

/** Calls `onLine` for each line (of at most 4 KiB) the socket sends. */
function readLines(socket: net.Socket, onLine: (line: string) => void): void {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (data: string) => {
    text += data;
    if (text.length > 4096) {
      socket.destroy();
      return;
    }
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      onLine(line);
    }
  });
}
