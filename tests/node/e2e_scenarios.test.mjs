// e2e_scenarios.test.mjs: the product as a user meets it. Realistic agent turns through the
// real `headroom` binary with the official openai and @anthropic-ai/sdk clients (chat,
// messages, responses; streaming and not), each carrying the five kinds of big tool output
// (DB rows, a test log, grep output, a diff, long prose) generated in lib/e2e_fixtures.mjs.
// For each turn: the upstream got a smaller body in which only tool outputs changed, every
// needle survived, every marker names the SHA-256 of its original, and that original comes
// back byte-exact from GET/POST /v1/retrieve and `headroom retrieve` (same data dir) for the
// sender only. Then: replay across turns, determinism across a restart, numbers in headers
// vs /stats and /metrics, bypass headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, openaiChatCompletion, anthropicMessage, anthropicEvents, responsesObject, sseBytes } from './lib/fake_upstream.mjs';
import { startProxy, HEADROOM_BIN } from './lib/proxy.mjs';
import * as fx from './lib/e2e_fixtures.mjs';
import { assertAnthropicErrorShape, assertOpenAIErrorShape } from './lib/provider_errors.mjs';

const KEY = 'sk-e2e-tenant-one';
const OTHER_KEY = 'sk-e2e-tenant-two';
const KINDS = { db: fx.dbRows(), log: fx.pytestLog(), grep: fx.grepOutput(), diff: fx.unifiedDiff(), prose: fx.longProse() };
const QUESTION = `${KINDS.db.query} Also: ${KINDS.log.query} ${KINDS.grep.query}`;
const SYSTEM = 'You are a careful SRE agent. Answer tersely.\n'.repeat(20);
const sha24 = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 24);

let up, proxy, dataDir;
before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-'));
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dataDir } });
});
after(async () => {
  if (proxy) {
    assert.equal(await proxy.stop(), 0, 'proxy exits 0 on SIGTERM');
    // after the drain every request's line is written: none holds a credential
    const logs = proxy.logs();
    assert.ok(/ request id=/.test(logs), 'request lines were logged');
    for (const k of [KEY, OTHER_KEY]) assert.ok(!logs.includes(k), 'API key never logged');
  }
  await up?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

// --- request builders: one assistant turn calling five tools, then their outputs --------
const names = Object.keys(KINDS);
function chatMessages() {
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: QUESTION },
    { role: 'assistant', content: null, tool_calls: names.map((n) => ({ id: `call_${n}`, type: 'function', function: { name: `run_${n}`, arguments: '{"all":true}' } })) },
    ...names.map((n) => ({ role: 'tool', tool_call_id: `call_${n}`, content: KINDS[n].text })),
  ];
}
const chatTools = names.map((n) => ({ type: 'function', function: { name: `run_${n}`, description: `runs ${n}`, parameters: { type: 'object', properties: {} } } }));
function anthropicParams() {
  return {
    model: 'claude-sonnet-4-5', max_tokens: 256, system: SYSTEM,
    tools: names.map((n) => ({ name: `run_${n}`, description: `runs ${n}`, input_schema: { type: 'object', properties: {} } })),
    messages: [
      { role: 'user', content: QUESTION },
      { role: 'assistant', content: names.map((n) => ({ type: 'tool_use', id: `toolu_${n}`, name: `run_${n}`, input: { all: true } })) },
      { role: 'user', content: names.map((n) => ({ type: 'tool_result', tool_use_id: `toolu_${n}`, content: KINDS[n].text })) },
    ],
  };
}
function responsesInput() {
  return [
    { role: 'user', content: QUESTION },
    ...names.map((n) => ({ type: 'function_call', call_id: `fc_${n}`, name: `run_${n}`, arguments: '{}' })),
    ...names.map((n) => ({ type: 'function_call_output', call_id: `fc_${n}`, output: KINDS[n].text })),
  ];
}

