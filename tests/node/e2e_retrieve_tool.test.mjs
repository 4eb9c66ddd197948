// e2e_retrieve_tool.test.mjs: the model's way back, as a client sees it through the real
// binary. A request whose tool output got compressed must reach the upstream with the
// `headroom_retrieve` tool added; when the (fake) model calls it, the proxy answers the call
// from its store and continues upstream, so the SDK only ever sees the final answer —
// non-streaming (openai chat) and streaming (@anthropic-ai/sdk messages.stream, openai chat).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, openaiChatCompletion, openaiChatChunks, anthropicEvents } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import * as fx from './lib/e2e_fixtures.mjs';

let up, proxy, dataDir;
before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-tool-'));
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dataDir } });
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  await up?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const LOG = fx.pytestLog(500, 9);

test('openai chat: headroom_retrieve is offered, and a call to it never reaches the client', async () => {
  up.reset();
  const client = new OpenAI({ apiKey: 'sk-e2e-tool', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const { hash } = fx.markersIn(await compressedOnce(client))[0] ?? {};
  assert.ok(hash, 'the log was compressed');
  up.reset();
  up.script('/v1/chat/completions',
    { json: { ...openaiChatCompletion('gpt-4o'), choices: [{ index: 0, finish_reason: 'tool_calls', logprobs: null,
      message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_r', type: 'function', function: { name: 'headroom_retrieve', arguments: JSON.stringify({ hash, query: 'FAILED' }) } }] } }] } },
    { json: openaiChatCompletion('gpt-4o', 'Two tests failed: 211 and 498.') });
  const res = await client.chat.completions.create(chatParams());
  const tools = (JSON.parse(up.requests[0].body).tools || []).map((t) => t.function.name);
  assert.ok(tools.includes('headroom_retrieve'), `tools offered upstream: ${tools}`);
  assert.equal(res.choices[0].message.content, 'Two tests failed: 211 and 498.', 'client sees only the final answer');
  assert.equal(up.requests.length, 2, 'the proxy continued upstream itself');
  assert.equal(res.usage.prompt_tokens, 84, 'usage covers both rounds (42 + 42)');
  assert.equal(res.usage.completion_tokens, 14);
  const followup = JSON.parse(up.requests[1].body).messages.at(-1);
  assert.equal(followup.role, 'tool');
  assert.ok(followup.content.includes('test_case_211') && followup.content.includes('FAILED'), 'the tool result holds the retrieved lines');
});

test('anthropic stream: a headroom_retrieve turn is resolved inside one coherent stream', async () => {
  up.reset();
  const client = new Anthropic({ apiKey: 'sk-e2e-tool', baseURL: proxy.url, maxRetries: 0 });
  const params = {
    model: 'claude-sonnet-4-5', max_tokens: 128,
    messages: [
      { role: 'user', content: 'which tests failed?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'pytest', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: LOG.text }] },
    ],
  };
  await client.messages.create(params);
  const hash = fx.markersIn(JSON.parse(up.requests[0].body).messages[2].content[0].content)[0]?.hash;
  assert.ok(hash, 'the log was compressed');
  const names = (JSON.parse(up.requests[0].body).tools || []).map((t) => t.name);
  assert.ok(names.includes('headroom_retrieve'), `tools offered upstream: ${names}`);
  up.reset();
  const args = JSON.stringify({ hash });
  const round1 = anthropicEvents().slice(0, 1).concat([
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_r', name: 'headroom_retrieve', input: {} } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: args } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]);
  up.script('/v1/messages', { sse: round1 }, { sse: anthropicEvents('claude-sonnet-4-5', ['Tests 211', ' and 498 failed.']) });
  const msg = await client.messages.stream(params).finalMessage();
  assert.ok(!msg.content.some((b) => b.type === 'tool_use'), 'the client never sees headroom_retrieve');
  assert.equal(msg.content.map((b) => b.text).join(''), 'Tests 211 and 498 failed.');
  assert.equal(msg.usage.output_tokens, 29, 'output tokens of both rounds (20 + 9)');
  assert.equal(up.requests.length, 2);
  const last = JSON.parse(up.requests[1].body).messages.at(-1).content[0];
  assert.equal(last.type, 'tool_result');
  assert.equal(last.content, LOG.text, 'without a query the whole original is returned');
});

function chatParams() {
  return {
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: 'which tests failed?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'pytest', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: LOG.text },
    ],
  };
}

async function compressedOnce(client) {
  await client.chat.completions.create(chatParams());
  return JSON.parse(up.requests[0].body).messages.at(-1).content;
}

test('openai chat stream: a headroom_retrieve call is resolved, the SDK sees one answer', async () => {
  up.reset();
  const client = new OpenAI({ apiKey: 'sk-e2e-tool', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const { hash } = fx.markersIn(await compressedOnce(client))[0] ?? {};
  assert.ok(hash, 'the log was compressed');
  up.reset();
  const base = { id: 'chatcmpl-r', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o' };
  const call = JSON.stringify({ hash, query: 'AssertionError' });
  const round1 = [
    { data: { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_s', type: 'function', function: { name: 'headroom_retrieve', arguments: '' } }] }, finish_reason: null }] } },
    { data: { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: call } }] }, finish_reason: null }] } },
    { data: { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] } },
    { data: { ...base, choices: [], usage: { prompt_tokens: 50, completion_tokens: 5, total_tokens: 55 } } },
    { data: '[DONE]' },
  ];
  up.script('/v1/chat/completions', { sse: round1 }, { sse: openaiChatChunks('gpt-4o', ['test_case_211', ' failed.']) });
  const stream = await client.chat.completions.create({ ...chatParams(), stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage = null;
  const seenTools = [];
  for await (const c of stream) {
    text += c.choices[0]?.delta?.content ?? '';
    for (const t of c.choices[0]?.delta?.tool_calls ?? []) seenTools.push(t.function?.name);
    if (c.usage) usage = c.usage;
  }
  assert.deepEqual(seenTools.filter(Boolean), [], 'no tool call reaches the client');
  assert.equal(text, 'test_case_211 failed.');
  assert.equal(up.requests.length, 2);
  const followup = JSON.parse(up.requests[1].body).messages.at(-1);
  assert.equal(followup.role, 'tool');
  assert.equal(followup.tool_call_id, 'call_s');
  assert.ok(followup.content.includes('AssertionError: assert 1301 == 1299'), 'query retrieval returns the matching lines');
  assert.ok(usage && usage.prompt_tokens === 92, `usage over both rounds (50 + 42): ${JSON.stringify(usage)}`);
});

test('the tool path is tenant-scoped: a model call for another key\'s hash gets no content', async () => {
  up.reset();
  const a = new OpenAI({ apiKey: 'sk-e2e-tenant-a', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const secret = fx.pytestLog(450, 77);
  await a.chat.completions.create({ ...chatParams(), messages: [...chatParams().messages.slice(0, 2), { role: 'tool', tool_call_id: 'c1', content: secret.text }] });
  const { hash } = fx.markersIn(JSON.parse(up.requests[0].body).messages.at(-1).content)[0] ?? {};
  assert.ok(hash, 'tenant A\'s log was compressed');
  up.reset();
  up.script('/v1/chat/completions',
    { json: { ...openaiChatCompletion('gpt-4o'), choices: [{ index: 0, finish_reason: 'tool_calls', logprobs: null,
      message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'headroom_retrieve', arguments: JSON.stringify({ hash }) } }] } }] } },
    { json: openaiChatCompletion('gpt-4o', 'nothing found') });
  const b = new OpenAI({ apiKey: 'sk-e2e-tenant-b', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const res = await b.chat.completions.create(chatParams()); // B's own compressed log: the tool is offered
  assert.equal(res.choices[0].message.content, 'nothing found');
  assert.equal(up.requests.length, 2);
  const answer = JSON.parse(up.requests[1].body).messages.at(-1);
  assert.equal(answer.role, 'tool');
  assert.ok(!answer.content.includes('test_case_'), `tenant B's model must not read A's original: ${answer.content.slice(0, 120)}`);
});

test('a client that leaves during the continuation round aborts that upstream transfer too', async () => {
  up.reset();
  const headers = { 'content-type': 'application/json', 'x-api-key': 'sk-e2e-tool', 'anthropic-version': '2023-06-01' };
  const params = { model: 'claude-sonnet-4-5', max_tokens: 128, messages: [
    { role: 'user', content: 'which tests failed?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'pytest', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: LOG.text }] }] };
  await (await fetch(`${proxy.url}/v1/messages`, { method: 'POST', headers, body: JSON.stringify(params) })).arrayBuffer();
  const hash = fx.markersIn(JSON.parse(up.requests[0].body).messages[2].content[0].content)[0]?.hash;
  assert.ok(hash, 'the log was compressed');
  up.reset();
  const round1 = anthropicEvents().slice(0, 1).concat([
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_r', name: 'headroom_retrieve', input: {} } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify({ hash }) } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]);
  // round 2 would take 20 s
  up.script('/v1/messages', { sse: round1 }, { sse: anthropicEvents('claude-sonnet-4-5', Array.from({ length: 200 }, (_, i) => `w${i} `)), intervalMs: 100 });
  const ac = new AbortController();
  const r = await fetch(`${proxy.url}/v1/messages`, { method: 'POST', headers, body: JSON.stringify({ ...params, stream: true }), signal: ac.signal });
  const reader = r.body.getReader();
  let got = '';
  while (!got.includes('w1 ')) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the continuation streams to the client');
    got += Buffer.from(value).toString();
  }
  ac.abort();
  const rec = up.requests[1];
  const deadline = Date.now() + 8000;
  while (!rec.closed && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  assert.ok(rec.closed, 'round 2 upstream closed after the client left (long before its 20 s)');
  assert.ok(!got.includes('headroom_retrieve'), 'the client never saw the tool');
});
