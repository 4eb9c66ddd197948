// ml_hybrid.test.mjs: the embedder on the request path (hybrid relevance, src/sys/hybrid.h,
// src/compress/embed_relevance.c) on a model generated at test time (random weights, so the
// semantics are arbitrary; what is checked is the arithmetic and the plumbing):
//   1. `headroom embed --rank` (the proxy's scoring code with the embedder installed) gives
//      hybrid = alpha * min(1, bm25/10) + (1 - alpha) * clamp(cos, 0, 1), with cos computed
//      here by ONNX Runtime on the same weights and alpha by the original's regexes ported
//      to JavaScript; only the HEADROOM_EMBED_MAX_ITEMS best lexical items are embedded;
//   2. a proxy with --embed-model answers CCR query retrieval with the hybrid top 20, the
//      same bytes after a restart; without a model, and with an unreadable one (fail open,
//      counted), the answer is the lexical one, byte for byte;
//   3. the embedder is an ML session (in /debug/memory) and counted in /stats and /metrics;
//   4. SmartCrusher through POST /v1/compress blends (rankings counted) and gives the same
//      bytes after a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILD_DIR, exportOnnx, generateModel, loadTokenizer, ortEmbed, ortSession, referenceIds } from './lib/ml_reference.mjs';
import { HEADROOM_BIN, startProxy } from './lib/proxy.mjs';
import { seedSqlite, tenantOf } from './lib/ccr_seed.mjs';

const KEY = 'sk-ant-hybrid-test';

// The original's HybridScorer._compute_alpha, its patterns verbatim.
function originalAlpha(q) {
  const count = (re, s) => (s.match(re) || []).length;
  const uuid = count(/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g, q);
  const ids = count(/\b\d{4,}\b/g, q);
  const low = q.toLowerCase();
  const hosts = count(/\b[a-zA-Z0-9][-a-zA-Z0-9]*\.[a-zA-Z0-9][-a-zA-Z0-9]*(?:\.[a-zA-Z]{2,})?\b/g, low);
  const emails = count(/\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}\b/g, low);
  let a = 0.5;
  if (uuid > 0) a = Math.max(a, 0.85);
  else if (ids >= 2) a = Math.max(a, 0.75);
  else if (ids === 1) a = Math.max(a, 0.65);
  else if (hosts > 0 || emails > 0) a = Math.max(a, 0.6);
  return Math.max(0.3, Math.min(0.9, a));
}
const clamp01 = (x) => Math.max(0, Math.min(1, x));
const blend = (alpha, bm25, cos) => alpha * clamp01(bm25 / 10) + (1 - alpha) * clamp01(cos);

const RECORDS = [
  'disk quota exceeded on volume 7', 'user alice logged in', 'the storage array is full',
  'request served in 12 ms', 'payment 48213 declined by the bank', 'cache warmed for region eu',
  'retrying upstream api.example.com after timeout', 'backup finished without errors',
  'certificate for db.internal expires soon', 'order 55120 shipped to bob@example.org',
  'memory pressure: evicted 300 pages', 'scheduler idle', 'login failed for user mallory',
  'index rebuilt for table invoices', 'order 77001 refunded', 'queue depth back to normal',
  'volume 7 remounted read-only', 'GC pause of 450 ms', 'feature flag dark-mode enabled',
  'webhook delivery to hooks.example.net failed', 'tenant 9 over its rate limit',
  'replica lag 3 s on db-2', 'user bob changed password', 'nightly report e-mailed',
];
const ITEMS = RECORDS.map((msg, i) => ({ id: i + 1, level: i % 5 ? 'info' : 'warn', msg }));
const ORIGINAL = JSON.stringify(ITEMS);
const QUESTIONS = [
  'why is the disk full on volume 7',
  'what happened to order 55120 and order 77001',
  'is api.example.com timing out',
  'find 550e8400-e29b-41d4-a716-446655440000',
  'which logins failed',
];

