// hostile_memory.test.mjs: issue 9's memory attacks against the real binary, over raw
// sockets with explicit framing (tests/node/lib/hostile.mjs). Each attack asserts that
// every client gets its 413/503 (or its answer) promptly, that the proxy's peak RSS stays
// within the in-flight budget plus a stated overhead, and that idle RssAnon comes back
// within 1 MB of its value before the attack. Peaks are read from VmHWM after resetting it
// (clear_refs), measured from outside in /proc.
//
// Sizes scale with HEADROOM_HOSTILE_MB (the large body, 50 by default; bench/hostile runs
// the full attack table). The ASan build runs the same attacks and assertions with 8 MB
// bodies, a small quarantine and a larger stated overhead and idle slack (its shadow
// memory, quarantine and allocator caches own part of RSS there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startProxy, sanitizerBuild } from './lib/proxy.mjs';
import { zstdBomb, rawPost, memOf, resetPeak, sampler, anonSettlesTo, sleep } from './lib/hostile.mjs';

const MB = 1024 * 1024;

const ASAN = sanitizerBuild();
const BODY_MB = Number(process.env.HEADROOM_HOSTILE_MB || (ASAN ? 8 : 50));
const BUDGET_MB = ASAN ? 64 : 256;
// What RSS may exceed the budget by: the idle process (~13 MB), 64-100 connection threads'
// stacks and buffers, libcurl handles and the answers being sent. Under ASan: its shadow
// (1/8 of every mapped byte), redzones and its quarantine.
const OVERHEAD = (ASAN ? 160 : 48) * MB;
// Under ASan freed blocks wait in its quarantine (8 MB here) and its per-thread caches
// before they can go back, so the idle check allows those on top of the 1 MB.
const IDLE_SLACK = (ASAN ? 16 : 1) * MB;
const ASAN_ENV = ASAN ? { ASAN_OPTIONS: 'quarantine_size_mb=8:allocator_release_to_os_interval_ms=100:detect_leaks=1' } : {};

/** An upstream that drops request bodies as they arrive and answers each POST with a small
 * chat completion, or, for the paths given, with scripted answers. */
function startSink(routes = {}) {
  const seen = [];
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c) => { bytes += c.length; });
    req.on('end', () => {
      seen.push({ path: req.url, bytes });
      const r = routes[req.url.split('?')[0]];
      if (r) return r(req, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  })));
}

const JSON_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-test' };
const small = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));

/** A chat request body of exactly n bytes. */
function bigBody(n) {
  const head = Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"');
  const tail = Buffer.from('"}]}');
  return Buffer.concat([head, Buffer.alloc(n - head.length - tail.length, 'x'), tail]);
}

function tally(results) {
  const c = {};
  for (const r of results) c[r.status] = (c[r.status] || 0) + 1;
  return c;
}

/** Starts a proxy and sets its baseline: requests at the attack's concurrency first, so
 * the one-time costs (glibc's cache of exited threads' stacks, curl's pool) are in it. */
async function proxyWithBaseline(up, args, concurrency) {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: ASAN_ENV,
    args: ['--max-inflight-body-mb', String(BUDGET_MB), ...args] });
  const warm = await Promise.all(Array.from({ length: concurrency },
    () => rawPost(proxy.port, '/v1/chat/completions', { headers: JSON_HEADERS, body: small })));
  assert.ok(warm.every((r) => r.status === 200), 'warm-up answered');
  await sleep(2500); // the idle trim runs after a quiet second
  return proxy;
}

/** Runs attack() and returns its results with the peak RSS it caused. */
async function measured(pid, attack) {
  const exact = resetPeak(pid);
  const s = sampler(pid);
  const t0 = Date.now();
  const results = await attack();
  const sampled = s.stop();
  return { results, ms: Date.now() - t0, peak: exact ? Math.max(memOf(pid).hwm, sampled) : sampled };
}

async function assertIdleReturns(t, pid, before) {
  const after = await anonSettlesTo(pid, before + IDLE_SLACK, 10000);
  t.diagnostic(`RssAnon before ${before} B, after idle ${after} B`);
  assert.ok(after <= before + IDLE_SLACK, `idle RssAnon ${after} B vs ${before} B before the attack`);
}

