// ccr_stream_sdk.test.mjs: the client side of streaming resolution, judged by the real SDK
// stream parsers. Upstream streams in each provider's wire format (round 1 ends in a
// headroom_retrieve call, round 2 answers) go through hr_ccr_stream (driver mode of
// test_ccr_stream); the bytes a client would receive are served to the official
// @anthropic-ai/sdk / openai stream helpers, whose final message must be one coherent
// answer: text of both rounds, no headroom_retrieve, usage over both rounds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const DRIVER = path.join(process.env.HEADROOM_BUILD_DIR || 'build', 'test_ccr_stream');
const ORIGINAL = 'job 1 ok\njob 2 failed: disk quota exceeded on /var\njob 3 ok\n';
const HASH = crypto.createHash('sha256').update(ORIGINAL).digest('hex').slice(0, 24);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-stream-sdk-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const sse = (events) => events.map(([name, data]) =>
  (name ? `event: ${name}\n` : '') + `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`).join('');

function relay(api, round1, round2) {
  const f = (n, s) => { const p = path.join(dir, `${api}-${n}`); fs.writeFileSync(p, s); return p; };
  const followup = path.join(dir, `${api}-followup.json`);
  const out = execFileSync(DRIVER, ['--relay', api, f('r1', round1), f('r2', round2), f('orig', ORIGINAL), followup]);
  return { client: out.toString('utf8'), followup: JSON.parse(fs.readFileSync(followup, 'utf8')) };
}

async function serve(body) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(body);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

test('Anthropic: MessageStream sees one message with both rounds', async () => {
  const args = JSON.stringify({ hash: HASH, query: 'disk' });
  const r1 = sse([
    ['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 400, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me check the log.' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'headroom_retrieve', input: {} } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(0, 20) } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(20) } }],
    ['content_block_stop', { type: 'content_block_stop', index: 1 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 30 } }],
    ['message_stop', { type: 'message_stop' }],
  ]);
  const r2 = sse([
    ['message_start', { type: 'message_start', message: { id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 480, output_tokens: 1 } } }],
    ['ping', { type: 'ping' }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' Job 2 ran out of disk quota.' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 12 } }],
    ['message_stop', { type: 'message_stop' }],
  ]);
  const { client, followup } = relay('anthropic', r1, r2);
  const result = followup.messages.at(-1).content[0];
  assert.deepEqual([result.type, result.tool_use_id, result.content], ['tool_result', 'toolu_1', 'job 2 failed: disk quota exceeded on /var']);
  const server = await serve(client);
  try {
    const sdk = new Anthropic({ apiKey: 'k', baseURL: server.url, maxRetries: 0 });
    const stream = sdk.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'q' }] });
    const msg = await stream.finalMessage();
    assert.equal(msg.id, 'msg_1');
    assert.deepEqual(msg.content.map((c) => [c.type, c.text]), [['text', 'Let me check the log.'], ['text', ' Job 2 ran out of disk quota.']]);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.usage.output_tokens, 42);
  } finally {
    await server.close();
  }
});

test('OpenAI chat: ChatCompletionStream sees one completion with summed usage', async () => {
  const base = { object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };
  const args = JSON.stringify({ hash: HASH, query: 'disk' });
  const r1 = sse([
    [null, { id: 'chatcmpl-1', ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'headroom_retrieve', arguments: '' } }] }, finish_reason: null }] }],
    [null, { id: 'chatcmpl-1', ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: args } }] }, finish_reason: null }] }],
    [null, { id: 'chatcmpl-1', ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }],
    [null, { id: 'chatcmpl-1', ...base, choices: [], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } }],
    [null, '[DONE]'],
  ]);
  const r2 = sse([
    [null, { id: 'chatcmpl-2', ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }],
    [null, { id: 'chatcmpl-2', ...base, choices: [{ index: 0, delta: { content: 'Job 2: disk quota.' }, finish_reason: null }] }],
    [null, { id: 'chatcmpl-2', ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }],
    [null, { id: 'chatcmpl-2', ...base, choices: [], usage: { prompt_tokens: 150, completion_tokens: 5, total_tokens: 155 } }],
    [null, '[DONE]'],
  ]);
  const { client, followup } = relay('chat', r1, r2);
  assert.deepEqual(followup.messages.at(-1), { role: 'tool', tool_call_id: 'call_1', content: 'job 2 failed: disk quota exceeded on /var' });
  const server = await serve(client);
  try {
    const sdk = new OpenAI({ apiKey: 'k', baseURL: server.url, maxRetries: 0 });
    const stream = sdk.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'q' }], stream_options: { include_usage: true } });
    const done = await stream.finalChatCompletion();
    assert.equal(stream.allChatCompletions().length, 1, 'one completion, not two');
    assert.equal(done.id, 'chatcmpl-1');
    assert.equal(done.choices[0].message.content, 'Job 2: disk quota.');
    assert.equal(done.choices[0].finish_reason, 'stop');
    assert.ok(!done.choices[0].message.tool_calls?.length, 'no headroom_retrieve call reaches the client');
    assert.deepEqual(done.usage, { prompt_tokens: 250, completion_tokens: 25, total_tokens: 275 });
  } finally {
    await server.close();
  }
});

