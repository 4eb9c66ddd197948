// dropin_routes.test.mjs: the CCR routes answer with the original's field names (its proxy's
// /v1/compress, /v1/retrieve and /v1/retrieve/tool_call handlers) besides ours.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from './lib/proxy.mjs';

let proxy;
const H = { 'content-type': 'application/json', authorization: 'Bearer sk-dropin-routes' };
const rows = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: 9000 + i, region: ['eu', 'us', 'ap'][i % 3], status: i === 77 ? 'failed: timeout' : 'ok', ms: 10 + (i % 17) })));
const body = { model: 'gpt-4o', messages: [
  { role: 'user', content: 'which job failed?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'list_jobs', arguments: '{}' } }] },
  { role: 'tool', tool_call_id: 'c1', content: rows }] };
let hash;

before(async () => { proxy = await startProxy({}); });
after(async () => { await proxy.stop(); });

const post = async (p, b, headers = H) => {
  const r = await fetch(`${proxy.url}${p}`, { method: 'POST', headers, body: JSON.stringify(b) });
  return { status: r.status, json: await r.json() };
};

test('/v1/compress returns ccr_hashes: the hashes of the markers it added', async () => {
  const r = await post('/v1/compress', body);
  assert.equal(r.status, 200);
  const out = r.json.messages[2].content;
  const markers = [...out.matchAll(/hash=([0-9a-f]{24})\]/g)].map((m) => m[1]);
  assert.ok(markers.length >= 1, 'compressed');
  assert.deepEqual(r.json.ccr_hashes, [...new Set(markers)]);
  hash = markers[0];
  // compressing the compressed messages again adds no marker: no hash is this run's
  const again = await post('/v1/compress', { ...body, messages: r.json.messages });
  assert.deepEqual(again.json.ccr_hashes, []);
});

test('/v1/retrieve answers original_content (and our fields); a query answers results and count', async () => {
  const r = await post('/v1/retrieve', { hash });
  assert.equal(r.status, 200);
  assert.equal(r.json.original_content, rows);
  assert.equal(r.json.content, rows, 'our field kept');
  assert.equal(r.json.hash, hash);
  const g = await (await fetch(`${proxy.url}/v1/retrieve/${hash}`, { headers: H })).json();
  assert.equal(g.original_content, rows);
  const q = await post('/v1/retrieve', { hash, query: 'failed timeout' });
  assert.equal(q.status, 200);
  assert.ok(Array.isArray(q.json.results), 'results: the matching items');
  assert.equal(q.json.count, q.json.results.length);
  assert.ok(q.json.results.some((it) => it.status === 'failed: timeout'));
  assert.equal(q.json.original_content, undefined);
});

test('/v1/retrieve/tool_call: Anthropic and OpenAI tool calls get their tool results', async () => {
  const a = await post('/v1/retrieve/tool_call', { tool_call: { id: 'toolu_1', name: 'headroom_retrieve', input: { hash } }, provider: 'anthropic' });
  assert.equal(a.status, 200);
  assert.equal(a.json.success, true);
  assert.equal(a.json.tool_result.type, 'tool_result');
  assert.equal(a.json.tool_result.tool_use_id, 'toolu_1');
  assert.equal(JSON.parse(a.json.tool_result.content).original_content, rows);
  assert.equal(a.json.data.original_content, rows);
  const o = await post('/v1/retrieve/tool_call', { tool_call: { id: 'call_9', type: 'function', function: { name: 'headroom_retrieve', arguments: JSON.stringify({ hash, query: 'timeout' }) } }, provider: 'openai' });
  assert.equal(o.json.success, true);
  assert.deepEqual(Object.keys(o.json.tool_result), ['role', 'tool_call_id', 'content']);
  assert.equal(o.json.tool_result.role, 'tool');
  assert.equal(o.json.tool_result.tool_call_id, 'call_9');
  assert.ok(o.json.data.results.some((it) => it.status === 'failed: timeout'));
  // default provider is anthropic; an unknown hash is a tool result saying so, not an HTTP error
  const miss = await post('/v1/retrieve/tool_call', { tool_call: { id: 't', name: 'headroom_retrieve', input: { hash: '0'.repeat(24) } } });
  assert.equal(miss.status, 200);
  assert.equal(miss.json.success, false);
  assert.match(miss.json.data.error, /not found or expired/);
  assert.equal(miss.json.tool_result.type, 'tool_result');
  // another tenant's key cannot read it
  const other = await post('/v1/retrieve/tool_call', { tool_call: { id: 't', name: 'headroom_retrieve', input: { hash } } }, { ...H, authorization: 'Bearer sk-someone-else' });
  assert.equal(other.json.success, false);
});

