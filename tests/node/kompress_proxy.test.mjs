// kompress_proxy.test.mjs: Kompress in the proxy with the real SDK clients, on a generated
// ModernBERT-shaped model (random weights) imported at test time:
//   - a prose tool output is compressed by Kompress (unit "words"), only its span changes,
//     the original is retrievable, and the next turn (and a restarted proxy) forwards the
//     same bytes;
//   - /health, /stats, /metrics and /debug/memory show Kompress and its session;
//   - a model file that is corrupt, or disappears while the proxy runs, fails open:
//     the request goes through with the original prose, and it is counted;
//   - without a model the proxy runs as before and says so at start and in /health.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, openaiChatCompletion, anthropicMessage } from './lib/fake_upstream.mjs';
import { startProxy, HEADROOM_BIN } from './lib/proxy.mjs';
import { assertOnlySpanChanged, withoutRetrieveTool } from './lib/retrieve_tool.mjs';
import { BUILD_DIR, generateModel } from './lib/ml_reference.mjs';
import { manPageProse as prose } from './lib/e2e_fixtures.mjs';

const MARKER = /\[(\d+) words compressed to (\d+)\. Retrieve more: hash=([0-9a-f]{24})\]/;
let up, work, modelFile;

const getJson = async (url) => (await fetch(url)).json();

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-kompress-'));
  const dir = generateModel({ arch: 'modernbert', size: 'tiny', seed: 8, dir: path.join(BUILD_DIR, 'kompress-proxy-tiny') });
  modelFile = path.join(work, 'kompress.hrm');
  execFileSync(HEADROOM_BIN, ['model', 'import', dir, '--out', modelFile], { stdio: 'pipe' });
  up = await startFakeUpstream();
});

after(async () => {
  await up.close();
  fs.rmSync(work, { recursive: true, force: true });
});

// a generous deadline: sanitizer builds run the encoder ~20x slower than release builds
const proxyWith = (args, env = {}) => startProxy({
  openaiUrl: up.url, anthropicUrl: up.url, args: ['--compression-deadline-ms', '120000', ...args],
  env: { HEADROOM_DATA_DIR: path.join(work, 'data'), ...env },
});

