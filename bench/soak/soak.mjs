// soak.mjs: issue 12's soak. Mixed traffic for a fixed time against one proxy whose memory
// budget is 1.5x the steady state a calibration run measured: 64 connections, streaming
// and not, OpenAI and Anthropic, ~1 MB JSON rows / test logs / grep output / prose as tool
// outputs. Traffic runs in cycles (--cycle seconds, default 30): all 64 connections busy,
// then every client waits for its answer and the proxy settles (nothing in flight, the
// housekeeping tick has trimmed, RssAnon still for 500 ms), and RssAnon and /debug/memory's
// owners are read. Reports:
//   idle RssAnon, peak RssAnon and VmHWM; RssAnon under traffic over the last two thirds
//   (sampled every 250 ms: min, max, mean, per-minute means, least-squares trend), which
//   mostly says how many bodies happened to be in flight; the drift: the settled readings
//   over the last two thirds (least-squares trend over their span, range, first -> last)
//   and which owners moved between them; the budget and whether any sample passed it, the
//   stage counters from /metrics (ML unloads, fail-opens, skipped compressions, refusals),
//   requests sent / failed.
//
// Both ML models are in use (unless --no-ml): Kompress (a generated tiny ModernBERT, the
// prose outputs) and the hybrid-relevance embedder (a generated tiny BERT, SmartCrusher and
// search rankings), through the one thread cap and the budget. Requests name one of many
// sessions (x-headroom-session-id) and ask one of several questions, so the session cache
// keeps evicting and the models keep running rather than replaying earlier decisions.
// The ML figures come from /metrics and /debug/memory (loads, unloads, blended rankings,
// sections compressed, fail-opens by reason).
//
//   node bench/soak/soak.mjs --bin build/headroom [--seconds 60] [--calibrate 15]
//        [--connections 64] [--sessions 997] [--cycle 30 (0: one stretch)] [--no-ml] [--json]
// Exported runSoak() is what tests/node/membudget_soak.test.mjs runs (the CI variant).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const lib = (f) => import(path.join(here, '../../tests/node/lib', f));
const { startProxy } = await lib('proxy.mjs');
const { startFakeUpstream } = await lib('fake_upstream.mjs');
const fx = await lib('e2e_fixtures.mjs');
const { importProxyModels } = await lib('proxy_models.mjs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function anonBytes(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)[1]) * 1024;
  return { anon: kb('RssAnon'), hwm: kb('VmHWM') };
}

const procThreads = (pid) => Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// 8 distinct tool outputs of each kind, made once: ~1 MB JSON rows, test log, grep output,
// progress-heavy prose and man-page prose for Kompress, and a ~4 KB prose page (a Kompress
// section that can fit the compression deadline on a loaded machine; the 1.3 MB ones mostly
// cannot and fail open, counted).
function outputs() {
  const out = [];
  for (let i = 0; i < 8; i++) {
    out.push(fx.dbRows(6800, i + 1).text, fx.pytestLog(11500, i + 1).text,
      fx.grepOutput(260, 50, i + 1).text, fx.longProse(1000, i + 1).text, fx.manPageProse(3000, i + 1),
      fx.manPageProse(10, i + 101));
  }
  return out;
}

const QUESTIONS = ['why did it fail?', 'which requests timed out', 'show the slowest queries',
  'what changed in the billing service', 'is the cache healthy', 'find the disk errors',
  'which users were affected', 'summarise the warnings'];

// Request kind i: tool output, question, stream or not, provider; the session it names is
// chosen per send (see drive).
function request(i, tools, baseUrl) {
  const content = tools[i % tools.length];
  const stream = i % 2 === 1;
  const question = QUESTIONS[i % QUESTIONS.length];
  if (i % 3 === 2) {
    return { url: `${baseUrl}/v1/messages`, headers: { 'x-api-key': 'sk-ant-soak', 'anthropic-version': '2023-06-01' },
      body: { model: 'claude-sonnet-4-5', max_tokens: 64, stream,
        messages: [{ role: 'user', content: question },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'run', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content }] }] } };
  }
  return { url: `${baseUrl}/v1/chat/completions`, headers: { authorization: 'Bearer sk-soak' },
    body: { model: 'gpt-4o', stream,
      messages: [{ role: 'user', content: question },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'run', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content }] } };
}