test('/v1/retrieve/tool_call: any API row by name answers in its own form; an unknown provider in the plain form', async () => {
  // Responses: a function_call item, answered by a function_call_output for its call_id
  const r = await post('/v1/retrieve/tool_call', { tool_call: { type: 'function_call', id: 'fc_1', call_id: 'call_r', name: 'headroom_retrieve', arguments: JSON.stringify({ hash }) }, provider: 'responses' });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json.tool_result), ['type', 'call_id', 'output']);
  assert.equal(r.json.tool_result.type, 'function_call_output');
  assert.equal(r.json.tool_result.call_id, 'call_r');
  assert.equal(JSON.parse(r.json.tool_result.output).original_content, rows);
  // Gemini: a functionCall object, answered by a functionResponse
  const g = await post('/v1/retrieve/tool_call', { tool_call: { name: 'headroom_retrieve', args: { hash } }, provider: 'gemini' });
  assert.equal(g.json.success, true);
  assert.equal(g.json.tool_result.functionResponse.name, 'headroom_retrieve');
  assert.equal(g.json.tool_result.functionResponse.id, undefined, 'no id given, none answered');
  assert.equal(JSON.parse(g.json.tool_result.functionResponse.response.output).original_content, rows);
  // Bedrock Converse: a toolUse content block, answered by a toolResult block
  const b = await post('/v1/retrieve/tool_call', { tool_call: { toolUse: { toolUseId: 'tooluse_7', name: 'headroom_retrieve', input: { hash } } }, provider: 'bedrock-converse' });
  assert.equal(b.json.success, true);
  assert.equal(b.json.tool_result.toolResult.toolUseId, 'tooluse_7');
  assert.equal(JSON.parse(b.json.tool_result.toolResult.content[0].text).original_content, rows);
  // a provider no row is named: either known form is read, the result is the plain one
  const u = await post('/v1/retrieve/tool_call', { tool_call: { id: 'c1', function: { name: 'headroom_retrieve', arguments: { hash } } }, provider: 'someone' });
  assert.equal(u.json.success, true);
  assert.deepEqual(Object.keys(u.json.tool_result), ['tool_call_id', 'content']);
  assert.equal(u.json.tool_result.tool_call_id, 'c1');
  // a provider's form need not match its name (the original read both whatever the provider)
  const x = await post('/v1/retrieve/tool_call', { tool_call: { id: 'toolu_2', name: 'headroom_retrieve', input: { hash } }, provider: 'openai' });
  assert.equal(x.json.success, true);
  assert.equal(x.json.tool_result.role, 'tool');
  assert.equal(x.json.tool_result.tool_call_id, 'toolu_2');
});

test('/v1/retrieve/tool_call: anything but a headroom_retrieve call is a 400 in the provider error shape', async () => {
  for (const b of [{}, { tool_call: { id: 'x', name: 'Bash', input: { hash } } }, { tool_call: { function: { name: 'headroom_retrieve', arguments: 'not json' } } }, { tool_call: { name: 'headroom_retrieve', input: {} } }]) {
    const r = await post('/v1/retrieve/tool_call', b);
    assert.equal(r.status, 400, JSON.stringify(b));
    assert.match(r.json.error.message, /headroom_retrieve/);
  }
});