// Tool outputs as they arrived upstream, by kind, for each API shape.
function forwardedOutputs(body, api) {
  const j = JSON.parse(body);
  if (api === 'chat') return Object.fromEntries(j.messages.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id.slice(5), m.content]));
  if (api === 'messages') return Object.fromEntries(j.messages.at(-1).content.map((b) => [b.tool_use_id.slice(6), b.content]));
  return Object.fromEntries(j.input.filter((i) => i.type === 'function_call_output').map((i) => [i.call_id.slice(3), i.output]));
}

const hdrs = (key, api) => (api === 'messages' ? { 'x-api-key': key } : { authorization: `Bearer ${key}` });

/** The checks every compressed turn must pass. Returns the markers seen. */
async function checkTurn(api, sentBody, gotBody, key) {
  assert.ok(gotBody.length < sentBody.length * 0.6, `${api}: upstream body ${gotBody.length} B vs ${sentBody.length} B sent`);
  const { replaced, injected } = fx.assertOnlyToolOutputsChanged(sentBody, gotBody, names.map((n) => KINDS[n].text));
  assert.equal(replaced, names.length, `${api}: each of the five tool outputs was compressed`);
  assert.ok(injected, `${api}: headroom_retrieve was offered`);
  const tools = JSON.parse(gotBody).tools;
  const toolName = (t) => t.function?.name ?? t.name;
  assert.equal(toolName(tools.at(-1)), 'headroom_retrieve', `${api}: appended last, so the prefix stays cacheable`);
  assert.equal(tools.filter((t) => toolName(t) === 'headroom_retrieve').length, 1);
  const schema = tools.at(-1).function?.parameters ?? tools.at(-1).parameters ?? tools.at(-1).input_schema;
  assert.deepEqual(schema.required, ['hash'], `${api}: hash required, query optional`);
  const outs = forwardedOutputs(gotBody, api);
  const markers = [];
  for (const n of names) {
    fx.assertNeedles(outs[n], KINDS[n].needles, `${api}/${n}`);
    const ms = fx.markersIn(outs[n]);
    assert.equal(ms.length, 1, `${api}/${n}: one marker`);
    const [mk] = ms;
    assert.ok(outs[n].trimEnd().endsWith(']'), `${api}/${n}: marker closes the output`);
    assert.equal(mk.hash, sha24(KINDS[n].text), `${api}/${n}: marker hash is the original's content hash`);
    assert.ok(mk.m <= mk.n, `${api}/${n}: ${mk.n} ${mk.unit} compressed to ${mk.m}`);
    markers.push({ kind: n, ...mk });
  }
  for (const mk of markers) await checkRetrievable(mk, KINDS[mk.kind].text, key, api);
  return markers;
}

async function checkRetrievable(mk, original, key, api) {
  const g = await fetch(`${proxy.url}/v1/retrieve/${mk.hash}`, { headers: hdrs(key, api) });
  assert.equal(g.status, 200, `GET retrieve ${mk.kind}`);
  assert.equal((await g.json()).content, original, `GET retrieve ${mk.kind} is byte-exact`);
  const p = await fetch(`${proxy.url}/v1/retrieve`, {
    method: 'POST', headers: { ...hdrs(key, api), 'content-type': 'application/json' }, body: JSON.stringify({ hash: mk.hash }),
  });
  assert.equal(p.status, 200, `POST retrieve ${mk.kind}`);
  assert.equal((await p.json()).content, original, `POST retrieve ${mk.kind} is byte-exact`);
  const other = await fetch(`${proxy.url}/v1/retrieve/${mk.hash}`, { headers: hdrs(OTHER_KEY, api) });
  assert.equal(other.status, 404, `another API key cannot read ${mk.kind}`);
  const otherPost = await fetch(`${proxy.url}/v1/retrieve`, {
    method: 'POST', headers: { ...hdrs(OTHER_KEY, api), 'content-type': 'application/json' }, body: JSON.stringify({ hash: mk.hash }),
  });
  assert.equal(otherPost.status, 404, `another API key cannot POST-retrieve ${mk.kind}`);
  const err = await otherPost.json();
  if (api === 'messages') assertAnthropicErrorShape(err, 'not_found_error', `${api}: the 404`);
  else assertOpenAIErrorShape(err, { type: 'not_found_error' }, `${api}: the 404`);
}

