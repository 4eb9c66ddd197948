// membudget_backpressure.test.mjs: issue 12's --memory-budget-mb on the real binary under
// load. A ramp of requests carrying ~1 MB JSON tool outputs, held by a slow upstream so
// their bytes stay in flight, pushes the proxy through its stages: compressions are
// skipped (the upstream gets the body byte for byte as sent) before any request is refused,
// refusals are 503 with Retry-After in the provider's error shape, every other request is
// answered 200 (an accepted request is never dropped), each stage is counted in /metrics
// and logged, and once the load is gone the stage falls back to none and compression
// resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, sanitizerBuild } from './lib/proxy.mjs';
import { startFakeUpstream, openaiChatCompletion, anthropicMessage } from './lib/fake_upstream.mjs';
import { rawPost, sleep, memOf } from './lib/hostile.mjs';
import { dbRows } from './lib/e2e_fixtures.mjs';

// The budget is the idle process's RssAnon (a probe proxy measures it: ~2 MB, far more under
// ASan, whose shadow and quarantine count) plus 40 MB, so the ramp, not the idle state,
// reaches the stages in every build. A held request counts what it really holds (its body
// and the compressed copy, ~1 MB; it was charged 3x its body up front until compression's
// copy was reserved at its exact size), so 48 requests of ~1 MB pass 95 % of 40 MB: in a
// run, 30 compressed, 6 forwarded as sent, 12 refused (at 62 MB none are refused now).
// The ramp is skipped under ASan: there RssAnon is mostly the sanitizer's (shadow, redzones,
// quarantine, allocator caches) and moves by more than the stages' 10 % bands per request,
// so where the stages fall is not the proxy's doing. The other tests here run under it.
const ASAN = sanitizerBuild();
const HEADROOM_MB = 40;
const ENV = {};
const RAMP = 48;
const STEP_MS = 40;
const HOLD_MS = 4000;

function chatBody(i) {
  const rows = dbRows(4000, 100 + i).text; // ~0.9 MB of JSON rows, crushable
  return Buffer.from(JSON.stringify({
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: `why is transaction ${480000 + i} missing?` },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'db', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: rows },
    ],
  }));
}

const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-test' };

function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : NaN;
}

test('the ramp is shed in stage order: skipped compressions before 503s, none dropped', { skip: ASAN && 'sanitizer build: RssAnon is the sanitizer\'s' }, async () => {
  const up = await startFakeUpstream();
  up.script('/v1/chat/completions', { delayMs: HOLD_MS, json: openaiChatCompletion('gpt-4o', 'ok'), repeat: true });
  const probe = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: ENV });
  await sleep(1200);
  const idleMb = memOf(probe.proc.pid).anon / (1024 * 1024);
  await probe.stop();
  const BUDGET_MB = Math.ceil(idleMb) + HEADROOM_MB;
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: ENV,
    args: ['--memory-budget-mb', String(BUDGET_MB)] });
  try {
    const bodies = Array.from({ length: RAMP }, (_, i) => chatBody(i));
    const pending = [];
    for (let i = 0; i < RAMP; i++) {
      pending.push(rawPost(proxy.port, '/v1/chat/completions', { headers: HEADERS, body: bodies[i], timeoutMs: 60000 })
        .then((r) => ({ ...r, i })));
      await sleep(STEP_MS);
    }
    const results = await Promise.all(pending);
    const byStatus = {};
    for (const r of results) byStatus[r.status] = (byStatus[r.status] || 0) + 1;
    assert.deepEqual(Object.keys(byStatus).sort(), ['200', '503'], `statuses ${JSON.stringify(byStatus)}`);
    for (const r of results.filter((x) => x.status === 503)) {
      assert.equal(r.headers['retry-after'], '2');
      const e = JSON.parse(r.body).error;
      assert.equal(e.type, 'server_error');
      assert.equal(e.code, 'memory_budget_exceeded');
      assert.match(e.message, /retry shortly/);
    }
    for (const r of results.filter((x) => x.status === 200))
      assert.equal(JSON.parse(r.body).choices[0].message.content, 'ok');

    // what the upstream got: some compressed, some exactly as sent (stage 2)
    const sentSizes = new Set(bodies.map((b) => b.length));
    const got = up.requests.filter((q) => q.url.startsWith('/v1/chat/completions'));
    assert.equal(got.length, byStatus['200'], 'every 200 went upstream once; no 503 did');
    const asSent = got.filter((q) => sentSizes.has(q.body.length) && bodies.some((b) => b.equals(q.body)));
    const compressed = got.filter((q) => q.body.length < 0.5 * bodies[0].length);
    assert.ok(compressed.length > 0, 'the first requests were compressed');
    assert.ok(asSent.length > 0, 'some were forwarded as sent under pressure');

    const m = await (await fetch(`${proxy.url}/metrics`)).text();
    const skipped = metric(m, 'headroom_memory_backpressure_total{action="compression_skipped"}');
    const refused = metric(m, 'headroom_memory_backpressure_total{action="refused"}') +
      metric(m, 'headroom_inflight_refused_total');
    assert.ok(skipped >= 1, `compression_skipped ${skipped}`);
    assert.ok(refused >= byStatus['503'], `refusals counted ${refused}`);
    assert.equal(metric(m, 'headroom_memory_budget_bytes'), BUDGET_MB * 1024 * 1024);
    // stage order: the first 503 came after the first request forwarded as sent
    const sentIdx = (q) => bodies.findIndex((b) => b.equals(q.body));
    const firstAsSent = Math.min(...asSent.map(sentIdx));
    const first503 = Math.min(...results.filter((x) => x.status === 503).map((x) => x.i));
    assert.ok(firstAsSent < first503, `first skipped ${firstAsSent} before first 503 ${first503}`);

    // load gone: the next ticks lift the stage and compression resumes
    let stage = NaN;
    for (let t = 0; t < 50 && stage !== 0; t++) {
      await sleep(200);
      stage = metric(await (await fetch(`${proxy.url}/metrics`)).text(), 'headroom_memory_stage');
    }
    assert.equal(stage, 0);
    up.reset();
    up.script('/v1/chat/completions', { json: openaiChatCompletion('gpt-4o', 'ok'), repeat: true });
    const after = await rawPost(proxy.port, '/v1/chat/completions', { headers: HEADERS, body: bodies[0] });
    assert.equal(after.status, 200);
    assert.ok(up.requests[0].body.length < 0.5 * bodies[0].length, 'compressed again');
    assert.match(proxy.logs(), /memory backpressure stage=\S+ .*compression_skipped=[1-9]/);
  } finally {
    await proxy.stop();
    await up.close();
  }
});

