// Raw HTTP/1.x over net, so tests control every byte sent and see every byte received.

import net from 'node:net';
import { decode } from '../../src/protocol/bencode.ts';
import type { BValue } from '../../src/protocol/bencode.ts';
import { percentEncode } from './tracker.ts';

export type RawResponse = { status: number; headers: Map<string, string>; body: Buffer };

/** Parses as many complete responses as `data` holds. */
export function parseResponses(data: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let o = 0;
  while (o < data.length) {
    const end = data.indexOf('\r\n\r\n', o);
    if (end < 0) break;
    const lines = data.subarray(o, end).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    const length = Number(headers.get('content-length') ?? 0);
    if (end + 4 + length > data.length) break;
    out.push({ status, headers, body: data.subarray(end + 4, end + 4 + length) });
    o = end + 4 + length;
  }
  return out;
}

/** Sends `request` (written in `chunks` pieces if given) and collects bytes until the server closes or `timeoutMs`. */
export function rawExchange(
  host: string,
  port: number,
  request: string | Buffer,
  opts: { timeoutMs?: number; untilResponses?: number } = {},
): Promise<{ data: Buffer; closedByServer: boolean; responses: RawResponse[] }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks);
      resolve({ data, closedByServer, responses: parseResponses(data) });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 3000);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d) => {
      chunks.push(d);
      if (opts.untilResponses !== undefined && parseResponses(Buffer.concat(chunks)).length >= opts.untilResponses) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (err) => (done ? undefined : reject(err)));
  });
}

export async function get(host: string, port: number, target: string, headers = ''): Promise<RawResponse & { closedByServer: boolean }> {
  const h = host.includes(':') ? `[${host}]` : host;
  const r = await rawExchange(host, port, `GET ${target} HTTP/1.1\r\nHost: ${h}:${port}\r\nConnection: close\r\n${headers}\r\n`);
  if (r.responses.length !== 1) throw new Error(`expected one response, got ${r.data.toString('latin1').slice(0, 200)}`);
  return { ...r.responses[0], closedByServer: r.closedByServer };
}

export interface ScrapeCounts {
  complete: number;
  incomplete: number;
  downloaded: number;
}

/** An HTTP scrape of one torrent on 127.0.0.1:`port`. */
export async function scrape(port: number, infoHash: Buffer): Promise<ScrapeCounts> {
  const r = await get('127.0.0.1', port, `/scrape?info_hash=${percentEncode(infoHash)}`);
  const files = (decode(r.body) as Map<string, BValue>).get('files') as Map<string, BValue>;
  const entry = files.get(infoHash.toString('latin1')) as Map<string, BValue> | undefined;
  if (!entry) return { complete: 0, incomplete: 0, downloaded: 0 };
  return { complete: Number(entry.get('complete')), incomplete: Number(entry.get('incomplete')), downloaded: Number(entry.get('downloaded')) };
}
