// e2e_bad_input.test.mjs: the bad-input sweep through the real binary. Every hostile or
// broken request either gets the provider's own error shape with a status that says what was
// wrong, or is forwarded (byte-identical, or compressed with a retrievable original), and the
// proxy stays up: /livez answers 200 after each case and a normal request still works.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, anthropicEvents } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import * as fx from './lib/e2e_fixtures.mjs';
import { assertRouteErrorShape } from './lib/provider_errors.mjs';
import http from 'node:http';

const KEY = 'sk-e2e-bad';
let up, proxy, dataDir;
before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-bad-'));
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dataDir } });
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0, 'proxy exits 0 after the sweep');
  await up?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});
// After every case: still alive, and still serving a real request end to end.
afterEach(async () => {
  assert.equal((await fetch(`${proxy.url}/livez`)).status, 200, '/livez after the case');
  const r = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'ping' }] }),
  });
  assert.equal(r.status, 200, 'a normal request works after the case');
  await r.arrayBuffer();
});

async function post(route, body, headers = {}) {
  const auth = route === '/v1/messages' ? { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${KEY}` };
  const r = await fetch(`${proxy.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers }, body });
  return { status: r.status, text: await r.text() };
}

function assertProviderError(route, res, status, what) {
  assert.equal(res.status, status, `${what}: status`);
  const j = JSON.parse(res.text);
  assertRouteErrorShape(route, j, what);
  return JSON.stringify(j);
}

const toolBody = (content) => JSON.stringify({ model: 'gpt-4o', messages: [
  { role: 'user', content: 'what failed?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'run', arguments: '{}' } }] },
  { role: 'tool', tool_call_id: 'c1', content }] });

for (const route of ['/v1/chat/completions', '/v1/messages', '/v1/responses']) {
  test(`malformed JSON on ${route}: 400 in the provider's shape, nothing forwarded`, async () => {
    up.reset();
    for (const body of ['{"model": "gpt-4o", "messages": [', '{"model":"x",}', 'null garbage', '']) {
      const msg = assertProviderError(route, await post(route, body), 400, `${JSON.stringify(body)}`);
      assert.match(msg, /JSON|body/i, 'the message says what was wrong');
    }
    assert.equal(up.requests.length, 0);
  });
}

test('binary junk as a body: 400, nothing forwarded', async () => {
  up.reset();
  const junk = crypto.createHash('sha512').update('seed').digest();
  const big = Buffer.concat(Array.from({ length: 2000 }, (_, i) => crypto.createHash('sha512').update(String(i)).digest()));
  for (const b of [junk, big]) assertProviderError('/v1/chat/completions', await post('/v1/chat/completions', b), 400, 'junk');
  assert.equal(up.requests.length, 0);
});

// Declares the body and sends it only on "100 Continue" (as curl does for large bodies):
// a proxy that refuses on the declared length answers before any body byte is sent, so
// the answer cannot be lost to a reset of a half-sent upload.
function postExpectContinue(route, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: route, agent: false,
      headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01',
        'content-length': body.length, expect: '100-continue' } },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString(), continued }));
    });
    let continued = false;
    req.on('continue', () => { continued = true; req.end(body); });
    req.on('error', reject);
    req.flushHeaders();
  });
}

test('a 150 MB body: 413 with the limit named before the upload, nothing forwarded', async () => {
  up.reset();
  const res = await postExpectContinue('/v1/messages', Buffer.alloc(150 << 20, 0x20));
  assert.equal(res.continued, false, 'refused on the declared length: no 100 Continue');
  assert.match(assertProviderError('/v1/messages', res, 413, '150 MB'), /max-body-bytes|larger/);
  assert.equal(up.requests.length, 0);
});

test('JSON nested 100,000 deep: a clear 400, nothing forwarded', async () => {
  up.reset();
  const deep = `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"metadata":${'['.repeat(100000)}${']'.repeat(100000)}}`;
  assert.match(assertProviderError('/v1/chat/completions', await post('/v1/chat/completions', deep), 400, 'deep'), /nesting|deep/);
  assert.equal(up.requests.length, 0);
});

test('a tool output that is itself JSON nested 100,000 deep is forwarded unchanged', async () => {
  up.reset();
  const body = toolBody('['.repeat(100000) + ']'.repeat(100000));
  assert.equal((await post('/v1/chat/completions', body)).status, 200);
  assert.equal(Buffer.compare(up.requests[0].body, Buffer.from(body)), 0, 'byte-identical');
});

test('invalid UTF-8 inside a tool output: forwarded byte-identical', async () => {
  up.reset();
  const log = JSON.stringify(fx.pytestLog().text).slice(1, -1);
  const body = Buffer.concat([Buffer.from(toolBody('@@').split('@@')[0]), Buffer.from(log.slice(0, 20000)),
    Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from(log.slice(20000)), Buffer.from(toolBody('@@').split('@@')[1])]);
  // docs/compression.md: a span holding invalid UTF-8 is not compressed and the body is
  // forwarded as is; the provider gives its own verdict
  const res = await post('/v1/chat/completions', body);
  assert.equal(res.status, 200);
  assert.equal(up.requests.length, 1);
  assert.equal(Buffer.compare(up.requests[0].body, body), 0, 'byte-identical');
});