test('prose tool output: compressed by Kompress, retrievable, same bytes on replay and after a restart', async () => {
  let proxy = await proxyWith(['--kompress-model', modelFile, '--kompress-ratio', '0.5']);
  try {
    up.reset();
    up.script('/v1/messages', { json: anthropicMessage(), repeat: true });
    let client = new Anthropic({ apiKey: 'sk-ant-kompress', baseURL: proxy.url, maxRetries: 0 });
    const tool = prose(30, 3);
    const params = {
      model: 'claude-sonnet-4-5', max_tokens: 64, system: 'You are terse.',
      messages: [
        { role: 'user', content: 'what changed about idle connections?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'man_page', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: tool }] },
      ],
    };
    await client.messages.create(params, { headers: { 'x-headroom-bypass': 'true' } });
    await client.messages.create(params);
    assertOnlySpanChanged(up.requests[0].body, up.requests[1].body, tool);
    const out = JSON.parse(up.requests[1].body).messages[2].content[0].content;
    const m = out.match(MARKER);
    assert.ok(m, 'a Kompress marker');
    const inWords = tool.split(/\s+/).filter(Boolean);
    assert.equal(Number(m[1]), inWords.length);
    assert.ok(Number(m[2]) < inWords.length);
    for (const w of ['--exclude', 'HEADROOM_PORT', 'docs/config.md.', '2.4.1.', 'ERROR'])
      if (tool.includes(w)) assert.ok(out.includes(w), `must-keep ${w} kept`);
    assert.ok(out.split('\n').length > 30, 'lines survive');
    const r = await fetch(`${proxy.url}/v1/retrieve/${m[3]}`, { headers: { 'x-api-key': 'sk-ant-kompress' } });
    assert.equal(r.status, 200);
    assert.ok(JSON.stringify(await r.json()).includes(JSON.stringify(tool).slice(1, 200)), 'the original comes back');

    // next turn: the earlier tool output is forwarded as the same bytes
    params.messages.push({ role: 'assistant', content: 'Idle connections are closed.' },
      { role: 'user', content: 'and the cache?' });
    await client.messages.create(params);
    const again = JSON.parse(up.requests[2].body).messages[2].content[0].content;
    assert.equal(again, out);

    const health = await getJson(`${proxy.url}/health`);
    assert.equal(health.kompress.enabled, true);
    assert.equal(health.kompress.model, modelFile);
    assert.equal(health.kompress.state, 'ready');
    const stats = await getJson(`${proxy.url}/stats`);
    assert.equal(stats.kompress.compressed, 1);
    assert.equal(stats.kompress.failed_open, 0);
    assert.ok(stats.compression.compressors.kompress.spans >= 1);
    const mem = await getJson(`${proxy.url}/debug/memory`);
    const s = mem.ml.sessions.find((x) => x.name === 'kompress');
    assert.ok(s, '/debug/memory lists the kompress session');
    assert.equal(s.state, 'ready');
    assert.ok(s.mapped_bytes > 0 && s.scratch_bytes > 0);
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
    assert.match(metrics, /headroom_kompress_sections_total\{outcome="compressed"\} 1\n/);
    assert.match(metrics, /headroom_compressor_spans_total\{compressor="kompress"\} [1-9]/);

    // /v1/compress with config overrides runs a per-request pipeline: it shares the session
    const cr = await fetch(`${proxy.url}/v1/compress`, { method: 'POST', body: JSON.stringify({
      model: 'gpt-4o', config: { min_bytes: 100 }, messages: [
        { role: 'user', content: 'summarise' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'q', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: prose(30, 4) }] }) });
    assert.equal(cr.status, 200);
    const cj = await cr.json();
    assert.match(cj.messages[2].content, MARKER);
    assert.deepEqual(cj.transforms_applied, ['kompress']);
    const sessions = (await getJson(`${proxy.url}/debug/memory`)).ml.sessions.filter((x) => x.name === 'kompress');
    assert.equal(sessions.length, 1, 'one Kompress session');
    assert.equal(sessions[0].inferences > 0, true);
    assert.equal((await getJson(`${proxy.url}/stats`)).kompress.compressed, 2);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }

  // a fresh process (another client, another tenant) makes the same bytes
  proxy = await proxyWith(['--kompress-model', modelFile, '--kompress-ratio', '0.5'], { HEADROOM_ML_THREADS: '2' });
  try {
    const client = new OpenAI({ apiKey: 'sk-test-kompress', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
    up.reset();
    up.script('/v1/chat/completions', { json: openaiChatCompletion() });
    const tool = prose(30, 3);
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [
      { role: 'user', content: 'what changed about idle connections?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'man_page', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: tool }] });
    const firstRun = prose(30, 3);
    assert.equal(tool, firstRun);
    const out = JSON.parse(withoutRetrieveTool(up.requests[0].body).body).messages[2].content;
    assert.match(out, MARKER);
    const earlier = execFileSync(HEADROOM_BIN, ['kompress', '--model', modelFile, '--ratio', '0.5'], { input: tool, stdio: ['pipe', 'pipe', 'pipe'] });
    assert.equal(out, earlier.toString('utf8'), 'proxy and CLI give the same bytes');
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

async function sendProse(proxy, seed) {
  const client = new OpenAI({ apiKey: 'sk-test-failopen', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  up.reset();
  up.script('/v1/chat/completions', { json: openaiChatCompletion() });
  const tool = prose(30, seed);
  const reply = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [
    { role: 'user', content: 'summarise' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'changelog', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: tool }] });
  assert.equal(reply.choices[0].message.role, 'assistant');
  return { tool, forwarded: JSON.parse(up.requests[0].body).messages[2].content };
}

test('a corrupt model fails open, counted in /metrics and /stats', async () => {
  const bad = path.join(work, 'corrupt.hrm');
  fs.writeFileSync(bad, Buffer.alloc(8192, 0x5a));
  const proxy = await proxyWith(['--kompress-model', bad]);
  try {
    const { tool, forwarded } = await sendProse(proxy, 5);
    assert.equal(forwarded, tool, 'the original prose is forwarded');
    const stats = await getJson(`${proxy.url}/stats`);
    assert.equal(stats.kompress.errors, 1);
    assert.equal(stats.kompress.failed_open, 1);
    assert.match(stats.kompress.last_error, /corrupt\.hrm/);
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
    assert.match(metrics, /headroom_kompress_failed_open_total 1\n/);
    assert.match(metrics, /headroom_kompress_sections_total\{outcome="error"\} 1\n/);
    assert.match(proxy.logs(), /kompress failed open/);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test('a model file that disappears while the proxy runs fails open after the idle unload', async () => {
  const copy = path.join(work, 'vanishing.hrm');
  fs.copyFileSync(modelFile, copy);
  const proxy = await proxyWith(['--kompress-model', copy, '--kompress-ratio', '0.5'], { HEADROOM_ML_IDLE_UNLOAD_S: '1' });
  try {
    let r = await sendProse(proxy, 7);
    assert.match(r.forwarded, MARKER);
    fs.unlinkSync(copy);
    const end = Date.now() + 10000;
    let state;
    do {
      await new Promise((res) => setTimeout(res, 100));
      state = (await getJson(`${proxy.url}/debug/memory`)).ml.sessions.find((x) => x.name === 'kompress').state;
    } while (state !== 'unloaded' && Date.now() < end);
    assert.equal(state, 'unloaded', 'idle unload');
    r = await sendProse(proxy, 9);
    assert.equal(r.forwarded, r.tool);
    const stats = await getJson(`${proxy.url}/stats`);
    assert.equal(stats.kompress.compressed, 1);
    assert.equal(stats.kompress.errors, 1);
    assert.equal(stats.kompress.failed_open, 1);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test('without a model the proxy runs as before and says so', async () => {
  const proxy = await proxyWith([]);
  try {
    assert.match(proxy.logs(), /kompress.*no model/);
    const health = await getJson(`${proxy.url}/health`);
    assert.equal(health.kompress.enabled, false);
    assert.match(health.kompress.status, /no model/);
    const { tool, forwarded } = await sendProse(proxy, 11);
    assert.ok(!MARKER.test(forwarded));
    assert.equal(forwarded, tool);
    assert.equal((await getJson(`${proxy.url}/stats`)).kompress, null);
    const mem = await getJson(`${proxy.url}/debug/memory`);
    assert.ok(!mem.ml.sessions.some((x) => x.name === 'kompress'));
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
