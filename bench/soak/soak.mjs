// soak.mjs: issue 12's soak. Mixed traffic for a fixed time against one proxy whose memory
// budget is 1.5x the steady state a calibration run measured: 64 connections, streaming
// and not, OpenAI and Anthropic, ~1 MB JSON rows / test logs / grep output / prose as tool
// outputs. Samples RssAnon every 250 ms from /proc and reports:
//   idle RssAnon, peak RssAnon and VmHWM, RssAnon over the last two thirds (min, max,
//   mean, its first and last 5-second windows, and the least-squares trend over the span), the budget and whether any
//   sample passed it, the stage counters from /metrics (ML unloads, fail-opens, skipped
//   compressions, refusals), requests sent / failed.
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
//        [--connections 64] [--sessions 997] [--no-ml] [--json]
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
const { generateModel } = await lib('ml_reference.mjs');
const { execFileSync } = await import('node:child_process');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function anonBytes(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)[1]) * 1024;
  return { anon: kb('RssAnon'), hwm: kb('VmHWM') };
}

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

async function drive(proxy, seconds, connections, tools, onSample, sessions) {
  const deadline = Date.now() + seconds * 1000;
  let next = 0, sent = 0, failed = 0, refused = 0;
  const bodies = new Map(); // the JSON text of each request kind, made once
  const sampler = setInterval(() => onSample(anonBytes(proxy.proc.pid)), 250);
  await Promise.all(Array.from({ length: connections }, async () => {
    while (Date.now() < deadline) {
      const i = next++;
      const key = i % (tools.length * QUESTIONS.length * 6);
      const r = request(key, tools, proxy.url);
      if (!bodies.has(key)) bodies.set(key, JSON.stringify(r.body));
      try {
        const res = await fetch(r.url, { method: 'POST', body: bodies.get(key),
          headers: { 'content-type': 'application/json', ...r.headers,
            ...(sessions ? { 'x-headroom-session-id': `soak-${i % sessions}` } : {}) } });
        await res.arrayBuffer();
        sent++;
        if (res.status === 503) refused++;
        else if (res.status !== 200) failed++;
      } catch {
        sent++;
        failed++;
      }
    }
  }));
  clearInterval(sampler);
  return { sent, failed, refused };
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
  const build = path.dirname(bin);
  const kdir = generateModel({ arch: 'modernbert', size: 'tiny', seed: 8, dir: path.join(build, 'kompress-proxy-tiny') });
  const edir = generateModel({ size: 'tiny', seed: 5, dir: path.join(build, 'ml-embed-tiny') });
  const k = path.join(dir, 'kompress.hrm'), e = path.join(dir, 'embedder.hrm');
  execFileSync(bin, ['model', 'import', kdir, '--out', k], { stdio: 'pipe' });
  execFileSync(bin, ['model', 'import', edir, '--out', e], { stdio: 'pipe' });
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
export async function runSoak({ bin, seconds = 60, calibrate = 15, connections = 64, ml = true, sessions = 997,
  compressionDeadlineMs = 10000,
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
    await drive(cal, calibrate, connections, tools, (s) => calSamples.push(s.anon + inflight), sessions);
    clearInterval(poll);
    await cal.stop();
    up.reset();
    const tail = calSamples.slice(Math.floor(calSamples.length / 2)).sort((a, b) => a - b);
    const steady = tail[Math.floor(tail.length / 2)];
    const budgetMb = Math.ceil((1.5 * steady) / (1 << 20));
    log(`calibration: steady RssAnon + in-flight reservations ${(steady / 1048576).toFixed(1)} MB -> budget ${budgetMb} MB`);

    const proxy = await startProxy({ bin, openaiUrl: up.url, anthropicUrl: up.url,
      args: ['--memory-budget-mb', String(budgetMb), ...extra], env: { HEADROOM_DATA_DIR: dataDir() } });
    await sleep(1500);
    const idle = anonBytes(proxy.proc.pid).anon;
    const samples = [];
    const t0 = Date.now();
    // the session cache's bytes every 30 s (/debug/memory): the one owner that fills
    // toward its cap over a long run, to tell filling from a leak
    const cache = [];
    const cachePoll = setInterval(async () => {
      try {
        const d = await (await fetch(`${proxy.url}/debug/memory`)).json();
        cache.push({ t: Date.now() - t0, bytes: d.accounting.owners.session_cache });
      } catch { /* busy */ }
    }, 30000);
    const work = await drive(proxy, seconds, connections, tools, (s) => samples.push({ t: Date.now() - t0, ...s }), sessions);
    clearInterval(cachePoll);
    const m = await (await fetch(`${proxy.url}/metrics`)).text();
    const mlUse = ml ? await mlFigures(proxy, m) : null;
    await sleep(2500);
    const after = anonBytes(proxy.proc.pid).anon;
    await proxy.stop();

    // while all connections are busy: from a third of the time to the deadline (the drain
    // after it is not steady state)
    const last = samples.filter((s) => s.t >= (seconds * 1000) / 3 && s.t <= seconds * 1000);
    const win = (from, to) => { const v = last.filter((s) => s.t >= from && s.t < to).map((s) => s.anon); return v.reduce((a, b) => a + b, 0) / v.length; };
    const end = seconds * 1000;
    const firstWin = win(end / 3, end / 3 + 5000);
    const lastWin = win(end - 5000, end);
    const budget = budgetMb * 1048576;
    // per-minute means over the last two thirds (a long run's shape, not one number)
    const minutes = [];
    for (let t = end / 3; t < end; t += 60000) minutes.push(Math.round(win(t, Math.min(t + 60000, end))));
    const cacheIn = cache.filter((c) => c.t >= end / 3);
    return {
      seconds, connections, budgetMb, steadyCalibrated: steady, idle, after,
      peakAnon: Math.max(...samples.map((s) => s.anon)), vmHwm: Math.max(...samples.map((s) => s.hwm)),
      lastTwoThirds: { min: Math.min(...last.map((s) => s.anon)), max: Math.max(...last.map((s) => s.anon)),
        mean: last.reduce((a, s) => a + s.anon, 0) / last.length, firstWindowMean: firstWin, lastWindowMean: lastWin,
        windowDrift: lastWin - firstWin, trend: trend(last), minuteMeans: minutes,
        sessionCache: cacheIn.length ? { first: cacheIn[0].bytes, last: cacheIn[cacheIn.length - 1].bytes } : null },
      budgetExceeded: samples.some((s) => s.anon > budget),
      stages: {
        mlUnloads: metric(m, 'headroom_memory_backpressure_total{action="ml_unload"}'),
        mlFailOpen: metric(m, 'headroom_memory_backpressure_total{action="ml_fail_open"}'),
        compressionSkipped: metric(m, 'headroom_memory_backpressure_total{action="compression_skipped"}'),
        refused: metric(m, 'headroom_memory_backpressure_total{action="refused"}') + metric(m, 'headroom_inflight_refused_total'),
      },
      ml: mlUse,
      ...work,
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
    sessions: Number(opt('sessions', 997)),
    log: console.log });
  const mb = (b) => (b / 1048576).toFixed(1);
  if (argv.includes('--json')) console.log(JSON.stringify(r));
  console.log(`| figure | value |\n|---|---|
| duration, connections | ${r.seconds} s, ${r.connections} |
| budget (1.5x calibrated steady RssAnon + reservations, ${mb(r.steadyCalibrated)} MB) | ${r.budgetMb} MB |
| RssAnon idle / peak / 2.5 s after | ${mb(r.idle)} / ${mb(r.peakAnon)} / ${mb(r.after)} MB |
| VmHWM | ${mb(r.vmHwm)} MB |
| last two thirds: min-max (mean) | ${mb(r.lastTwoThirds.min)}-${mb(r.lastTwoThirds.max)} (${mb(r.lastTwoThirds.mean)}) MB |
| last two thirds: first 5 s mean -> last 5 s mean; least-squares trend over the span | ${mb(r.lastTwoThirds.firstWindowMean)} -> ${mb(r.lastTwoThirds.lastWindowMean)} MB; ${mb(r.lastTwoThirds.trend)} MB |
| last two thirds: per-minute means | ${r.lastTwoThirds.minuteMeans.map(mb).join(', ')} MB |
| session cache over the last two thirds (first -> last reading) | ${r.lastTwoThirds.sessionCache ? `${mb(r.lastTwoThirds.sessionCache.first)} -> ${mb(r.lastTwoThirds.sessionCache.last)} MB` : 'not read'} |
| budget exceeded by a sample | ${r.budgetExceeded} |
| requests / failed / refused (503) | ${r.sent} / ${r.failed} / ${r.refused} |
| budget stages: ML unloads / ML fail-opens / compressions skipped | ${r.stages.mlUnloads} / ${r.stages.mlFailOpen} / ${r.stages.compressionSkipped} |`);
  if (r.ml) {
    const s = (n) => r.ml.sessions[n] ? `${r.ml.sessions[n].loads} / ${r.ml.sessions[n].unloads} / ${r.ml.sessions[n].inferences}` : 'not opened';
    console.log(`| Kompress session loads / unloads / inferences | ${s('kompress')} |
| embedder session loads / unloads / inferences | ${s('embedder')} |
| Kompress sections compressed / passed / busy / deadline / error | ${r.ml.kompress.compressed} / ${r.ml.kompress.passed} / ${r.ml.kompress.busy} / ${r.ml.kompress.deadline} / ${r.ml.kompress.error} |
| embedder rankings blended / left lexical (busy, paused, deadline, error) | ${r.ml.embedder.rankings} / ${r.ml.embedder.busy}, ${r.ml.embedder.paused}, ${r.ml.embedder.deadline}, ${r.ml.embedder.error} |`);
  }
}