// Its own proxy with a deadline no build misses (SmartCrusher on 20 MB takes well over the
// 2 s default in the unoptimised sanitizer build): the claim is that it compresses.
test('a 20 MB single-line tool output (minified JSON rows) is compressed, original retrievable', async () => {
  up.reset();
  const rows = [];
  for (let i = 0; i < 410000; i++) rows.push({ id: 900000 + i, host: `web-${i % 40}`, status: i === 277777 ? 'error: disk full' : 'ok', ms: 10 + (i % 9) });
  const padded = JSON.stringify(rows);
  assert.ok(padded.length >= 20 << 20 && !padded.includes('\n'), `one line of ${padded.length} bytes`);
  const body = toolBody(padded);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-20mb-'));
  const p = await startProxy({ openaiUrl: up.url, args: ['--compression-deadline-ms', '300000'], env: { HEADROOM_DATA_DIR: dir } });
  try {
    const r = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const out = JSON.parse(up.requests[0].body).messages[2].content;
    const mk = fx.markersIn(out);
    assert.equal(mk.length, 1, 'compressed: one marker for the crushed array');
    assert.ok(out.length < padded.length / 10, `${padded.length} -> ${out.length} bytes`);
    assert.ok(out.includes('error: disk full'), 'the error row survives');
    const g = await fetch(`${p.url}/v1/retrieve/${mk[0].hash}`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(g.status, 200);
    assert.ok((await g.json()).content === padded, 'original byte-exact');
  } finally {
    assert.equal(await p.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// One line of words: the line-based compressors have no line to drop and SmartCrusher no
// JSON, so nothing is droppable (docs/compression.md) and the body goes out byte for byte.
test('a 20 MB single line without structure is forwarded byte-identical', async () => {
  up.reset();
  let s = '';
  const chunk = Array.from({ length: 1000 }, (_, i) => `tok${(i * 7919) % 1000} `).join('');
  while (s.length < 20 << 20) s += chunk;
  const body = toolBody(s);
  assert.equal((await post('/v1/chat/completions', body)).status, 200);
  assert.equal(up.requests.length, 1);
  assert.ok(Buffer.compare(up.requests[0].body, Buffer.from(body)) === 0, 'forwarded byte-identical');
});

test('upstream resets mid-stream: the SDK sees an error, not a silent truncated success', async () => {
  up.reset();
  up.script('/v1/messages', { sse: anthropicEvents('claude-sonnet-4-5', ['a', 'b', 'c', 'd', 'e']), resetAfter: 4 });
  const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 });
  const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  stream.on('error', () => {}); // finalMessage() below carries the error
  // the relay ends the stream with Anthropic's error event (streamerr.test.mjs), which the
  // SDK raises as an error naming it
  await assert.rejects(stream.finalMessage(), (err) => {
    assert.match(err.message, /upstream stream broke/, 'the stream ends in the relay\'s error event');
    return true;
  });
});

test('client disconnect mid-stream: the upstream transfer is aborted', async () => {
  up.reset();
  const slow = anthropicEvents('claude-sonnet-4-5', Array.from({ length: 200 }, (_, i) => `w${i} `));
  up.script('/v1/messages', { sse: slow, intervalMs: 50 });
  const ac = new AbortController();
  const r = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST', signal: ac.signal,
    headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const reader = r.body.getReader();
  await reader.read();
  ac.abort();
  await up.waitForRequests(1);
  const rec = up.requests[0];
  const deadline = Date.now() + 8000; // generous on a loaded machine; the full stream takes 10 s
  while (!rec.closed && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  assert.ok(rec.closed, 'upstream connection closed after the client left');
  assert.ok(rec.closedAt - rec.receivedAt < 9000, 'well before the stream would have ended');
});

test('upstream 503 then 200 on a compressed request: retried with the same compressed bytes', async () => {
  up.reset();
  up.script('/v1/chat/completions', { status: 503, json: { error: { message: 'overloaded', type: 'server_error' } } });
  const body = toolBody(fx.pytestLog(500, 41).text);
  const started = Date.now();
  const res = await post('/v1/chat/completions', body);
  assert.equal(res.status, 200, 'the retry succeeded');
  assert.equal(up.requests.length, 2);
  assert.equal(Buffer.compare(up.requests[0].body, up.requests[1].body), 0, 'same bytes on the retry');
  assert.ok(up.requests[0].body.length < body.length / 3, 'and they are the compressed ones');
  assert.ok(Date.now() - started < 15000);
});

test('upstream 429 on a compressed request: passed through once, with its headers and shape', async () => {
  up.reset();
  up.script('/v1/messages', { status: 429, headers: { 'retry-after': '7', 'anthropic-ratelimit-requests-remaining': '0' },
    json: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } } });
  const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [
    { role: 'user', content: 'which tests failed?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'pytest', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: fx.pytestLog(500, 42).text }] }] });
  const r = await fetch(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' }, body });
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('retry-after'), '7');
  assert.equal(r.headers.get('anthropic-ratelimit-requests-remaining'), '0');
  assert.deepEqual(await r.json(), { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
  assert.equal(up.requests.length, 1, 'never retried');
});

test('past the compression deadline the request is forwarded whole and the event is counted', async () => {
  up.reset();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-deadline-'));
  const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--compression-deadline-ms', '1'], env: { HEADROOM_DATA_DIR: dir } });
  try {
    const rows = Array.from({ length: 200000 }, (_, i) => ({ id: i, state: 'ok', v: i % 13 }));
    const body = toolBody(JSON.stringify(rows)); // ~5 MB: far more than 1 ms of work
    const r = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    assert.equal(Buffer.compare(up.requests[0].body, Buffer.from(body)), 0, 'forwarded byte-identical (no marker, no tool)');
    assert.equal(r.headers.get('x-headroom-tokens-saved'), '0');
    let stats;
    for (const end = Date.now() + 5000; ;) {
      stats = await (await fetch(`${p.url}/stats`)).json();
      if (stats.requests.failed_open >= 1 || Date.now() > end) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(stats.requests.failed_open, 1, '/stats counts the fail-open');
    assert.equal(stats.compression.deadline_exceeded, 1, 'as a deadline');
  } finally {
    assert.equal(await p.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
