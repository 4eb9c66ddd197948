// compress_proxy.test.mjs: compression end to end with the real SDKs: the upstream gets a
// body in which only the tool output changed (every other byte identical), the marker's
// original can be retrieved, POST /v1/compress answers in the documented shape, and
// `headroom compress` is deterministic across processes and fails open on bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, openaiChatCompletion, anthropicMessage } from './lib/fake_upstream.mjs';
import { startProxy, HEADROOM_BIN } from './lib/proxy.mjs';
import { assertOnlySpanChanged, withoutRetrieveTool } from './lib/retrieve_tool.mjs';
import { spansReplayed } from './lib/e2e_fixtures.mjs';
import { readable } from './lib/json_tables.mjs';

const MARKER = /\[(\d+) items compressed to (\d+)\. Retrieve more: hash=([0-9a-f]{24})\]/;
let up, proxy, dataDir;

// Independent generator (not the C scenarios): order rows with one needle and one error.
function orders(n, seed = 1) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      order_id: 700000 + i,
      customer: `customer-${Math.floor(rnd() * 1e6)}`,
      state: i === 61 ? 'payment failed: card declined' : 'shipped',
      amount: Math.round(rnd() * 10000) / 100,
      note: ['fragile', 'gift wrap', 'leave at door', 'call first', 'express'][i % 5] + ` batch ${i % 7}`,
    });
  }
  return JSON.stringify(rows, null, 2);
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-compress-'));
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dataDir } });
});