test('64 concurrent zstd bombs: 413 at once from the ratio check, memory barely moves', async (t) => {
  const up = await startSink();
  const proxy = await proxyWithBaseline(up, [], 64);
  try {
    const pid = proxy.proc.pid;
    const before = memOf(pid).anon;
    const bomb = zstdBomb(200 * MB); // ~6 KB on the wire
    const { results, ms, peak } = await measured(pid, () => Promise.all(Array.from({ length: 64 },
      () => rawPost(proxy.port, '/v1/chat/completions', { headers: { ...JSON_HEADERS, 'content-encoding': 'zstd' }, body: bomb }))));
    t.diagnostic(`statuses ${JSON.stringify(tally(results))} in ${ms} ms, peak RSS ${peak} B`);
    for (const r of results) {
      assert.equal(r.status, 413);
      assert.equal(JSON.parse(r.body).error.code, 'request_too_large');
      assert.match(JSON.parse(r.body).error.message, /--max-decode-ratio/);
    }
    assert.ok(ms < 10000, `answers took ${ms} ms`);
    assert.ok(peak <= OVERHEAD + 64 * 2 * MB, `peak RSS ${peak} B`); // ~1 MB decoded each
    await assertIdleReturns(t, pid, before);
  } finally {
    assert.equal(await proxy.stop(), 0);
    await up.close();
  }
});

test('64 concurrent zstd bombs with the ratio check off: the budget alone bounds them (413/503)', async (t) => {
  const up = await startSink();
  const proxy = await proxyWithBaseline(up, ['--max-decode-ratio', '0'], 64);
  try {
    const pid = proxy.proc.pid;
    const before = memOf(pid).anon;
    const bomb = zstdBomb(200 * MB); // each would decode past --max-body-bytes (100 MB)
    const { results, ms, peak } = await measured(pid, () => Promise.all(Array.from({ length: 64 },
      () => rawPost(proxy.port, '/v1/messages', { headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'content-encoding': 'zstd' }, body: bomb }))));
    const c = tally(results);
    t.diagnostic(`statuses ${JSON.stringify(c)} in ${ms} ms, peak RSS ${peak} B (budget ${BUDGET_MB} MB)`);
    assert.equal((c[413] || 0) + (c[503] || 0), 64, 'every bomb refused');
    assert.ok(c[503] > 0, 'the budget refused some');
    for (const r of results.filter((x) => x.status === 503)) {
      const e = JSON.parse(r.body); // Anthropic's error shape on /v1/messages
      assert.equal(e.type, 'error');
      assert.equal(e.error.type, 'overloaded_error');
      assert.match(e.error.message, /--max-inflight-body-mb/);
    }
    assert.ok(ms < 20000, `answers took ${ms} ms`);
    assert.ok(peak <= BUDGET_MB * MB + OVERHEAD, `peak RSS ${peak} B over ${BUDGET_MB} MB + overhead`);
    await assertIdleReturns(t, pid, before);
  } finally {
    assert.equal(await proxy.stop(), 0);
    await up.close();
  }
});

test(`32 concurrent ${BODY_MB} MB bodies: those the budget holds are answered, the rest get 503`, async (t) => {
  const up = await startSink();
  const proxy = await proxyWithBaseline(up, [], 32);
  try {
    const pid = proxy.proc.pid;
    const before = memOf(pid).anon;
    const body = bigBody(BODY_MB * MB);
    const { results, ms, peak } = await measured(pid, () => Promise.all(Array.from({ length: 32 },
      () => rawPost(proxy.port, '/v1/chat/completions', { headers: JSON_HEADERS, body, timeoutMs: 120000 }))));
    const c = tally(results);
    t.diagnostic(`statuses ${JSON.stringify(c)} in ${ms} ms, peak RSS ${peak} B (budget ${BUDGET_MB} MB)`);
    assert.equal((c[200] || 0) + (c[503] || 0), 32, 'each answered or refused');
    assert.ok(c[200] >= 1, 'bodies the budget holds go through');
    if (BODY_MB * 32 > BUDGET_MB) assert.ok(c[503] >= 1, 'the rest are refused');
    for (const r of results.filter((x) => x.status === 503))
      assert.equal(JSON.parse(r.body).error.code, 'memory_budget_exceeded');
    assert.ok(peak <= BUDGET_MB * MB + OVERHEAD, `peak RSS ${peak} B over ${BUDGET_MB} MB + overhead`);
    let metrics = '';
    for (let i = 0; i < 50; i++) { // exchanges end just after their answers went out
      metrics = await (await fetch(`${proxy.url}/metrics`)).text();
      if (/^headroom_inflight_bytes 0$/m.test(metrics)) break;
      await sleep(100);
    }
    assert.match(metrics, /^headroom_inflight_bytes 0$/m, `every reservation was released: ${/^headroom_inflight_bytes.*$/m.exec(metrics)}`);
    assert.match(metrics, new RegExp(`^headroom_inflight_limit_bytes ${BUDGET_MB * MB}$`, 'm'));
    assert.ok(Number(/^headroom_inflight_refused_total (\d+)$/m.exec(metrics)[1]) >= (c[503] || 0));
    await assertIdleReturns(t, pid, before);
  } finally {
    assert.equal(await proxy.stop(), 0);
    await up.close();
  }
});