const metric = (text, name) => Number((text.split('\n').find((l) => l.startsWith(name + ' ')) || ' NaN').split(' ')[1]);

// Keeps `connections` clients sending until the deadline, each waiting for its answer; the
// request kinds rotate through st.next, and counts go to st (shared across cycles).
async function drive(proxy, seconds, connections, tools, onSample, sessions, st) {
  const deadline = Date.now() + seconds * 1000;
  const sampler = setInterval(() => onSample(anonBytes(proxy.proc.pid)), 250);
  await Promise.all(Array.from({ length: connections }, async () => {
    while (Date.now() < deadline) {
      const i = st.next++;
      const key = i % (tools.length * QUESTIONS.length * 6);
      const r = request(key, tools, proxy.url);
      if (!st.bodies.has(key)) st.bodies.set(key, JSON.stringify(r.body));
      try {
        const res = await fetch(r.url, { method: 'POST', body: st.bodies.get(key),
          headers: { 'content-type': 'application/json', ...r.headers,
            ...(sessions ? { 'x-headroom-session-id': `soak-${i % sessions}` } : {}) } });
        const text = await res.text();
        st.sent++;
        if (res.status === 503) st.refused++;
        else if (res.status !== 200) fail(st, `status ${res.status}: ${text.slice(0, 160)}`);
      } catch (e) {
        st.sent++;
        fail(st, `${e.message}${e.cause ? `: ${e.cause.code || e.cause.message}` : ''}`);
      }
    }
  }));
  clearInterval(sampler);
  return st;
}

const newDriveState = () => ({ next: 0, sent: 0, failed: 0, refused: 0, failures: {}, bodies: new Map() });
const fail = (st, why) => { st.failed++; st.failures[why] = (st.failures[why] || 0) + 1; };

// The same state after every cycle: no request in flight, the clients' idle keep-alive
// connections closed (Node's fetch closes them after 4 s; each holds a proxy thread and its
// stack), the housekeeping tick has trimmed after the burst (on the first quiet tick) and
// RssAnon has stopped moving (two reads 500 ms apart within 64 KiB). What is resident then
// is what the proxy keeps between bursts: caches, pools, heap it could not give back.
async function settle(proxy) {
  const end = Date.now() + 30000;
  for (;;) {
    const d = await (await fetch(`${proxy.url}/debug/memory`)).json();
    if (d.inflight.used === 0 || Date.now() > end) break;
    await sleep(250);
  }
  await sleep(5000);
  for (let threads = Infinity; Date.now() < end;) { // until no more connection threads exit
    const now = procThreads(proxy.proc.pid);
    if (now >= threads) break;
    threads = now;
    await sleep(500);
  }
  let prev = anonBytes(proxy.proc.pid).anon;
  while (Date.now() < end) {
    await sleep(500);
    const now = anonBytes(proxy.proc.pid).anon;
    if (Math.abs(now - prev) <= 65536) break;
    prev = now;
  }
  const d = await (await fetch(`${proxy.url}/debug/memory`)).json();
  return { anon: anonBytes(proxy.proc.pid).anon, heapInUse: d.heap_in_use, heapFree: d.heap_free,
    ...d.accounting.owners, mappings: d.accounting.mappings };
}

/* Least-squares slope of v over t, times the span: how much the trend moved (bytes). */
function trend(samples) {
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const mv = samples.reduce((a, s) => a + s.anon, 0) / n;
  let num = 0, den = 0;
  for (const s of samples) { num += (s.t - mt) * (s.anon - mv); den += (s.t - mt) ** 2; }
  return den ? (num / den) * (samples[n - 1].t - samples[0].t) : 0;
}

