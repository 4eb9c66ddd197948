// ccr_proxy.test.mjs: CCR through the running proxy, driven by the real `openai` client
// against a fake upstream that records what the proxy forwards:
//   - every marker in a forwarded body names an original the retrieve route returns
//     byte-exact, for the sender's API key only (tenant isolation across two keys);
//   - SQLite: the original survives kill -9 of the proxy and a restart;
//   - Redis: two proxies share originals; with Redis stopped, requests still succeed and
//     the tool output is forwarded uncompressed (nothing omitted without a stored original).
// A forwarded body without a marker fails: the kill -9 and Redis-sharing claims need one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { havePrograms, needs } from './lib/deps.mjs';

const BIN = process.env.HEADROOM_BIN;
const KEY_A = 'sk-test-key-a';
const KEY_B = 'sk-test-key-b';
const MARKER = /\[(\d+) (\w+) compressed to (\d+)\. Retrieve more: hash=([0-9a-f]{24})\]/g;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

async function fakeUpstream() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-4o',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${server.address().port}`, seen };
}

async function startProxy(upstreamUrl, env) {
  const proc = spawn(BIN, ['proxy', '--host', '127.0.0.1', '--port', '0', '--openai-api-url', upstreamUrl], {
    env: { ...process.env, HEADROOM_LOG_FORMAT: 'text', ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  cleanups.push(async () => { if (proc.exitCode === null && !proc.signalCode) proc.kill('SIGKILL'); });
  for (const deadline = Date.now() + 15000; ;) {
    const m = stderr.match(/listening.*?port[=":]+(\d+)/);
    if (m) return { proc, url: `http://127.0.0.1:${m[1]}` };
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`proxy did not start:\n${stderr}`);
    await sleep(20);
  }
}

// SIGTERM, and the exit code must be 0: a sanitizer report at shutdown exits non-zero.
async function stopProxy(p) {
  const done = new Promise((r) => p.proc.once('exit', (code, signal) => r(code ?? signal)));
  p.proc.kill('SIGTERM');
  assert.equal(await done, 0, 'the proxy exits 0 on SIGTERM (no sanitizer report)');
}

function toolOutput(seed) {
  return Array.from({ length: 400 }, (_, i) => (i % 97 === 13
    ? `2026-11-27T04:${String(i % 60).padStart(2, '0')}:00Z ERROR worker-${seed} job ${i} failed: disk quota exceeded`
    : `2026-11-27T04:${String(i % 60).padStart(2, '0')}:00Z INFO worker-${seed} job ${i} finished in ${(i * 7) % 50} ms`)).join('\n');
}

async function sendToolOutput(proxyUrl, key, content) {
  const client = new OpenAI({ apiKey: key, baseURL: `${proxyUrl}/v1`, maxRetries: 0 });
  const res = await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: 'Why did the jobs fail?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_log', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content },
    ],
  });
  assert.equal(res.choices[0].message.content, 'ok');
}

const forwardedTool = (up) => up.seen.at(-1).messages[2].content;
const markersIn = (text) => [...text.matchAll(MARKER)].map((m) => m[4]);
const retrieve = (url, hash, key) => fetch(`${url}/v1/retrieve/${hash}`, { headers: { authorization: `Bearer ${key}` } });

test('SQLite: markers are retrievable by their sender only, and survive kill -9', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-ccr-proxy-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const up = await fakeUpstream();
  const p1 = await startProxy(up.url, { HEADROOM_DATA_DIR: dir });
  const original = toolOutput('a');
  await sendToolOutput(p1.url, KEY_A, original);
  const hashes = markersIn(forwardedTool(up));
  assert.ok(hashes.length >= 1, 'the tool output went out compressed, with a marker');
  assert.ok(forwardedTool(up).length < original.length);
  for (const h of hashes) {
    const r = await retrieve(p1.url, h, KEY_A);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).content, original);
    assert.equal((await retrieve(p1.url, h, KEY_B)).status, 404, 'another API key cannot read it');
  }
  // The CLI reads the same originals for the same key (the SDK sent it as a bearer token).
  const cli = (flag) => spawnSync(BIN, ['retrieve', hashes[0], flag, 'HR_TEST_KEY', '--data-dir', dir],
    { env: { ...process.env, HR_TEST_KEY: KEY_A } });
  assert.equal(cli('--bearer-env').stdout.toString(), original);
  assert.equal(cli('--api-key-env').status, 1, 'as x-api-key the same key text is another tenant');
  p1.proc.kill('SIGKILL');
  await new Promise((r) => p1.proc.once('exit', r));
  const p2 = await startProxy(up.url, { HEADROOM_DATA_DIR: dir });
  const r = await retrieve(p2.url, hashes[0], KEY_A);
  assert.equal(r.status, 200, 'stored original survives kill -9 and restart');
  assert.equal((await r.json()).content, original);
  await stopProxy(p2);
});

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const haveRedis = havePrograms('redis-server', 'redis-cli');

test('Redis: two proxies share originals; Redis down means originals are forwarded', { skip: needs(haveRedis, 'redis-server') }, async () => {
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  cleanups.push(async () => { if (redis.exitCode === null) redis.kill('SIGKILL'); });
  for (let i = 0; spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() !== 'PONG'; i++) {
    if (i > 200) throw new Error('redis did not start');
    await sleep(20);
  }
  const env = { HEADROOM_CCR_BACKEND: 'redis', HEADROOM_REDIS_URL: `redis://127.0.0.1:${port}/0` };
  const up = await fakeUpstream();
  const p1 = await startProxy(up.url, env);
  const p2 = await startProxy(up.url, env);
  const original = toolOutput('b');
  await sendToolOutput(p1.url, KEY_A, original);
  const hashes = markersIn(forwardedTool(up));
  assert.ok(hashes.length >= 1, 'the tool output went out compressed, with a marker');
  const r = await retrieve(p2.url, hashes[0], KEY_A);
  assert.equal(r.status, 200, 'the other proxy reads the original');
  assert.equal((await r.json()).content, original);

  const stopped = new Promise((res) => redis.once('exit', res));
  redis.kill('SIGTERM');
  await stopped;
  const fresh = toolOutput('c');
  const t0 = Date.now();
  await sendToolOutput(p1.url, KEY_A, fresh);
  assert.ok(Date.now() - t0 < 3000, 'a dead Redis does not stall the request');
  assert.equal(forwardedTool(up), fresh, 'no stored original: the tool output goes out whole');
  await stopProxy(p1);
  await stopProxy(p2);
});
