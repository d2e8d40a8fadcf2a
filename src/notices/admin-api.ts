// The admin API of takedown notices: node:http on its own listener (loopback by default), off
// unless admin.listen is set. It is not the hot path: clarity over speed.
//
//   POST /notices                 file a notice (JSON)                        201 with the notice
//   GET  /notices                 every notice, without its hashes            200
//   GET  /notices/ID              one notice, with its hashes, note and lifts 200 / 404
//   POST /notices/ID/lift         {reason, hashes?}: lift its block           200 / 404
//
// Every request needs `Authorization: Bearer TOKEN` (compared in constant time, over digests so
// that not even the length leaks) and, with admin.networks, a client address in one of them.
// Bodies over admin.max_body get 413 and the connection is closed; every other mistake gets a JSON
// answer `{error, errors: [{field, message}]}` naming each bad field.

import http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdminConfig } from '../config/config.ts';
import { NetworkList } from '../net/networks.ts';
import { addressBytes } from '../net/address.ts';
import { C } from '../stats/counters.ts';
import { isNoticeId } from './notice.ts';
import type { FieldError } from './notice.ts';
import type { NoticeRegistry, Outcome } from './registry.ts';

const OUTCOME_STATUS = { invalid: 400, not_found: 404, conflict: 409, journal: 503 } as const;

type Answer = { status: number; body: unknown; headers?: Record<string, string> };

class HttpError extends Error {
  readonly status: number;
  readonly errors: FieldError[];
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, errors: FieldError[] = [], headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.errors = errors;
    this.headers = headers;
  }
}

export class AdminApi {
  private readonly server: http.Server;
  private readonly registry: NoticeRegistry;
  private readonly tokenDigest: Buffer;
  private readonly networks: NetworkList;
  private readonly maxBody: number;
  private readonly counters: Float64Array;
  private readonly log: Logger;

  private constructor(config: AdminConfig, registry: NoticeRegistry, counters: Float64Array, log: Logger) {
    this.registry = registry;
    this.tokenDigest = digest(config.token!);
    this.networks = new NetworkList(config.networks);
    this.maxBody = config.maxBodyBytes;
    this.counters = counters;
    this.log = log;
    this.server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => void this.handle(req, res));
  }

  /** Listens on config.listen; resolves with the address bound (port 0 picks one, for tests). */
  static async start(
    config: AdminConfig,
    registry: NoticeRegistry,
    counters: Float64Array,
    log: Logger,
  ): Promise<{ api: AdminApi; host: string; port: number }> {
    const api = new AdminApi(config, registry, counters, log);
    const { host, port } = config.listen!;
    await new Promise<void>((resolve, reject) => {
      api.server.once('error', reject);
      api.server.listen({ host, port }, () => {
        api.server.off('error', reject);
        resolve();
      });
    });
    const a = api.server.address() as { address: string; port: number };
    log.info({ listen: `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` }, 'admin API listening');
    return { api, host: a.address, port: a.port };
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.counters[C.admin_requests]++;
    let answer: Answer;
    try {
      answer = await this.route(req);
    } catch (e) {
      if (!(e instanceof HttpError)) {
        this.log.error({ err: (e as Error).message, url: req.url }, 'admin API: request failed');
        answer = { status: 500, body: { error: 'internal error; see the log' } };
      } else {
        if (e.status === 401 || e.status === 403) this.counters[C.admin_refused]++;
        answer = { status: e.status, body: { error: e.message, ...(e.errors.length > 0 ? { errors: e.errors } : {}) }, headers: e.headers };
      }
    }
    const body = JSON.stringify(answer.body, null, 1) + '\n';
    res.writeHead(answer.status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      ...answer.headers,
    });
    res.end(body);
  }

  private async route(req: http.IncomingMessage): Promise<Answer> {
    this.authorize(req);
    const url = new URL(req.url ?? '/', 'http://admin');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts[0] !== 'notices' || parts.length > 3 || (parts.length === 3 && parts[2] !== 'lift')) {
      throw new HttpError(
        404,
        `no such endpoint: ${req.method} ${url.pathname} (endpoints: POST /notices, GET /notices, GET /notices/ID, POST /notices/ID/lift)`,
      );
    }
    const id = parts[1] === undefined ? null : decodeId(parts[1]);
    if (id !== null && !isNoticeId(id)) throw new HttpError(404, `no notice with the id ${JSON.stringify(id.slice(0, 80))}`);
    const method = req.method ?? 'GET';
    const allow = (methods: string) => {
      if (!methods.split(', ').includes(method)) throw new HttpError(405, `${method} is not allowed here (${methods})`, [], { Allow: methods });
    };
    if (id === null) {
      allow('GET, POST');
      if (method === 'GET') return { status: 200, body: { notices: this.registry.list() } };
      return this.answer(await this.registry.file(await this.readJson(req)), 201);
    }
    if (parts.length === 2) {
      allow('GET');
      const notice = this.registry.get(id);
      if (notice === null) throw new HttpError(404, `no notice with the id ${id}`);
      return { status: 200, body: notice };
    }
    allow('POST');
    return this.answer(await this.registry.lift(id, await this.readJson(req)), 200);
  }

  private answer(outcome: Outcome, status: number): Answer {
    if (outcome.ok) return { status: outcome.changed ? status : 200, body: outcome.notice };
    const errors = outcome.errors ?? [];
    const message = errors.length > 0 ? `${errors.length} bad field${errors.length > 1 ? 's' : ''}: see errors` : outcome.message;
    throw new HttpError(OUTCOME_STATUS[outcome.kind], message, errors);
  }

  /** The client's address must be in admin.networks (if set), and the token right. */
  private authorize(req: http.IncomingMessage): void {
    if (!this.networks.empty) {
      const address = new Uint8Array(16);
      const family = addressBytes(req.socket.remoteAddress ?? '', address);
      if (!this.networks.contains(family, address)) throw new HttpError(403, `${req.socket.remoteAddress} is not in admin.networks`);
    }
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const challenge = { 'WWW-Authenticate': 'Bearer realm="swarmd admin"' };
    if (m === null) throw new HttpError(401, 'an Authorization: Bearer TOKEN header is required', [], challenge);
    if (!timingSafeEqual(digest(m[1]!), this.tokenDigest)) throw new HttpError(401, 'wrong token', [], challenge);
  }

  /** The request body as JSON, at most admin.max_body bytes. */
  private async readJson(req: http.IncomingMessage): Promise<unknown> {
    const type = req.headers['content-type'];
    if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
      throw new HttpError(415, `the body must be JSON (Content-Type: application/json), not ${type}`);
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    // The rest of an oversized body is not read: the connection is closed instead.
    const tooLarge = () => new HttpError(413, `the body is larger than admin.max_body (${this.maxBody} bytes)`, [], { Connection: 'close' });
    if (declared > this.maxBody) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.maxBody) throw tooLarge();
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') throw new HttpError(400, 'the body is empty: a JSON object was expected');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new HttpError(400, `the body is not JSON: ${(e as Error).message}`);
    }
  }
}

/** A notice id from the URL; a broken %-escape can't name a notice (and reads as one that doesn't exist). */
function decodeId(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