after(async () => {
  assert.equal(await proxy.stop(), 0);
  await up.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('anthropic SDK: only the tool_result changes; the original is retrievable', async () => {
  up.reset();
  up.script('/v1/messages', { json: anthropicMessage() });
  const client = new Anthropic({ apiKey: 'sk-ant-compress', baseURL: proxy.url, maxRetries: 0 });
  const tool = orders(150);
  const big = 'x'.repeat(2000); // user text, never touched
  const params = {
    model: 'claude-sonnet-4-5', max_tokens: 64, system: 'You are terse.',
    messages: [
      { role: 'user', content: `${big} why did order 700061 fail?` },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_9', name: 'orders_db', input: { q: 'recent' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: tool }] },
    ],
  };
  // the exact bytes the SDK sends, captured with compression bypassed
  await client.messages.create(params, { headers: { 'x-headroom-bypass': 'true' } });
  await client.messages.create(params);
  const sentLike = up.requests[0].body;
  const rec = up.requests[1];
  assertOnlySpanChanged(sentLike, rec.body, tool);
  const body = JSON.parse(rec.body);
  const out = body.messages[2].content[0].content;
  const m = out.match(MARKER);
  assert.ok(m, 'marker present');
  assert.equal(Number(m[1]), 150);
  assert.ok(readable(out).includes('"order_id":700061'), 'needle kept');
  assert.ok(out.includes('payment failed'), 'error item kept');
  JSON.parse(out.slice(0, out.indexOf('\n['))); // the JSON part is valid
  const r = await fetch(`${proxy.url}/v1/retrieve/${m[3]}`, { headers: { 'x-api-key': 'sk-ant-compress' } });
  assert.equal(r.status, 200);
  assert.ok(JSON.stringify(await r.json()).includes('customer-'));
});

test('openai SDK: a Read tool output is excluded, a search tool output is compressed', async () => {
  up.reset();
  up.script('/v1/chat/completions', { json: openaiChatCompletion() });
  const client = new OpenAI({ apiKey: 'sk-test-compress', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const tool = orders(120, 7);
  const file = Array.from({ length: 200 }, (_, i) => `${i + 1}\tconst v${i} = ${i};`).join('\n');
  const messages = [
    { role: 'user', content: 'check order 700061' },
    { role: 'assistant', content: null, tool_calls: [
      { id: 'call_a', type: 'function', function: { name: 'search_orders', arguments: '{}' } },
      { id: 'call_b', type: 'function', function: { name: 'Read', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'call_a', content: tool },
    { role: 'tool', tool_call_id: 'call_b', content: file },
  ];
  await client.chat.completions.create({ model: 'gpt-4o-mini', messages }, { headers: { 'x-headroom-bypass': 'true' } });
  const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
  const body = JSON.parse(up.requests[1].body);
  assert.match(body.messages[2].content, MARKER);
  assert.equal(body.messages[3].content, file);
  assertOnlySpanChanged(up.requests[0].body, up.requests[1].body, tool);
  const before = Number(response.headers.get('x-headroom-tokens-before'));
  const afterT = Number(response.headers.get('x-headroom-tokens-after'));
  assert.ok(before > 0 && afterT < before, `tokens ${before} -> ${afterT}`);
});

test('POST /v1/compress answers {messages, tokens_*, compression_ratio, transforms_applied}', async () => {
  const tool = orders(100, 3);
  const req = {
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: 'summarise' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'q', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: tool },
    ],
  };
  const r = await fetch(`${proxy.url}/v1/compress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req) });
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.deepEqual(Object.keys(j), ['messages', 'tokens_before', 'tokens_after', 'tokens_saved', 'compression_ratio', 'transforms_applied', 'ccr_hashes']);
  assert.equal(j.messages.length, 3);
  assert.deepEqual(j.messages.slice(0, 2), req.messages.slice(0, 2));
  assert.match(j.messages[2].content, MARKER);
  assert.equal(j.tokens_saved, j.tokens_before - j.tokens_after);
  assert.ok(j.tokens_saved > 0);
  assert.ok(Math.abs(j.compression_ratio - j.tokens_after / j.tokens_before) < 1e-3);
  assert.deepEqual(j.transforms_applied, ['smart_crusher']);
  assert.equal(r.headers.get('x-headroom-tokens-saved'), String(j.tokens_saved));
  // a config override: a size threshold above the tool output leaves it as is
  const r2 = await fetch(`${proxy.url}/v1/compress`, { method: 'POST', body: JSON.stringify({ ...req, config: { min_bytes: 1 << 20 } }) });
  const j2 = await r2.json();
  assert.deepEqual(j2.messages, req.messages);
  assert.equal(j2.tokens_saved, 0);
  assert.deepEqual(j2.transforms_applied, []);
  const bad = await fetch(`${proxy.url}/v1/compress`, { method: 'POST', body: '{"messages": 3}' });
  assert.equal(bad.status, 400);
  const notJson = await fetch(`${proxy.url}/v1/compress`, { method: 'POST', body: '{"messages": [' });
  assert.equal(notJson.status, 400);
  // overrides are checked against the same bounds as --max-items / --max-ratio / --min-bytes
  for (const [config, said] of [[{ max_items: 0 }, 'config.max_items must be 1..100000'],
    [{ max_items: 2.5 }, 'config.max_items must be 1..100000'],
    [{ max_ratio: 1.5 }, 'config.max_ratio must be in (0, 1]'],
    [{ min_bytes: '512' }, 'config.min_bytes must be 0..1073741824']]) {
    const r3 = await fetch(`${proxy.url}/v1/compress`, { method: 'POST', body: JSON.stringify({ ...req, config }) });
    assert.equal(r3.status, 400, JSON.stringify(config));
    assert.equal((await r3.json()).error.message, said);
  }
  const r4 = await fetch(`${proxy.url}/v1/compress`, { method: 'POST', body: JSON.stringify({ ...req, config: { max_items: 100000, max_ratio: 1 } }) });
  assert.equal(r4.status, 200);
});

test('token mode through the proxy: 30 turns, each upstream body extends the previous one byte for byte', async () => {
  up.reset();
  up.script('/v1/chat/completions', { json: openaiChatCompletion(), repeat: true });
  const client = new OpenAI({ apiKey: 'sk-test-turns', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const messages = [{ role: 'system', content: 'You are an agent.' }];
  let previous = null;
  let compressedTurns = 0;
  for (let t = 0; t < 30; t++) {
    messages.push({ role: 'user', content: `turn ${t}: what happened to order ${700000 + t}?` });
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `call_${t}`, type: 'function', function: { name: 'orders', arguments: '{}' } }] });
    messages.push({ role: 'tool', tool_call_id: `call_${t}`, content: orders(40 + t, t + 1) });
    const replayed0 = await spansReplayed(proxy.url);
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    // each earlier compressed output is replayed from the session cache, not compressed again
    assert.equal(await spansReplayed(proxy.url) - replayed0, compressedTurns, `turn ${t}: replayed spans`);
    const body = withoutRetrieveTool(up.requests[up.requests.length - 1].body).body;
    const sent = JSON.parse(body);
    if (MARKER.test(sent.messages[sent.messages.length - 1].content)) compressedTurns++;
    if (previous) {
      // everything up to the end of the previous body's last message must be repeated
      // unchanged (the SDK may write "model" before or after "messages")
      const head = previous.subarray(0, previous.lastIndexOf('}]') + 1);
      assert.ok(head.length > previous.length / 2);
      assert.ok(body.subarray(0, head.length).equals(head), `turn ${t}: earlier bytes changed`);
    }
    previous = body;
  }
  assert.equal(compressedTurns, 30);
});

function cli(args, input) {
  return spawnSync(HEADROOM_BIN, ['compress', ...args], {
    input, env: { ...process.env, HEADROOM_DATA_DIR: dataDir }, maxBuffer: 64 << 20,
  });
}

test('headroom compress: deterministic across processes, --stats, fail open', () => {
  const tool = orders(200, 5);
  const a = cli(['--stats', '--query', 'order 700061'], tool);
  const b = cli(['--query', 'order 700061'], tool);
  assert.equal(a.status, 0);
  assert.ok(a.stdout.length < tool.length / 3);
  assert.ok(Buffer.compare(a.stdout, b.stdout) === 0, 'identical bytes from two processes');
  assert.match(a.stderr.toString(), /tokens_before=\d+ tokens_after=\d+ tokens_saved=\d+/);
  assert.ok(readable(a.stdout.toString()).includes('"order_id":700061'));
  // a whole request body on stdin: the same pipeline as the proxy
  const reqBody = JSON.stringify({ model: 'gpt-4o', messages: [
    { role: 'user', content: 'hi' },
    { role: 'tool', tool_call_id: 'x', content: tool }] });
  const c = cli([], reqBody);
  assert.equal(c.status, 0);
  const parsed = JSON.parse(c.stdout);
  assert.match(parsed.messages[1].content, MARKER);
  // bad input comes back unchanged
  const cut = tool.slice(0, tool.length - 10);
  const d = cli(['--stats'], cut);
  assert.equal(d.status, 0);
  assert.equal(d.stdout.toString(), cut);
  const bad = cli(['--shape', 'nope'], 'x');
  assert.equal(bad.status, 2);
});
