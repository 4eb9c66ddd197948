// bench/ccrwire/tool_loop.mjs: what resolving a headroom_retrieve call costs through the
// proxy, side by side in one run (arms interleaved per iteration, so they share the noise).
// One local upstream that answers at once; the request carries a compressed tool output
// (its marker in history, the 400-line original in the store), so the proxy offers the tool.
//   direct-1      one request straight to the upstream (the floor)
//   direct-2      two sequential requests straight to the upstream (two rounds, no proxy)
//   proxy-bypass  through the proxy with x-headroom-bypass (no pipeline, no tool): its floor
//   proxy-plain   through the proxy, the model answers at once (tool offered, not called)
//   proxy-tool    through the proxy, the model calls headroom_retrieve, the proxy answers it
//                 from the store and continues upstream (2 rounds, buffered)
//   proxy-stream  as proxy-tool, streamed (round 1 and 2 are SSE; one client stream)
// Reports client-observed latency p50/p99 in ms per arm.
//   node bench/ccrwire/tool_loop.mjs [N]     (HEADROOM_BIN = the headroom binary)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const BIN = process.env.HEADROOM_BIN || 'build/headroom';
const N = Number(process.argv[2] || 200);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const lines = [];
for (let i = 0; i < 400; i++)
  lines.push(i === 137 ? `[job ${i}] ERROR disk quota exceeded on /var/cache`
    : `[job ${i}] step build: compiled module_${i % 23}.o in ${(i * 7) % 97} ms, cache hit ratio 0.${(i * 13) % 100}`);
const ORIGINAL = lines.join('\n');

const completion = (message, finish) => JSON.stringify({ id: 'c', object: 'chat.completion', created: 0, model: 'gpt-4o',
  choices: [{ index: 0, message, finish_reason: finish }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
const chunk = (delta, finish, usage) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'gpt-4o',
  choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;

// The upstream calls headroom_retrieve when asked to (x-bench-call) and the request does
// not yet hold the tool's answer; otherwise it answers "ok".
const upstream = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString('utf8'));
    const hash = /hash=([0-9a-f]{24})\]/.exec(JSON.stringify(body.messages))?.[1];
    const call = req.headers['x-bench-call'] === '1' && body.messages.at(-1).tool_call_id !== 'call_r' && hash;
    const args = JSON.stringify({ hash });
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(call
        ? chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_r', type: 'function', function: { name: 'headroom_retrieve', arguments: args } }] }, null) +
          chunk({}, 'tool_calls') + chunk(null, null, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }) + 'data: [DONE]\n\n'
        : chunk({ role: 'assistant', content: 'ok' }, null) + chunk({}, 'stop') +
          chunk(null, null, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }) + 'data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(call
      ? completion({ role: 'assistant', content: null, tool_calls: [{ id: 'call_r', type: 'function', function: { name: 'headroom_retrieve', arguments: args } }] }, 'tool_calls')
      : completion({ role: 'assistant', content: 'ok' }, 'stop'));
  });
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upUrl = `http://127.0.0.1:${upstream.address().port}`;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-bench-toolloop-'));
const proc = spawn(BIN, ['proxy', '--host', '127.0.0.1', '--port', '0', '--openai-api-url', upUrl,
  '--ccr-backend', 'memory', '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
proc.stderr.on('data', (d) => { stderr += d; });
let port = 0;
for (const deadline = Date.now() + 15000; !port;) {
  port = Number(stderr.match(/listening.*?port[=":]+(\d+)/)?.[1] || 0);
  if (!port && Date.now() > deadline) throw new Error(`proxy did not start: ${stderr}`);
  if (!port) await sleep(20);
}
const proxyUrl = `http://127.0.0.1:${port}`;

const messages = (tool) => [
  { role: 'user', content: 'why did CI fail?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'run_ci', arguments: '{}' } }] },
  { role: 'tool', tool_call_id: 'c1', content: tool },
];
const post = async (base, body, call, extra = {}) => {
  const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body,
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', 'x-bench-call': call ? '1' : '0', ...extra } });
  const text = await r.text();
  if (r.status !== 200 || text.includes('headroom_retrieve')) throw new Error(`bad answer ${r.status}: ${text.slice(0, 200)}`);
  return text;
};

// Store the original once and keep its compressed form as history.
const compressedUp = await new Promise((resolve) => {
  const once = (req) => { const p = []; req.on('data', (c) => p.push(c)); req.on('end', () => resolve(JSON.parse(Buffer.concat(p)).messages.at(-1).content)); };
  upstream.once('request', once);
  post(proxyUrl, JSON.stringify({ model: 'gpt-4o', messages: messages(ORIGINAL) }), false);
});
if (!/hash=[0-9a-f]{24}\]/.test(compressedUp)) throw new Error('the original was not compressed');
const body = JSON.stringify({ model: 'gpt-4o', messages: messages(compressedUp) });
const streamBody = JSON.stringify({ model: 'gpt-4o', stream: true, messages: messages(compressedUp) });

const arms = {
  'direct-1': () => post(upUrl, body, false),
  'direct-2': async () => { await post(upUrl, body, false); await post(upUrl, body, false); },
  'proxy-bypass': () => post(proxyUrl, body, false, { 'x-headroom-bypass': 'true' }),
  'proxy-plain': () => post(proxyUrl, body, false),
  'proxy-tool': () => post(proxyUrl, body, true),
  'proxy-stream': async () => { if (!(await post(proxyUrl, streamBody, true)).includes('"ok"')) throw new Error('stream lost the answer'); },
};
const times = Object.fromEntries(Object.keys(arms).map((k) => [k, []]));
for (let i = 0; i < 20; i++) for (const f of Object.values(arms)) await f(); // warm-up
for (let i = 0; i < N; i++)
  for (const [k, f] of Object.entries(arms)) {
    const t0 = process.hrtime.bigint();
    await f();
    times[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
console.log(`N=${N} per arm, original ${ORIGINAL.length} bytes, history ${compressedUp.length} bytes`);
console.log('arm            p50 ms   p99 ms');
for (const [k, a] of Object.entries(times)) console.log(`${k.padEnd(14)} ${pct(a, 50).toFixed(2).padStart(6)}   ${pct(a, 99).toFixed(2).padStart(6)}`);

proc.kill('SIGTERM');
await new Promise((r) => proc.once('exit', r));
upstream.close();
fs.rmSync(dataDir, { recursive: true, force: true });
