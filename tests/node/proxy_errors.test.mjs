// proxy_errors.test.mjs: every error path, in each provider's error shape: malformed JSON
// 400, oversized body 413, unreachable 502, timeout 504, 429 never retried, 5xx retried with
// backoff, mid-stream reset; the SDKs see the errors as the provider's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, anthropicEvents, openaiChatChunks } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import { assertOpenAIErrorShape, assertAnthropicErrorShape } from './lib/provider_errors.mjs';

let up, proxy;
const FAST = ['--retry-base-ms', '20', '--upstream-timeout', '0.8', '--connect-timeout', '1'];

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: [...FAST, '--max-body-bytes', '4096'] });
});

after(async () => {
  assert.equal(await proxy.stop(), 0, "clean exit (no sanitizer report)");
  await up.close();
});

const post = (path, body, headers = {}) => fetch(`${proxy.url}${path}`, {
  method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body,
});

// Exact keys per provider (lib/provider_errors.mjs), plus a message that says something.
function assertOpenAIError(j, code) {
  assert.ok(assertOpenAIErrorShape(j, { code }).message.length > 10);
}

function assertAnthropicError(j, type) {
  assert.ok(assertAnthropicErrorShape(j, type).message.length > 10);
}

test('malformed JSON: 400 in the OpenAI shape and in the Anthropic shape, nothing sent upstream', async () => {
  up.reset();
  let r = await post('/v1/chat/completions', '{"model": "gpt-4o", "messages": [', { authorization: 'Bearer sk-1' });
  assert.equal(r.status, 400);
  const j = await r.json();
  assertOpenAIError(j, 'invalid_json');
  assert.match(j.error.message, /not valid JSON/);
  r = await post('/v1/messages', '{"model": oops}', { 'x-api-key': 'k' });
  assert.equal(r.status, 400);
  assertAnthropicError(await r.json(), 'invalid_request_error');
  r = await post('/v1/responses', '[1,2]', { authorization: 'Bearer sk-1' });
  assert.equal(r.status, 400);
  assertOpenAIErrorShape(await r.json(), { type: 'invalid_request_error' }, '/v1/responses');
  assert.equal(up.requests.length, 0);
});

test('body over --max-body-bytes: 413 (declared length and decoded size)', async () => {
  up.reset();
  const big = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
  let r = await post('/v1/messages', big, { 'x-api-key': 'k' });
  assert.equal(r.status, 413);
  assertAnthropicError(await r.json(), 'request_too_large');
  r = await post('/v1/chat/completions', big, { authorization: 'Bearer sk-1' });
  assert.equal(r.status, 413);
  assertOpenAIError(await r.json(), 'request_too_large');
  // a small gzip body that inflates past the limit
  const { gzipSync } = await import('node:zlib');
  r = await post('/v1/chat/completions', gzipSync(big), { authorization: 'Bearer sk-1', 'content-encoding': 'gzip' });
  assert.equal(r.status, 413);
  assertOpenAIError(await r.json(), 'request_too_large');
  r = await post('/v1/messages', gzipSync(big), { 'x-api-key': 'k', 'content-encoding': 'gzip' });
  assert.equal(r.status, 413);
  assertAnthropicError(await r.json(), 'request_too_large');
  assert.equal(up.requests.length, 0);
});

test('upstream unreachable: 502 after 3 attempts, in the provider shape', async () => {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const deadPort = srv.address().port;
  await new Promise((r) => srv.close(r));
  const p = await startProxy({ openaiUrl: `http://127.0.0.1:${deadPort}`, anthropicUrl: `http://127.0.0.1:${deadPort}`, args: FAST });
  try {
    const r = await fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-1' }, body: '{"model":"m","messages":[]}',
    });
    assert.equal(r.status, 502);
    const j = await r.json();
    assertOpenAIError(j, 'upstream_unreachable');
    assert.match(j.error.message, /3 attempt/);
    const a = new Anthropic({ apiKey: 'k', baseURL: p.url, maxRetries: 0 });
    await assert.rejects(a.messages.create({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 502 && e.error.type === 'error' && e.error.error.type === 'api_error');
  } finally {
    assert.equal(await p.stop(), 0);
  }
});

test('upstream hangs: 504 after --upstream-timeout, not retried', async () => {
  up.reset();
  up.script('/v1/messages', { hang: true });
  const t0 = Date.now();
  const r = await post('/v1/messages', '{"model":"m","messages":[]}', { 'x-api-key': 'k' });
  assert.equal(r.status, 504);
  assertAnthropicError(await r.json(), 'timeout_error');
  assert.ok(Date.now() - t0 < 3000);
  assert.equal(up.requests.length, 1);
});

