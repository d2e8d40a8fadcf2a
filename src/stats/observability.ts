// What the HTTP server answers for /metrics, /stats.json and the dashboard, as complete HTTP
// answers, so that the server only routes: see docs/observability.md ("Wiring").
//
//   GET /<stats path>                      Accept: text/html, no `mode`: the dashboard page
//   GET /<stats path>?asset=<file>         the page's files (its script, CSS, uPlot)
//   GET /<stats path>?mode=json[&top&since&history]   /stats.json's document
//   GET /<stats path>?mode=metrics         /metrics's text
//   GET /<stats path>?mode=<opentracker's> not ours: statsPathAnswer() returns null
//
// The page loads everything through relative URLs on the stats path itself (`?asset=app.js`,
// `?mode=json`), so it works under any stats path and behind a reverse proxy that moves it, and
// the stats access restriction (access.stats) covers the page, its files and its data alike.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzip, gzipSync, constants as zlibConstants } from 'node:zlib';
import { promisify } from 'node:util';
import { metricsText, METRICS_CONTENT_TYPE } from './prometheus.ts';
import type { MetricsSource } from './prometheus.ts';
import { statsJson, statsJsonOptions } from './stats-json.ts';
import type { StatsJsonSource } from './stats-json.ts';

const gzipAsync = promisify(gzip);

interface Asset {
  body: Buffer;
  /** The body gzipped (level 9), for clients that accept it. */
  gzip: Buffer;
  type: string;
  cacheControl: string;
}

const require = createRequire(import.meta.url);
const here = (file: string) => new URL(`./dashboard/${file}`, import.meta.url);

/** The dashboard's files: name -> where it is and its type. */
const FILES: Record<string, { url: () => URL | string; type: string; cacheControl: string }> = {
  'index.html': { url: () => here('index.html'), type: 'text/html; charset=utf-8', cacheControl: 'no-cache' },
  'app.js': { url: () => here('app.js'), type: 'text/javascript; charset=utf-8', cacheControl: 'no-cache' },
  'style.css': { url: () => here('style.css'), type: 'text/css; charset=utf-8', cacheControl: 'no-cache' },
  'uPlot.min.js': { url: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8', cacheControl: 'public, max-age=86400' },
  'uPlot.min.css': { url: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8', cacheControl: 'public, max-age=86400' },
};
const DASHBOARD_FILES: readonly string[] = Object.keys(FILES);

const assets = new Map<string, Asset>();

/**
 * A dashboard file by name ('' or 'index.html' for the page), read and gzipped once, then kept
 * in memory; null for any other name (nothing outside this list is ever read).
 */
function dashboardAsset(name: string): Asset | null {
  const key = name === '' ? 'index.html' : name;
  if (!Object.hasOwn(FILES, key)) return null;
  let a = assets.get(key);
  if (a === undefined) {
    const f = FILES[key];
    const body = readFileSync(f.url());
    a = { body, gzip: gzipSync(body, { level: zlibConstants.Z_BEST_COMPRESSION }), type: f.type, cacheControl: f.cacheControl };
    assets.set(key, a);
  }
  return a;
}

/** A complete answer; `httpResponse` turns it into bytes. */
export interface ObservabilityAnswer {
  status: number;
  contentType: string;
  body: Buffer;
  /** The body is gzipped (Content-Encoding: gzip). */
  gzipped: boolean;
  cacheControl: string;
}

const SECURITY_HEADERS =
  'X-Content-Type-Options: nosniff\r\n' +
  "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n" +
  'Referrer-Policy: no-referrer\r\n';

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error' };

/** The answer as HTTP/1.1 bytes, with `Connection: close` (stats answers close, as opentracker's). */
export function httpResponse(a: ObservabilityAnswer): Buffer {
  const head =
    `HTTP/1.1 ${a.status} ${REASONS[a.status] ?? 'OK'}\r\n` +
    `Content-Type: ${a.contentType}\r\n` +
    `Content-Length: ${a.body.length}\r\n` +
    (a.gzipped ? 'Content-Encoding: gzip\r\n' : '') +
    'Vary: Accept, Accept-Encoding\r\n' +
    `Cache-Control: ${a.cacheControl}\r\n` +
    SECURITY_HEADERS +
    'Connection: close\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), a.body]);
}

const plain = (status: number, text: string): ObservabilityAnswer => ({
  status,
  contentType: 'text/plain; charset=utf-8',
  body: Buffer.from(text),
  gzipped: false,
  cacheControl: 'no-store',
});

/** Whether an Accept header value asks for HTML (what a browser sends for a page). */
export function acceptsHtml(accept: string | null | undefined): boolean {
  return accept != null && /(^|,)\s*(text\/html|application\/xhtml\+xml)\s*(;|,|$)/i.test(accept);
}

export type ObservabilitySource = MetricsSource & StatsJsonSource;

/** /metrics. */
export function metricsAnswer(src: MetricsSource): ObservabilityAnswer {
  return { status: 200, contentType: METRICS_CONTENT_TYPE, body: Buffer.from(metricsText(src)), gzipped: false, cacheControl: 'no-store' };
}

/** /stats.json (`params`: top, since, history). Gzipped when the client accepts it and it is large. */
export async function statsJsonAnswer(params: URLSearchParams, src: StatsJsonSource, acceptGzip = false): Promise<ObservabilityAnswer> {
  let body = Buffer.from(JSON.stringify(await statsJson(src, statsJsonOptions(params))));
  let gzipped = false;
  if (acceptGzip && body.length > 1400) {
    body = await gzipAsync(body, { level: 6 }); // off the event loop (libuv's thread pool)
    gzipped = true;
  }
  return { status: 200, contentType: 'application/json; charset=utf-8', body, gzipped, cacheControl: 'no-store' };
}

/** A dashboard file as an answer (404 for an unknown name). */
function assetAnswer(name: string, acceptGzip = false): ObservabilityAnswer {
  const a = dashboardAsset(name);
  if (a === null) return plain(404, `no dashboard file "${name.slice(0, 64)}"; files: ${DASHBOARD_FILES.join(', ')}\n`);
  const gz = acceptGzip && a.gzip.length < a.body.length;
  return { status: 200, contentType: a.type, body: gz ? a.gzip : a.body, gzipped: gz, cacheControl: a.cacheControl };
}

/**
 * The stats path's answers that are not opentracker's: the dashboard (a browser asking for HTML
 * without a mode), its files, `mode=json` and `mode=metrics`. Null: answer with opentrackerStats.
 * The caller has already checked access.stats.
 */
export function statsPathAnswer(
  params: URLSearchParams,
  accept: string | null,
  acceptGzip: boolean,
  src: ObservabilitySource,
): Promise<ObservabilityAnswer> | null {
  const asset = params.get('asset');
  if (asset !== null) return Promise.resolve(assetAnswer(asset, acceptGzip));
  const mode = params.get('mode');
  if (mode === 'json') return statsJsonAnswer(params, src, acceptGzip);
  if (mode === 'metrics' || mode === 'prometheus') return Promise.resolve(metricsAnswer(src));
  if (mode === null && acceptsHtml(accept)) return Promise.resolve(assetAnswer('index.html', acceptGzip));
  return null;
}
