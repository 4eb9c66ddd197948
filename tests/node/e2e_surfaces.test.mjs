// e2e_surfaces.test.mjs: one product, several doors. The same request compresses to the
// same tool-output bytes whether it goes through the proxy, POST /v1/compress or
// `headroom compress`; an original the proxy stored is served by `headroom mcp` (the real MCP
// client) on the same data dir, for its tenant only; cache mode keeps every earlier turn
// byte-identical too; parallel requests of two tenants each get their own originals back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { startProxy, HEADROOM_BIN } from './lib/proxy.mjs';
import * as fx from './lib/e2e_fixtures.mjs';

const KEY = 'sk-e2e-surfaces';
let up, proxy, dataDir;
before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-surf-'));
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dataDir } });
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0);
  await up?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const KINDS = [fx.dbRows(150, 11), fx.pytestLog(400, 12), fx.grepOutput(40, 8, 13), fx.unifiedDiff(8, 14)];
const chatBody = () => ({
  model: 'gpt-4o',
  messages: [
    { role: 'user', content: 'why is transaction 480031 missing, and which tests failed?' },
    { role: 'assistant', content: null, tool_calls: KINDS.map((_, i) => ({ id: `c${i}`, type: 'function', function: { name: `t${i}`, arguments: '{}' } })) },
    ...KINDS.map((k, i) => ({ role: 'tool', tool_call_id: `c${i}`, content: k.text })),
  ],
});
const toolTexts = (messages) => messages.filter((m) => m.role === 'tool').map((m) => m.content);

