// ccrwire_tool.test.mjs: the model's way back through the running proxy (docs/ccr.md,
// "Proxy integration"), judged by the official SDK clients. A tool output is compressed
// (its original stored), the proxy offers headroom_retrieve upstream, the fake model calls it
// in round 1 and answers in round 2; the client must see one final answer (no
// headroom_retrieve, usage of both rounds), and round 2 must carry the exact original (or
// the lines a query selects) as the tool result. All three APIs, buffered and streamed.
// The expected tool results are computed here from the fixture (SHA-256 for the hash, the
// lines that contain the query word for a query), not read back from the proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, openaiChatCompletion, anthropicMessage, anthropicEvents, responsesObject } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';

// A CI log: 400 near-identical lines (the log compressor keeps a few), two of them about the
// disk quota, the only lines with the word "quota".
function ciLog() {
  const lines = [];
  for (let i = 0; i < 400; i++) {
    if (i === 137) lines.push(`[job ${i}] step upload: ERROR disk quota exceeded on /var/cache (used 10.2 GiB)`);
    else if (i === 311) lines.push(`[job ${i}] step cleanup: WARN quota at 97% on /var/cache`);
    else lines.push(`[job ${i}] step build: compiled module_${i % 23}.o in ${(i * 7) % 97} ms, cache hit ratio 0.${(i * 13) % 100}`);
  }
  return lines.join('\n');
}

const ORIGINAL = ciLog();
const HASH = crypto.createHash('sha256').update(ORIGINAL).digest('hex').slice(0, 24);
const QUOTA_LINES = ORIGINAL.split('\n').filter((l) => /\bquota\b/i.test(l)).join('\n');
const MARKER = new RegExp(`Retrieve more: hash=${HASH}\\]`);
const KEY_A = 'sk-ccrwire-tenant-a';
const KEY_B = 'sk-ccrwire-tenant-b';

