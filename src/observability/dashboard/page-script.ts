/**
 * The page's script, run by the browser as it is: no build step, no library,
 * nothing loaded from elsewhere (the page's Content-Security-Policy forbids
 * it). It opens the event stream, keeps the charts' points, and redraws the
 * counters, three SVG charts and the tables at each frame.
 *
 * Charts are SVG polylines drawn here (about 60 lines), not a charting
 * library: the dashboard draws three small time series of at most
 * `historySize` points once a second, which needs no zoom, no canvas and no
 * dependency to vendor, audit and keep current (docs/dashboard.md, "Why SVG").
 *
 * Everything from the server goes into the page as text (textContent and
 * attributes), never as markup, so an error message cannot inject HTML.
 * Written in plain ES2020 without template literals, so this file can hold it
 * in one string.
 */
export const PAGE_SCRIPT = String.raw`
'use strict';
(function () {
  var token = new URLSearchParams(location.search).get('token') || '';
  var SVG = 'http://www.w3.org/2000/svg';
  var points = [];
  var historySize = 300;
  var $ = function (sel) { return document.querySelector(sel); };

  function fmtInt(n) { return n == null ? '–' : Math.round(n).toLocaleString('en-US'); }
  function fmtRate(n) { return n == null ? '–' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1); }
  function fmtMs(n) {
    if (n == null || !isFinite(n)) return '–';
    if (n < 1) return (n * 1000).toFixed(0) + ' µs';
    if (n < 1000) return n.toFixed(n < 10 ? 2 : 0) + ' ms';
    return fmtDuration(n);
  }
  function fmtDuration(ms) {
    if (ms == null || !isFinite(ms)) return '?';
    var s = ms / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm' + String(Math.floor(s % 60)).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h' + String(m % 60).padStart(2, '0') + 'm';
  }
  function fmtBytes(n) { return n == null ? '–' : (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + ' MiB'; }
  function fmtTime(t) { return new Date(t).toLocaleTimeString('en-GB'); }

  function setValue(el, value, text) {
    if (!el) return;
    el.setAttribute('data-value', value == null ? '' : String(value));
    el.textContent = text;
  }
  function counter(name, value, text) {
    setValue(document.querySelector('[data-counter="' + name + '"]'), value, text == null ? fmtInt(value) : text);
  }

  // ---- charts ------------------------------------------------------------
  var W = 600, H = 150, PAD_L = 52, PAD_B = 18, PAD_T = 8;

  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }

  // series: [{ key, color, label, fmt }]; one polyline per run of non-null values.
  function drawChart(svg, series, fmtAxis) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var n = points.length;
    var t1 = n ? points[n - 1].t : Date.now();
    // From the first point to now (at least a minute), at most the whole history: a young job fills the chart.
    var full = historySize * frameInterval;
    var span = Math.min(full, Math.max(60000, n ? t1 - points[0].t : 0));
    var t0 = t1 - span;
    var max = 0;
    series.forEach(function (s) { points.forEach(function (p) { var v = p[s.key]; if (v != null && v > max) max = v; }); });
    max = niceMax(max);
    var x = function (t) { return PAD_L + ((t - t0) / span) * (W - PAD_L - 4); };
    var y = function (v) { return PAD_T + (1 - v / max) * (H - PAD_T - PAD_B); };
    [0, 0.5, 1].forEach(function (f) {
      svg.appendChild(el('line', { x1: PAD_L, x2: W - 4, y1: y(max * f), y2: y(max * f), class: 'grid' }));
      svg.appendChild(el('text', { x: PAD_L - 6, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis' }, f === 0 ? '0' : fmtAxis(max * f)));
    });
    svg.appendChild(el('text', { x: PAD_L, y: H - 3, class: 'axis' }, '−' + fmtDuration(span)));
    svg.appendChild(el('text', { x: W - 4, y: H - 3, 'text-anchor': 'end', class: 'axis' }, 'now'));
    series.forEach(function (s) {
      var run = [];
      var flush = function () {
        if (run.length > 1) svg.appendChild(el('polyline', { points: run.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 1.8, 'data-series': s.key }));
        else if (run.length === 1) { var xy = run[0].split(','); svg.appendChild(el('circle', { cx: xy[0], cy: xy[1], r: 1.8, fill: s.color, 'data-series': s.key })); }
        run = [];
      };
      points.forEach(function (p) {
        var v = p[s.key];
        if (v == null || p.t < t0) { flush(); return; }
        run.push(x(p.t).toFixed(1) + ',' + y(v).toFixed(1));
      });
      flush();
    });
  }

  function legend(id, series, point) {
    var box = document.getElementById(id);
    while (box.firstChild) box.removeChild(box.firstChild);
    series.forEach(function (s) {
      var item = document.createElement('span');
      item.className = 'key';
      var sw = document.createElement('i');
      sw.style.background = s.color;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(s.label + ' ' + (point ? s.fmt(point[s.key]) : '–')));
      box.appendChild(item);
    });
  }

  var CHARTS = [
    { id: 'chart-throughput', fmt: fmtRate, series: [
      { key: 'throughput', color: '#2f7ed8', label: 'completed/s', fmt: fmtRate },
      { key: 'failures', color: '#d9534f', label: 'failed/s', fmt: fmtRate },
      { key: 'lineRate', color: '#8e44ad', label: 'lines/s', fmt: fmtRate }] },
    { id: 'chart-latency', fmt: fmtMs, series: [
      { key: 'p50', color: '#27ae60', label: 'p50', fmt: fmtMs },
      { key: 'p99', color: '#e67e22', label: 'p99', fmt: fmtMs }] },
    { id: 'chart-queue', fmt: fmtInt, series: [
      { key: 'queued', color: '#2f7ed8', label: 'queued', fmt: fmtInt },
      { key: 'waiting', color: '#d9534f', label: 'waiting callers', fmt: fmtInt },
      { key: 'running', color: '#7f8c8d', label: 'running', fmt: fmtInt }] }
  ];

  // ---- tables ------------------------------------------------------------
  function cell(tr, col, value, text, cls) {
    var td = document.createElement('td');
    td.setAttribute('data-col', col);
    setValue(td, value, text);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function renderWorkers(rows) {
    var body = $('#workers tbody');
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (w) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-worker', String(w.id));
      cell(tr, 'id', w.id, String(w.id));
      cell(tr, 'state', w.state, w.state + (w.leaking ? ' (leaking)' : ''), 'state-' + w.state);
      cell(tr, 'inflight', w.inflight, fmtInt(w.inflight), 'num');
      cell(tr, 'completed', w.completed, fmtInt(w.completed), 'num');
      cell(tr, 'failures', w.failures, fmtInt(w.failures), 'num');
      cell(tr, 'depth', w.depth, fmtInt(w.depth), 'num');
      cell(tr, 'rss', w.rss, fmtBytes(w.rss), 'num');
      cell(tr, 'heap', w.heapUsed, fmtBytes(w.heapUsed), 'num');
      cell(tr, 'elu', w.elu, w.elu == null ? (w.pid == null && !w.reported ? '–' : 'busy') : (w.elu * 100).toFixed(0) + ' %', 'num');
      cell(tr, 'pid', w.pid, w.pid == null ? '–' : String(w.pid), 'num');
      body.appendChild(tr);
    });
  }

  function renderList(sel, rows, cols) {
    var body = $(sel + ' tbody');
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.slice().reverse().forEach(function (r) {
      var tr = document.createElement('tr');
      cols.forEach(function (c) { cell(tr, c[0], null, c[1](r)); });
      body.appendChild(tr);
    });
    $(sel).classList.toggle('empty', rows.length === 0);
  }

  function renderBreakers(breakers) {
    var box = $('#breakers');
    while (box.firstChild) box.removeChild(box.firstChild);
    var names = Object.keys(breakers);
    if (names.length === 0) { box.textContent = 'no breakers configured'; return; }
    names.forEach(function (name) {
      var b = document.createElement('span');
      b.className = 'badge breaker-' + breakers[name];
      b.setAttribute('data-breaker', name);
      b.textContent = (name === '*' ? 'pool' : name) + ': ' + breakers[name];
      box.appendChild(b);
    });
  }

  function alarm(name, on) {
    var b = document.querySelector('[data-alarm="' + name + '"]');
    b.classList.toggle('on', on);
    b.setAttribute('data-value', on ? 'on' : 'off');
  }

  // ---- one frame -----------------------------------------------------------
  var frameInterval = 1000;

  function render(f) {
    frameInterval = f.intervalMs;
    setValue($('[data-field="pool.name"]'), f.pool.name, f.pool.name);
    setValue($('[data-field="pool.kind"]'), f.pool.kind, f.pool.kind);
    var st = $('[data-field="pool.state"]');
    setValue(st, f.pool.state, f.pool.state);
    st.className = 'badge state-' + f.pool.state;
    setValue($('[data-field="pool.size"]'), f.pool.size, f.pool.size + ' worker' + (f.pool.size === 1 ? '' : 's') + (f.pool.targetSize !== f.pool.size ? ' → ' + f.pool.targetSize : ''));
    counter('completed', f.counters.completed);
    counter('failed', f.counters.failed);
    counter('throughput', f.point.throughput, fmtRate(f.point.throughput));
    counter('p99', f.point.p99, fmtMs(f.point.p99));
    counter('queued', f.point.queued);
    counter('waiting', f.point.waiting);
    counter('running', f.point.running);
    counter('utilization', f.utilization, (f.utilization * 100).toFixed(0) + ' %');
    counter('retried', f.counters.retried);
    counter('deadLettered', f.counters.deadLettered);
    counter('rejected', f.counters.rejected);
    counter('restarts', f.supervision.restarts);
    counter('stalls', f.supervision.stalls);
    counter('recycled', f.supervision.recycled);
    alarm('saturated', f.alarms.saturated);
    alarm('latency', f.alarms.latency);
    alarm('failed', f.alarms.failed);
    var job = $('#job');
    job.hidden = f.job == null;
    if (f.job) {
      var j = f.job;
      counter('job.done', j.done, fmtInt(j.done) + (j.total != null ? ' / ' + fmtInt(j.total) : ''));
      counter('job.rate', j.rate, fmtRate(j.rate));
      counter('job.eta', j.etaMs, j.total == null ? '?' : j.done >= j.total ? 'done' : fmtDuration(j.etaMs));
      counter('job.failed', j.failed);
      var bar = $('#job-bar');
      var frac = j.total ? Math.min(1, j.done / j.total) : 0;
      bar.style.width = (frac * 100).toFixed(1) + '%';
      bar.setAttribute('data-value', frac.toFixed(4));
    }
    CHARTS.forEach(function (c) {
      var series = c.series.filter(function (s) { return s.key !== 'lineRate' || f.job != null; });
      drawChart(document.getElementById(c.id), series, c.fmt);
      legend(c.id + '-legend', series, f.point);
    });
    renderWorkers(f.workers);
    renderBreakers(f.supervision.breakers);
    renderList('#events', f.events, [['time', function (r) { return fmtTime(r.t); }], ['kind', function (r) { return r.kind; }], ['text', function (r) { return r.text; }]]);
    var dlCols = [
      ['time', function (r) { return fmtTime(r.t); }],
      ['where', function (r) { return r.line != null ? 'line ' + r.line : r.jobId != null ? 'job ' + r.jobId : r.task + (r.taskId != null ? ' #' + r.taskId : ''); }],
      ['code', function (r) { return r.code; }],
      ['message', function (r) { return r.message; }]
    ];
    if (f.showData) dlCols.push(['input', function (r) { return r.input == null ? '' : r.input; }]);
    $('#dead-letters').classList.toggle('with-data', f.showData);
    renderList('#dead-letters', f.deadLetters, dlCols);
    setValue($('[data-field="updated"]'), f.t, 'updated ' + fmtTime(f.t));
    $('[data-field="data"]').textContent = f.showData ? 'task inputs shown (--dashboard-show-data)' : 'task inputs and outputs hidden';
  }

  // ---- the stream ----------------------------------------------------------
  var status = $('[data-field="connection"]');
  var es = new EventSource('events?token=' + encodeURIComponent(token));
  es.addEventListener('history', function (e) {
    var d = JSON.parse(e.data);
    historySize = d.historySize;
    points = d.points;
    if (d.frame) render(d.frame);
    status.textContent = 'live';
    status.className = 'badge live';
  });
  es.addEventListener('frame', function (e) {
    var f = JSON.parse(e.data);
    points.push(f.point);
    if (points.length > historySize) points.splice(0, points.length - historySize);
    render(f);
  });
  es.onerror = function () {
    status.textContent = es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…';
    status.className = 'badge down';
  };
})();
`;
