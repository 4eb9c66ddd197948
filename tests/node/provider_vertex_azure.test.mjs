// provider_vertex_azure.test.mjs: Vertex AI and Azure OpenAI through the real binary with
// their official clients against fakes that record what arrives.
//   Vertex, Anthropic models: @anthropic-ai/vertex-sdk (baseURL at the proxy, an auth client
//     handing out a Google access token): rawPredict / streamRawPredict with the Anthropic
//     body shape, the bearer token passed through, tool_result compressed, and the
//     headroom_retrieve tool answered as on /v1/messages.
//   Vertex, Google models: @google/genai with vertexai: true, the same Gemini row.
//   Azure OpenAI: openai's AzureOpenAI (deployment paths, api-version, api-key header) and
//     the /openai/v1 form, compressed like OpenAI chat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI, { AzureOpenAI } from 'openai';
import { startFakeUpstream, anthropicMessage, anthropicEvents, openaiChatCompletion, openaiChatChunks } from './lib/fake_upstream.mjs';
import { geminiResponse, GEMINI_USAGE } from './lib/fake_google.mjs';
import { startProxy, requestLogLines, waitForLogs } from './lib/proxy.mjs';
import * as fx from './lib/e2e_fixtures.mjs';

let up, proxy, dataDir;
before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-vertex-azure-'));
  up = await startFakeUpstream();
  proxy = await startProxy({ args: ['--vertex-api-url', up.url, '--azure-api-url', up.url], env: { HEADROOM_DATA_DIR: dataDir } });
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  await up?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const TOKEN = 'ya29.test-access-token';
const LOG = fx.pytestLog(500, 21).text;
const ROWS = fx.dbRows(200, 22).text;

function vertexClient(headers = {}) {
  const authClient = { projectId: 'proj-1', getRequestHeaders: async () => new Headers({ authorization: `Bearer ${TOKEN}` }) };
  return new AnthropicVertex({ baseURL: `${proxy.url}/v1`, region: 'us-east5', projectId: 'proj-1', authClient, maxRetries: 0, defaultHeaders: headers });
}

const VERTEX_BASE = '/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5';

function anthropicParams() {
  return {
    model: 'claude-sonnet-4-5', max_tokens: 256, system: 'Be brief. '.repeat(80),
    messages: [
      { role: 'user', content: 'which tests failed? ' + 'detail '.repeat(90) },
      { role: 'assistant', content: [{ type: 'text', text: 'Running them. '.repeat(50) }, { type: 'tool_use', id: 'toolu_1', name: 'pytest', input: { args: '-q ' + 'x'.repeat(600) } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: LOG }] },
    ],
  };
}

/** What the client sends for the same call, forwarded byte for byte (x-headroom-bypass). */
async function bypassBody(call, pathname, reply) {
  up.reset();
  up.script(pathname, reply);
  await call();
  const r = up.requests.find((q) => q.path === pathname);
  assert.ok(r, `the bypassed request reached ${pathname}`);
  const body = r.body;
  up.reset();
  return body;
}

test('vertex rawPredict: Anthropic body shape, bearer passed, tool_result compressed, the rest byte-identical', async () => {
  const sent = await bypassBody(() => vertexClient({ 'x-headroom-bypass': 'true' }).messages.create(anthropicParams()), `${VERTEX_BASE}:rawPredict`, { json: anthropicMessage() });
  up.script(`${VERTEX_BASE}:rawPredict`, { json: anthropicMessage('claude-sonnet-4-5', 'Tests 211 and 498 failed.') });
  const res = await vertexClient().messages.create(anthropicParams());
  assert.equal(res.content[0].text, 'Tests 211 and 498 failed.');
  const got = up.requests[0];
  assert.equal(got.path, `${VERTEX_BASE}:rawPredict`);
  assert.equal(got.headers.authorization, `Bearer ${TOKEN}`, 'Google bearer auth passes through');
  const fwd = JSON.parse(got.body);
  assert.equal(typeof fwd.anthropic_version, 'string', 'the Vertex body shape: anthropic_version in the body');
  assert.equal(fwd.model, undefined);
  const { replaced, injected } = fx.assertOnlyToolOutputsChanged(sent, got.body, [LOG]);
  assert.equal(replaced, 1);
  assert.ok(injected, 'headroom_retrieve offered beside the marker');
  const line = requestLogLines(await waitForLogs(proxy, (t) => / route=raw_predict /.test(t))).find((l) => l.route === 'raw_predict');
  assert.equal(line.provider, 'vertex');
  assert.equal(line.model, 'claude-sonnet-4-5');
  assert.equal(Number(line.input_tokens), 31);
});