let work, modelFile, tiny, onnx, tok, session, maxSeq;
const cleanups = [];

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-hybrid-'));
  tiny = generateModel({ size: 'tiny', seed: 5, dir: path.join(BUILD_DIR, 'ml-embed-tiny') });
  onnx = exportOnnx(tiny);
  modelFile = path.join(work, 'embedder.hrm');
  execFileSync(HEADROOM_BIN, ['model', 'import', tiny, '--out', modelFile], { stdio: 'pipe' });
  tok = await loadTokenizer(tiny);
  session = await ortSession(onnx.fp32);
  const cfg = JSON.parse(fs.readFileSync(path.join(tiny, 'config.json'), 'utf8'));
  maxSeq = Math.min(256, cfg.max_position_embeddings);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  fs.rmSync(work, { recursive: true, force: true });
});

async function ortVector(text) {
  return (await ortEmbed(session, referenceIds(tok, text, maxSeq))).embedding;
}
const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);

function rank(question, env = {}) {
  const out = execFileSync(HEADROOM_BIN, ['embed', '--model', modelFile, '--rank', question],
    { input: ORIGINAL, env: { ...process.env, HEADROOM_LOG_LEVEL: 'error', ...env } });
  return JSON.parse(out.toString('utf8'));
}

// Indices of the k best by score, ties to the lower index.
const best = (scores, k) => scores.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map((x) => x[1]);

test('hybrid scores equal the blend of BM25 and ONNX Runtime cosines, alpha as the original', async () => {
  const itemTexts = ITEMS.map((it) => JSON.stringify(it));
  const vecs = await Promise.all(itemTexts.map(ortVector));
  let maxErr = 0;
  for (const q of QUESTIONS) {
    const r = rank(q, { HEADROOM_EMBED_MAX_ITEMS: '64' });
    assert.equal(r.alpha, originalAlpha(q), `alpha for "${q}"`);
    assert.equal(r.embedded, ITEMS.length);
    assert.equal(r.lexical.length, ITEMS.length);
    const qv = await ortVector(q);
    r.hybrid.forEach((h, i) => {
      const want = blend(r.alpha, r.lexical[i], dot(qv, vecs[i]));
      maxErr = Math.max(maxErr, Math.abs(h - want));
    });
  }
  assert.ok(new Set(QUESTIONS.map(originalAlpha)).size >= 4, 'the questions exercise several alphas');
  assert.ok(maxErr < 2e-3, `max |hybrid - reference| ${maxErr}`);
});

test('only the max-items best lexical items are embedded; the rest keep alpha * lexical', async () => {
  const q = QUESTIONS[0];
  const r = rank(q, { HEADROOM_EMBED_MAX_ITEMS: '5' });
  assert.equal(r.embedded, 5);
  const picked = new Set(best(r.lexical, 5));
  const qv = await ortVector(q);
  for (let i = 0; i < ITEMS.length; i++) {
    const cos = picked.has(i) ? dot(qv, await ortVector(JSON.stringify(ITEMS[i]))) : 0;
    assert.ok(Math.abs(r.hybrid[i] - blend(r.alpha, r.lexical[i], cos)) < 2e-3, `item ${i}`);
  }
});

// Stores text as (tenant of KEY, hash) with Python's sqlite3, an independent writer.
const seed = (dataDir, text) => seedSqlite(HEADROOM_BIN, dataDir, tenantOf(KEY), text);

async function retrieveAll(proxy, hash) {
  const out = [];
  for (const q of QUESTIONS) {
    const r = await fetch(`${proxy.url}/v1/retrieve/${hash}?query=${encodeURIComponent(q)}`, { headers: { 'x-api-key': KEY } });
    assert.equal(r.status, 200);
    out.push(await r.text());
  }
  return out;
}

// A generous ranking deadline: past it a ranking stays lexical (by design), which on a
// sanitizer build or a loaded machine would make the same request come out differently.
async function withProxy(dataDir, args, fn) {
  const proxy = await startProxy({ args, env: { HEADROOM_DATA_DIR: dataDir, HEADROOM_EMBED_MAX_ITEMS: '32',
    HEADROOM_EMBED_DEADLINE_MS: '60000', HEADROOM_COMPRESSION_DEADLINE_MS: '60000' } });
  try {
    return await fn(proxy);
  } finally {
    assert.equal(await proxy.stop(), 0, 'the proxy exits 0');
  }
}

