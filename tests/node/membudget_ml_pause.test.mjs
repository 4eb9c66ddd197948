// membudget_ml_pause.test.mjs: issue 12's first backpressure stage, directly. With both ML
// models on the request path (Kompress and the hybrid-relevance embedder, generated tiny
// models) and a small --memory-budget-mb, requests held at a gated upstream raise the
// proxy's measured memory one request at a time until the housekeeping tick enters the ML
// stage (70-85 % of the budget). Then:
//   - both ML sessions are unloaded (counted as ml_unload) and /debug/memory says so;
//   - a request that needs both models is answered 200: its JSON ranking stays lexical (the
//     embedder's paused fail-open is counted, blended rankings do not move), its prose is
//     forwarded without Kompress (a busy fail-open, counted), and ml_fail_open counts both;
//   - every held request is answered 200 once the upstream lets go (none dropped);
//   - when memory falls the stage returns to none, the next request loads both sessions
//     again, the embedder blends a ranking and Kompress compresses the prose (all counted).
// Skipped under ASan: there RssAnon is mostly the sanitizer's shadow and quarantine (over
// a hundred MB before a request, moving by tens of MB per request), so where the 70 % line
// falls says nothing about the proxy; the pause itself is a flag the unit tests cover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { HEADROOM_BIN, sanitizerBuild, startProxy } from './lib/proxy.mjs';
import { openaiChatCompletion } from './lib/fake_upstream.mjs';
import { rawPost, sleep } from './lib/hostile.mjs';
import { dbRows, manPageProse } from './lib/e2e_fixtures.mjs';
import { importProxyModels } from './lib/proxy_models.mjs';

const MB = 1024 * 1024;
// Measured memory of the proxy after the warm-up is ~5 MB in a release build; each held
// request adds ~1 MB (its ~0.9 MB body and the compressed copy, reserved at its size), a
// tenth of the ML stage's ~10 MB band (70-85 % of 64 MB), so stepping one request at a time
// lands inside the band rather than jumping over it (~45 requests).
const BUDGET_MB = 64;
const MAX_HELD = 64;
const DEADLINE_MS = 60000; // generous: a loaded 2-core machine
const HOLD_MODEL = 'gpt-4o-held';

