// swarmd's live dashboard: polls the stats JSON (the same figures as /metrics), keeps the last
// hour in the page and draws it with uPlot (served by swarmd itself: works offline). A plain
// JavaScript module, no build step (index.html loads it after uPlot's script, which defines the
// global uPlot); everything it loads comes from the same stats URL (`?asset=...`, `?mode=json`).
/* global uPlot */
const HOUR_MS = 3600e3;
const MIN_POLL_MS = 2000;
const OUTCOMES = ['ok', 'denied', 'malformed', 'bad_connection_id', 'rate_limited', 'full', 'not_found'];
const ERRORS = OUTCOMES.slice(1);
const PALETTE = {
  'http ok': '#2c7fb8',
  'udp ok': '#1a9850',
  'ws ok': '#7b3294',
  denied: '#d73027',
  malformed: '#fc8d59',
  bad_connection_id: '#984ea3',
  rate_limited: '#e6ab02',
  full: '#a50026',
  not_found: '#999999',
  peers: '#2c7fb8',
  seeders: '#1a9850',
  leechers: '#fc8d59',
  torrents: '#7b3294',
  ipv4: '#2c7fb8',
  ipv6: '#d95f02',
  'http in': '#2c7fb8',
  'http out': '#74add1',
  'udp in': '#1a9850',
  'udp out': '#a6d96a',
};
const EXTRA = ['#66c2a5', '#e78ac3', '#a6d854', '#8da0cb', '#ffd92f', '#b3b3b3'];

// The last hour, column by column; time in seconds (uPlot's x).
const S = {
  time: [],
  torrents: [],
  peers: [],
  seeders: [],
  leechers: [],
  ipv4: [],
  ipv6: [],
  answers: {}, // 'http ok' -> [...]
  errors: {}, // outcome -> [...]
  bytes: { 'http in': [], 'http out': [], 'udp in': [], 'udp out': [] },
};
let lastTime = 0; // ms of the newest history point
let previous = null; // previous answer, for rates when the tracker keeps no history
let pollMs = 5000;
const charts = {};
let failures = 0;

function $(id) {
  return document.getElementById(id);
}

