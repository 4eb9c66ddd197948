// proxy_sdk.test.mjs: the official openai and @anthropic-ai/sdk clients through the proxy,
// streaming and not: the SDK gets exactly what the fake upstream sent, the upstream gets the
// client's body (byte-identical in passthrough), usage lands in /stats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import {
  startFakeUpstream, openaiChatCompletion, openaiChatChunks, anthropicMessage, anthropicEvents,
  responsesObject, sseBytes,
} from './lib/fake_upstream.mjs';
import { startProxy, requestLogLines, waitForLogs } from './lib/proxy.mjs';

let up, proxy, openai, anthropic;

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: `${up.url}/v1/` });
  openai = new OpenAI({ apiKey: 'sk-test-openai', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: proxy.url, maxRetries: 0 });
});

after(async () => {
  assert.equal(await proxy.stop(), 0);
  await up.close();
});

test('openai chat, non-streaming: SDK gets the upstream JSON, upstream gets the body unchanged', async () => {
  up.reset();
  const sent = openaiChatCompletion('gpt-4o-mini', 'exact words');
  up.script('/v1/chat/completions', { json: sent, headers: { 'x-ratelimit-remaining-requests': '99' } });
  const { data, response } = await openai.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.deepEqual(data, sent);
  assert.match(response.headers.get('x-headroom-request-id'), /^hr-[0-9a-f]{16}$/);
  assert.equal(response.headers.get('x-headroom-tokens-before'), '0');
  assert.equal(response.headers.get('x-headroom-tokens-after'), '0');
  assert.equal(response.headers.get('x-headroom-tokens-saved'), '0');
  assert.equal(response.headers.get('x-ratelimit-remaining-requests'), '99');
  const rec = up.requests[0];
  assert.deepEqual(JSON.parse(rec.body), { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(rec.headers.authorization, 'Bearer sk-test-openai');
});

test('openai chat, streaming: every chunk arrives; include_usage is added upstream', async () => {
  up.reset();
  const events = openaiChatChunks('gpt-4o-mini', ['a', 'b', 'c']);
  up.script('/v1/chat/completions', { sse: events, intervalMs: 5 });
  const stream = await openai.chat.completions.create({
    model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }],
  });
  const got = [];
  for await (const chunk of stream) got.push(chunk);
  assert.deepEqual(got, events.filter((e) => e.data !== '[DONE]').map((e) => e.data));
  const body = JSON.parse(up.requests[0].body);
  assert.deepEqual(body.stream_options, { include_usage: true });
  assert.equal(body.stream, true);
  // usage from the final chunk reaches the request's log line
  let line;
  for (let i = 0; i < 50 && !line; i++) {
    line = requestLogLines(proxy.logs()).find((l) => l.route === 'chat_completions' && l.stream === 'true');
    if (!line) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(line.input_tokens, '42');
  assert.equal(line.output_tokens, '7');
});

test('openai chat, streaming: an explicit include_usage is left alone', async () => {
  up.reset();
  const raw = '{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":false},"messages":[]}';
  const r = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x' }, body: raw,
  });
  await r.text();
  assert.equal(up.requests[0].body.toString(), raw);
});

test('openai responses, non-streaming', async () => {
  up.reset();
  const sent = responsesObject('gpt-4o-mini');
  up.script('/v1/responses', { json: sent });
  const r = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
  assert.equal(r.id, sent.id);
  assert.deepEqual(r.output, sent.output);
  assert.deepEqual(r.usage, sent.usage);
});

test('anthropic messages, non-streaming: SDK gets the upstream JSON', async () => {
  up.reset();
  const sent = anthropicMessage('claude-sonnet-4-5', 'exact anthropic words');
  up.script('/v1/messages', { json: sent, headers: { 'anthropic-ratelimit-requests-remaining': '7' } });
  const { data, response } = await anthropic.messages
    .create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.deepEqual(data, sent);
  assert.equal(response.headers.get('anthropic-ratelimit-requests-remaining'), '7');
  const rec = up.requests[0];
  assert.equal(rec.headers['x-api-key'], 'sk-ant-test');
  assert.ok(rec.headers['anthropic-version']);
  assert.equal(rec.path, '/v1/messages');
});

