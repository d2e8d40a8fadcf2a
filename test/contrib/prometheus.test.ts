// Prometheus by the book: /metrics of a real swarmd passes `promtool check metrics`, the alert
// rules pass `promtool check rules` and their unit tests (`promtool test rules`), and every
// metric the alerts and the Grafana dashboard query is one swarmd exports (taken from the real
// /metrics, not from our own table). promtool is Debian's prometheus package, installed by
// scripts/test-setup.sh; in CI its absence fails the test.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SWARMD_BIN, freePort, startSwarmd } from '../helpers/swarmd-process.ts';
import type { SwarmdProcess } from '../helpers/swarmd-process.ts';
import { get } from '../helpers/http-client.ts';
import { UdpClient, announcePacket } from '../helpers/udp-client.ts';
import { infoHash, percentEncode } from '../helpers/tracker.ts';

const CONTRIB = fileURLToPath(new URL('../../contrib/', import.meta.url));
const promtool = spawnSync('promtool', ['--version']).status === 0;
const skip = !promtool && (process.env.CI === 'true' ? false : "promtool missing (scripts/test-setup.sh installs Debian's prometheus)");

/** Metric names an expression uses (swarmd_* and process_*, with summary suffixes as written). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:swarmd|process)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

/** Every sample name and family in a text exposition (summaries give name, name_sum, name_count). */
function exported(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line) ?? /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m === null) continue;
    names.add(m[1]!);
    if (m[2] === 'summary' || m[2] === 'histogram') for (const s of ['_sum', '_count']) names.add(m[1]! + s);
  }
  return names;
}

describe('Prometheus and Grafana', { skip }, () => {
  let swarmd: SwarmdProcess;
  let port: number;
  let metrics = '';
  before(async () => {
    port = await freePort();
    swarmd = await startSwarmd(process.execPath, [SWARMD_BIN, '-i', '127.0.0.1', '-p', String(port), '-P', String(port), '--workers', '2']);
    const hash = infoHash('promtool');
    assert.equal((await get('127.0.0.1', port, `/announce?info_hash=${percentEncode(hash)}&port=1&left=0`)).status, 200);
    const udp = await UdpClient.open('127.0.0.1', port);
    await udp.request(announcePacket({ connectionId: await udp.connect(), transactionId: 1, infoHash: hash, port: 2 }));
    udp.close();
    await new Promise((r) => setTimeout(r, 1200)); // a reading of every thread's event-loop gauges
    metrics = (await get('127.0.0.1', port, '/metrics')).body.toString();
  });
  after(() => swarmd?.stop());

  test('promtool check metrics passes on the real /metrics, with no lint finding', () => {
    assert.match(metrics, /^swarmd_build_info\{version="[^"]+",node="24\.[^"]+"\} 1$/m);
    assert.match(metrics, /^# TYPE swarmd_event_loop_delay_seconds summary$/m);
    assert.match(metrics, /^swarmd_event_loop_delay_seconds_count\{thread="worker-1"\} [1-9]/m);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'process_max_fds', 'process_start_time_seconds']) {
      assert.match(metrics, new RegExp(`^${name} [0-9.e+]+$`, 'm'), name);
    }
    assert.doesNotMatch(metrics, /result="/, 'one label vocabulary: outcome');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), '');
  });

  test('the alert rules pass promtool check rules and their unit tests', () => {
    const check = spawnSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: `${CONTRIB}prometheus`, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: 8 rules found/);
    const unit = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: `${CONTRIB}prometheus`, encoding: 'utf8' });
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    const rules = readFileSync(`${CONTRIB}prometheus/alerts.yml`, 'utf8');
    for (const alert of [
      'SwarmdDown',
      'SwarmdAnswerErrors',
      'SwarmdEventLoopDelay',
      'SwarmdClusterDisconnected',
      'SwarmdStateDumpFailing',
      'SwarmdMemoryNearLimit',
    ]) {
      assert.match(rules, new RegExp(`alert: ${alert}$`, 'm'));
      assert.match(readFileSync(`${CONTRIB}prometheus/alerts.test.yml`, 'utf8'), new RegExp(`alertname: ${alert}$`, 'm'), `${alert} has a unit test`);
    }
    const names = exported(metrics);
    for (const name of metricNames(rules)) assert.ok(names.has(name), `alerts.yml: ${name} is exported`);
  });

  test('the Grafana dashboard: valid JSON, every query by instance, over metrics swarmd exports', () => {
    const dash = JSON.parse(readFileSync(`${CONTRIB}grafana/swarmd.json`, 'utf8'));
    const vars = dash.templating.list.map((v: { name: string }) => v.name);
    assert.deepEqual(vars, ['datasource', 'job', 'instance']);
    const names = exported(metrics);
    const ids = new Set<number>();
    let queries = 0;
    for (const panel of dash.panels) {
      assert.ok(!ids.has(panel.id), `panel id ${panel.id} is unique`);
      ids.add(panel.id);
      if (panel.type === 'row') continue;
      assert.ok(panel.targets.length > 0, panel.title);
      for (const t of panel.targets) {
        queries++;
        assert.match(t.expr, /instance=~"\$instance"/, `${panel.title}: filtered by the instance variable`);
        const used = metricNames(t.expr);
        assert.ok(used.length > 0 || /\bup\{/.test(t.expr), `${panel.title}: names a metric`);
        for (const name of used) assert.ok(names.has(name), `${panel.title}: ${name} is exported`);
      }
    }
    assert.ok(queries >= 30, `${queries} queries`);
    assert.ok(
      dash.panels.some((p: { targets?: { expr: string }[] }) => p.targets?.some((t) => /by \(instance\)/.test(t.expr))),
      'panels split by instance',
    );
  });
});