test('chunked bodies without Content-Length are refused as they outgrow the budget', async (t) => {
  const up = await startSink();
  const proxy = await proxyWithBaseline(up, [], 8);
  try {
    const pid = proxy.proc.pid;
    const piece = Buffer.alloc(MB, 'x'); // each body: 2 x budget / 8 in 1 MB chunks
    const repeat = Math.ceil((2 * BUDGET_MB) / 8);
    const { results, ms, peak } = await measured(pid, () => Promise.all(Array.from({ length: 8 },
      () => rawPost(proxy.port, '/v1/chat/completions', { headers: JSON_HEADERS, body: { buffer: piece, repeat }, chunked: true, timeoutMs: 120000 }))));
    const c = tally(results);
    t.diagnostic(`statuses ${JSON.stringify(c)} in ${ms} ms, peak RSS ${peak} B`);
    assert.ok(c[503] >= 1, 'some refused');
    assert.equal((c[503] || 0) + (c[400] || 0), 8, 'the rest were held whole, then found not JSON');
    assert.ok(peak <= BUDGET_MB * MB + OVERHEAD, `peak RSS ${peak} B`);
  } finally {
    assert.equal(await proxy.stop(), 0);
    await up.close();
  }
});

test('an upstream answer over --max-answer-bytes is a 502 in the provider shape, nothing half-sent', async (t) => {
  const huge = Buffer.alloc(4 * MB, ' ');
  const up = await startSink({
    '/v1/chat/completions': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      let i = 0;
      const more = () => { // 64 MB of a JSON answer, streamed without a length
        while (i < 16 && res.write(huge)) i++;
        if (i < 16) res.once('drain', () => { i++; more(); }); else res.end('{}');
      };
      more();
    },
  });
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: ASAN_ENV, args: ['--max-answer-bytes', String(8 * MB)] });
  try {
    const r = await rawPost(proxy.port, '/v1/chat/completions', { headers: JSON_HEADERS, body: small });
    t.diagnostic(`status ${r.status} in ${r.ms} ms`);
    assert.equal(r.status, 502);
    const e = JSON.parse(r.body);
    assert.equal(e.error.code, 'upstream_answer_too_large');
    assert.match(e.error.message, /--max-answer-bytes/);
    assert.ok(memOf(proxy.proc.pid).hwm < 8 * MB + OVERHEAD, 'the answer was not held whole');
  } finally {
    assert.equal(await proxy.stop(), 0);
    await up.close();
  }
});

test('a valid JSON string over 64 MiB is forwarded whole; nesting past the parser limit is named truthfully', async (t) => {
  const up = await startSink();
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: ASAN_ENV });
  try {
    const n = 65 * MB + 7;
    const body = bigBody(n);
    const r = await rawPost(proxy.port, '/v1/chat/completions', { headers: JSON_HEADERS, body, timeoutMs: 120000 });
    t.diagnostic(`65 MiB string: status ${r.status} in ${r.ms} ms`);
    assert.equal(r.status, 200, r.body.slice(0, 300));
    assert.equal(up.seen.at(-1).bytes, n, 'the upstream got the body whole');
    const deep = Buffer.from(`{"model":"m","messages":${'['.repeat(600)}${']'.repeat(600)}}`);
    const d = await rawPost(proxy.port, '/v1/chat/completions', { headers: JSON_HEADERS, body: deep });
    assert.equal(d.status, 400);
    const e = JSON.parse(d.body).error;
    assert.equal(e.code, 'json_limit_exceeded');
    assert.match(e.message, /nesting deeper than 512/);
    assert.doesNotMatch(e.message, /not valid JSON/);
  } finally {
    assert.equal(await proxy.stop(), 0);
    await up.close();
  }
});
