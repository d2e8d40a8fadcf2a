// The public list of takedown notices, as opentrackr.org publishes its own: every notice (id,
// date, sender, on whose behalf, its hashes, how many were new and how many duplicates, its lifts)
// and the total of hashes blocked. The operator's notes are never shown.
//
// The main thread renders the JSON document and the HTML page once per change (render()), gzips
// them, and hands them to the workers in shared memory; a worker only picks the form a request asks
// for (answer()): HTML for a browser (Accept: text/html, as the stats dashboard), JSON otherwise,
// or as `?format=json|html` says.

import { gzipSync } from 'node:zlib';
import { acceptsHtml } from '../stats/observability.ts';
import type { ObservabilityAnswer } from '../stats/observability.ts';
import type { PublicNotice } from './registry.ts';

const TRANSPARENCY_SCHEMA = 'swarmd-transparency/1';

/** One rendered form: its bytes and their gzip, in shared memory (not copied to each worker). */
type Rendered = { body: SharedArrayBuffer; gzip: SharedArrayBuffer };
export type TransparencyPages = { json: Rendered; html: Rendered };

type TransparencyInput = { notices: PublicNotice[]; hashesBlocked: number; hashesListed: number };

/** The JSON document. */
function transparencyDocument(input: TransparencyInput, now = new Date()) {
  return {
    schema: TRANSPARENCY_SCHEMA,
    generated: now.toISOString(),
    notices: input.notices.length,
    hashes_listed: input.hashesListed,
    hashes_blocked: input.hashesBlocked,
    list: input.notices,
  };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** The HTML page: plain markup, no script and no inline style (the stats pages' CSP applies). */
function transparencyHtml(input: TransparencyInput, now = new Date()): string {
  const e = escapeHtml;
  const rows = input.notices.map((n) => {
    const lifts = n.lifts.map((l) => `<li>${e(l.at)}: ${l.hashes.length} lifted: ${e(l.reason)}</li>`).join('');
    return (
      `<tr id="notice-${e(n.id)}"><td>${e(n.id)}</td><td>${e(n.received)}</td><td>${e(n.sender)}</td><td>${e(n.on_behalf_of)}</td>` +
      `<td>${n.listed}</td><td>${n.new}</td><td>${n.duplicates}</td><td>${n.lifted}</td>` +
      `<td><details><summary>${n.hashes.length} info hashes</summary><pre>${n.hashes.join('\n')}</pre></details>` +
      `${lifts ? `<ul>${lifts}</ul>` : ''}</td></tr>`
    );
  });
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>Takedown notices</title></head><body>\n<h1>Takedown notices</h1>\n' +
    `<p>${input.notices.length} notices; ${input.hashesListed} info hashes listed; <strong>${input.hashesBlocked} info hashes blocked</strong>. ` +
    'Every info hash a notice lists is blocked until the block is lifted; hashes repeated in a notice or already blocked by an ' +
    `earlier notice count as duplicates. Updated ${e(now.toISOString())}. Also as <a href="?format=json">JSON</a>.</p>\n` +
    '<table><thead><tr><th>Notice</th><th>Received</th><th>Sender</th><th>On behalf of</th><th>Listed</th><th>New</th>' +
    '<th>Duplicates</th><th>Lifted</th><th>Info hashes</th></tr></thead>\n<tbody>\n' +
    rows.join('\n') +
    '\n</tbody></table>\n</body></html>\n'
  );
}

function shared(bytes: Buffer): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(bytes.length);
  new Uint8Array(sab).set(bytes);
  return sab;
}

function rendered(text: string): Rendered {
  const body = Buffer.from(text, 'utf8');
  return { body: shared(body), gzip: shared(gzipSync(body, { level: 6 })) };
}

/** Renders both forms (main thread, once per change). */
export function renderTransparency(input: TransparencyInput): TransparencyPages {
  const now = new Date();
  return {
    json: rendered(JSON.stringify(transparencyDocument(input, now), null, 1) + '\n'),
    html: rendered(transparencyHtml(input, now)),
  };
}

/** The answer to one request for the transparency path (worker side). */
export function transparencyAnswer(pages: TransparencyPages, params: URLSearchParams, accept: string | null, acceptGzip: boolean): ObservabilityAnswer {
  const format = params.get('format');
  if (format !== null && format !== 'json' && format !== 'html') {
    return {
      status: 400,
      contentType: 'text/plain; charset=utf-8',
      body: Buffer.from('format must be json or html\n'),
      gzipped: false,
      cacheControl: 'no-store',
    };
  }
  const html = format === 'html' || (format === null && acceptsHtml(accept));
  const r = html ? pages.html : pages.json;
  const gzipped = acceptGzip && r.gzip.byteLength < r.body.byteLength;
  return {
    status: 200,
    contentType: html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    body: Buffer.from(gzipped ? r.gzip : r.body),
    gzipped,
    cacheControl: 'no-cache',
  };
}