function cliRetrieve(hash, key, api) {
  const flag = api === 'messages' ? '--api-key-env' : '--bearer-env';
  return spawnSync(HEADROOM_BIN, ['retrieve', hash, flag, 'HR_E2E_KEY', '--data-dir', dataDir],
    { env: { ...process.env, HR_E2E_KEY: key }, maxBuffer: 64 << 20 });
}

const tokenHeaders = (h) => ['before', 'after', 'saved'].map((k) => Number(h.get(`x-headroom-tokens-${k}`)));

// --- the API scenarios -----------------------------------------------------------------

test('openai chat, non-streaming: five tool outputs shrink, needles and originals survive', async () => {
  up.reset();
  up.script('/v1/chat/completions', { json: openaiChatCompletion('gpt-4o', 'The ledger deadlocked.') }, { json: openaiChatCompletion('gpt-4o', 'The ledger deadlocked.') });
  const client = new OpenAI({ apiKey: KEY, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const params = { model: 'gpt-4o', messages: chatMessages(), tools: chatTools };
  await client.chat.completions.create(params, { headers: { 'x-headroom-bypass': 'true' } });
  const { data, response } = await client.chat.completions.create(params).withResponse();
  assert.equal(data.choices[0].message.content, 'The ledger deadlocked.', 'client gets the upstream answer');
  const markers = await checkTurn('chat', up.requests[0].body, up.requests[1].body, KEY);
  const [before, afterT, saved] = tokenHeaders(response.headers);
  assert.ok(before > afterT && afterT > 0, `tokens ${before} -> ${afterT}`);
  assert.equal(saved, before - afterT, 'x-headroom-tokens-saved = before - after');
  // the CLI reads the same store for the same key, and not for another
  const r = cliRetrieve(markers[0].hash, KEY, 'chat');
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(r.stdout.toString(), KINDS[markers[0].kind].text, '`headroom retrieve` is byte-exact');
  assert.equal(cliRetrieve(markers[0].hash, OTHER_KEY, 'chat').status, 1, 'CLI: another key finds nothing');
});

test('openai chat, streaming: same compression, the SDK gets the upstream stream', async () => {
  up.reset();
  const client = new OpenAI({ apiKey: KEY, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  // include_usage sent by the client, so the proxy has nothing to add outside tool outputs
  const params = { model: 'gpt-4o', messages: chatMessages(), tools: chatTools, stream: true, stream_options: { include_usage: true } };
  for await (const _ of await client.chat.completions.create(params, { headers: { 'x-headroom-bypass': 'true' } })) { /* drain */ }
  let text = '';
  for await (const c of await client.chat.completions.create(params)) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'Hello there!');
  await checkTurn('chat', up.requests[0].body, up.requests[1].body, KEY);
});

test('anthropic messages, non-streaming and streaming', async () => {
  up.reset();
  up.script('/v1/messages', { json: anthropicMessage() }, { json: anthropicMessage('claude-sonnet-4-5', 'Deadlock in the ledger.') });
  const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 });
  await client.messages.create(anthropicParams(), { headers: { 'x-headroom-bypass': 'true' } });
  const { data, response } = await client.messages.create(anthropicParams()).withResponse();
  assert.equal(data.content[0].text, 'Deadlock in the ledger.');
  const markers = await checkTurn('messages', up.requests[0].body, up.requests[1].body, KEY);
  const [before, afterT, saved] = tokenHeaders(response.headers);
  assert.ok(before > afterT && saved === before - afterT, `tokens ${before} -> ${afterT}, saved ${saved}`);
  const r = cliRetrieve(markers[1].hash, KEY, 'messages');
  assert.equal(r.stdout.toString(), KINDS[markers[1].kind].text, 'CLI with --api-key-env reads the x-api-key tenant');

  const stream = client.messages.stream(anthropicParams());
  const msg = await stream.finalMessage();
  assert.equal(msg.content[0].text, 'Hello there!', 'the SDK assembles the relayed stream');
  assert.equal(JSON.parse(up.requests[2].body).stream, true);
  assert.ok(JSON.stringify(forwardedOutputs(up.requests[2].body, 'messages')) === JSON.stringify(forwardedOutputs(up.requests[1].body, 'messages')),
    'streaming forwards the same compressed tool outputs (token-mode replay)');
});

test('openai responses, non-streaming and streaming', async () => {
  up.reset();
  up.script('/v1/responses', { json: responsesObject('gpt-4o') }, { json: responsesObject('gpt-4o') });
  const client = new OpenAI({ apiKey: KEY, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const params = { model: 'gpt-4o', instructions: SYSTEM, input: responsesInput() };
  await client.responses.create(params, { headers: { 'x-headroom-bypass': 'true' } });
  const res = await client.responses.create(params);
  assert.equal(res.output_text, 'Hi.');
  await checkTurn('responses', up.requests[0].body, up.requests[1].body, KEY);
  const stream = await client.responses.create({ ...params, stream: true });
  const types = [];
  for await (const ev of stream) types.push(ev.type);
  assert.deepEqual(types, ['response.created', 'response.output_text.delta', 'response.completed']);
  const streamed = forwardedOutputs(up.requests[2].body, 'responses');
  const plain = forwardedOutputs(up.requests[1].body, 'responses');
  assert.deepEqual(streamed, plain, 'the streamed request carries the same compressed outputs');
});

test('token mode: 10 agent turns, every earlier turn forwarded byte-identical', async () => {
  up.reset();
  const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 });
  const messages = [{ role: 'user', content: 'Investigate the incident; run whatever you need.' }];
  let prev = null;
  for (let turn = 0; turn < 10; turn++) {
    const kind = names[turn % names.length];
    const g = [fx.dbRows, fx.pytestLog, fx.grepOutput, fx.unifiedDiff, fx.longProse][turn % 5]();
    // vary content per turn so each output is a distinct original
    const text = `${kind} run ${turn}\n${g.text}`;
    messages.push({ role: 'assistant', content: [{ type: 'text', text: `Running ${kind}.` }, { type: 'tool_use', id: `toolu_t${turn}`, name: `run_${kind}`, input: { turn } }] });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_t${turn}`, content: text }] });
    const replayed0 = await fx.spansReplayed(proxy.url);
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, system: SYSTEM, messages });
    // every earlier output (one per turn, each compressed) came from the session cache
    assert.equal(await fx.spansReplayed(proxy.url) - replayed0, turn, `turn ${turn}: earlier outputs replayed`);
    const body = up.requests.at(-1).body.toString('utf8');
    const fwd = JSON.parse(body).messages;
    if (prev) {
      for (let i = 0; i < prev.length; i++) assert.equal(JSON.stringify(fwd[i]), JSON.stringify(prev[i]), `turn ${turn}: message ${i} replayed identically`);
      // and byte-identical as raw text: the previous body up to the end of its last message
      // is a prefix of this one (the appended headroom_retrieve tool comes after messages)
      const prevBody = up.requests.at(-2).body.toString('utf8');
      const at = prevBody.indexOf('"messages":[') + '"messages":'.length;
      const prefix = prevBody.slice(0, fx.skipJsonValue(prevBody, at) - 1);
      assert.ok(body.startsWith(prefix), `turn ${turn}: previous request is a byte prefix`);
    }
    assert.ok(fx.markersIn(fwd.at(-1).content[0].content).length === 1, `turn ${turn}: new output compressed`);
    prev = fwd;
  }
});

test('determinism: a restarted proxy forwards the same bytes for the same request', async () => {
  up.reset();
  const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-2-'));
  const client = (p) => new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
  const params = { model: 'gpt-4o', messages: chatMessages(), tools: chatTools };
  await client(proxy).chat.completions.create(params);
  const p2 = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dir2 } });
  try {
    await client(p2).chat.completions.create(params);
  } finally {
    assert.equal(await p2.stop(), 0);
    fs.rmSync(dir2, { recursive: true, force: true });
  }
  assert.equal(Buffer.compare(up.requests[0].body, up.requests[1].body), 0, 'byte-identical across processes');
});

test('/stats and /metrics agree with the x-headroom-tokens-* headers', async () => {
  up.reset();
  const stats0 = await (await fetch(`${proxy.url}/stats`)).json();
  const client = new OpenAI({ apiKey: KEY, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  let sumBefore = 0, sumAfter = 0, sumSaved = 0;
  for (const kind of names) {
    const g = KINDS[kind];
    const { response } = await client.chat.completions.create({
      model: 'gpt-4o', messages: [{ role: 'user', content: `${g.query} (${kind} stats)` },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'run', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c', content: `${kind} stats\n${g.text}` }],
    }).withResponse();
    const [b, a, s] = tokenHeaders(response.headers);
    assert.ok(s > 0, `${kind}: saved ${s}`);
    sumBefore += b; sumAfter += a; sumSaved += s;
  }
  // A request is counted when the server's completion callback runs, just after the client
  // got the body (src/proxy/proxy.c on_done), so give /stats a moment to catch up.
  let stats1;
  for (const end = Date.now() + 5000; ;) {
    stats1 = await (await fetch(`${proxy.url}/stats`)).json();
    if (stats1.tokens.before_compression - stats0.tokens.before_compression >= sumBefore || Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(stats1.tokens.before_compression - stats0.tokens.before_compression, sumBefore, '/stats before_compression');
  assert.equal(stats1.tokens.after_compression - stats0.tokens.after_compression, sumAfter, '/stats after_compression');
  assert.equal(stats1.tokens.saved - stats0.tokens.saved, sumSaved, '/stats saved');
  // the pipeline's own numbers in /stats: per-compressor savings add up to the total
  const c = stats1.compression;
  assert.equal(c.tokens_saved, stats1.tokens.saved, '/stats compression.tokens_saved = tokens.saved');
  const perCompressor = Object.values(c.compressors).reduce((n, x) => n + x.tokens_saved, 0);
  assert.equal(perCompressor, c.tokens_saved, 'per-compressor savings sum to the total');
  for (const name of ['smart_crusher', 'logs', 'search', 'diff']) assert.ok(c.compressors[name]?.tokens_saved > 0, `${name} saved tokens`);
  const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
  const metric = (kind) => Number(metrics.match(new RegExp(`^headroom_tokens_total\\{kind="${kind}"\\} (\\d+)`, 'm'))?.[1]);
  assert.equal(metric('before_compression'), stats1.tokens.before_compression, '/metrics before = /stats before');
  assert.equal(metric('after_compression'), stats1.tokens.after_compression, '/metrics after = /stats after');
});

test('bypass headers forward byte-identical and are never forwarded themselves', async () => {
  up.reset();
  const body = JSON.stringify({ model: 'gpt-4o', messages: chatMessages() }, null, 1);
  for (const h of [{ 'x-headroom-bypass': 'true' }, { 'x-headroom-mode': 'passthrough' }]) {
    const r = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...h }, body,
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const rec = up.requests.at(-1);
    assert.equal(Buffer.compare(rec.body, Buffer.from(body)), 0, `${Object.keys(h)[0]}: byte-identical`);
    assert.ok(!Object.keys(rec.headers).some((k) => k.startsWith('x-headroom')), 'x-headroom-* stripped');
    assert.equal(rec.headers.authorization, `Bearer ${KEY}`, 'auth forwarded');
  }
  // streaming Anthropic, pretty-printed body: passthrough keeps every byte, and the stream
  // reaches the client exactly as the upstream sent it
  const streamBody = JSON.stringify({ ...anthropicParams(), stream: true }, null, 2);
  const r = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', 'x-headroom-mode': 'passthrough' }, body: streamBody,
  });
  const relayed = await r.text();
  assert.equal(Buffer.compare(up.requests.at(-1).body, Buffer.from(streamBody)), 0, 'streamed request byte-identical');
  assert.equal(relayed, anthropicEvents().map(sseBytes).join(''), 'SSE relayed byte for byte');
});

// (that no credential reached the log is checked in after(), once the proxy has drained)
test('no x-headroom-* header goes upstream', async () => {
  up.reset();
  const client = new OpenAI({ apiKey: KEY, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  await client.chat.completions.create({ model: 'gpt-4o', messages: chatMessages() },
    { headers: { 'x-headroom-session-id': 'e2e-session', 'x-headroom-anything': '1' } });
  assert.ok(fx.markersIn(up.requests[0].body.toString()).length > 0, 'compressed');
  assert.deepEqual(Object.keys(up.requests[0].headers).filter((h) => h.startsWith('x-headroom')), []);
});

test('a conversation continued on a restarted proxy keeps every earlier turn byte-identical', async () => {
  up.reset();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-restart-'));
  const gens = [fx.pytestLog, fx.grepOutput, fx.dbRows, fx.unifiedDiff, fx.longProse];
  const messages = [{ role: 'system', content: SYSTEM }];
  const turn = async (p, t) => {
    if (t % 2 === 0) messages.push({ role: 'user', content: `question ${t}: ${[KINDS.db.query, KINDS.grep.query, KINDS.log.query][t % 3]}` });
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `r${t}`, type: 'function', function: { name: 'run', arguments: '{}' } }] });
    messages.push({ role: 'tool', tool_call_id: `r${t}`, content: `turn ${t}\n${gens[t % 5]().text}` });
    const client = new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o', messages });
    return JSON.parse(up.requests.at(-1).body).messages;
  };
  let p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dir } });
  let prev;
  try {
    for (let t = 0; t < 8; t++) {
      if (t === 4) { // restart between turns 3 and 4
        assert.equal(await p.stop(), 0);
        p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dir } });
      }
      const fwd = await turn(p, t);
      assert.equal(fx.markersIn(fwd.at(-1).content).length, 1, `turn ${t}: new output compressed`);
      if (prev) assert.equal(JSON.stringify(fwd.slice(0, prev.length)), JSON.stringify(prev), `turn ${t}: earlier turns identical${t === 4 ? ' across the restart' : ''}`);
      prev = fwd;
    }
  } finally {
    assert.equal(await p.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a Claude-Code-like session: always streaming, thinking blocks and cache_control kept, turns replayed', async () => {
  up.reset();
  const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 });
  const system = [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }];
  const messages = [{ role: 'user', content: [{ type: 'text', text: 'The nightly build is red. Find out why.' }] }];
  const outputs = [fx.pytestLog(500, 61), fx.grepOutput(50, 8, 62), fx.unifiedDiff(10, 63), fx.dbRows(180, 64)];
  let prev = null;
  for (let t = 0; t < outputs.length; t++) {
    messages.push({ role: 'assistant', content: [
      { type: 'thinking', thinking: `Step ${t}: I should look at ${['the tests', 'the callers', 'the diff', 'the ledger'][t]}.`, signature: `sig${t}${'A'.repeat(40)}` },
      { type: 'tool_use', id: `toolu_cc${t}`, name: ['Bash', 'Bash', 'Bash', 'Bash'][t], input: { command: `step ${t}` } }] });
    const last = { type: 'tool_result', tool_use_id: `toolu_cc${t}`, content: outputs[t].text };
    messages.push({ role: 'user', content: [last] });
    // Claude Code moves the cache breakpoint to the newest block each turn
    const sent = structuredClone(messages);
    sent.at(-1).content[0].cache_control = { type: 'ephemeral' };
    const replayed0 = await fx.spansReplayed(proxy.url);
    const msg = await client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 512, system, messages: sent, thinking: { type: 'enabled', budget_tokens: 1024 } }).finalMessage();
    assert.equal(await fx.spansReplayed(proxy.url) - replayed0, t, `turn ${t}: earlier tool results replayed`);
    assert.equal(msg.content.map((b) => b.text).join(''), 'Hello there!');
    const fwd = JSON.parse(up.requests[t].body);
    assert.deepEqual(fwd.system, system, 'system prompt and its cache_control untouched');
    const newest = fwd.messages.at(-1).content[0];
    assert.deepEqual(newest.cache_control, { type: 'ephemeral' }, 'cache_control kept on the compressed block');
    assert.equal(fx.markersIn(newest.content).length, 1, `turn ${t}: compressed`);
    // no question names an id here, so the needles are the ones every query keeps:
    // failures, errors, outliers, changed lines (the grep output's error match is checked in
    // the TODO test below: it is dropped with this question today)
    const needles = [outputs[t].needles, [], outputs[t].needles, ['ledger write rejected', '98123']][t];
    fx.assertNeedles(newest.content, needles, `turn ${t}`);
    for (let i = 0; i < fwd.messages.length; i++) {
      if (fwd.messages[i].role === 'assistant') assert.deepEqual(fwd.messages[i], sent[i], 'assistant turns (thinking, signature, tool_use) byte-for-byte');
    }
    if (prev) {
      // earlier tool results identical apart from where the client moved the breakpoint
      const strip = (m) => JSON.stringify(m, (k, v) => (k === 'cache_control' ? undefined : v));
      for (let i = 0; i < prev.length; i++) assert.equal(strip(fwd.messages[i]), strip(prev[i]), `turn ${t}: message ${i} replayed`);
    }
    prev = fwd.messages;
  }
});

// Known bug (reported): src/compress/search.c scores query words by substring (contains_ci), so
// "out" in "Find out why" matches every `route_` line; rank_files() then keeps the first 15
// files in order, and the file whose match holds an error word (module41) is dropped.
test('grep output: the error match survives a question whose words occur inside other words', async () => {
  up.reset();
  const client = new OpenAI({ apiKey: KEY, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const grep = fx.grepOutput(50, 8, 62);
  await client.chat.completions.create({ model: 'gpt-4o', messages: [
    { role: 'user', content: 'The nightly build is red. Find out why.' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'g1', type: 'function', function: { name: 'search_code', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'g1', content: grep.text }] });
  const out = JSON.parse(up.requests[0].body).messages[2].content;
  assert.equal(fx.markersIn(out).length, 1, 'compressed');
  assert.ok(out.includes('negative balance'), 'the match holding an error word is kept');
});

// Known bug (reported): token-mode replay (src/compress/pipeline.c run_span, session-cache
// hit) forwards the remembered compressed text without storing the original for this
// request. Sessions are keyed by model + system prompt (or x-headroom-session-id), not by
// tenant, and the session cache outlives the store's TTL, so a replayed marker can name an
// original the sender cannot retrieve.
const replayBody = (tag) => JSON.stringify({ model: 'gpt-4o', messages: [
  { role: 'system', content: `shared agent prompt ${tag}` },
  { role: 'user', content: 'which tests failed?' },
  { role: 'tool', tool_call_id: 'a', content: fx.pytestLog(500, tag.length).text }] });
async function sendAndRetrieve(p, key, body) {
  const r = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  const [mk] = fx.markersIn(JSON.parse(up.requests.at(-1).body).messages[2].content);
  assert.ok(mk, 'compressed');
  return (await fetch(`${p.url}/v1/retrieve/${mk.hash}`, { headers: { authorization: `Bearer ${key}` } })).status;
}

test('two tenants with the same agent prompt: each can retrieve the marker it was sent', async () => {
  up.reset();
  const body = replayBody('tenants');
  assert.equal(await sendAndRetrieve(proxy, 'sk-replay-a', body), 200);
  assert.equal(await sendAndRetrieve(proxy, 'sk-replay-b', body), 200, 'tenant B can retrieve its own marker');
});

test('a marker replayed after the store TTL is still retrievable', async () => {
  up.reset();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-ttl-'));
  const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--ccr-ttl', '1'], env: { HEADROOM_DATA_DIR: dir } });
  try {
    const body = replayBody('ttl');
    assert.equal(await sendAndRetrieve(p, KEY, body), 200);
    await new Promise((r) => setTimeout(r, 2200)); // the 1 s TTL passes
    assert.equal(await sendAndRetrieve(p, KEY, body), 200, 'the replayed marker names a retrievable original');
  } finally {
    assert.equal(await p.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
