// proxy_capacity.test.mjs: more open streams than the proxy can serve are refused at once,
// never left waiting. Each relayed stream holds four descriptors on the threads model (the
// client's, the upstream connection, the curl multi's wakeup pair); a connection limit above
// what RLIMIT_NOFILE backs used to let accept() fail, after which libmicrohttpd stopped
// accepting and new clients sat unanswered in the backlog (10,000 streams under 20,000
// descriptors stalled at ~5,000). The proxy now caps its limit to the descriptors (logged
// once) and answers the excess with a 503 in the provider's error shape. Both sides of a
// limit: a low --limit-concurrency under the descriptor cap holds as configured.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startProxy } from './lib/proxy.mjs';
import { assertOpenAIErrorShape } from './lib/provider_errors.mjs';

let upstream, upUrl;
const held = new Set();

// Every streamed answer sends one event and stays open until its client leaves.
before(async () => {
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
      held.add(res);
      res.on('close', () => held.delete(res));
    });
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  upUrl = `http://127.0.0.1:${upstream.address().port}`;
});

after(async () => {
  for (const r of held) r.destroy();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

// One streamed request on its own connection; resolves with its outcome once the first
// event (or the whole refusal) arrives, or 'stalled' after ms.
function openStream(url, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { req.destroy(); resolve({ kind: 'stalled' }); }, ms);
    const req = http.request(`${url}/v1/chat/completions`, { method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-cap' } }, (res) => {
      if (res.statusCode === 200) {
        res.once('data', () => { clearTimeout(timer); resolve({ kind: 'open', req }); });
        return;
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => { clearTimeout(timer); resolve({ kind: 'refused', status: res.statusCode, body: Buffer.concat(chunks).toString() }); });
    });
    req.on('error', (e) => { clearTimeout(timer); resolve({ kind: 'error', message: e.message }); });
    req.end('{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}');
  });
}

// n streams in batches of `batch` (like a fleet of agents arriving); every outcome within
// the deadline, or the batch counts as stalled.
async function openMany(url, n, batch = 50, ms = 10000) {
  const out = [];
  for (let i = 0; i < n; i += batch)
    out.push(...await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => openStream(url, ms))));
  return out;
}

function tally(outcomes) {
  const t = { open: 0, refused: 0, stalled: 0, error: 0 };
  for (const o of outcomes) t[o.kind]++;
  return t;
}

function closeAll(outcomes) {
  for (const o of outcomes) if (o.req) o.req.destroy();
}

function assertRefusals(outcomes) {
  for (const o of outcomes.filter((x) => x.kind === 'refused')) {
    assert.equal(o.status, 503, o.body);
    assert.equal(assertOpenAIErrorShape(JSON.parse(o.body)).code, 'server_busy');
  }
}

test('streams past what the open-file limit backs are refused at once with 503, none stall', async () => {
  const NOFILE = 1000; // backs 250 streams at four descriptors each, less what the process holds
  const N = 300;
  const proxy = await startProxy({ openaiUrl: upUrl, prefix: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--'] });
  let outcomes = [];
  try {
    const m = proxy.logs().match(/connection limit capped by the open-file limit .*capped_to=(\d+)/);
    assert.ok(m, `the cap is logged at start:\n${proxy.logs()}`);
    const cap = Number(m[1]);
    assert.ok(cap > 0 && cap * 4 < NOFILE, `cap ${cap} leaves room for four descriptors per stream`);
    const t0 = Date.now();
    outcomes = await openMany(proxy.url, N);
    const t = tally(outcomes);
    assert.equal(t.stalled, 0, `no client left waiting: ${JSON.stringify(t)}`);
    assert.equal(t.error, 0, `no connection cut unanswered: ${JSON.stringify(t)} ${outcomes.find((o) => o.kind === 'error')?.message}`);
    assert.ok(t.open <= cap && t.open >= cap - 2, `served up to the cap (${cap}; the readiness probe may hold one): ${JSON.stringify(t)}`);
    assert.equal(t.refused, N - t.open);
    assertRefusals(outcomes);
    assert.ok(Date.now() - t0 < 20000, 'answered promptly');
    assert.equal((proxy.logs().match(/capped by the open-file limit/g) || []).length, 1, 'logged once');
    // the refusals are counted, and the served streams still flow
    closeAll(outcomes);
    outcomes = [];
    await new Promise((r) => setTimeout(r, 500));
    const again = await openMany(proxy.url, 5);
    outcomes = again;
    assert.deepEqual(tally(again), { open: 5, refused: 0, stalled: 0, error: 0 }, 'served again once streams closed');
  } finally {
    closeAll(outcomes);
    assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  }
});

test('a --limit-concurrency under the descriptor cap holds as configured: the excess gets 503 at once', async () => {
  const LIMIT = 20, N = 30;
  const proxy = await startProxy({ openaiUrl: upUrl, args: ['--limit-concurrency', String(LIMIT)] });
  let outcomes = [];
  try {
    assert.doesNotMatch(proxy.logs(), /capped by the open-file limit/);
    outcomes = await openMany(proxy.url, N, N);
    const t = tally(outcomes);
    assert.equal(t.stalled + t.error, 0, JSON.stringify(t));
    assert.ok(t.open <= LIMIT && t.open >= LIMIT - 2, JSON.stringify(t));
    assert.equal(t.refused, N - t.open);
    assertRefusals(outcomes);
  } finally {
    closeAll(outcomes);
    assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  }
});

// One keep-alive connection that asks for /health once and then stays open, idle; resolves
// with the socket once the whole answer arrived, or with the failure.
function openIdle(port, ms) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { sock.destroy(); resolve({ kind: 'stalled' }); }, ms);
    sock.on('connect', () => sock.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
    sock.on('data', (d) => {
      got += d;
      const head = got.indexOf('\r\n\r\n');
      const len = /content-length: *(\d+)/i.exec(got);
      if (head < 0 || !len || got.length < head + 4 + Number(len[1])) return;
      clearTimeout(timer);
      resolve(got.startsWith('HTTP/1.1 200') ? { kind: 'open', sock } : { kind: 'refused', status: got.slice(0, 12), sock });
    });
    sock.on('error', (e) => { clearTimeout(timer); resolve({ kind: 'error', message: e.message }); });
  });
}

