// ccr_stream_refusal.test.mjs: a streamed headroom_retrieve turn the proxy cannot resolve
// never reaches the client as a call to a tool it did not define. Through the real binary
// and the real SDKs: a turn mixing headroom_retrieve with the client's own tool, and a
// held call whose arguments outgrow --max-answer-bytes, both end the stream with the
// provider's error event (the SDK raises it); a call with malformed arguments is answered
// with an error result to the model and the stream goes on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, anthropicEvents, openaiChatChunks } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import { memOf } from './lib/hostile.mjs';
import * as fx from './lib/e2e_fixtures.mjs';

const MB = 1024 * 1024;
let up, proxy, dataDir;
before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-refusal-'));
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url,
    env: { HEADROOM_DATA_DIR: dataDir }, args: ['--max-answer-bytes', String(4 * MB)] });
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0, 'clean exit');
  await up?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const LOG = fx.pytestLog(500, 9);
const anthropicParams = {
  model: 'claude-sonnet-4-5', max_tokens: 128,
  messages: [
    { role: 'user', content: 'which tests failed?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'pytest', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: LOG.text }] },
  ],
  tools: [{ name: 'Bash', description: 'run', input_schema: { type: 'object' } }],
};
const chatParams = {
  model: 'gpt-4o',
  messages: [
    { role: 'user', content: 'which tests failed?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'pytest', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: LOG.text },
  ],
};

/** Sends the request once so its log gets compressed; returns the marker's hash. */
async function compressedHash(send, pick) {
  up.reset();
  await send();
  const hash = fx.markersIn(pick(JSON.parse(up.requests[0].body)))[0]?.hash;
  assert.ok(hash, 'the log was compressed (the tool is offered)');
  up.reset();
  return hash;
}

const toolUse = (index, id, name, json) => [
  { event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id, name, input: {} } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json } } },
  { event: 'content_block_stop', data: { type: 'content_block_stop', index } },
];
const turnEnd = [
  { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } } },
  { event: 'message_stop', data: { type: 'message_stop' } },
];

test('anthropic: headroom_retrieve mixed with the client\'s own tool ends in the error event, never the tool', async () => {
  const client = new Anthropic({ apiKey: 'sk-refusal', baseURL: proxy.url, maxRetries: 0 });
  const hash = await compressedHash(() => client.messages.create(anthropicParams), (b) => b.messages[2].content[0].content);
  up.script('/v1/messages', { sse: [...anthropicEvents().slice(0, 1), ...toolUse(0, 'toolu_b', 'Bash', '{"cmd":"ls"}'),
    ...toolUse(1, 'toolu_r', 'headroom_retrieve', JSON.stringify({ hash })), ...turnEnd] });
  const stream = client.messages.stream(anthropicParams);
  const seen = [];
  stream.on('streamEvent', (e) => { if (e.type === 'content_block_start') seen.push(e.content_block.name); });
  await assert.rejects(stream.finalMessage(), (e) => {
    assert.match(String(e.message), /headroom_retrieve together with another tool/);
    return true;
  });
  assert.deepEqual(seen, ['Bash'], 'only the client\'s own tool was shown');
  assert.equal(up.requests.length, 1, 'no continuation round');
  for (let i = 0; i < 100 && !/headroom_retrieve refused/.test(proxy.logs()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(proxy.logs(), /headroom_retrieve refused.*another tool/);
});

test('anthropic: malformed headroom_retrieve arguments get an error result, the stream goes on', async () => {
  const client = new Anthropic({ apiKey: 'sk-refusal', baseURL: proxy.url, maxRetries: 0 });
  await compressedHash(() => client.messages.create(anthropicParams), (b) => b.messages[2].content[0].content);
  up.script('/v1/messages',
    { sse: [...anthropicEvents().slice(0, 1), ...toolUse(0, 'toolu_m', 'headroom_retrieve', '{"hash": "0123'), ...turnEnd] },
    { sse: anthropicEvents('claude-sonnet-4-5', ['I could not retrieve it.']) });
  const msg = await client.messages.stream(anthropicParams).finalMessage();
  assert.ok(!msg.content.some((b) => b.type === 'tool_use'), 'no tool reaches the client');
  assert.equal(msg.content.map((b) => b.text).join(''), 'I could not retrieve it.');
  const result = JSON.parse(up.requests[1].body).messages.at(-1).content[0];
  assert.equal(result.type, 'tool_result');
  assert.equal(result.tool_use_id, 'toolu_m');
  assert.match(JSON.stringify(result.content), /hash/, 'the model is told what was wrong');
});

test('openai chat: a held headroom_retrieve call over --max-answer-bytes ends in the error event, memory bounded', async () => {
  const client = new OpenAI({ apiKey: 'sk-refusal', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  await compressedHash(() => client.chat.completions.create(chatParams), (b) => b.messages.at(-1).content);
  const base = { id: 'chatcmpl-h', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o' };
  const piece = 'a'.repeat(64 * 1024);
  const sse = [{ data: { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_h', type: 'function', function: { name: 'headroom_retrieve', arguments: '' } }] }, finish_reason: null }] } }];
  for (let i = 0; i < 512; i++) // 32 MB of arguments, 8x the cap
    sse.push({ data: { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, finish_reason: null }] } });
  sse.push({ data: { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] } }, { data: '[DONE]' });
  up.script('/v1/chat/completions', { sse }, { sse: openaiChatChunks('gpt-4o', ['never']) });
  const stream = await client.chat.completions.create({ ...chatParams, stream: true });
  const names = [];
  await assert.rejects((async () => {
    for await (const c of stream) for (const t of c.choices[0]?.delta?.tool_calls ?? []) names.push(t.function?.name);
  })(), (e) => {
    assert.match(String(e.message), /--max-answer-bytes/);
    return true;
  });
  assert.deepEqual(names.filter(Boolean), [], 'the held call never reached the client');
  assert.equal(up.requests.length, 1, 'no continuation round');
  assert.ok(memOf(proxy.proc.pid).hwm < 4 * MB * 3 + 48 * MB, 'the proxy did not hold the 32 MB call');
});