// Generated tiny models (random weights) for Kompress and the embedder, imported into dir;
// returns the proxy flags that turn both on.
function mlArgs(bin, dir, compressionDeadlineMs) {
  const { kompress: k, embedder: e } = importProxyModels(bin, dir);
  // deadlines long enough that the models run on a saturated 2-core machine rather than
  // failing open on nearly every request (they still do under the budget's ML stage)
  return ['--kompress-model', k, '--embed-model', e, '--compression-deadline-ms', String(compressionDeadlineMs),
    '--embed-deadline-ms', '2000'];
}

// What the ML sessions did: loads and unloads by session, Kompress sections by outcome,
// blended rankings and the embedder's fail-opens by reason.
async function mlFigures(proxy, m) {
  const mem = await (await fetch(`${proxy.url}/debug/memory`)).json();
  const sessions = Object.fromEntries(mem.ml.sessions.map((x) => [x.name, { loads: x.loads, unloads: x.unloads,
    idleUnloads: x.idle_unloads, inferences: x.inferences, busy: x.busy }]));
  const sections = (o) => metric(m, `headroom_kompress_sections_total{outcome="${o}"}`);
  const emb = (r) => metric(m, `headroom_embedder_failed_open_total{reason="${r}"}`);
  return { sessions,
    kompress: { compressed: sections('compressed'), passed: sections('passed'), busy: sections('busy'),
      deadline: sections('deadline'), error: sections('error'), failedOpen: metric(m, 'headroom_kompress_failed_open_total') },
    embedder: { rankings: metric(m, 'headroom_embedder_rankings_total'), texts: metric(m, 'headroom_embedder_texts_total'),
      busy: emb('busy'), paused: emb('paused'), deadline: emb('deadline'), error: emb('error') } };
}