test('OpenAI Responses: ResponseStream sees one response with both rounds', async () => {
  const reasoning = { type: 'reasoning', id: 'rs_1', summary: [] };
  const call = { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'headroom_retrieve', arguments: JSON.stringify({ hash: HASH }), status: 'completed' };
  const message = { type: 'message', id: 'msg_9', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Job 2 hit the disk quota.', annotations: [] }] };
  const resp = (id, status, output, usage) => ({ id, object: 'response', created_at: 1, status, model: 'gpt-4o', output, usage });
  const r1 = sse([
    ['response.created', { type: 'response.created', sequence_number: 0, response: resp('resp_1', 'in_progress', [], null) }],
    ['response.in_progress', { type: 'response.in_progress', sequence_number: 1, response: resp('resp_1', 'in_progress', [], null) }],
    ['response.output_item.added', { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: reasoning }],
    ['response.output_item.done', { type: 'response.output_item.done', sequence_number: 3, output_index: 0, item: reasoning }],
    ['response.output_item.added', { type: 'response.output_item.added', sequence_number: 4, output_index: 1, item: { ...call, arguments: '', status: 'in_progress' } }],
    ['response.function_call_arguments.delta', { type: 'response.function_call_arguments.delta', sequence_number: 5, output_index: 1, item_id: 'fc_1', delta: call.arguments }],
    ['response.output_item.done', { type: 'response.output_item.done', sequence_number: 6, output_index: 1, item: call }],
    ['response.completed', { type: 'response.completed', sequence_number: 7, response: resp('resp_1', 'completed', [reasoning, call], { input_tokens: 100, output_tokens: 20, total_tokens: 120 }) }],
  ]);
  const r2 = sse([
    ['response.created', { type: 'response.created', sequence_number: 0, response: resp('resp_2', 'in_progress', [], null) }],
    ['response.output_item.added', { type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { ...message, status: 'in_progress', content: [] } }],
    ['response.content_part.added', { type: 'response.content_part.added', sequence_number: 2, output_index: 0, item_id: 'msg_9', content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }],
    ['response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 3, output_index: 0, item_id: 'msg_9', content_index: 0, delta: 'Job 2 hit the disk quota.' }],
    ['response.output_item.done', { type: 'response.output_item.done', sequence_number: 4, output_index: 0, item: message }],
    ['response.completed', { type: 'response.completed', sequence_number: 5, response: resp('resp_2', 'completed', [message], { input_tokens: 150, output_tokens: 10, total_tokens: 160 }) }],
  ]);
  const { client, followup } = relay('responses', r1, r2);
  assert.deepEqual(followup.input.at(-1), { type: 'function_call_output', call_id: 'call_1', output: ORIGINAL });
  const server = await serve(client);
  try {
    const sdk = new OpenAI({ apiKey: 'k', baseURL: server.url, maxRetries: 0 });
    const stream = sdk.responses.stream({ model: 'gpt-4o', input: 'q' });
    const seen = [];
    stream.on('event', (e) => seen.push(e.sequence_number));
    const final = await stream.finalResponse();
    assert.equal(final.id, 'resp_1');
    assert.deepEqual(final.output.map((o) => o.type), ['reasoning', 'message']);
    assert.equal(final.output[1].content[0].text, 'Job 2 hit the disk quota.');
    assert.deepEqual(final.usage, { input_tokens: 250, output_tokens: 30, total_tokens: 280 });
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), 'sequence numbers keep increasing');
    assert.ok(!client.includes('headroom_retrieve'));
  } finally {
    await server.close();
  }
});