test('vertex streamRawPredict: relayed as Anthropic SSE', async () => {
  up.reset();
  up.script(`${VERTEX_BASE}:streamRawPredict`, { sse: anthropicEvents('claude-sonnet-4-5', ['Two ', 'failed.']), intervalMs: 10 });
  const stream = vertexClient().messages.stream(anthropicParams());
  const text = await stream.finalText();
  assert.equal(text, 'Two failed.');
  assert.equal(up.requests[0].path, `${VERTEX_BASE}:streamRawPredict`);
  const fwd = JSON.parse(up.requests[0].body);
  assert.equal(fwd.stream, true);
  assert.ok(fx.markersIn(fwd.messages[2].content[0].content).length >= 1, 'compressed in the stream request too');
});

test('vertex: headroom_retrieve called by the model is answered by the proxy', async () => {
  up.reset();
  up.script(`${VERTEX_BASE}:rawPredict`, { json: anthropicMessage() });
  await vertexClient().messages.create(anthropicParams());
  const hash = fx.markersIn(JSON.parse(up.requests[0].body).messages[2].content[0].content)[0].hash;
  up.reset();
  up.script(`${VERTEX_BASE}:rawPredict`,
    { json: { ...anthropicMessage(), stop_reason: 'tool_use', content: [{ type: 'tool_use', id: 'toolu_r', name: 'headroom_retrieve', input: { hash, query: 'FAILED' } }] } },
    { json: anthropicMessage('claude-sonnet-4-5', 'Tests 211 and 498 failed.') });
  const res = await vertexClient().messages.create(anthropicParams());
  assert.equal(res.content[0].text, 'Tests 211 and 498 failed.', 'the client sees only the final answer');
  assert.equal(up.requests.length, 2, 'the proxy continued upstream on the same Vertex path');
  assert.equal(up.requests[1].path, `${VERTEX_BASE}:rawPredict`);
  assert.equal(up.requests[1].headers.authorization, `Bearer ${TOKEN}`);
  const last = JSON.parse(up.requests[1].body).messages.at(-1).content[0];
  assert.equal(last.type, 'tool_result');
  assert.ok(JSON.stringify(last.content).includes('FAILED'), 'the retrieved lines went back to the model');
  assert.equal(res.usage.input_tokens, 62, 'usage summed over both rounds');
});

test('vertex errors: the proxy\'s own in Anthropic shape on rawPredict', async () => {
  up.reset();
  const r = await fetch(`${proxy.url}${VERTEX_BASE}:rawPredict`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '[1,2' });
  assert.equal(r.status, 400);
  const j = await r.json();
  assert.equal(j.type, 'error');
  assert.equal(j.error.type, 'invalid_request_error');
  assert.equal(up.requests.length, 0);
});

test('vertex, Google models: @google/genai with vertexai goes through the Gemini row', async () => {
  // genai 1.0.0 iterates the auth headers as a plain object: an auth client that hands
  // out the access token that way (no Google login in a test)
  const auth = { getRequestHeaders: async () => ({ Authorization: `Bearer ${TOKEN}` }) };
  const mk = (headers = {}) => new GoogleGenAI({ vertexai: true, project: 'proj-1', location: 'europe-west4', googleAuthOptions: { authClient: auth }, httpOptions: { baseUrl: proxy.url, headers } });
  const p = '/v1beta1/projects/proj-1/locations/europe-west4/publishers/google/models/gemini-2.0-flash:generateContent';
  const params = { model: 'gemini-2.0-flash', contents: [{ role: 'user', parts: [{ text: 'why?' }] }, { role: 'model', parts: [{ functionCall: { name: 'q', args: {} } }] }, { role: 'user', parts: [{ functionResponse: { name: 'q', response: { output: ROWS } } }] }] };
  const sent = await bypassBody(() => mk({ 'x-headroom-bypass': 'true' }).models.generateContent(params), p, { json: geminiResponse() });
  up.script(p, { json: geminiResponse('ok') });
  const res = await mk().models.generateContent(params);
  assert.equal(res.text, 'ok');
  assert.deepEqual(res.usageMetadata, GEMINI_USAGE);
  const got = up.requests[0];
  assert.equal(got.path, p);
  assert.equal(got.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(fx.assertOnlyToolOutputsChanged(sent, got.body, [ROWS]).replaced, 1);
});

test('azure: deployment path, api-version and api-key pass through; tool outputs compressed as OpenAI', async () => {
  const mk = (headers) => new AzureOpenAI({ endpoint: proxy.url, apiKey: 'azure-key-1', apiVersion: '2024-10-21', deployment: 'gpt4o-prod', maxRetries: 0, defaultHeaders: headers });
  const params = {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'Be precise. '.repeat(60) },
      { role: 'user', content: 'why is transaction 480031 missing? ' + 'ctx '.repeat(100) },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'db', arguments: '{"q":"' + 'y'.repeat(600) + '"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: ROWS },
    ],
  };
  const p = '/openai/deployments/gpt4o-prod/chat/completions';
  const sent = await bypassBody(() => mk({ 'x-headroom-bypass': 'true' }).chat.completions.create(params), p, { json: openaiChatCompletion() });
  up.script(p, { json: openaiChatCompletion('gpt-4o', 'It was filtered.') });
  const res = await mk({}).chat.completions.create(params);
  assert.equal(res.choices[0].message.content, 'It was filtered.');
  const got = up.requests[0];
  assert.equal(got.path, p);
  assert.match(got.url, /\?api-version=2024-10-21$/);
  assert.equal(got.headers['api-key'], 'azure-key-1');
  const { replaced, injected } = fx.assertOnlyToolOutputsChanged(sent, got.body, [ROWS]);
  assert.equal(replaced, 1);
  assert.ok(injected);
  const line = requestLogLines(await waitForLogs(proxy, (t) => / route=azure_chat_completions /.test(t))).find((l) => l.route === 'azure_chat_completions');
  assert.equal(line.provider, 'azure');
  assert.equal(Number(line.input_tokens), 42);
});