test('stage 3 answers Anthropic clients in their shape, and local routes stay served', async () => {
  const up = await startFakeUpstream();
  up.script('/v1/messages', { json: anthropicMessage(), repeat: true });
  // 1 MB is below any process's RssAnon: from the first tick the proxy is in stage 3
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--memory-budget-mb', '1'] });
  try {
    await sleep(1500);
    const r = await rawPost(proxy.port, '/v1/messages', {
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' },
      body: Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })) });
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '2');
    const b = JSON.parse(r.body);
    assert.equal(b.type, 'error');
    assert.equal(b.error.type, 'overloaded_error');
    assert.equal(up.requests.length, 0, 'nothing went upstream');
    const health = await fetch(`${proxy.url}/health`);
    assert.equal(health.status, 200);
    const m = await (await fetch(`${proxy.url}/metrics`)).text();
    assert.equal(metric(m, 'headroom_memory_stage'), 3);
    // refused at admission (stage 3) or, for a body, when the budget could not hold it
    assert.ok(metric(m, 'headroom_memory_backpressure_total{action="refused"}') +
      metric(m, 'headroom_inflight_refused_total') >= 1);
    const dm = await (await fetch(`${proxy.url}/debug/memory`)).json();
    assert.equal(dm.backpressure.stage, 'refuse');
    assert.equal(dm.backpressure.budget_bytes, 1024 * 1024);
  } finally {
    await proxy.stop();
    await up.close();
  }
});

test('HEADROOM_LOW_MEMORY=1: /health and the start-up line say so, with the profile values', async () => {
  const proxy = await startProxy({ env: { HEADROOM_LOW_MEMORY: '1' } });
  try {
    const h = await (await fetch(`${proxy.url}/health`)).json();
    assert.equal(h.memory_budget_mb, 256);
    assert.equal(h.config.max_connections, 256);
    assert.equal(h.low_memory.malloc_arenas, 1);
    assert.equal(h.low_memory.ml_threads, 1);
    assert.match(proxy.logs(), /listening .*low_memory=on low_memory_profile="memory_budget_mb=256 /);
    const m = await (await fetch(`${proxy.url}/metrics`)).text();
    assert.equal(metric(m, 'headroom_memory_budget_bytes'), 256 * 1024 * 1024);
  } finally {
    await proxy.stop();
  }
  const plain = await startProxy({});
  try {
    const h = await (await fetch(`${plain.url}/health`)).json();
    assert.equal(h.low_memory, false);
    assert.equal(h.memory_budget_mb, 0);
    assert.match(plain.logs(), /low_memory=off/);
  } finally {
    await plain.stop();
  }
});
