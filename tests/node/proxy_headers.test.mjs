// proxy_headers.test.mjs: header rules both ways, request body decoding (gzip, deflate,
// zstd), provider choice for the catch-all, and the local routes (health, metrics, stats,
// readiness, loopback-only /debug/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { gzipSync, deflateSync, deflateRawSync } from 'node:zlib';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import { CI_STRICT } from './lib/deps.mjs';
import { assertAnthropicErrorShape } from './lib/provider_errors.mjs';

let up, proxy;

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url });
});

after(async () => {
  assert.equal(await proxy.stop(), 0, "clean exit (no sanitizer report)");
  await up.close();
});

/** A raw HTTP/1.1 request so hop-by-hop headers are exactly what we say. */
function rawRequest(port, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('request headers: auth and custom forwarded; hop-by-hop, host, length, accept-encoding, x-headroom-* dropped', async () => {
  up.reset();
  const body = '{"model":"gpt-4o","messages":[]}';
  const r = await rawRequest(proxy.port, 'POST', '/v1/chat/completions?api-version=1', {
    'content-type': 'application/json', authorization: 'Bearer sk-secret', 'openai-organization': 'org-1',
    'x-custom': 'kept', 'accept-encoding': 'gzip, br', connection: 'keep-alive, x-drop-me', 'x-drop-me': 'gone',
    'keep-alive': 'timeout=5', te: 'trailers', 'proxy-authorization': 'Basic abc', 'x-headroom-session-id': 's1',
    'x-headroom-mode': 'token', 'x-empty': '',
  }, body);
  assert.equal(r.status, 200);
  const h = up.requests[0].headers;
  assert.equal(up.requests[0].url, '/v1/chat/completions?api-version=1');
  assert.equal(h.authorization, 'Bearer sk-secret');
  assert.equal(h['openai-organization'], 'org-1');
  assert.equal(h['x-custom'], 'kept');
  assert.equal(h['x-empty'], '');
  for (const gone of ['accept-encoding', 'x-drop-me', 'keep-alive', 'te', 'proxy-authorization', 'x-headroom-session-id', 'x-headroom-mode'])
    assert.equal(h[gone], undefined, `${gone} must not be forwarded`);
  assert.equal(h.host, `127.0.0.1:${up.port}`, 'host is the upstream\'s own');
  assert.equal(h['content-length'], String(Buffer.byteLength(body)), 'length recomputed for the forwarded body');
  assert.equal(up.requests[0].body.toString(), body);
});

test('response headers: rate limits and custom forwarded; hop-by-hop dropped; request id added', async () => {
  up.reset();
  up.script('/v1/messages', {
    json: { ok: true },
    headers: { 'anthropic-ratelimit-tokens-remaining': '1000', 'request-id': 'req_up_1', 'x-up': 'yes', 'keep-alive': 'timeout=9', 'proxy-authenticate': 'Basic' },
  });
  const r = await rawRequest(proxy.port, 'POST', '/v1/messages', { 'content-type': 'application/json', 'x-api-key': 'k' }, '{}');
  assert.equal(r.status, 200);
  assert.equal(r.headers['anthropic-ratelimit-tokens-remaining'], '1000');
  assert.equal(r.headers['request-id'], 'req_up_1');
  assert.equal(r.headers['x-up'], 'yes');
  assert.equal(r.headers['proxy-authenticate'], undefined);
  assert.notEqual(r.headers['keep-alive'], 'timeout=9');
  assert.match(r.headers['x-headroom-request-id'], /^hr-[0-9a-f]{16}$/);
  assert.equal(r.headers['content-type'], 'application/json');
});

function zstdCompress(buf) {
  const z = spawnSync('zstd', ['-q', '-c'], { input: buf });
  if (z.status !== 0) return null;
  return z.stdout;
}

test('gzip, deflate (zlib and raw) and zstd request bodies are decoded before forwarding', async (t) => {
  const json = JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: 'é'.repeat(3000) }] });
  const cases = [['gzip', gzipSync(json)], ['deflate', deflateSync(json)], ['deflate', deflateRawSync(json)]];
  const z = zstdCompress(Buffer.from(json));
  if (z) cases.push(['zstd', z]);
  else if (CI_STRICT) assert.fail('zstd CLI missing under CI=true (scripts/setup.sh --test installs it)');
  else t.diagnostic('zstd CLI missing: zstd case skipped');
  for (const [enc, bytes] of cases) {
    up.reset();
    const r = await rawRequest(proxy.port, 'POST', '/v1/messages', { 'content-type': 'application/json', 'x-api-key': 'k', 'content-encoding': enc }, bytes);
    assert.equal(r.status, 200, `${enc}: ${r.body}`);
    assert.equal(up.requests[0].body.toString(), json, `${enc} decoded`);
    assert.equal(up.requests[0].headers['content-encoding'], undefined);
  }
  up.reset();
  const r = await rawRequest(proxy.port, 'POST', '/v1/messages', { 'content-type': 'application/json', 'x-api-key': 'k', 'content-encoding': 'gzip' }, Buffer.from('not gzip at all'));
  assert.equal(r.status, 400);
  assertAnthropicErrorShape(JSON.parse(r.body), 'invalid_request_error');
  assert.equal(up.requests.length, 0);
});