test('azure stream: relayed, include_usage added, a headroom_retrieve call answered inside the stream', async () => {
  up.reset();
  const p = '/openai/deployments/gpt4o-prod/chat/completions';
  const client = new AzureOpenAI({ endpoint: proxy.url, apiKey: 'azure-key-1', apiVersion: '2024-10-21', deployment: 'gpt4o-prod', maxRetries: 0 });
  const params = { model: 'gpt-4o', messages: [{ role: 'user', content: 'which tests failed?' }, { role: 'tool', tool_call_id: 'c1', content: LOG }] };
  up.script(p, { json: openaiChatCompletion() });
  await client.chat.completions.create(params);
  const { hash } = fx.markersIn(JSON.parse(up.requests[0].body).messages[1].content)[0];
  up.reset();
  const base = { id: 'chatcmpl-az', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o' };
  const round1 = [
    { data: { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'headroom_retrieve', arguments: JSON.stringify({ hash, query: 'FAILED' }) } }] }, finish_reason: null }] } },
    { data: { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] } },
    { data: { ...base, choices: [], usage: { prompt_tokens: 50, completion_tokens: 5, total_tokens: 55 } } },
    { data: '[DONE]' },
  ];
  up.script(p, { sse: round1 }, { sse: openaiChatChunks('gpt-4o', ['211 and ', '498 failed.']) });
  let text = '';
  let usage = null;
  for await (const c of await client.chat.completions.create({ ...params, stream: true })) {
    assert.equal(c.choices[0]?.delta?.tool_calls, undefined, 'no tool call reaches the client');
    text += c.choices[0]?.delta?.content ?? '';
    if (c.usage) usage = c.usage;
  }
  assert.equal(text, '211 and 498 failed.');
  assert.equal(up.requests.length, 2);
  assert.equal(up.requests[1].path, p);
  assert.match(up.requests[1].url, /api-version=2024-10-21/);
  assert.equal(JSON.parse(up.requests[0].body).stream_options.include_usage, true, 'usage asked for, as on OpenAI');
  assert.equal(usage.prompt_tokens, 92, 'usage over both rounds (50 + 42)');
});

test('azure /openai/v1: chat compressed, an upstream error reaches the client in OpenAI shape', async () => {
  up.reset();
  const client = new OpenAI({ baseURL: `${proxy.url}/openai/v1`, apiKey: 'unused', defaultHeaders: { 'api-key': 'azure-key-2' }, maxRetries: 0 });
  up.script('/openai/v1/chat/completions', { status: 429, json: { error: { message: 'Rate limit reached for gpt-4o.', type: 'requests', code: '429' } } });
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }, { role: 'tool', tool_call_id: 'c', content: ROWS }] }), (e) => {
    assert.equal(e.status, 429);
    assert.equal(e.error.message, 'Rate limit reached for gpt-4o.');
    return true;
  });
  assert.equal(up.requests[0].headers['api-key'], 'azure-key-2');
  assert.ok(fx.markersIn(JSON.parse(up.requests[0].body).messages[1].content).length >= 1);
});

test('azure without --azure-api-url: 502 in OpenAI shape, nothing sent anywhere', async () => {
  const bare = await startProxy({ openaiUrl: up.url });
  try {
    up.reset();
    const client = new AzureOpenAI({ endpoint: bare.url, apiKey: 'k', apiVersion: '2024-10-21', deployment: 'd', maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), (e) => {
      assert.equal(e.status, 502);
      assert.equal(e.error.code, 'no_upstream');
      assert.match(e.error.message, /--azure-api-url/);
      return true;
    });
    assert.equal(up.requests.length, 0);
  } finally {
    assert.equal(await bare.stop(), 0);
  }
});
