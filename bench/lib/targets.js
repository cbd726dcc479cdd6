// The targets, judged from the medians of one run. Informational:
// timing never fails the run (machine load decides too much of it).

const get = (groups, scenario, threads) => groups.find((g) => g.scenario === scenario && g.threads === threads);
const med = (g, id, key) => g?.entries.find((e) => e.id === id)?.median?.[key];
/** Medians of `key` over entries whose id starts with `prefix`, with their ids. */
const family = (g, prefix, key) => (g?.entries ?? []).filter((e) => e.id.startsWith(prefix) && e.median?.[key] !== undefined).map((e) => ({ id: e.id, v: e.median[key] }));
const peers = (g, key) => (g?.entries ?? []).filter((e) => !e.id.startsWith('sluice') && !e.id.startsWith('raw') && e.median?.[key] !== undefined).map((e) => ({ id: e.id, v: e.median[key] }));
const best = (xs, higher) => xs.reduce((a, b) => (a === undefined || (higher ? b.v > a.v : b.v < a.v) ? b : a), undefined);

export function judgeTargets(groups, threads = 2) {
  const out = [];
  const add = (target, ok, measured) => out.push({ target, met: ok === undefined ? 'n/a' : ok ? 'met' : 'NOT met', measured });
  const r = (a, b) => (a === undefined || b === undefined ? undefined : a / b);
  const f = (x, d = 2) => (x === undefined ? '-' : x.toFixed(d));

  const tiny = get(groups, 'tiny', threads);
  if (tiny !== undefined) {
    const s = med(tiny, 'sluice', 'opsPerSec');
    const p = best(family(tiny, 'piscina', 'opsPerSec'), true);
    const raw = med(tiny, 'raw-echo', 'opsPerSec');
    const rp = r(s, p?.v);
    const rr = r(s, raw);
    add('tiny-task throughput >= 4x piscina (best variant)', rp === undefined ? undefined : rp >= 4, `${f(rp)}x (vs ${p?.id})`);
    add('tiny-task throughput >= 0.6x raw echo', rr === undefined ? undefined : rr >= 0.6, `${f(rr)}x`);
  }
  const burst = get(groups, 'burst', threads);
  if (burst !== undefined) {
    const s = med(burst, 'sluice', 'opsPerSec');
    const p = best(family(burst, 'piscina', 'opsPerSec'), true);
    const rp = r(s, p?.v);
    const sRss = med(burst, 'sluice', 'peakRssMB');
    const pRss = best(family(burst, 'piscina', 'peakRssMB'), false);
    add('burst throughput >= 3x piscina (best variant)', rp === undefined ? undefined : rp >= 3, `${f(rp)}x (vs ${p?.id})`);
    add("burst peak RSS <= piscina's (lowest variant)", sRss === undefined || pRss === undefined ? undefined : sRss <= pRss.v, `${f(sRss, 0)} MB vs ${f(pRss?.v, 0)} MB (${pRss?.id})`);
  }
  const lat = get(groups, 'latency', threads);
  if (lat !== undefined) {
    const s = med(lat, 'sluice', 'p99');
    const p = best(peers(lat, 'p99'), false);
    add('p99 at fixed rate <= best peer', s === undefined || p === undefined ? undefined : s <= p.v, `${f(s, 0)} us vs ${f(p?.v, 0)} us (${p?.id}), ratio ${f(r(s, p?.v))}`);
  }
  const cpu = get(groups, 'cpu', threads);
  if (cpu !== undefined) {
    const s = med(cpu, 'sluice', 'vsIdeal');
    add('CPU-bound within 2% of ideal', s === undefined ? undefined : s <= 1.02, `wall/ideal ${f(s, 3)}`);
  }
  const tr = get(groups, 'transfer', threads);
  if (tr !== undefined) {
    const s = med(tr, 'sluice', 'opsPerSec');
    const p = best(peers(tr, 'opsPerSec'), true);
    add('transfer >= best peer', s === undefined || p === undefined ? undefined : s >= p.v, `${f(r(s, p?.v))}x (vs ${p?.id})`);
  }
  const st = get(groups, 'startup', threads);
  if (st !== undefined) {
    const s = med(st, 'sluice', 'firstResultMs');
    const p = med(st, 'piscina', 'firstResultMs');
    add('start-up <= piscina', s === undefined || p === undefined ? undefined : s <= p, `${f(s, 1)} ms vs ${f(p, 1)} ms, ratio ${f(r(s, p))}`);
  }
  const ch = get(groups, 'changing', threads);
  if (ch !== undefined) {
    const s = med(ch, 'sluice', 'burstMs');
    const p = best([...family(ch, 'piscina', 'burstMs'), ...family(ch, 'tinypool', 'burstMs')], false);
    const rp = r(s, p?.v);
    const mixed = r(med(ch, 'sluice', 'wallMs'), best([...family(ch, 'piscina', 'wallMs'), ...family(ch, 'tinypool', 'wallMs')], false)?.v);
    const tail = med(ch, 'sluice', 'afterTinyMs');
    const tailIdeal = med(ch, 'sluice', 'longIdealMs');
    add(
      'changing durations: sluice not slower than the best of piscina and tinypool',
      rp === undefined ? undefined : rp <= 1,
      `sluice/best burst wall ${f(rp)} (${f(s, 0)} ms vs ${f(p?.v, 0)} ms, ${p?.id}); mixed submission sluice/best ${f(mixed)}; sluice after its last tiny task ${f(tail, 0)} ms vs ${f(tailIdeal, 0)} ms of long work per worker (${f(r(tail, tailIdeal))}x)`,
    );
  }
  return out;
}