// --- formatting ---------------------------------------------------------------------------
function num(v) {
  if (v === null || v === undefined || isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + 'k';
  if (a >= 100 || v === Math.round(v)) return String(Math.round(v));
  return v.toFixed(a >= 10 ? 1 : 2);
}
function bytes(v) {
  if (v === null || v === undefined || isNaN(v)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(Math.round(v)) : v.toFixed(Math.abs(v) >= 100 ? 0 : 1)) + ' ' + units[i];
}
function duration(s) {
  if (s === null || s === undefined) return '–';
  if (s < 90) return Math.round(s) + ' s';
  if (s < 5400) return Math.round(s / 60) + ' min';
  if (s < 172800) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}
function label(key) {
  return key.replace(/_/g, ' ');
}

// --- history ------------------------------------------------------------------------------
function sum(arrays, n) {
  const out = new Array(n).fill(0);
  arrays.forEach(function (a) {
    for (let i = 0; i < n; i++) out[i] += a[i] || 0;
  });
  return out;
}

/** The series `key` of `obj`, created with `length` zeros when new. */
function ensureSeries(obj, key, length) {
  if (!obj[key]) obj[key] = new Array(length).fill(0);
  return obj[key];
}

/** Appends history points (columns of the JSON's `history`). */
function appendHistory(h) {
  const n = h.time.length;
  if (n === 0) return;
  const before = S.time.length;
  for (let i = 0; i < n; i++) {
    S.time.push(h.time[i] / 1000);
    S.torrents.push(h.torrents[i]);
    S.ipv4.push(h.peers_ipv4[i]);
    S.ipv6.push(h.peers_ipv6[i]);
    S.peers.push(h.peers_ipv4[i] + h.peers_ipv6[i]);
    S.seeders.push(h.seeders[i]);
    S.leechers.push(h.leechers[i]);
  }
  const total = S.time.length;
  const protocols = Object.keys(h.requests_per_second);
  protocols.forEach(function (p) {
    Object.keys(h.requests_per_second[p]).forEach(function (o) {
      const series = h.requests_per_second[p][o];
      const nonzero = series.some(function (v) {
        return v > 0;
      });
      const key = p + ' ' + o;
      if (!S.answers[key] && !nonzero && o !== 'ok') return;
      pushPadded(ensureSeries(S.answers, key, before), series, total);
    });
  });
  ERRORS.forEach(function (o) {
    const parts = protocols.map(function (p) {
      return h.requests_per_second[p][o] || [];
    });
    pushPadded(ensureSeries(S.errors, o, before), sum(parts, n), total);
  });
  ['http', 'udp'].forEach(function (p) {
    const b = h.bytes_per_second[p];
    if (!b) return;
    pushPadded(S.bytes[p + ' in'], b.in, total);
    pushPadded(S.bytes[p + ' out'], b.out, total);
  });
  [S.answers, S.errors, S.bytes].forEach(function (group) {
    Object.keys(group).forEach(function (key) {
      while (group[key].length < total) group[key].push(0);
    });
  });
  lastTime = h.time[n - 1];
}

/** Appends `values` to `series`, then zeros up to `total` points if the answer had fewer. */
function pushPadded(series, values, total) {
  for (let i = 0; i < values.length; i++) series.push(values[i]);
  while (series.length < total) series.push(0);
}

/** Without a history ring: one point per poll, rates from the previous poll. */
function appendLive(j) {
  const t = j.time / 1000;
  const dt = previous ? (j.time - previous.time) / 1000 : 0;
  const h = {
    time: [j.time],
    torrents: [j.torrents],
    peers_ipv4: [j.peers.ipv4],
    peers_ipv6: [j.peers.ipv6],
    seeders: [j.peers.seeders],
    leechers: [j.peers.leechers],
    requests_per_second: {},
    bytes_per_second: {},
  };
  Object.keys(j.requests).forEach(function (p) {
    const r = (h.requests_per_second[p] = {});
    OUTCOMES.forEach(function (o) {
      let now = 0;
      let before = 0;
      Object.keys(j.requests[p]).forEach(function (a) {
        now += j.requests[p][a][o] || 0;
        if (previous && previous.requests[p] && previous.requests[p][a]) before += previous.requests[p][a][o] || 0;
      });
      r[o] = [dt > 0 ? Math.max(0, now - before) / dt : 0];
    });
  });
  ['http', 'udp'].forEach(function (p) {
    const b = j.bytes[p];
    const pb = previous ? previous.bytes[p] : b;
    h.bytes_per_second[p] = { in: [dt > 0 ? (b.in - pb.in) / dt : 0], out: [dt > 0 ? (b.out - pb.out) / dt : 0] };
  });
  if (t > (S.time[S.time.length - 1] || 0)) appendHistory(h);
}

/** Drops what is older than an hour before the newest point. */
function trim() {
  const newest = S.time[S.time.length - 1];
  let k = 0;
  while (k < S.time.length && S.time[k] < newest - HOUR_MS / 1000) k++;
  if (k === 0) return;
  ['time', 'torrents', 'peers', 'seeders', 'leechers', 'ipv4', 'ipv6'].forEach(function (name) {
    S[name].splice(0, k);
  });
  [S.answers, S.errors, S.bytes].forEach(function (group) {
    Object.keys(group).forEach(function (key) {
      group[key].splice(0, k);
    });
  });
}

// --- charts -------------------------------------------------------------------------------
function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function color(key, i) {
  return PALETTE[key] || EXTRA[i % EXTRA.length];
}

function chartSize(el) {
  const w = Math.max(200, el.clientWidth);
  return { width: w, height: window.innerWidth <= 480 ? 190 : 230 };
}

// A y axis as wide as its widest tick label in the axis's own font (a fixed width cut "97.7 KiB"
// short), and never under MIN_AXIS, which the date centred under the first time tick needs.
// uPlot calls this again while the sizes settle; after two rounds the last size stands.
const MIN_AXIS = 50;
function axisSize(u, values, i, cycle) {
  const a = u.axes[i];
  if (!values || cycle > 1) return a._size || MIN_AXIS;
  u.ctx.font = a.font[0];
  let widest = 0;
  values.forEach(function (v) {
    widest = Math.max(widest, u.ctx.measureText(v).width);
  });
  return Math.max(MIN_AXIS, Math.ceil(widest / uPlot.pxRatio + a.ticks.size + a.gap + 4));
}

function makeChart(name, keys, values, opts) {
  const el = $('c-' + name);
  const text = cssVar('--text') || '#222';
  const grid = cssVar('--line') || '#ddd';
  const axis = function (fmt, scale, side) {
    return {
      scale: scale,
      side: side,
      stroke: text,
      grid: { stroke: grid, width: 1, show: side !== 1 },
      ticks: { stroke: grid },
      size: axisSize,
      values: function (u, splits) {
        return splits.map(fmt);
      },
    };
  };
  const series = [{}].concat(
    keys.map(function (key, i) {
      return {
        label: label(key),
        stroke: color(key, i),
        width: 1.5,
        scale: (opts.scaleOf && opts.scaleOf(key)) || 'y',
        value: function (u, v) {
          return v === null || v === undefined ? '–' : opts.fmt(v);
        },
        points: { show: false },
      };
    }),
  );
  const axes = [{ stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } }, axis(opts.fmt, 'y', 3)];
  if (opts.right) axes.push(axis(num, opts.right, 1));
  // From 0 to a bit over the largest value; at least to `floor` (1, or 1 KiB for bytes) when all is quiet.
  const range = function (u, min, max) {
    return [0, Math.max(opts.floor || 1, (max || 0) * 1.1)];
  };
  const scales = { x: { time: true }, y: { range: range } };
  if (opts.right) scales[opts.right] = { range: range };
  const size = chartSize(el);
  const u = new uPlot(
    {
      width: size.width,
      height: size.height,
      series: series,
      axes: axes,
      scales: scales,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    },
    [S.time].concat(values),
    el,
  );
  return { u: u, keys: keys.join('|'), el: el };
}