// What retrieval returns for scores: the best 20 with a positive score, in item order.
function expectedItems(scores) {
  return best(scores, 20).filter((i) => scores[i] > 0).sort((a, b) => a - b).map((i) => ITEMS[i]);
}

test('proxy: CCR retrieval ranks by the hybrid score, deterministic across restarts; lexical without a model or when it fails open', async () => {
  const dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir);
  const hash = seed(dataDir, ORIGINAL);

  const lexical = await withProxy(dataDir, ['--embed-model', 'off'], (p) => retrieveAll(p, hash));
  let stats, metrics, memory;
  const hybrid = await withProxy(dataDir, ['--embed-model', modelFile], async (p) => {
    const got = await retrieveAll(p, hash);
    stats = await (await fetch(`${p.url}/stats`)).json();
    metrics = await (await fetch(`${p.url}/metrics`)).text();
    memory = await (await fetch(`${p.url}/debug/memory`)).json();
    return got;
  });
  const again = await withProxy(dataDir, ['--embed-model', modelFile], (p) => retrieveAll(p, hash));
  assert.deepEqual(again, hybrid, 'same bytes after a restart');

  QUESTIONS.forEach((q, k) => {
    const r = rank(q, { HEADROOM_EMBED_MAX_ITEMS: '32' });
    assert.deepEqual(JSON.parse(JSON.parse(hybrid[k]).content), expectedItems(r.hybrid), `hybrid items for "${q}"`);
    assert.deepEqual(JSON.parse(JSON.parse(lexical[k]).content), expectedItems(r.lexical), `lexical items for "${q}"`);
  });
  assert.ok(hybrid.some((h, k) => h !== lexical[k]), 'the embedder changed some answer');

  assert.equal(stats.embedder.rankings, QUESTIONS.length);
  assert.equal(stats.embedder.texts, QUESTIONS.length * (1 + ITEMS.length));
  assert.match(metrics, /^headroom_embedder_enabled 1$/m);
  assert.match(metrics, new RegExp(`^headroom_embedder_rankings_total ${QUESTIONS.length}$`, 'm'));
  const s = memory.ml.sessions.find((x) => x.name === 'embedder');
  assert.ok(s, '/debug/memory lists the embedder session');
  assert.equal(s.state, 'ready');

  const missing = path.join(work, 'no-such-model.hrm');
  await withProxy(dataDir, ['--embed-model', missing], async (p) => {
    assert.deepEqual(await retrieveAll(p, hash), lexical, 'an unreadable model fails open to the lexical answer');
    const st = await (await fetch(`${p.url}/stats`)).json();
    assert.equal(st.embedder.rankings, 0);
    assert.ok(st.embedder.failed_open.error >= QUESTIONS.length, JSON.stringify(st.embedder));
    const health = await (await fetch(`${p.url}/health`)).json();
    assert.match(health.embedder.status, /not readable/);
  });
});

test('SmartCrusher with the embedder: rankings blended, same bytes after a restart', async () => {
  const rows = Array.from({ length: 300 }, (_, i) => ({ id: 1000 + i, level: i % 7 ? 'info' : 'warn',
    msg: RECORDS[i % RECORDS.length], host: `web-${i % 9}` }));
  const body = JSON.stringify({ model: 'gpt-4o', messages: [
    { role: 'user', content: 'why is the storage full on volume 7' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'q', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: JSON.stringify(rows) }] });
  const dataDir = path.join(work, 'data-crush');
  fs.mkdirSync(dataDir);
  const run = () => withProxy(dataDir, ['--embed-model', modelFile], async (p) => {
    const r = await fetch(`${p.url}/v1/compress`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body });
    assert.equal(r.status, 200);
    const out = await r.text();
    const st = await (await fetch(`${p.url}/stats`)).json();
    return { out, rankings: st.embedder.rankings };
  });
  const a = await run(), b = await run();
  assert.ok(a.rankings >= 1, `SmartCrusher ranked through the embedder (${a.rankings})`);
  assert.ok(JSON.parse(a.out).tokens_saved > 0, 'the array was crushed');
  assert.equal(b.out, a.out, 'same bytes after a restart');
});