test('events: idle connections past the threads cap are served; streams past the active cap get 503 at once', async () => {
  const NOFILE = 1200; // threads: (1200 - reserve) / 4 connections; events: 1200 - reserve idle
  const proxy = await startProxy({ openaiUrl: upUrl, args: ['--server-model', 'events'],
    prefix: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--'] });
  let outcomes = [];
  try {
    const m = proxy.logs().match(/connection limit capped by the open-file limit .*capped_to=(\d+) max_connections=(\d+)/);
    assert.ok(m, `the cap is logged at start:\n${proxy.logs()}`);
    const [active, conns] = [Number(m[1]), Number(m[2])];
    assert.ok(active > 0 && active * 4 < NOFILE, `active cap ${active} leaves four descriptors per stream`);
    assert.ok(conns > 3 * active && conns < NOFILE, `an idle connection costs one descriptor: ${conns}`);
    const health = await (await fetch(`${proxy.url}/health`)).json();
    assert.equal(health.config.max_active, active, '/health reports the effective active cap');
    assert.equal(health.config.max_connections, conns, '/health reports the effective connection cap');
    assert.equal(health.config.limit_concurrency, 4096, 'and the configured limit beside them');

    // more idle keep-alive connections than the threads model's cap, each served once
    const IDLE = 2 * active;
    const port = Number(new URL(proxy.url).port);
    outcomes = [];
    for (let i = 0; i < IDLE; i += 50)
      outcomes.push(...await Promise.all(Array.from({ length: Math.min(50, IDLE - i) }, () => openIdle(port, 10000))));
    assert.deepEqual(tally(outcomes), { open: IDLE, refused: 0, stalled: 0, error: 0 }, `${IDLE} idle connections served`);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(outcomes.every((o) => !o.sock.destroyed), 'and still open (kept alive)');
    for (const o of outcomes) o.sock.destroy();
    outcomes = [];
    await new Promise((r) => setTimeout(r, 500));

    // more streams than the active cap: the excess refused at once, none stalled
    const N = active + 40;
    const t0 = Date.now();
    outcomes = await openMany(proxy.url, N);
    const t = tally(outcomes);
    assert.equal(t.stalled, 0, `no client left waiting: ${JSON.stringify(t)}`);
    assert.equal(t.error, 0, `no connection cut unanswered: ${JSON.stringify(t)} ${outcomes.find((o) => o.kind === 'error')?.message}`);
    assert.ok(t.open <= active && t.open >= active - 2, `served up to the active cap (${active}): ${JSON.stringify(t)}`);
    assert.equal(t.refused, N - t.open);
    assertRefusals(outcomes);
    assert.ok(Date.now() - t0 < 20000, 'answered promptly');
    assert.equal((proxy.logs().match(/every active-request slot is taken/g) || []).length, 1, 'logged once');
    closeAll(outcomes);
    outcomes = [];
    await new Promise((r) => setTimeout(r, 500));
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
    const refused = /^headroom_connections_refused_total (\d+)/m.exec(metrics);
    assert.ok(refused && Number(refused[1]) >= t.refused, `refusals counted: ${refused && refused[0]}`);
    const again = await openMany(proxy.url, 5);
    outcomes = again;
    assert.deepEqual(tally(again), { open: 5, refused: 0, stalled: 0, error: 0 }, 'served again once streams closed');
  } finally {
    closeAll(outcomes);
    for (const o of outcomes) if (o.sock) o.sock.destroy();
    assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  }
});