test('proxy, POST /v1/compress and `headroom compress` produce the same tool-output bytes', async () => {
  up.reset();
  const client = new OpenAI({ apiKey: KEY, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  await client.chat.completions.create(chatBody());
  const viaProxy = toolTexts(JSON.parse(up.requests[0].body).messages);
  assert.ok(viaProxy.every((t) => fx.markersIn(t).length === 1), 'every output compressed by the proxy');

  const r = await fetch(`${proxy.url}/v1/compress`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(chatBody()),
  });
  assert.equal(r.status, 200);
  const viaRoute = toolTexts((await r.json()).messages);

  const cliDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-cli-'));
  try {
    const cli = spawnSync(HEADROOM_BIN, ['compress', '--data-dir', cliDir], { input: JSON.stringify(chatBody()), maxBuffer: 64 << 20 });
    assert.equal(cli.status, 0, cli.stderr.toString());
    const viaCli = toolTexts(JSON.parse(cli.stdout).messages);
    assert.deepEqual(viaRoute, viaProxy, '/v1/compress = proxy');
    assert.deepEqual(viaCli, viaProxy, '`headroom compress` = proxy');
  } finally {
    fs.rmSync(cliDir, { recursive: true, force: true });
  }
});

test('`headroom mcp` on the proxy\'s data dir serves its originals to the same tenant only', async () => {
  up.reset();
  const client = new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 });
  const log = fx.pytestLog(700, 21);
  await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [
    { role: 'user', content: 'which tests failed?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'pytest', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: log.text }] }] });
  const [mk] = fx.markersIn(JSON.parse(up.requests[0].body).messages[2].content[0].content);
  assert.ok(mk, 'compressed');
  const call = async (key) => {
    const transport = new StdioClientTransport({
      command: HEADROOM_BIN, args: ['mcp', '--data-dir', dataDir, '--api-key-env', 'HR_E2E_KEY'],
      env: { ...process.env, HR_E2E_KEY: key }, stderr: 'pipe',
    });
    const mcp = new Client({ name: 'e2e', version: '1.0.0' });
    await mcp.connect(transport);
    try {
      return await mcp.callTool({ name: 'headroom_retrieve', arguments: { hash: mk.hash } });
    } finally {
      await mcp.close();
    }
  };
  const mine = await call(KEY);
  assert.ok(!mine.isError);
  assert.equal(mine.content.map((c) => c.text).join(''), log.text, 'MCP returns the exact original');
  const theirs = await call('sk-someone-else');
  assert.ok(theirs.isError, 'another key gets an error, not the original');
  assert.ok(!theirs.content.map((c) => c.text).join('').includes('test_case_'), 'and no content');
});

test('cache mode: 6 turns, each forwarded body starts with the previous one\'s messages', async () => {
  up.reset();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-cache-'));
  const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--mode', 'cache'], env: { HEADROOM_DATA_DIR: dir } });
  try {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });
    const messages = [{ role: 'system', content: 'cache-mode agent' }, { role: 'user', content: 'find the failing job' }];
    for (let t = 0; t < 6; t++) {
      const g = [fx.pytestLog(300, 30 + t), fx.grepOutput(30, 8, 30 + t), fx.dbRows(120, 30 + t)][t % 3];
      messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `k${t}`, type: 'function', function: { name: 'run', arguments: '{}' } }] });
      messages.push({ role: 'tool', tool_call_id: `k${t}`, content: g.text });
      await client.chat.completions.create({ model: 'gpt-4o', messages });
      const fwd = JSON.parse(up.requests[t].body).messages;
      assert.equal(fx.markersIn(fwd.at(-1).content).length, 1, `turn ${t}: the new output is compressed`);
      if (t > 0) {
        // byte for byte (the provider's prompt cache sees bytes, not parsed JSON): the
        // previous body up to the end of its last message is a prefix of this one
        const prevBody = up.requests[t - 1].body.toString('utf8');
        const at = prevBody.indexOf('"messages":[') + '"messages":'.length;
        const prefix = prevBody.slice(0, fx.skipJsonValue(prevBody, at) - 1);
        assert.ok(prefix.length > prevBody.length / 2, 'the prefix covers the earlier turns');
        assert.ok(up.requests[t].body.toString('utf8').startsWith(prefix), `turn ${t}: earlier messages unchanged, byte for byte`);
      }
    }
  } finally {
    assert.equal(await p.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('two tenants in parallel, streaming and not: each marker retrievable by its own tenant only', async () => {
  up.reset();
  const keys = ['sk-par-a', 'sk-par-b'];
  const jobs = [];
  for (let i = 0; i < 8; i++) {
    const key = keys[i % 2];
    const text = fx.pytestLog(300, 100 + i).text;
    const client = new OpenAI({ apiKey: key, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
    const params = { model: 'gpt-4o', messages: [{ role: 'user', content: `run ${i}: which tests failed?` }, { role: 'tool', tool_call_id: `p${i}`, content: text }] };
    jobs.push((async () => {
      if (i % 4 < 2) await client.chat.completions.create(params);
      else for await (const _ of await client.chat.completions.create({ ...params, stream: true })) { /* drain */ }
      return { key, text };
    })().then((r) => ({ ...r, i })));
  }
  const done = await Promise.all(jobs);
  for (const { key, text, i } of done) {
    const rec = up.requests.find((q) => JSON.parse(q.body).messages[0].content.startsWith(`run ${i}:`));
    const [mk] = fx.markersIn(JSON.parse(rec.body).messages[1].content);
    assert.ok(mk, `request ${i} compressed`);
    const mine = await fetch(`${proxy.url}/v1/retrieve/${mk.hash}`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(mine.status, 200);
    assert.ok((await mine.json()).content === text, `request ${i}: own original byte-exact`);
    const other = keys.find((k) => k !== key);
    assert.equal((await fetch(`${proxy.url}/v1/retrieve/${mk.hash}`, { headers: { authorization: `Bearer ${other}` } })).status, 404);
  }
});

// Regression: option parsers once disagreed on where they leave i (the CCR one stepped past
// its value), so the option after --data-dir / --ccr-* was skipped. One convention now.
test('`headroom compress --data-dir D --stats` honours the option after --data-dir', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-cliargs-'));
  try {
    const r = spawnSync(HEADROOM_BIN, ['compress', '--data-dir', dir, '--stats', '--format', 'raw'], { input: KINDS[1].text });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stderr.toString(), /tokens_saved=\d+/, '--stats printed its line');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an original stored by `headroom mcp` headroom_compress is served by the running proxy to the same key', async () => {
  const log = fx.pytestLog(600, 91);
  const transport = new StdioClientTransport({
    command: HEADROOM_BIN, args: ['mcp', '--data-dir', dataDir, '--bearer-env', 'HR_E2E_KEY'],
    env: { ...process.env, HR_E2E_KEY: KEY }, stderr: 'pipe',
  });
  const mcp = new Client({ name: 'e2e', version: '1.0.0' });
  await mcp.connect(transport);
  let text;
  try {
    const res = await mcp.callTool({ name: 'headroom_compress', arguments: { content: log.text, query: 'which tests failed?' } });
    assert.ok(!res.isError);
    text = res.content.map((c) => c.text).join('');
  } finally {
    await mcp.close();
  }
  const [mk] = fx.markersIn(text);
  assert.ok(mk, 'MCP compressed the log');
  fx.assertNeedles(text, log.needles, 'mcp compress');
  const mine = await fetch(`${proxy.url}/v1/retrieve/${mk.hash}`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(mine.status, 200);
  assert.ok((await mine.json()).content === log.text, 'the proxy returns the exact original');
  assert.equal((await fetch(`${proxy.url}/v1/retrieve/${mk.hash}`, { headers: { authorization: 'Bearer sk-other' } })).status, 404);
});