// sessions: how many x-headroom-session-id values requests cycle through (0: none, so the
// session is the model's and decisions replay after the first sight of each output).
// steadyAt: which reading of the calibration's second half is "the steady state" the budget
// is budgetFactor (1.5) times: 'median' (the 20-minute runs in docs/benchmarks.md) or 'peak' (the CI test: a
// 10 s calibration's median can sit far below the bursts of the next minute, and the
// budget now counts what is really held, so 1.5x the median was refused in a fresh chroot).
export async function runSoak({ bin, seconds = 60, calibrate = 15, connections = 64, ml = true, sessions = 997,
  compressionDeadlineMs = 10000, cycleSeconds = 30, steadyAt = 'median', budgetFactor = 1.5,
  log = () => {} } = {}) {
  const tools = outputs();
  const up = await startFakeUpstream();
  const dirs = [];
  const dataDir = () => { const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-soak-')); dirs.push(d); return d; };
  try {
    const extra = ml ? mlArgs(bin, dataDir(), compressionDeadlineMs) : [];
    // calibration: the steady state without a budget
    const cal = await startProxy({ bin, openaiUrl: up.url, anthropicUrl: up.url, args: extra, env: { HEADROOM_DATA_DIR: dataDir() } });
    // what the budget measures: RssAnon plus the request bytes reserved (an upper bound:
    // part of the reservations is resident already)
    const calSamples = [];
    let inflight = 0;
    const poll = setInterval(async () => {
      try { inflight = metric(await (await fetch(`${cal.url}/metrics`)).text(), 'headroom_inflight_bytes'); } catch { /* busy */ }
    }, 250);
    await drive(cal, calibrate, connections, tools, (s) => calSamples.push(s.anon + inflight), sessions, newDriveState());
    clearInterval(poll);
    await cal.stop();
    up.reset();
    const tail = calSamples.slice(Math.floor(calSamples.length / 2)).sort((a, b) => a - b);
    const steady = steadyAt === 'peak' ? tail[tail.length - 1] : tail[Math.floor(tail.length / 2)];
    const budgetMb = Math.ceil((budgetFactor * steady) / (1 << 20));
    log(`calibration: steady RssAnon + in-flight reservations (${steadyAt}) ${(steady / 1048576).toFixed(1)} MB -> budget ${budgetMb} MB`);

    const proxy = await startProxy({ bin, openaiUrl: up.url, anthropicUrl: up.url,
      args: ['--memory-budget-mb', String(budgetMb), ...extra], env: { HEADROOM_DATA_DIR: dataDir() } });
    await sleep(1500);
    const idle = anonBytes(proxy.proc.pid).anon;
    const samples = [];
    const quiet = []; // one settled reading after each cycle (see settle)
    const t0 = Date.now();
    const end = seconds * 1000;
    const st = newDriveState();
    // traffic in cycles of cycleSeconds, each followed by a settle (no cycles: one stretch)
    while (Date.now() - t0 < end) {
      const left = (end - (Date.now() - t0)) / 1000;
      await drive(proxy, cycleSeconds ? Math.min(cycleSeconds, left) : left, connections, tools,
        (x) => samples.push({ t: Date.now() - t0, ...x }), sessions, st);
      if (!cycleSeconds) break;
      quiet.push({ t: Date.now() - t0, ...(await settle(proxy)) });
    }
    const m = await (await fetch(`${proxy.url}/metrics`)).text();
    const mlUse = ml ? await mlFigures(proxy, m) : null;
    await sleep(2500);
    const after = anonBytes(proxy.proc.pid).anon;
    await proxy.stop();
    // the proxy's own account of anything that went wrong (warnings and errors, first 20)
    const warnings = proxy.logs().split('\n').filter((l) => /^\S+ (warn|error)/.test(l)).slice(0, 20);

    // while traffic runs: samples from a third of the time to the end
    const last = samples.filter((x) => x.t >= end / 3);
    const win = (from, to) => { const v = last.filter((x) => x.t >= from && x.t < to).map((x) => x.anon); return v.reduce((p, q) => p + q, 0) / v.length; };
    const budget = budgetMb * 1048576;
    // per-minute means over the last two thirds (a long run's shape, not one number)
    const minutes = [];
    for (let t = end / 3; t < end; t += 60000) minutes.push(Math.round(win(t, Math.min(t + 60000, end))));
    // the drift: settled readings over the last two thirds, each owner's first -> last
    const q = quiet.filter((x) => x.t >= end / 3);
    const OWNER_KEYS = ['thread_stacks', 'request_buffers', 'session_cache', 'ccr_memory_store', 'token_ranks',
      'ml_scratch', 'heap_free_held', 'other_allocations', 'library_data'];
    const settled = q.length < 2 ? null : {
      n: q.length, first: q[0].anon, last: q[q.length - 1].anon,
      min: Math.min(...q.map((x) => x.anon)), max: Math.max(...q.map((x) => x.anon)), trend: trend(q),
      owners: Object.fromEntries(OWNER_KEYS.map((k) => [k, { first: q[0][k], last: q[q.length - 1][k],
        min: Math.min(...q.map((x) => x[k])), max: Math.max(...q.map((x) => x[k])) }])),
    };
    return {
      seconds, cycleSeconds, connections, budgetMb, steadyCalibrated: steady, idle, after,
      peakAnon: Math.max(...samples.map((x) => x.anon)), vmHwm: Math.max(...samples.map((x) => x.hwm)),
      lastTwoThirds: { min: Math.min(...last.map((x) => x.anon)), max: Math.max(...last.map((x) => x.anon)),
        mean: last.reduce((p, x) => p + x.anon, 0) / last.length, trend: trend(last), minuteMeans: minutes, settled },
      quiet,
      budgetExceeded: samples.some((s) => s.anon > budget),
      stages: {
        mlUnloads: metric(m, 'headroom_memory_backpressure_total{action="ml_unload"}'),
        mlFailOpen: metric(m, 'headroom_memory_backpressure_total{action="ml_fail_open"}'),
        compressionSkipped: metric(m, 'headroom_memory_backpressure_total{action="compression_skipped"}'),
        refused: metric(m, 'headroom_memory_backpressure_total{action="refused"}') + metric(m, 'headroom_inflight_refused_total'),
      },
      ml: mlUse,
      sent: st.sent, failed: st.failed, refused: st.refused, failures: st.failures, warnings,
    };
  } finally {
    await up.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const opt = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
  const r = await runSoak({ bin: path.resolve(opt('bin', 'build/headroom')), seconds: Number(opt('seconds', 60)),
    calibrate: Number(opt('calibrate', 15)), connections: Number(opt('connections', 64)), ml: !argv.includes('--no-ml'),
    sessions: Number(opt('sessions', 997)), cycleSeconds: Number(opt('cycle', 30)),
    log: console.log });
  const mb = (b) => (b / 1048576).toFixed(1);
  const mb2 = (b) => (b / 1048576).toFixed(2);
  // the drift rows: RssAnon settled after each cycle over the last two thirds, and which
  // owners moved between the first and the last of those readings
  const settledRows = (q, cycle) => {
    if (!q) return `| settled after each cycle | no cycles (--cycle 0) |`;
    const moved = Object.entries(q.owners).filter(([, o]) => o.max - o.min >= 65536)
      .map(([k, o]) => `${k} ${mb2(o.first)} -> ${mb2(o.last)} (${mb2(o.min)}-${mb2(o.max)})`).join('; ');
    return `| last two thirds, settled after each ${cycle} s cycle (${q.n} readings): least-squares trend; range (min-max); first -> last | ${mb2(q.trend)} MB; ${mb2(q.max - q.min)} MB (${mb2(q.min)}-${mb2(q.max)}); ${mb2(q.first)} -> ${mb2(q.last)} MB |
| owners that moved over those readings (first -> last (min-max), MB) | ${moved || 'none by 64 KiB or more'} |`;
  };
  if (argv.includes('--json')) console.log(JSON.stringify(r));
  console.log(`| figure | value |\n|---|---|
| duration, connections | ${r.seconds} s, ${r.connections} |
| budget (1.5x calibrated steady RssAnon + reservations, ${mb(r.steadyCalibrated)} MB) | ${r.budgetMb} MB |
| RssAnon idle / peak / 2.5 s after | ${mb(r.idle)} / ${mb(r.peakAnon)} / ${mb(r.after)} MB |
| VmHWM | ${mb(r.vmHwm)} MB |
| last two thirds: min-max (mean) | ${mb(r.lastTwoThirds.min)}-${mb(r.lastTwoThirds.max)} (${mb(r.lastTwoThirds.mean)}) MB |
| last two thirds, under traffic: least-squares trend over the span; per-minute means | ${mb(r.lastTwoThirds.trend)} MB; ${r.lastTwoThirds.minuteMeans.map(mb).join(', ')} MB |
${settledRows(r.lastTwoThirds.settled, r.cycleSeconds)}
| budget exceeded by a sample | ${r.budgetExceeded} |
| requests / failed / refused (503) | ${r.sent} / ${r.failed}${r.failed ? ` (${JSON.stringify(r.failures)})` : ''} / ${r.refused} |
| budget stages: ML unloads / ML fail-opens / compressions skipped | ${r.stages.mlUnloads} / ${r.stages.mlFailOpen} / ${r.stages.compressionSkipped} |`);
  if (r.failed) console.log(r.warnings.join('\n'));
  if (r.ml) {
    const s = (n) => r.ml.sessions[n] ? `${r.ml.sessions[n].loads} / ${r.ml.sessions[n].unloads} / ${r.ml.sessions[n].inferences}` : 'not opened';
    console.log(`| Kompress session loads / unloads / inferences | ${s('kompress')} |
| embedder session loads / unloads / inferences | ${s('embedder')} |
| Kompress sections compressed / passed / busy / deadline / error | ${r.ml.kompress.compressed} / ${r.ml.kompress.passed} / ${r.ml.kompress.busy} / ${r.ml.kompress.deadline} / ${r.ml.kompress.error} |
| embedder rankings blended / left lexical (busy, paused, deadline, error) | ${r.ml.embedder.rankings} / ${r.ml.embedder.busy}, ${r.ml.embedder.paused}, ${r.ml.embedder.deadline}, ${r.ml.embedder.error} |`);
  }
}
