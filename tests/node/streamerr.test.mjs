// streamerr.test.mjs: an upstream that breaks an SSE stream after it started (socket reset,
// idle timeout) ends the client's stream with the provider's own error event and a clean
// chunked end, so the real SDKs raise an error (after the events sent before the break)
// instead of reading a cut stream as a complete answer. The proxy stays up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import {
  startFakeUpstream, anthropicEvents, openaiChatChunks, responsesEvents, sseBytes,
} from './lib/fake_upstream.mjs';
import { startProxy, waitForLogs } from './lib/proxy.mjs';

let up, proxy;

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({
    openaiUrl: up.url, anthropicUrl: up.url,
    args: ['--retry-base-ms', '20', '--upstream-timeout', '0.8', '--connect-timeout', '1'],
  });
});

after(async () => {
  assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  await up.close();
});

async function assertAlive() {
  const r = await fetch(`${proxy.url}/livez`);
  assert.equal(r.status, 200);
}

const BROKE = /upstream stream broke/;

test('Anthropic messages.stream: the events before a reset arrive, then the SDK raises the error event', async () => {
  up.reset();
  const events = anthropicEvents('claude-sonnet-4-5', ['a', 'b', 'c', 'd']);
  up.script('/v1/messages', { sse: events, intervalMs: 5, resetAfter: 4 });
  const client = new Anthropic({ apiKey: 'k', baseURL: proxy.url, maxRetries: 0 });
  const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  const got = [];
  stream.on('streamEvent', (ev) => got.push(ev.type));
  stream.on('error', () => {}); // finalMessage() below carries the error
  await assert.rejects(stream.finalMessage(), (err) => {
    assert.match(err.message, BROKE);
    assert.match(err.message, /api_error/);
    return true;
  });
  // the SDK passes on every event sent before the break except ping, which it drops itself
  assert.deepEqual(got, ['message_start', 'content_block_start', 'content_block_delta'],
    'the events sent before the break reached the SDK');
  assert.equal(up.requests.length, 1, 'a started stream is never retried');
  // the line is written as the relay finishes, which can be just after the SDK has the event
  await waitForLogs(proxy, (t) => /upstream stream broke/.test(t)); // throws if it never comes
  await assertAlive();
});

test('OpenAI chat.completions stream: chunks before the reset, then an APIError with the message', async () => {
  up.reset();
  up.script('/v1/chat/completions', { sse: openaiChatChunks('gpt-4o-mini', ['x', 'y', 'z']), intervalMs: 5, resetAfter: 3 });
  const client = new OpenAI({ apiKey: 'sk-1', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const text = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) text.push(chunk.choices[0]?.delta?.content ?? '');
  }, (err) => {
    assert.ok(err instanceof OpenAI.APIError, `an APIError, got ${err?.constructor?.name}`);
    assert.match(err.message, BROKE);
    return true;
  });
  assert.deepEqual(text, ['', 'x', 'y'], 'the chunks sent before the break');
  await assertAlive();
});

test('OpenAI responses.stream: the event before the reset, then the error event, and no final response', async () => {
  up.reset();
  // after response.created only: the fake's delta names an output item it never added, which
  // responses.stream's accumulator rejects on its own
  up.script('/v1/responses', { sse: responsesEvents('gpt-4o-mini'), intervalMs: 5, resetAfter: 1 });
  const client = new OpenAI({ apiKey: 'sk-1', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const stream = client.responses.stream({ model: 'gpt-4o-mini', input: 'hi' });
  const got = [];
  // openai 5.23.2 hands a Responses "event: error" to the caller as an event of type "error"
  // (as it does for OpenAI's own), and the stream then ends without a response
  for await (const ev of stream) got.push(ev);
  assert.deepEqual(got.map((e) => e.type), ['response.created', 'error']);
  assert.equal(got[1].code, 'upstream_error');
  assert.match(got[1].message, BROKE);
  await assert.rejects(stream.finalResponse());
  await assertAlive();
});

test('the exact bytes: events as sent, then the Anthropic error event, then a clean end', async () => {
  up.reset();
  const events = anthropicEvents();
  up.script('/v1/messages', { sse: events, intervalMs: 5, resetAfter: 2 });
  const r = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'm', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(r.status, 200);
  const body = await r.text(); // resolves: the chunked body ended cleanly
  const expected = sseBytes(events[0]) + sseBytes(events[1]) +
    'event: error\ndata: {"type":"error","error":{"type":"api_error",' +
    '"message":"headroom: the upstream stream broke: the connection failed mid-stream"}}\n\n';
  assert.equal(body, expected);
  await assertAlive();
});

test('an upstream that stalls mid-stream (idle timeout): OpenAI chat error event with the reason', async () => {
  up.reset();
  // the first chunk, then silence longer than --upstream-timeout 0.8
  up.script('/v1/chat/completions', { sse: openaiChatChunks().slice(0, 2), intervalMs: 3000 });
  const t0 = Date.now();
  const r = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-1' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(r.status, 200);
  const body = await r.text();
  assert.ok(Date.now() - t0 < 2500, 'gave up after the idle timeout');
  const last = body.trimEnd().split('\n\n').pop();
  assert.equal(last, 'data: {"error":{"message":"headroom: the upstream stream broke: no data within ' +
    'the upstream timeout","type":"api_error","code":"upstream_error"}}');
  await assertAlive();
});