function draw(name, keys, values, opts) {
  let c = charts[name];
  if (!c || c.keys !== keys.join('|')) {
    if (c) c.u.destroy();
    charts[name] = c = makeChart(name, keys, values, opts);
  } else {
    c.u.setData([S.time].concat(values));
  }
  // For the browser test and for people reading the DOM: points drawn and the largest value.
  let max = 0;
  values.forEach(function (v) {
    v.forEach(function (x) {
      if (x > max) max = x;
    });
  });
  c.el.dataset.points = String(S.time.length);
  c.el.dataset.max = String(max);
}

function drawAll() {
  const answerKeys = Object.keys(S.answers).sort(function (a, b) {
    const ao = a.slice(-3) === ' ok' ? 0 : 1;
    const bo = b.slice(-3) === ' ok' ? 0 : 1;
    return ao - bo || (a < b ? -1 : 1);
  });
  draw(
    'answers',
    answerKeys,
    answerKeys.map(function (k) {
      return S.answers[k];
    }),
    { fmt: num },
  );
  draw('swarm', ['peers', 'seeders', 'leechers', 'torrents'], [S.peers, S.seeders, S.leechers, S.torrents], {
    fmt: num,
    right: 't',
    scaleOf: function (k) {
      return k === 'torrents' ? 't' : 'y';
    },
  });
  draw('families', ['ipv4', 'ipv6'], [S.ipv4, S.ipv6], { fmt: num });
  draw(
    'errors',
    ERRORS,
    ERRORS.map(function (k) {
      return S.errors[k] || new Array(S.time.length).fill(0);
    }),
    { fmt: num },
  );
  const byteKeys = Object.keys(S.bytes);
  draw(
    'bytes',
    byteKeys,
    byteKeys.map(function (k) {
      return S.bytes[k];
    }),
    { fmt: bytes, floor: 1024 },
  );
}