test('anthropic messages, streaming: every event arrives in order, usage reaches /stats', async () => {
  up.reset();
  const before = await (await fetch(`${proxy.url}/stats`)).json();
  const events = anthropicEvents('claude-sonnet-4-5', ['x', 'y']);
  up.script('/v1/messages', { sse: events, intervalMs: 5 });
  const stream = await anthropic.messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }],
  });
  const got = [];
  for await (const ev of stream) got.push(ev);
  // the SDK drops ping events and yields every other event's data as sent
  assert.deepEqual(got, events.filter((e) => e.event !== 'ping').map((e) => e.data));
  // and the helper that accumulates a message works through the proxy too
  up.script('/v1/messages', { sse: events });
  const final = await anthropic.messages
    .stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
    .finalMessage();
  assert.equal(final.content[0].text, 'xy');
  // The raw body the upstream got is what the SDK serialised (no include_usage for Anthropic).
  assert.equal(JSON.parse(up.requests[0].body).stream, true);
  assert.equal(JSON.parse(up.requests[0].body).stream_options, undefined);
  let after;
  for (let i = 0; i < 50; i++) { // the log/metrics step runs when the connection finishes
    after = await (await fetch(`${proxy.url}/stats`)).json();
    if (after.requests.streams > before.requests.streams) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (let i = 0; i < 50 && after.requests.streams < before.requests.streams + 2; i++) {
    await new Promise((r) => setTimeout(r, 20));
    after = await (await fetch(`${proxy.url}/stats`)).json();
  }
  assert.equal(after.tokens.input - before.tokens.input, 62);
  assert.equal(after.tokens.output - before.tokens.output, 18);
});

test('raw SSE bytes are relayed unchanged, event by event', async () => {
  up.reset();
  const events = anthropicEvents();
  up.script('/v1/messages', { sse: events, intervalMs: 150 });
  const t0 = Date.now();
  const r = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
    body: JSON.stringify({ model: 'm', stream: true, max_tokens: 5, messages: [] }),
  });
  const reader = r.body.getReader();
  let text = '';
  let firstAt = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (!firstAt) firstAt = Date.now() - t0;
    text += Buffer.from(value).toString();
  }
  assert.equal(text, events.map(sseBytes).join(''));
  // the first event arrives long before the whole stream (150 ms apart x 10 events)
  assert.ok(firstAt < 600, `first byte after ${firstAt} ms`);
  assert.equal(r.headers.get('content-type'), 'text/event-stream; charset=utf-8');
});

test('passthrough: x-headroom-bypass / x-headroom-mode forward the body byte for byte', async () => {
  for (const h of [{ 'x-headroom-bypass': 'true' }, { 'x-headroom-mode': 'passthrough' }]) {
    up.reset();
    const raw = Buffer.from('{ "model" : "gpt-4o",\n  "messages":[{"role":"tool","content":"\u00e9\\u00e9  "}] ,"x":1.000e+2}  ');
    const r = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-a', ...h }, body: raw,
    });
    assert.equal(r.status, 200);
    await r.json();
    assert.ok(up.requests[0].body.equals(raw));
    assert.equal(Object.keys(up.requests[0].headers).filter((k) => k.startsWith('x-headroom')).length, 0);
  }
});

test('models and count_tokens pass through; one log line per request with id, route, status', async () => {
  up.reset();
  const models = await openai.models.list();
  assert.equal(models.data[0].id, 'gpt-4o-mini');
  const ct = await anthropic.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(ct.input_tokens, 17);
  const logged = await waitForLogs(proxy, (t) => ['models', 'count_tokens'].every((r) => requestLogLines(t).some((l) => l.route === r)));
  const lines = requestLogLines(logged);
  const routes = lines.map((l) => l.route);
  assert.ok(routes.includes('models'));
  assert.ok(routes.includes('count_tokens'));
  const ctLine = lines.find((l) => l.route === 'count_tokens');
  assert.equal(ctLine.provider, 'anthropic');
  assert.equal(ctLine.status, '200');
  assert.match(ctLine.id, /^hr-/);
  assert.ok(!proxy.logs().includes('sk-ant-test'), 'credentials never logged');
  assert.ok(!proxy.logs().includes('sk-test-openai'), 'credentials never logged');
});