// An upstream that answers at once, except requests for HOLD_MODEL, which it keeps until
// release(). Records every body it was sent.
function gatedUpstream() {
  const held = [], bodies = [];
  const answer = (res) => {
    const b = JSON.stringify(openaiChatCompletion('gpt-4o', 'ok'));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) });
    res.end(b);
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let model = '';
      try { model = JSON.parse(text).model; } catch { /* not JSON: answer it */ }
      if (model === HOLD_MODEL) held.push(res);
      else { bodies.push(text); answer(res); }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`, held, bodies,
    release() { for (const r of held.splice(0)) answer(r); },
    close() { server.closeAllConnections(); return new Promise((r) => server.close(r)); },
  })));
}

const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-mlpause' };

// ~0.9 MB of JSON rows: held at the upstream, its reservation stays until the answer.
const heldBody = (i) => Buffer.from(JSON.stringify({ model: HOLD_MODEL, messages: [
  { role: 'user', content: 'list the rows' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'db', arguments: '{}' } }] },
  { role: 'tool', tool_call_id: 'c1', content: dbRows(4000, 300 + i).text }] }));

// A request that needs both models: a JSON array SmartCrusher ranks (the embedder blends
// the ranking) and a prose page Kompress compresses. Each probe sends outputs of its own
// (seed), so no decision cached for an earlier output is replayed.
function probeBody(question, seed) {
  const prose = manPageProse(30, seed);
  const rows = Array.from({ length: 300 }, (_, i) => ({ id: 1000 + i, level: i % 7 ? 'info' : 'warn',
    msg: `request ${i} served by web-${(i + seed) % 9} in ${(i * 37 + seed) % 500} ms`, host: `web-${i % 9}` }));
  return Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [
    { role: 'user', content: question },
    { role: 'assistant', content: null, tool_calls: [
      { id: 'c1', type: 'function', function: { name: 'q', arguments: '{}' } },
      { id: 'c2', type: 'function', function: { name: 'man', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: JSON.stringify(rows) },
    { role: 'tool', tool_call_id: 'c2', content: prose }] }));
}

const metric = (text, name) => {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : NaN;
};

async function figures(proxy) {
  const m = await (await fetch(`${proxy.url}/metrics`)).text();
  const mem = await (await fetch(`${proxy.url}/debug/memory`)).json();
  const sess = Object.fromEntries(mem.ml.sessions.map((s) => [s.name, s]));
  return {
    stage: metric(m, 'headroom_memory_stage'), measured: metric(m, 'headroom_memory_measured_bytes'),
    mlUnloads: metric(m, 'headroom_memory_backpressure_total{action="ml_unload"}'),
    mlFailOpen: metric(m, 'headroom_memory_backpressure_total{action="ml_fail_open"}'),
    rankings: metric(m, 'headroom_embedder_rankings_total'),
    embedPaused: metric(m, 'headroom_embedder_failed_open_total{reason="paused"}'),
    kompressed: metric(m, 'headroom_kompress_sections_total{outcome="compressed"}'),
    kompressBusy: metric(m, 'headroom_kompress_sections_total{outcome="busy"}'),
    paused: mem.ml.paused, embedder: sess.embedder, kompress: sess.kompress,
  };
}

async function until(what, fn, ms = DEADLINE_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

test('the ML stage unloads and pauses the embedder and Kompress, and ML resumes when memory falls',
  { skip: sanitizerBuild() && 'sanitizer build: RssAnon is the sanitizer\'s', timeout: 300000 }, async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-mlpause-'));
  const models = importProxyModels(HEADROOM_BIN, work);
  const up = await gatedUpstream();
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: path.join(work, 'data') },
    args: ['--memory-budget-mb', String(BUDGET_MB), '--kompress-model', models.kompress, '--embed-model', models.embedder,
      '--compression-deadline-ms', '120000', '--embed-deadline-ms', '60000'] });
  const probe = (q, seed) => rawPost(proxy.port, '/v1/chat/completions', { headers: HEADERS, body: probeBody(q, seed), timeoutMs: DEADLINE_MS * 2 });
  const pending = [];
  try {
    // warm-up: both sessions load and run
    let r = await probe('which requests were slow on web-3', 3);
    assert.equal(r.status, 200);
    const warm = await figures(proxy);
    assert.equal(warm.stage, 0, 'the idle proxy is below the ML stage');
    assert.ok(warm.rankings >= 1 && warm.kompressed >= 1, `both models ran: ${JSON.stringify(warm)}`);
    assert.equal(warm.embedder.state, 'ready');
    assert.equal(warm.kompress.state, 'ready');
    assert.ok(up.bodies[0].length < probeBody('which requests were slow on web-3', 3).length, 'the warm-up was compressed');

    // raise memory one held request at a time until the tick enters the ML stage
    let f = warm;
    for (let i = 0; f.stage < 1; i++) {
      assert.ok(i < MAX_HELD, `${MAX_HELD} held requests did not reach the ML stage: ${JSON.stringify(f)}`);
      pending.push(rawPost(proxy.port, '/v1/chat/completions', { headers: HEADERS, body: heldBody(i), timeoutMs: DEADLINE_MS * 4 }));
      await until('the upstream to hold the request', () => up.held.length === i + 1);
      f = await figures(proxy);
      // below 60 % the next request cannot cross 70 %: no need to wait for a tick
      if (f.measured < 0.6 * BUDGET_MB * MB) continue;
      await sleep(1200); // at least one housekeeping tick (1 s) saw it
      f = await figures(proxy);
      t.diagnostic(`held ${i + 1}: stage ${f.stage}, measured ${(f.measured / MB).toFixed(1)} MB`);
    }
    // a body's transient copies can push one tick past 85 %; with the load fixed it settles
    f = await until('the ML stage with the held load', async () => {
      const x = await figures(proxy);
      return x.stage === 1 && x.paused && x.embedder.state === 'unloaded' && x.kompress.state === 'unloaded' && x;
    });
    assert.ok(f.mlUnloads >= 2, `both sessions unloaded by the budget: ${f.mlUnloads}`);
    assert.ok(f.embedder.unloads >= 1 && f.kompress.unloads >= 1);

    // a request in the ML stage: accepted, answered, both models failed open
    const bodiesBefore = up.bodies.length;
    r = await probe('which hosts served the slowest requests', 4);
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).choices[0].message.content, 'ok');
    const paused = await figures(proxy);
    assert.equal(paused.stage, 1, 'still in the ML stage');
    assert.equal(paused.rankings, f.rankings, 'no ranking blended while paused');
    assert.ok(paused.embedPaused > f.embedPaused, `the embedder's paused fail-open counted: ${JSON.stringify(paused)}`);
    assert.equal(paused.kompressed, f.kompressed, 'Kompress compressed nothing while paused');
    assert.ok(paused.kompressBusy > f.kompressBusy, 'Kompress failed open (busy), counted');
    assert.ok(paused.mlFailOpen >= f.mlFailOpen + 2, `ml_fail_open counts both: ${f.mlFailOpen} -> ${paused.mlFailOpen}`);
    assert.equal(paused.embedder.state, 'unloaded', 'nothing loaded again while paused');
    assert.equal(paused.kompress.state, 'unloaded');
    assert.equal(paused.embedder.loads, f.embedder.loads);
    const sent = JSON.parse(up.bodies[bodiesBefore]);
    assert.equal(sent.messages.at(-1).content, manPageProse(30, 4), 'the prose was forwarded as sent (heuristics leave man-page prose alone)');

    // the upstream lets go: every held request is answered
    const held = up.held.length;
    up.release();
    const results = await Promise.all(pending.splice(0));
    assert.deepEqual(results.map((x) => x.status), Array(held).fill(200));

    // memory falls: the tick lifts the pause (the stage read between ticks can show none
    // before it does), and the next request runs both models again
    await until('the tick to lift the ML pause', async () => { const x = await figures(proxy); return x.stage === 0 && !x.paused; });
    r = await probe('which requests on web-5 took longest', 5);
    assert.equal(r.status, 200);
    const resumed = await figures(proxy);
    assert.ok(resumed.rankings > paused.rankings, `the embedder blended again: ${JSON.stringify(resumed)}`);
    assert.ok(resumed.kompressed > paused.kompressed, 'Kompress compressed again');
    assert.equal(resumed.embedder.loads, paused.embedder.loads + 1, 'the embedder loaded again');
    assert.equal(resumed.kompress.loads, paused.kompress.loads + 1, 'Kompress loaded again');
    assert.equal(resumed.mlFailOpen, paused.mlFailOpen, 'no fail-open once resumed');
    assert.notEqual(JSON.parse(up.bodies.at(-1)).messages.at(-1).content, manPageProse(30, 5), 'the prose was compressed again');
  } finally {
    up.release();
    await Promise.allSettled(pending);
    await proxy.stop();
    await up.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
});