// --- tiles and table ----------------------------------------------------------------------
function last(a) {
  return a.length ? a[a.length - 1] : 0;
}

function tiles(j) {
  $('version').textContent = j.version;
  $('t-torrents').textContent = num(j.torrents);
  $('t-peers').textContent = num(j.peers.total);
  $('t-families').textContent = 'IPv4 ' + num(j.peers.ipv4) + ' · IPv6 ' + num(j.peers.ipv6);
  $('t-roles').textContent = num(j.peers.seeders) + ' / ' + num(j.peers.leechers);
  let rate = 0;
  Object.keys(S.answers).forEach(function (k) {
    rate += last(S.answers[k]);
  });
  let errors = 0;
  Object.keys(S.errors).forEach(function (k) {
    errors += last(S.errors[k]);
  });
  $('t-rate').textContent = num(rate);
  $('t-errors').textContent = 'errors ' + num(errors) + '/s';
  $('t-completed').textContent = num(j.completed);
  const running = j.workers.running || j.workers.configured;
  $('t-workers').textContent = running + ' / ' + j.workers.configured;
  $('t-restarts').textContent = j.workers.restarts ? j.workers.restarts + ' restarts' : '';
  let p99 = 0;
  j.threads.forEach(function (t) {
    if (t.event_loop_ms.p99 > p99) p99 = t.event_loop_ms.p99;
  });
  $('t-loop').textContent = p99.toFixed(p99 >= 10 ? 0 : 1) + ' ms';
  $('t-rss').textContent = bytes(j.memory.rss_bytes);
  $('t-uptime').textContent = duration(j.uptime_seconds);
  $('t-dump').textContent =
    j.state_dump.age_seconds === null ? (j.state_dump.failures ? j.state_dump.failures + ' failed' : 'none yet') : duration(j.state_dump.age_seconds) + ' ago';
}

function table(top) {
  const body = $('top').tBodies[0];
  const rows = [];
  top.forEach(function (t) {
    const tr = document.createElement('tr');
    const hash = document.createElement('td');
    hash.className = 'hash';
    hash.textContent = t.info_hash;
    hash.title = t.info_hash;
    tr.appendChild(hash);
    [t.seeders, t.leechers, t.completed].forEach(function (v) {
      const td = document.createElement('td');
      td.textContent = num(v);
      tr.appendChild(td);
    });
    rows.push(tr);
  });
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 4;
    td.className = 'empty';
    td.textContent = 'no torrents yet';
    tr.appendChild(td);
    rows.push(tr);
  }
  body.replaceChildren.apply(body, rows);
}

// --- polling ------------------------------------------------------------------------------
function status(ok, text) {
  $('dot').className = 'dot ' + (ok ? 'ok' : 'bad');
  $('status').textContent = text;
}

function update(j) {
  if (j.history) {
    pollMs = Math.max(MIN_POLL_MS, Math.min(10000, j.history.interval_seconds * 1000));
    appendHistory(j.history);
  } else {
    pollMs = MIN_POLL_MS;
    appendLive(j);
  }
  previous = j;
  trim();
  tiles(j);
  table(j.top_torrents);
  drawAll();
  failures = 0;
  status(true, 'updated ' + new Date(j.time).toLocaleTimeString());
  document.body.dataset.updates = String((Number(document.body.dataset.updates) || 0) + 1);
}

function poll() {
  const url = '?mode=json&top=10' + (lastTime > 0 ? '&since=' + lastTime : '');
  fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } })
    .then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    })
    .then(update)
    .catch(function (err) {
      failures++;
      status(false, 'no answer (' + err.message + '), retrying');
    })
    .then(function () {
      setTimeout(poll, failures > 0 ? Math.min(30000, pollMs * failures) : pollMs);
    });
}

let resizeTimer = 0;
window.addEventListener('resize', function () {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(function () {
    Object.keys(charts).forEach(function (name) {
      charts[name].u.setSize(chartSize(charts[name].el));
    });
  }, 100);
});

window.swarmdDashboard = { state: S, charts: charts };
poll();