test('bypass keeps an encoded body and its Content-Encoding byte for byte', async () => {
  up.reset();
  const bytes = gzipSync('{"model":"x","messages":[]}');
  const r = await rawRequest(proxy.port, 'POST', '/v1/messages', { 'content-type': 'application/json', 'x-api-key': 'k', 'content-encoding': 'gzip', 'x-headroom-bypass': 'true' }, bytes);
  assert.equal(r.status, 200);
  assert.ok(up.requests[0].body.equals(bytes));
  assert.equal(up.requests[0].headers['content-encoding'], 'gzip');
});

test('catch-all provider choice: x-api-key, anthropic-version or sk-ant- bearer mean Anthropic', async () => {
  const a = await startFakeUpstream();
  const o = await startFakeUpstream();
  const p = await startProxy({ openaiUrl: o.url, anthropicUrl: a.url });
  try {
    const cases = [
      [{ 'x-api-key': 'k' }, a], [{ 'anthropic-version': '2023-06-01' }, a],
      [{ authorization: 'Bearer sk-ant-api03-x' }, a], [{ authorization: 'Bearer sk-proj-x' }, o], [{}, o],
    ];
    for (const [h, target] of cases) {
      a.reset(); o.reset();
      const r = await fetch(`${p.url}/v1/models`, { headers: h });
      assert.equal(r.status, 200);
      assert.equal(target.requests.length, 1, JSON.stringify(h));
      assert.equal((target === a ? o : a).requests.length, 0);
    }
    a.reset(); o.reset();
    await fetch(`${p.url}/v1/embeddings`, { method: 'POST', headers: { authorization: 'Bearer sk-1', 'content-type': 'application/json' }, body: '{"input":"x","model":"e"}' });
    assert.equal(o.requests.length, 1);
  } finally {
    assert.equal(await p.stop(), 0);
    await a.close();
    await o.close();
  }
});

test('health routes: livez, readyz, health JSON, Prometheus metrics, stats JSON', async () => {
  let r = await fetch(`${proxy.url}/livez`);
  assert.equal(r.status, 200);
  r = await fetch(`${proxy.url}/readyz`);
  assert.equal(r.status, 200);
  const h = await (await fetch(`${proxy.url}/health`)).json();
  assert.equal(h.status, 'ok');
  assert.match(h.version, /^\d+\.\d+\.\d+$/);
  assert.ok(h.uptime_s >= 0);
  assert.equal(h.upstreams.openai, up.url);
  assert.equal(h.config.port, proxy.port);
  assert.equal(h.config.max_body_bytes, 100 * 1024 * 1024);
  const m = await (await fetch(`${proxy.url}/metrics`)).text();
  assert.match(m, /# TYPE headroom_requests_total counter/);
  assert.match(m, /headroom_requests_total\{route="messages",provider="anthropic",status="200"\} \d+/);
  assert.match(m, /headroom_upstream_latency_seconds_bucket\{le="\+Inf"\} \d+/);
  assert.match(m, /headroom_active_connections \d+/);
  assert.match(m, /headroom_request_bytes_total \d+/);
  for (const line of m.split('\n').filter((l) => l && !l.startsWith('#')))
    assert.match(line, /^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$/, `exposition format: ${line}`);
  const s = await (await fetch(`${proxy.url}/stats`)).json();
  assert.ok(s.requests.total > 0);
  assert.equal(typeof s.compression, 'object');
  for (const k of ['total', 'upstream', 'proxy_overhead']) {
    assert.ok(s.latency_ms[k].p50 >= 0);
    assert.ok(s.latency_ms[k].p99 >= s.latency_ms[k].p50);
  }
});

test("/debug/ answers loopback clients only", async () => {
  let r = await fetch(`${proxy.url}/debug/memory`);
  assert.equal(r.status, 200);
  const mem = await r.json();
  assert.ok(mem.vm_rss > 0 && mem.rss_anon > 0 && mem.threads >= 1);
  r = await fetch(`${proxy.url}/debug/nothing-here`);
  assert.equal(r.status, 404);
  // Non-loopback clients are refused by the core (hr_http_addr_is_loopback, unit-tested in
  // test_http_loopback.c). Tests never send traffic to a non-loopback address of this machine.
  assert.equal(typeof mem.ml, 'object');
  assert.ok(Array.isArray(mem.ml.sessions));
});

test('upstream connections are kept alive and reused across client connections', async () => {
  up.reset();
  for (let i = 0; i < 10; i++) {
    // a fresh client connection each time (agent: false): reuse must come from the proxy
    const r = await rawRequest(proxy.port, 'POST', '/v1/chat/completions', { 'content-type': 'application/json', authorization: 'Bearer sk-1' }, '{"model":"m","messages":[]}');
    assert.equal(r.status, 200);
  }
  const conns = new Set(up.requests.map((q) => q.connection));
  assert.equal(up.requests.length, 10);
  assert.ok(conns.size <= 2, `10 sequential requests used ${conns.size} upstream connections`);
});