let up, proxy, dataDir;
before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-ccrwire-'));
  up = await startFakeUpstream();
  // Store settings by flags only (step 1): the default sqlite backend in --data-dir.
  proxy = await startProxy({
    openaiUrl: up.url, anthropicUrl: up.url,
    args: ['--data-dir', path.join(dataDir, 'd'), '--ccr-ttl', '600'],
    env: { HEADROOM_DATA_DIR: '', HEADROOM_CCR_BACKEND: '' },
  });
});
after(async () => {
  await proxy?.stop();
  await up?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

// ---- request bodies (a finished client tool call whose output is the CI log) -------------

const CHAT_TOOL = { type: 'function', function: { name: 'run_ci', description: 'runs CI', parameters: { type: 'object', properties: {} } } };
const chatParams = (log = ORIGINAL) => ({
  model: 'gpt-4o', tools: [CHAT_TOOL],
  messages: [
    { role: 'user', content: 'why did CI fail?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'run_ci', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: log },
  ],
});
const ANTHROPIC_TOOL = { name: 'run_ci', description: 'runs CI', input_schema: { type: 'object', properties: {} } };
const messagesParams = (log = ORIGINAL) => ({
  model: 'claude-sonnet-4-5', max_tokens: 256, tools: [ANTHROPIC_TOOL],
  messages: [
    { role: 'user', content: 'why did CI fail?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'run_ci', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: log }] },
  ],
});
const RESPONSES_TOOL = { type: 'function', name: 'run_ci', description: 'runs CI', parameters: { type: 'object', properties: {} }, strict: false };
const responsesParams = (log = ORIGINAL) => ({
  model: 'gpt-4o', tools: [RESPONSES_TOOL],
  input: [
    { role: 'user', content: 'why did CI fail?' },
    { type: 'function_call', call_id: 'c1', name: 'run_ci', arguments: '{}' },
    { type: 'function_call_output', call_id: 'c1', output: log },
  ],
});

const retrieveArgs = (query) => JSON.stringify(query ? { hash: HASH, query } : { hash: HASH });
const sent = (i) => JSON.parse(up.requests[i].body.toString('utf8'));

/** Round 1 was compressed and offered the tool after the client's own. */
function assertOffered(body, toolName) {
  const text = JSON.stringify(body);
  assert.match(text, MARKER, 'the CI log reached the upstream compressed, with its marker');
  assert.ok(!text.includes('quota at 97%') || text.length < ORIGINAL.length, 'the body got smaller');
  assert.deepEqual(body.tools.map(toolName), ['run_ci', 'headroom_retrieve'], 'ours goes after the client\'s tools');
}

const oai = (key = KEY_A) => new OpenAI({ apiKey: key, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
const claude = (key = KEY_A) => new Anthropic({ apiKey: key, baseURL: proxy.url, maxRetries: 0 });

// ---- chat completions ----------------------------------------------------------------------

function chatToolCall(args, usage) {
  const r = openaiChatCompletion('gpt-4o');
  r.choices = [{ index: 0, finish_reason: 'tool_calls', logprobs: null, message: { role: 'assistant', content: null, refusal: null,
    tool_calls: [{ id: 'call_r1', type: 'function', function: { name: 'headroom_retrieve', arguments: args } }] } }];
  r.usage = usage;
  return r;
}

test('chat, buffered: the client gets round 2 only, with usage of both rounds; round 2 holds the exact original', async () => {
  up.reset();
  const final = { ...openaiChatCompletion('gpt-4o', 'The upload step hit the disk quota.'), usage: { prompt_tokens: 300, completion_tokens: 9, total_tokens: 309 } };
  up.script('/v1/chat/completions', { json: chatToolCall(retrieveArgs(), { prompt_tokens: 120, completion_tokens: 20, total_tokens: 140 }) }, { json: final });
  const res = await oai().chat.completions.create(chatParams());
  assert.equal(res.choices[0].message.content, 'The upload step hit the disk quota.');
  assert.ok(!res.choices[0].message.tool_calls?.length, 'no tool call reaches the client');
  assert.ok(!JSON.stringify(res).includes('headroom_retrieve'));
  assert.deepEqual(res.usage, { prompt_tokens: 420, completion_tokens: 29, total_tokens: 449 });
  assert.equal(up.requests.length, 2, 'the proxy continued upstream itself');
  assertOffered(sent(0), (t) => t.function.name);
  const msgs = sent(1).messages;
  assert.deepEqual(msgs.at(-2).tool_calls.map((c) => c.function.name), ['headroom_retrieve'], 'the model\'s turn is in the history');
  assert.deepEqual(msgs.at(-1), { role: 'tool', tool_call_id: 'call_r1', content: ORIGINAL });
  assert.equal(up.requests[1].headers.authorization, `Bearer ${KEY_A}`, 'round 2 carries the client\'s headers');
});

test('chat, streamed: one completion through both rounds, the query selects the quota lines', async () => {
  up.reset();
  const base = { object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };
  const chunk = (id, choices, extra = {}) => ({ data: { id, ...base, choices, ...extra } });
  const round1 = [
    chunk('chatcmpl-r1', [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_s1', type: 'function', function: { name: 'headroom_retrieve', arguments: '' } }] }, finish_reason: null }]),
    chunk('chatcmpl-r1', [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: retrieveArgs('quota') } }] }, finish_reason: null }]),
    chunk('chatcmpl-r1', [{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
    chunk('chatcmpl-r1', [], { usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } }),
    { data: '[DONE]' },
  ];
  const round2 = [
    chunk('chatcmpl-r2', [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
    chunk('chatcmpl-r2', [{ index: 0, delta: { content: 'Disk quota ' }, finish_reason: null }]),
    chunk('chatcmpl-r2', [{ index: 0, delta: { content: 'on /var/cache.' }, finish_reason: null }]),
    chunk('chatcmpl-r2', [{ index: 0, delta: {}, finish_reason: 'stop' }]),
    chunk('chatcmpl-r2', [], { usage: { prompt_tokens: 150, completion_tokens: 5, total_tokens: 155 } }),
    { data: '[DONE]' },
  ];
  up.script('/v1/chat/completions', { sse: round1 }, { sse: round2 });
  const stream = oai().chat.completions.stream({ ...chatParams(), stream_options: { include_usage: true } });
  const done = await stream.finalChatCompletion();
  assert.equal(stream.allChatCompletions().length, 1, 'one completion, not two');
  assert.equal(done.id, 'chatcmpl-r1', 'the first round\'s id is kept');
  assert.equal(done.choices[0].message.content, 'Disk quota on /var/cache.');
  assert.equal(done.choices[0].finish_reason, 'stop');
  assert.ok(!done.choices[0].message.tool_calls?.length, 'no headroom_retrieve reaches the client');
  assert.deepEqual(done.usage, { prompt_tokens: 250, completion_tokens: 25, total_tokens: 275 });
  assert.equal(up.requests.length, 2);
  assertOffered(sent(0), (t) => t.function.name);
  assert.equal(sent(1).stream, true, 'the continuation is streamed too');
  assert.deepEqual(sent(1).messages.at(-1), { role: 'tool', tool_call_id: 'call_s1', content: QUOTA_LINES });
});

test('chat, streamed: a continuation whose last event lacks the closing blank line still counts', async () => {
  up.reset();
  const base = { id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };
  const round1 = [
    { data: { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_t', type: 'function', function: { name: 'headroom_retrieve', arguments: retrieveArgs() } }] }, finish_reason: null }] } },
    { data: { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] } },
    { data: { ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } } },
    { data: '[DONE]' },
  ];
  const round2 = [
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }] })}\n\n`,
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
    `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 20, completion_tokens: 3, total_tokens: 23 } })}`,
  ].join('');
  up.script('/v1/chat/completions', { sse: round1 }, { headers: { 'content-type': 'text/event-stream' }, body: round2 });
  const stream = oai().chat.completions.stream({ ...chatParams(), stream_options: { include_usage: true } });
  const done = await stream.finalChatCompletion();
  assert.equal(done.choices[0].message.content, 'ok');
  assert.deepEqual(done.usage, { prompt_tokens: 30, completion_tokens: 5, total_tokens: 35 });
});

test('chat, buffered: two retrieve rounds in a row, then the answer; usage sums all three rounds', async () => {
  up.reset();
  const u = (n) => ({ prompt_tokens: n, completion_tokens: 1, total_tokens: n + 1 });
  up.script('/v1/chat/completions', { json: chatToolCall(retrieveArgs('quota'), u(100)) }, { json: chatToolCall(retrieveArgs(), u(200)) },
    { json: { ...openaiChatCompletion('gpt-4o', 'done'), usage: u(300) } });
  const res = await oai().chat.completions.create(chatParams());
  assert.equal(res.choices[0].message.content, 'done');
  assert.deepEqual(res.usage, { prompt_tokens: 600, completion_tokens: 3, total_tokens: 603 });
  assert.equal(up.requests.length, 3);
  const results = sent(2).messages.filter((m) => m.role === 'tool').slice(-2).map((m) => m.content);
  assert.deepEqual(results, [QUOTA_LINES, ORIGINAL], 'both answers in the third request, in order');
});

test('a client that goes away while the continuation is pending closes the upstream transfer', async () => {
  up.reset();
  const round1 = anthropicEvents().slice(0, 1).concat([
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_h', name: 'headroom_retrieve', input: {} } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: retrieveArgs() } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]);
  up.script('/v1/messages', { sse: round1 }, { hang: true });
  const ac = new AbortController();
  const res = await postRaw('/v1/messages', JSON.stringify({ ...messagesParams(), stream: true }), KEY_A, ac.signal);
  const reader = res.body.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /message_start/, 'round 1 is relayed at once');
  await up.waitForRequests(2);
  ac.abort();
  for (let i = 0; i < 100 && !up.requests[1].closed; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(up.requests[1].closed, 'the pending continuation was abandoned');
});

// ---- anthropic messages --------------------------------------------------------------------

test('messages, buffered: the query selects the quota lines; usage sums both rounds', async () => {
  up.reset();
  const call = { ...anthropicMessage('claude-sonnet-4-5'), content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_r1', name: 'headroom_retrieve', input: { hash: HASH, query: 'quota' } }],
    stop_reason: 'tool_use', usage: { input_tokens: 200, output_tokens: 30 } };
  const final = { ...anthropicMessage('claude-sonnet-4-5', 'The disk quota on /var/cache ran out.'), usage: { input_tokens: 260, output_tokens: 12 } };
  up.script('/v1/messages', { json: call }, { json: final });
  const msg = await claude().messages.create(messagesParams());
  assert.deepEqual(msg.content, [{ type: 'text', text: 'The disk quota on /var/cache ran out.' }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.usage.input_tokens, 460);
  assert.equal(msg.usage.output_tokens, 42);
  assert.equal(up.requests.length, 2);
  assertOffered(sent(0), (t) => t.name);
  const m = sent(1).messages;
  assert.deepEqual(m.at(-2), { role: 'assistant', content: call.content });
  assert.deepEqual(m.at(-1), { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_r1', content: QUOTA_LINES }] });
  assert.equal(up.requests[1].headers['x-api-key'], KEY_A);
});

test('messages, streamed: one message with the text of both rounds and the exact original upstream', async () => {
  up.reset();
  const args = retrieveArgs();
  const round1 = anthropicEvents().slice(0, 1).concat([
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me look.' } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_s1', name: 'headroom_retrieve', input: {} } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(0, 9) } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(9) } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]);
  up.script('/v1/messages', { sse: round1 }, { sse: anthropicEvents('claude-sonnet-4-5', [' Job 137', ' hit the quota.']) });
  const msg = await claude().messages.stream(messagesParams()).finalMessage();
  assert.equal(msg.id, 'msg_fake123');
  assert.deepEqual(msg.content.map((b) => [b.type, b.text]), [['text', 'Let me look.'], ['text', ' Job 137 hit the quota.']]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.usage.output_tokens, 29, 'output tokens of both rounds (20 + 9)');
  assert.equal(up.requests.length, 2);
  assertOffered(sent(0), (t) => t.name);
  assert.deepEqual(sent(1).messages.at(-1).content, [{ type: 'tool_result', tool_use_id: 'toolu_s1', content: ORIGINAL }]);
});

// ---- responses -----------------------------------------------------------------------------

const fnCall = (id, args) => ({ type: 'function_call', id: `fc_${id}`, call_id: `call_${id}`, name: 'headroom_retrieve', arguments: args, status: 'completed' });

test('responses, buffered: the final response only, exact original as function_call_output', async () => {
  up.reset();
  const call = { ...responsesObject('gpt-4o'), id: 'resp_r1', output: [fnCall('b1', retrieveArgs())], usage: { input_tokens: 90, output_tokens: 15, total_tokens: 105 } };
  const final = { ...responsesObject('gpt-4o'), usage: { input_tokens: 200, output_tokens: 3, total_tokens: 203 } };
  up.script('/v1/responses', { json: call }, { json: final });
  const res = await oai().responses.create(responsesParams());
  assert.equal(res.output_text, 'Hi.');
  assert.deepEqual(res.output.map((o) => o.type), ['message']);
  assert.deepEqual(res.usage, { input_tokens: 290, output_tokens: 18, total_tokens: 308 });
  assert.equal(up.requests.length, 2);
  assertOffered(sent(0), (t) => t.name);
  const input = sent(1).input;
  assert.equal(input.at(-2).call_id, 'call_b1');
  assert.deepEqual(input.at(-1), { type: 'function_call_output', call_id: 'call_b1', output: ORIGINAL });
});

test('responses, streamed: one response across both rounds, query applied', async () => {
  up.reset();
  const call = fnCall('s1', retrieveArgs('quota'));
  const message = { type: 'message', id: 'msg_9', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'The quota ran out.', annotations: [] }] };
  const resp = (id, status, output, usage) => ({ id, object: 'response', created_at: 1, status, model: 'gpt-4o', output, usage });
  const ev = (type, seq, rest) => ({ event: type, data: { type, sequence_number: seq, ...rest } });
  const round1 = [
    ev('response.created', 0, { response: resp('resp_s1', 'in_progress', [], null) }),
    ev('response.output_item.added', 1, { output_index: 0, item: { ...call, arguments: '', status: 'in_progress' } }),
    ev('response.function_call_arguments.delta', 2, { output_index: 0, item_id: call.id, delta: call.arguments }),
    ev('response.output_item.done', 3, { output_index: 0, item: call }),
    ev('response.completed', 4, { response: resp('resp_s1', 'completed', [call], { input_tokens: 100, output_tokens: 20, total_tokens: 120 }) }),
  ];
  const round2 = [
    ev('response.created', 0, { response: resp('resp_s2', 'in_progress', [], null) }),
    ev('response.output_item.added', 1, { output_index: 0, item: { ...message, status: 'in_progress', content: [] } }),
    ev('response.content_part.added', 2, { output_index: 0, item_id: 'msg_9', content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
    ev('response.output_text.delta', 3, { output_index: 0, item_id: 'msg_9', content_index: 0, delta: 'The quota ran out.' }),
    ev('response.output_item.done', 4, { output_index: 0, item: message }),
    ev('response.completed', 5, { response: resp('resp_s2', 'completed', [message], { input_tokens: 150, output_tokens: 10, total_tokens: 160 }) }),
  ];
  up.script('/v1/responses', { sse: round1 }, { sse: round2 });
  const stream = oai().responses.stream(responsesParams());
  const seen = [];
  stream.on('event', (e) => seen.push(e));
  const final = await stream.finalResponse();
  assert.equal(final.id, 'resp_s1');
  assert.deepEqual(final.output.map((o) => o.type), ['message']);
  assert.equal(final.output[0].content[0].text, 'The quota ran out.');
  assert.deepEqual(final.usage, { input_tokens: 250, output_tokens: 30, total_tokens: 280 });
  assert.equal(seen.filter((e) => e.type === 'response.created').length, 1, 'one response.created');
  const seq = seen.map((e) => e.sequence_number);
  assert.deepEqual(seq, [...seq].sort((a, b) => a - b), 'sequence numbers keep increasing');
  assert.ok(!seen.some((e) => JSON.stringify(e).includes('headroom_retrieve')), 'no event names the tool');
  assert.equal(up.requests.length, 2);
  assert.deepEqual(sent(1).input.at(-1), { type: 'function_call_output', call_id: 'call_s1', output: QUOTA_LINES });
});

// ---- tenants, determinism, when the tool is not offered ------------------------------------

test('another tenant gets "not found" inside the tool result, never the original', async () => {
  up.reset();
  await oai(KEY_A).chat.completions.create(chatParams()); // tenant A stores the original
  const compressed = sent(0).messages.at(-1).content;
  assert.match(compressed, MARKER);
  up.reset();
  up.script('/v1/chat/completions', { json: chatToolCall(retrieveArgs(), { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }) },
    { json: openaiChatCompletion('gpt-4o', 'I cannot see the log.') });
  // Tenant B replays A's compressed history (marker included) and its model asks for A's hash.
  const res = await oai(KEY_B).chat.completions.create(chatParams(compressed));
  assert.equal(res.choices[0].message.content, 'I cannot see the log.');
  assert.deepEqual(sent(0).tools.map((t) => t.function.name), ['run_ci', 'headroom_retrieve'], 'a marker in history offers the tool');
  const result = sent(1).messages.at(-1);
  assert.equal(result.role, 'tool');
  assert.match(result.content, new RegExp(`no original stored for hash=${HASH}`));
  assert.ok(!result.content.includes('quota'), 'nothing of the original leaks to tenant B');
});

// Exact client bytes (the SDKs pretty-print their bodies): tools first, so everything up to
// the end of the tools array is comparable byte for byte.
const rawBodies = {
  '/v1/chat/completions': `{"model":"gpt-4o","tools":[${JSON.stringify(CHAT_TOOL)}],"messages":${JSON.stringify(chatParams().messages)}}`,
  '/v1/messages': `{"model":"claude-sonnet-4-5","max_tokens":256,"tools":[${JSON.stringify(ANTHROPIC_TOOL)}],"messages":${JSON.stringify(messagesParams().messages)}}`,
  '/v1/responses': `{"model":"gpt-4o","tools":[${JSON.stringify(RESPONSES_TOOL)}],"input":${JSON.stringify(responsesParams().input)}}`,
};
const postRaw = (route, body, key = KEY_A, signal = undefined) => fetch(`${proxy.url}${route}`, {
  method: 'POST', body, signal,
  headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-api-key': key, 'anthropic-version': '2023-06-01' },
});

test('the offered tool is appended after the client\'s tools, every other byte kept, identical across identical requests', async () => {
  for (const [route, body] of Object.entries(rawBodies)) {
    up.reset();
    for (let i = 0; i < 2; i++) assert.equal((await postRaw(route, body)).status, 200);
    assert.equal(up.requests.length, 2);
    assert.ok(up.requests[0].body.equals(up.requests[1].body), `${route}: the forwarded body is byte-identical`);
    const got = up.requests[0].body.toString('utf8');
    const clientTools = body.slice(0, body.indexOf(']'));           // ... "tools":[<client tool>
    assert.ok(got.startsWith(clientTools + ',{'), `${route}: the client's bytes, then ours`);
    const ours = JSON.parse(got.slice(clientTools.length + 1, got.indexOf('],', clientTools.length)));
    assert.equal(ours.name ?? ours.function.name, 'headroom_retrieve');
    assert.match(got, MARKER);
  }
});

