// ccr_routes.test.mjs: the proxy's retrieve routes on a real `headroom proxy` process:
// GET /v1/retrieve/<hash>[?query=], POST /v1/retrieve, GET /v1/retrieve/stats, with
// tenant isolation between two API keys, 404/400 in the provider's error shape, and (when
// redis-server is installed) two proxies sharing one Redis store and a stopped Redis
// answering 503 fast. Originals are seeded by independent writers: Python's sqlite3 module
// into the SQLite file, redis-cli into Redis.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { havePrograms, needs } from './lib/deps.mjs';
import { assertAnthropicErrorShape } from './lib/provider_errors.mjs';
import { contentHash, seedSqlite, tenantOf } from './lib/ccr_seed.mjs';

const BIN = process.env.HEADROOM_BIN;
const KEY_A = 'sk-ant-test-key-a';
const KEY_B = 'sk-ant-test-key-b';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let dir;
const procs = [];

async function startProxy(env) {
  const proc = spawn(BIN, ['proxy', '--host', '127.0.0.1', '--port', '0'], {
    env: { ...process.env, HEADROOM_LOG_FORMAT: 'text', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(proc);
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d.toString(); });
  const deadline = Date.now() + 15000;
  for (;;) {
    const m = stderr.match(/listening.*?port[=":]+(\d+)/);
    if (m) return { proc, url: `http://127.0.0.1:${m[1]}`, logs: () => stderr };
    if (proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`proxy did not start:\n${stderr}`);
    await sleep(20);
  }
}

// SIGTERM; resolves with the exit code (or the signal's name if it had to be killed).
async function stop(proc) {
  if (proc.exitCode !== null || proc.signalCode) return proc.exitCode ?? proc.signalCode;
  const done = new Promise((r) => proc.once('exit', (code, signal) => r(code ?? signal)));
  proc.kill('SIGTERM');
  const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
  const code = await done;
  clearTimeout(force); // a pending timer would keep the test process alive
  return code;
}

// A proxy must exit 0 on SIGTERM: a sanitizer report at shutdown exits non-zero.
async function stopProxy(proc) {
  assert.equal(await stop(proc), 0, 'the proxy exits 0 on SIGTERM (no sanitizer report)');
}

const seed = (credential, text) => seedSqlite(BIN, dir, tenantOf(credential), text);

const get = (url, key, extra = {}) => fetch(url, { headers: { 'x-api-key': key, ...extra } });

before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-routes-')); });
after(async () => {
  for (const p of procs) await stop(p);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('retrieve routes on the SQLite store: whole, query, POST, tenants, errors, stats', async () => {
  const lines = Array.from({ length: 200 }, (_, i) =>
    i % 50 === 7 ? `src/db/pool.c:${i}: error: connection refused` : `src/app/main.c:${i}: ok`);
  const original = lines.join('\n') + '\n';
  const hash = seed(KEY_A, original);
  const proxy = await startProxy({ HEADROOM_DATA_DIR: dir });

  let r = await get(`${proxy.url}/v1/retrieve/${hash}`, KEY_A);
  assert.equal(r.status, 200);
  let body = await r.json();
  assert.equal(body.hash, hash);
  assert.equal(body.content, original);

  r = await get(`${proxy.url}/v1/retrieve/${hash}?query=${encodeURIComponent('connection refused')}`, KEY_A);
  body = await r.json();
  assert.equal(body.items_total, 200);
  assert.deepEqual(body.content.split('\n'), lines.filter((l) => l.includes('refused')));

  r = await fetch(`${proxy.url}/v1/retrieve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hash, query: 'refused' }),
  });
  // Bearer credentials name a different tenant than x-api-key with the same key text.
  assert.equal(r.status, 404);
  r = await fetch(`${proxy.url}/v1/retrieve`, {
    method: 'POST',
    headers: { 'x-api-key': KEY_A, 'content-type': 'application/json' },
    body: JSON.stringify({ hash, query: 'refused' }),
  });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).items_returned, 4);

  r = await get(`${proxy.url}/v1/retrieve/${hash}`, KEY_B);
  assert.equal(r.status, 404, 'another API key cannot read it');
  body = await r.json();
  // Anthropic shape: x-api-key selects Anthropic
  assert.match(assertAnthropicErrorShape(body, 'not_found_error').message, /unknown or expired/);

  r = await get(`${proxy.url}/v1/retrieve/NOT-A-HASH`, KEY_A);
  assert.equal(r.status, 400);
  r = await fetch(`${proxy.url}/v1/retrieve`, { method: 'POST', headers: { 'x-api-key': KEY_A }, body: '{"hash": 5}' });
  assert.equal(r.status, 400);

  r = await fetch(`${proxy.url}/v1/retrieve/stats`);
  assert.equal(r.status, 200);
  const stats = await r.json();
  assert.equal(stats.backend, 'sqlite');
  assert.equal(stats.hits, 3);
  assert.ok(stats.misses >= 2);
  assert.equal(stats.entries, 1);
  await stopProxy(proxy.proc);
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

test('two proxies share one Redis store; a stopped Redis answers 503 fast', { skip: needs(haveRedis, 'redis-server') }, async () => {
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' });
  procs.push(redis);
  for (let i = 0; spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() !== 'PONG'; i++) {
    if (i > 200) throw new Error('redis did not start');
    await sleep(20);
  }
  const text = '{"rows":[1,2,3],"shared":"across proxies"}';
  const hash = contentHash(text);
  const set = spawnSync('redis-cli', ['-p', String(port), 'SET', `headroom:ccr:${tenantOf(KEY_A)}:${hash}`, text, 'EX', '600']);
  assert.equal(set.stdout.toString().trim(), 'OK');
  const env = { HEADROOM_CCR_BACKEND: 'redis', HEADROOM_REDIS_URL: `redis://127.0.0.1:${port}/0` };
  const p1 = await startProxy(env);
  const p2 = await startProxy(env);
  for (const p of [p1, p2]) {
    const r = await get(`${p.url}/v1/retrieve/${hash}`, KEY_A);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).content, text);
    assert.equal((await get(`${p.url}/v1/retrieve/${hash}`, KEY_B)).status, 404);
  }
  await stop(redis);
  const t0 = Date.now();
  const r = await get(`${p1.url}/v1/retrieve/${hash}`, KEY_A);
  assert.equal(r.status, 503);
  assert.ok(Date.now() - t0 < 1500, `failed fast (${Date.now() - t0} ms)`);
  assert.equal((await fetch(`${p1.url}/livez`)).status, 200, 'the proxy keeps serving');
  await stopProxy(p1.proc);
  await stopProxy(p2.proc);
});
