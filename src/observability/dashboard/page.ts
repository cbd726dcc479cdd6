/**
 * The dashboard's one page: markup, style and script inline in one response,
 * so there is nothing else to fetch, nothing to resolve on disk after the
 * build bundles this module, and it works offline. The script runs under a
 * per-response nonce; the Content-Security-Policy (server.ts) allows nothing
 * else: no outside script, style, font, image or connection.
 */

import { PAGE_SCRIPT } from './page-script.js';

const STYLE = `
:root { --fg:#1d2330; --muted:#6b7280; --line:#e5e7eb; --bg:#f7f8fa; --card:#fff; --ok:#27ae60; --bad:#d9534f; --warn:#e67e22; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:wrap; align-items:center; gap:8px; padding:10px 16px; background:var(--card); border-bottom:1px solid var(--line); }
header h1 { font-size:16px; margin:0 8px 0 0; }
main { padding:12px 16px; display:grid; gap:12px; }
.badge { display:inline-block; padding:2px 8px; border-radius:10px; background:var(--line); font-size:12px; }
.badge.state-running, .badge.live { background:#dff5e6; color:#1e7d45; }
.badge.state-failed, .badge.down { background:#fde2e1; color:#a4312d; }
.badge.state-closing, .badge.state-closed, .badge.state-starting { background:#fff1d6; color:#8a5a00; }
.alarm { opacity:.45; } .alarm.on { opacity:1; background:#fde2e1; color:#a4312d; font-weight:600; }
.breaker-open { background:#fde2e1; color:#a4312d; } .breaker-half-open { background:#fff1d6; color:#8a5a00; } .breaker-closed { background:#dff5e6; color:#1e7d45; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(120px, 1fr)); gap:8px; }
#job .cards { grid-template-columns:repeat(auto-fill, minmax(180px, 1fr)); }
.card { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:8px 10px; }
.card b { display:block; font-size:20px; font-variant-numeric:tabular-nums; }
.card span { color:var(--muted); font-size:12px; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:10px 12px; }
.panel h2.gap { margin-top:10px; }
.panel h2 { font-size:13px; margin:0 0 6px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.charts { display:grid; grid-template-columns:repeat(auto-fit, minmax(320px, 1fr)); gap:12px; }
svg { width:100%; height:auto; display:block; }
svg .grid { stroke:var(--line); stroke-width:1; } svg .axis { fill:var(--muted); font-size:10px; }
.legend { display:flex; flex-wrap:wrap; gap:10px; font-size:12px; color:var(--muted); font-variant-numeric:tabular-nums; }
.key i { display:inline-block; width:10px; height:3px; margin-right:4px; vertical-align:middle; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th, td { text-align:left; padding:3px 6px; border-bottom:1px solid var(--line); }
th.num, td.num { text-align:right; font-variant-numeric:tabular-nums; }
td.state-starting { color:var(--warn); } td.state-stopping { color:var(--muted); }
table.empty tbody::after { content:"none"; color:var(--muted); display:block; padding:4px 6px; }
.two { display:grid; grid-template-columns:repeat(auto-fit, minmax(380px, 1fr)); gap:12px; }
#job .bar { height:8px; background:var(--line); border-radius:4px; overflow:hidden; margin:6px 0; }
#job-bar { height:100%; width:0; background:#8e44ad; }
footer { padding:4px 16px 16px; color:var(--muted); font-size:12px; display:flex; gap:16px; }
`;

const CARDS: [key: string, label: string][] = [
  ['completed', 'completed'],
  ['failed', 'failed'],
  ['throughput', 'tasks/s'],
  ['p99', 'p99 (last s)'],
  ['queued', 'queued'],
  ['waiting', 'waiting callers'],
  ['running', 'running'],
  ['utilization', 'utilization'],
  ['retried', 'retried'],
  ['deadLettered', 'dead-lettered'],
  ['rejected', 'rejected'],
  ['restarts', 'restarts'],
  ['stalls', 'stalls'],
  ['recycled', 'recycled'],
];

const JOB_CARDS: [key: string, label: string][] = [
  ['job.done', 'lines done'],
  ['job.rate', 'lines/s'],
  ['job.eta', 'ETA'],
  ['job.failed', 'failures'],
];

const WORKER_COLS: [label: string, numeric: boolean][] = [
  ['id', false],
  ['state', false],
  ['in flight', true],
  ['completed', true],
  ['failures', true],
  ['depth', true],
  ['RSS', true],
  ['heap', true],
  ['ELU (life)', true],
  ['pid', true],
];

function cards(list: [string, string][]): string {
  return list.map(([key, label]) => `<div class="card"><b data-counter="${key}">–</b><span>${label}</span></div>`).join('');
}

function chart(id: string, title: string): string {
  return `<div class="panel"><h2>${title}</h2><svg id="${id}" role="img" aria-label="${title}"></svg><div class="legend" id="${id}-legend"></div></div>`;
}

/** The page, its inline script and style allowed by `nonce`. `title` is escaped. */
export function renderPage(nonce: string, title: string): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${t}</title>
<style nonce="${nonce}">${STYLE}</style></head>
<body>
<header><h1>${t} · <span data-field="pool.name">…</span></h1>
<span class="badge" data-field="pool.state">…</span>
<span class="badge" data-field="pool.kind">…</span>
<span class="badge" data-field="pool.size">…</span>
<span class="badge alarm" data-alarm="saturated">saturated</span>
<span class="badge alarm" data-alarm="latency">latency alarm</span>
<span class="badge alarm" data-alarm="failed">pool failed</span>
<span class="badge down" data-field="connection">connecting…</span>
</header>
<main>
<section class="panel" id="job" hidden><h2>Job</h2><div class="bar"><div id="job-bar"></div></div><div class="cards">${cards(JOB_CARDS)}</div></section>
<section class="cards">${cards(CARDS)}</section>
<section class="charts">${chart('chart-throughput', 'Throughput')}${chart('chart-latency', 'Latency (wait + run), per second')}${chart('chart-queue', 'Queue')}</section>
<section class="panel"><h2>Workers</h2><table id="workers"><thead><tr>${WORKER_COLS.map(([label, num]) => `<th${num ? ' class="num"' : ''}>${label}</th>`).join('')}</tr></thead><tbody></tbody></table></section>
<section class="two">
<div class="panel"><h2>Breakers</h2><div id="breakers"></div><h2 class="gap">Alarms and worker events</h2><table id="events" class="empty"><tbody></tbody></table></div>
<div class="panel"><h2>Last dead letters</h2><table id="dead-letters" class="empty"><tbody></tbody></table></div>
</section>
</main>
<footer><span data-field="updated"></span><span data-field="data"></span></footer>
<script nonce="${nonce}">${PAGE_SCRIPT}</script>
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