test('429 is relayed as is with its headers and never retried', async () => {
  up.reset();
  const body = { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } };
  up.script('/v1/chat/completions', { status: 429, json: body, headers: { 'retry-after': '7', 'x-ratelimit-reset-requests': '7s' } });
  const r = await post('/v1/chat/completions', '{"model":"m","messages":[]}', { authorization: 'Bearer sk-1' });
  assert.equal(r.status, 429);
  assert.deepEqual(await r.json(), body);
  assert.equal(r.headers.get('retry-after'), '7');
  assert.equal(r.headers.get('x-ratelimit-reset-requests'), '7s');
  assert.equal(up.requests.length, 1);
  // and the SDK sees a RateLimitError
  up.script('/v1/chat/completions', { status: 429, json: body });
  const o = new OpenAI({ apiKey: 'sk-1', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  await assert.rejects(o.chat.completions.create({ model: 'm', messages: [] }), (e) => e.status === 429 && e.code === 'rate_limit_exceeded');
});

test('5xx is retried (3 attempts in all); a later success is what the client gets', async () => {
  up.reset();
  up.script('/v1/chat/completions', { status: 503, json: { error: { message: 'busy' } } }, { status: 500, json: { error: { message: 'oops' } } });
  const r = await post('/v1/chat/completions', '{"model":"m","messages":[]}', { authorization: 'Bearer sk-1' });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).object, 'chat.completion');
  assert.equal(up.requests.length, 3);
  // the same body went out every time
  assert.ok(up.requests.every((q) => q.body.equals(up.requests[0].body)));
});

test('5xx on every attempt: the last upstream answer is relayed after 3 attempts', async () => {
  up.reset();
  const e = { status: 502, json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } };
  up.script('/v1/messages', e, e, e, e);
  const r = await post('/v1/messages', '{"model":"m","messages":[]}', { 'x-api-key': 'k' });
  assert.equal(r.status, 502);
  assert.deepEqual(await r.json(), e.json);
  assert.equal(up.requests.length, 3);
});

test('4xx other than 429 is never retried', async () => {
  up.reset();
  up.script('/v1/messages', { status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } } });
  const r = await post('/v1/messages', '{"model":"m","messages":[]}', { 'x-api-key': 'k' });
  assert.equal(r.status, 400);
  assert.equal(up.requests.length, 1);
});

test('streaming: a 5xx before the first byte is retried; the stream then flows', async () => {
  up.reset();
  up.script('/v1/chat/completions', { status: 500, json: { error: { message: 'x' } } }, { sse: openaiChatChunks() });
  const o = new OpenAI({ apiKey: 'sk-1', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const s = await o.chat.completions.create({ model: 'm', stream: true, messages: [] });
  let text = '';
  for await (const c of s) text += c.choices[0]?.delta?.content || '';
  assert.equal(text, 'Hello there!');
  assert.equal(up.requests.length, 2);
});

test('mid-stream reset: the client sees a broken stream, not a clean end', async () => {
  up.reset();
  up.script('/v1/messages', { sse: anthropicEvents(), intervalMs: 10, resetAfter: 3 });
  const a = new Anthropic({ apiKey: 'k', baseURL: proxy.url, maxRetries: 0 });
  const s = await a.messages.create({ model: 'm', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] });
  const got = [];
  await assert.rejects(async () => { for await (const ev of s) got.push(ev); },
    (err) => { assert.match(err.message, /upstream stream broke/, 'the relay\'s error event'); return true; });
  assert.equal(got[0].type, 'message_start');
  assert.equal(up.requests.length, 1, 'a started stream is never retried');
});

test('upstream stalls mid-stream: the relay gives up after the idle timeout', async () => {
  up.reset();
  // one event, then 3 s of silence (longer than --upstream-timeout 0.8)
  up.script('/v1/messages', { sse: anthropicEvents().slice(0, 2), intervalMs: 3000 });
  const t0 = Date.now();
  const r = await post('/v1/messages', '{"model":"m","stream":true,"messages":[]}', { 'x-api-key': 'k' });
  assert.equal(r.status, 200);
  // the stream ends with Anthropic's error event, not a cut (streamerr.test.mjs)
  assert.match(await r.text(), /event: error\ndata: .*upstream stream broke/);
  assert.ok(Date.now() - t0 < 2500, 'gave up after the idle timeout');
});

test('unknown route answers from upstream; a wrong method on a local route is 405', async () => {
  up.reset();
  let r = await fetch(`${proxy.url}/v1/files?limit=2`, { headers: { authorization: 'Bearer sk-1' } });
  assert.equal(r.status, 404);
  assert.equal(up.requests[0].url, '/v1/files?limit=2');
  r = await fetch(`${proxy.url}/livez`, { method: 'POST', body: '{}' });
  assert.equal(r.status, 405);
  assertOpenAIErrorShape(await r.json(), {}, 'POST /livez (no provider: OpenAI shape)');
  r = await fetch(`${proxy.url}/v1/retrieve/0123456789abcdef01234567`, { method: 'DELETE', headers: { 'x-api-key': 'k' } });
  assert.equal(r.status, 405);
  assertAnthropicErrorShape(await r.json(), undefined, 'DELETE with x-api-key (Anthropic shape)');
});