test('no marker, no tool: small requests are forwarded byte for byte', async () => {
  up.reset();
  const body = '{"model":"gpt-4o", "messages":[{"role":"user","content":"hello"}]}';
  assert.equal((await postRaw('/v1/chat/completions', body)).status, 200);
  assert.equal(up.requests[0].body.toString('utf8'), body);
});

test('a model turn that mixes in a client tool is returned to the client untouched', async () => {
  up.reset();
  const r = chatToolCall(retrieveArgs(), { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
  r.choices[0].message.tool_calls.push({ id: 'call_c', type: 'function', function: { name: 'run_ci', arguments: '{}' } });
  up.script('/v1/chat/completions', { json: r });
  const res = await oai().chat.completions.create(chatParams());
  assert.equal(up.requests.length, 1, 'no extra round');
  assert.deepEqual(res.choices[0].message.tool_calls.map((c) => c.function.name), ['headroom_retrieve', 'run_ci']);
});

test('a client that defines headroom_retrieve itself keeps it: no second definition, its calls reach the client', async () => {
  up.reset();
  const own = { type: 'function', function: { name: 'headroom_retrieve', description: 'the client\'s own', parameters: { type: 'object', properties: {} } } };
  up.script('/v1/chat/completions', { json: chatToolCall(retrieveArgs(), { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }) });
  const res = await oai().chat.completions.create({ ...chatParams(), tools: [CHAT_TOOL, own] });
  assert.equal(up.requests.length, 1, 'the proxy does not answer a tool it did not offer');
  assert.deepEqual(sent(0).tools, [CHAT_TOOL, own], 'the client\'s tools, unchanged');
  assert.equal(res.choices[0].message.tool_calls[0].function.name, 'headroom_retrieve');
});

test('a failing continuation reaches the client as the provider\'s error (buffered and streamed)', async () => {
  up.reset();
  up.script('/v1/chat/completions', { json: chatToolCall(retrieveArgs(), { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }) },
    { status: 400, json: { error: { message: 'context too long', type: 'invalid_request_error', code: null, param: null } } });
  await assert.rejects(oai().chat.completions.create(chatParams()), (e) => e.status === 400 && /context too long/.test(e.message));
  up.reset();
  const round1 = anthropicEvents().slice(0, 1).concat([
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_f', name: 'headroom_retrieve', input: {} } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: retrieveArgs() } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]);
  up.script('/v1/messages', { sse: round1 }, { status: 429, json: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } } });
  await assert.rejects(claude().messages.stream(messagesParams()).finalMessage(), /headroom: the upstream answered 429/);
  // chat: a data-only error chunk; responses: an error event. Both SDKs raise them.
  up.reset();
  const c = { id: 'chatcmpl-f', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };
  up.script('/v1/chat/completions', { sse: [
    { data: { ...c, choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_f', type: 'function', function: { name: 'headroom_retrieve', arguments: retrieveArgs() } }] }, finish_reason: null }] } },
    { data: { ...c, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] } },
    { data: '[DONE]' },
  ] }, { status: 403, json: { error: { message: 'no', type: 'permission_error' } } });
  await assert.rejects(oai().chat.completions.stream(chatParams()).finalChatCompletion(), /headroom: the upstream answered 403/);
  up.reset();
  const call = fnCall('f1', retrieveArgs());
  const resp = (output) => ({ id: 'resp_f', object: 'response', created_at: 1, status: 'completed', model: 'gpt-4o', output, usage: null });
  up.script('/v1/responses', { sse: [
    { event: 'response.created', data: { type: 'response.created', sequence_number: 0, response: { ...resp([]), status: 'in_progress' } } },
    { event: 'response.output_item.added', data: { type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: call } },
    { event: 'response.output_item.done', data: { type: 'response.output_item.done', sequence_number: 2, output_index: 0, item: call } },
    { event: 'response.completed', data: { type: 'response.completed', sequence_number: 3, response: resp([call]) } },
  ] }, { status: 400, json: { error: { message: 'bad', type: 'invalid_request_error' } } });
  // openai v5 rejects with the stream's error event object itself (not an Error instance)
  await assert.rejects(oai().responses.stream(responsesParams()).finalResponse(),
    (e) => /headroom: the upstream answered 400/.test(e.message));
});

// ---- start-up: flags ------------------------------------------------------------------------

test('the store flags are honoured: sqlite file in --data-dir, mode 0600; --help lists them', async () => {
  const st = fs.statSync(path.join(dataDir, 'd', 'ccr.sqlite3'));
  assert.equal(st.mode & 0o777, 0o600);
  const stats = await (await fetch(`${proxy.url}/v1/retrieve/stats`)).json();
  assert.equal(stats.backend, 'sqlite');
  assert.ok(stats.puts >= 1);
  const { execFileSync } = await import('node:child_process');
  const { HEADROOM_BIN } = await import('./lib/proxy.mjs');
  const help = execFileSync(HEADROOM_BIN, ['proxy', '--help']).toString();
  for (const f of ['--ccr-backend', '--ccr-ttl', '--ccr-max-bytes', '--data-dir', '--redis-url', 'HEADROOM_CCR_BACKEND', 'HEADROOM_REDIS_URL'])
    assert.ok(help.includes(f), `--help mentions ${f}`);
  assert.throws(() => execFileSync(HEADROOM_BIN, ['proxy', '--port', '0', '--ccr-backend', 'nosuch'], { stdio: 'pipe' }),
    (e) => e.status === 2 && /unknown CCR backend/.test(e.stderr.toString()));
  assert.throws(() => execFileSync(HEADROOM_BIN, ['proxy', '--port', '0', '--ccr-backend', 'redis', '--redis-url', 'http://x'], { stdio: 'pipe' }),
    (e) => e.status === 1 && /cannot open the CCR store/.test(e.stderr.toString()));
});

test('after all of the above the proxy drains and exits 0, without a sanitizer report', async () => {
  const resolved = proxy.logs().split('\n').filter((l) => l.includes('headroom_retrieve answered'));
  assert.ok(resolved.some((l) => /mode=buffered/.test(l)) && resolved.some((l) => /mode=stream continuation=started/.test(l)),
    'each resolution is logged');
  assert.ok(!resolved.some((l) => l.includes(KEY_A) || l.includes(KEY_B)), 'never a credential in the log');
  const code = await proxy.stop();
  assert.equal(code, 0);
  assert.doesNotMatch(proxy.logs(), /Sanitizer|runtime error:/);
});
