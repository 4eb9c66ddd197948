// bench/ccr/proxy_latency.mjs: the proxy's added latency with CCR, side by side in one run.
// One fake upstream (answers at once), one proxy per arm, the same 400-line tool outputs
// (distinct per request, so every request compresses and stores a new original):
//   bypass   x-headroom-bypass: true (no compression, no store): the proxy's floor
//   memory   compression + originals in the in-process store
//   sqlite   compression + originals in SQLite (the default)
//   redis    compression + originals in a local redis-server (if installed)
// Reports client-observed request latency p50/p99 in ms and the stored count per arm.
//   node bench/ccr/proxy_latency.mjs [N]     (HEADROOM_BIN = the headroom binary)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const BIN = process.env.HEADROOM_BIN || 'build/headroom';
const N = Number(process.argv[2] || 200);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kill = [];

const upstream = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"id":"c","object":"chat.completion","created":0,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}');
  });
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upUrl = `http://127.0.0.1:${upstream.address().port}`;

async function startProxy(env) {
  const proc = spawn(BIN, ['proxy', '--host', '127.0.0.1', '--port', '0', '--openai-api-url', upUrl],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  kill.push(proc);
  let stderr = '';
  const collect = (d) => { stderr += d; };
  proc.stderr.on('data', collect);
  for (const deadline = Date.now() + 15000; ;) {
    const m = stderr.match(/listening.*?port[=":]+(\d+)/);
    if (m) {
      proc.stderr.off('data', collect);
      proc.stderr.resume(); // request log lines are drained, not kept
      return `http://127.0.0.1:${m[1]}`;
    }
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(stderr);
    await sleep(20);
  }
}

function body(i) {
  const log = Array.from({ length: 400 }, (_, j) => (j % 97 === 13
    ? `2026-11-27T04:00:00Z ERROR req ${i} job ${j} failed: disk quota exceeded`
    : `2026-11-27T04:00:00Z INFO req ${i} job ${j} finished in ${(j * 7 + i) % 50} ms`)).join('\n');
  return JSON.stringify({ model: 'gpt-4o', messages: [
    { role: 'user', content: 'why?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read_log', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: log }] });
}

async function arm(name, url, extraHeaders = {}) {
  const times = [];
  for (let i = 0; i < N + 20; i++) {
    const b = body(`${name}-${i}`.length * 1000 + i);
    const t0 = process.hrtime.bigint();
    const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: b,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', ...extraHeaders } });
    await r.text();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= 20) times.push(ms); // 20 warm-up requests
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.round(p * (times.length - 1)))].toFixed(2);
  const st = await (await fetch(`${url}/v1/retrieve/stats`)).json().catch(() => ({}));
  console.log(`| ${name.padEnd(8)} | ${N} | ${pct(0.5)} | ${pct(0.99)} | ${st.puts ?? '-'} |`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-bench-proxy-'));
try {
  console.log(`date ${new Date().toISOString().slice(0, 16)}Z, ${os.cpus().length} cpus, N=${N}`);
  console.log('| arm      | n | p50 ms | p99 ms | store puts |\n|---|---:|---:|---:|---:|');
  const memUrl = await startProxy({ HEADROOM_CCR_BACKEND: 'memory' });
  await arm('bypass', memUrl, { 'x-headroom-bypass': 'true' });
  await arm('memory', memUrl);
  await arm('sqlite', await startProxy({ HEADROOM_CCR_BACKEND: 'sqlite', HEADROOM_DATA_DIR: dir }));
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status === 0) {
    const port = await new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    kill.push(redis);
    while (spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() !== 'PONG') await sleep(20);
    await arm('redis', await startProxy({ HEADROOM_CCR_BACKEND: 'redis', HEADROOM_REDIS_URL: `redis://127.0.0.1:${port}/0` }));
  }
} finally {
  for (const p of kill) p.kill('SIGTERM');
  upstream.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
