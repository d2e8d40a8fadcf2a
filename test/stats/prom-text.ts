// Two readers of the Prometheus text format (0.0.4) for the /metrics tests:
//  - parsePrometheusText: a strict one written from the format's specification, which also
//    enforces its rules (HELP/TYPE before samples, one TYPE per family, a family's lines together,
//    no duplicate series, valid names, escapes);
//  - referenceParse: the official Python client's parser (Debian's python3-prometheus-client,
//    installed by scripts/test-setup.sh), to agree with an implementation we did not write.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function unescape(s: string, quotes: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = s[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === '"' && quotes) out += '"';
    else throw new Error(`bad escape \\${next}`);
  }
  return out;
}

function parseValue(s: string): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value "${s}"`);
  return Number(s);
}

/** The family a sample belongs to (a histogram's or summary's suffixes aside, the sample's name). */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const f = families.get(base);
      if (f !== undefined && (f.type === 'histogram' || f.type === 'summary')) return base;
    }
  }
  return name;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const closed = new Set<string>(); // families whose lines are over
  const series = new Set<string>();
  let current = '';
  const enter = (name: string, line: number) => {
    if (name === current) return;
    if (closed.has(name)) throw new Error(`line ${line}: lines of ${name} are not together`);
    if (current !== '') closed.add(current);
    current = name;
  };
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the text must end with a newline');
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
      if (m === null) return; // a comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`line ${n}: bad metric name ${name}`);
      enter(name, n);
      let f = families.get(name);
      if (f === undefined) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
      if (kind === 'HELP') {
        if (f.help !== '') throw new Error(`line ${n}: second HELP for ${name}`);
        f.help = unescape(rest, false);
      } else {
        if (!TYPES.has(rest)) throw new Error(`line ${n}: bad type ${rest}`);
        if (f.samples.length > 0) throw new Error(`line ${n}: TYPE of ${name} after its samples`);
        if ((f as Family & { typed?: boolean }).typed) throw new Error(`line ${n}: second TYPE for ${name}`);
        (f as Family & { typed?: boolean }).typed = true;
        f.type = rest;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+(-?\d+))?\s*$/.exec(raw);
    if (m === null) throw new Error(`line ${n}: not a sample: ${raw}`);
    const [, name, , labelText = '', valueText] = m;
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest.length > 0) {
      const lm = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/.exec(rest);
      if (lm === null) throw new Error(`line ${n}: bad labels {${labelText}}`);
      if (!LABEL_NAME.test(lm[1]) || lm[1].startsWith('__')) throw new Error(`line ${n}: bad label name ${lm[1]}`);
      if (Object.hasOwn(labels, lm[1])) throw new Error(`line ${n}: label ${lm[1]} twice`);
      labels[lm[1]] = unescape(lm[2], true);
      rest = rest.slice(lm[0].length);
    }
    const fname = familyOf(name, families);
    enter(fname, n);
    let f = families.get(fname);
    if (f === undefined) families.set(fname, (f = { name: fname, type: 'untyped', help: '', samples: [] }));
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (series.has(key)) throw new Error(`line ${n}: duplicate series ${key}`);
    series.add(key);
    f.samples.push({ name, labels, value: parseValue(valueText) });
  });
  return families;
}

/** One sample's value; throws when it isn't there. */
export function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(labels);
      if (keys.length === Object.keys(s.labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
}

export const REFERENCE_PYTHON = '/usr/bin/python3';

/** Whether the reference parser can run here (scripts/test-setup.sh installs it). */
export function referenceParserAvailable(): boolean {
  if (!existsSync(REFERENCE_PYTHON)) return false;
  return spawnSync(REFERENCE_PYTHON, ['-c', 'import prometheus_client.parser'], { stdio: 'ignore' }).status === 0;
}

const SCRIPT = `
import sys, json, math
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        v = s.value
        out.append({"family": f.name, "type": f.type, "help": f.documentation, "name": s.name, "labels": s.labels,
                    "value": "NaN" if math.isnan(v) else ("+Inf" if v == math.inf else ("-Inf" if v == -math.inf else v))})
print(json.dumps(out))
`;

/** The samples as the official Python client's parser reads them. */
export function referenceParse(text: string): { family: string; type: string; help: string; name: string; labels: Record<string, string>; value: number }[] {
  const r = spawnSync(REFERENCE_PYTHON, ['-c', SCRIPT], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prometheus_client could not parse the text: ${r.stderr}`);
  const rows = JSON.parse(r.stdout) as { family: string; type: string; help: string; name: string; labels: Record<string, string>; value: number | string }[];
  return rows.map((x) => ({ ...x, value: typeof x.value === 'number' ? x.value : parseValue(x.value) }));
}
