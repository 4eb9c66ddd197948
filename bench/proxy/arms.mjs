// arms.mjs: headroom beside nginx, side by side in one run against the same upstream
// (bench/proxy/upstream.mjs, its own process), with the same wrk. Arms: direct (wrk to the
// upstream), nginx (Debian package, one worker, keepalive upstream, configuration written
// here), headroom on each server model (threads, events), passthrough (bypass) and with
// compression on. Rounds are interleaved (each arm once per round) so a change in the
// machine's load hits every arm alike; the best round of each arm is reported.
// Then memory: RssAnon per idle keep-alive connection and per open stream (N of each) for
// each headroom model and nginx, and RssAnon back at idle after the load.
// Usage: node bench/proxy/arms.mjs [--bin PATH] [--seconds N] [--rounds N] [--conns N]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, sleep, start } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const arg = (name, def) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : def; };
const BIN = arg('--bin', process.env.HEADROOM_BIN || path.join(root, 'build', 'headroom'));
const SECONDS = Number(arg('--seconds', '5'));
const ROUNDS = Number(arg('--rounds', '3'));
const MEM_COUNTS = arg('--conns', '1000').split(',').map(Number);
const MEMORY_ONLY = process.argv.includes('--memory-only'); // skip throughput and latency
// A relayed stream holds two descriptors in the relay (client + upstream): N streams need 2N
// under the hard RLIMIT_NOFILE (`ulimit -Hn`, 20,000 in our sandbox), so they are capped.
const MAX_STREAMS = Number(arg('--max-streams', '9000'));
// Memory readings only for these processes (comma list of names as printed), default all.
const MEM_TARGETS = arg('--mem-targets', '');
const NGINX = arg('--nginx', '/usr/sbin/nginx');
// Server models to run (each a headroom process); 'threads' is the default model.
const MODELS = arg('--models', 'threads').split(',');
// The event-driven floors: the same bare relay (no proxy logic) on one loop with curl multi
// for the upstream side, the client side on libmicrohttpd's epoll mode
// (bench/bench_http_relayfloor.c) or on libevent's evhttp (bench_http_relayfloorev.c).
// Each is skipped when not built (cmake --build build --target <name>).
// floor-mhd-16k / -8k: MHD's per-connection memory pool at 16 / 8 KiB instead of 32 KiB
// (the pool is the floor of MHD's memory per connection; it also caps a request head).
// The MHD floor relays event streams (bounded buffer, backpressure both ways); the libevent
// one buffers answers, so its open-stream memory is not measured.
const FLOORS = [['floor-mhd', 'bench_http_relayfloor', []], ['floor-mhd-16k', 'bench_http_relayfloor', ['16384']], ['floor-mhd-8k', 'bench_http_relayfloor', ['8192']],
  ['floor-libevent', 'bench_http_relayfloorev', []]]
  .map(([name, exe, extra]) => [name, path.join(path.dirname(BIN), exe), extra]).filter(([, bin]) => fs.existsSync(bin));
const bufferingOnly = (name) => name === 'floor-libevent';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-arms-'));

function tokenHeavyBody(bytes) {
  const rows = [];
  for (let i = 0; JSON.stringify(rows).length < bytes; i++)
    rows.push({ id: i, name: `item-${i}`, status: i % 7 ? 'ok' : 'failed', region: 'eu-west-1', latency_ms: 10 + (i % 13) });
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Which items failed?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'list', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: JSON.stringify(rows) }] };
  const file = path.join(tmp, `tool-${bytes}.json`);
  fs.writeFileSync(file, JSON.stringify(body));
  return file;
}

function plainBody(bytes) {
  const base = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: '' }] };
  base.messages[0].content = 'x'.repeat(bytes - JSON.stringify(base).length);
  const file = path.join(tmp, `plain-${bytes}.json`);
  fs.writeFileSync(file, JSON.stringify(base));
  return file;
}


function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// One worker, keep-alive to the upstream (HTTP/1.1, Connection cleared), access log off like
// a tuned gateway would have it; buffers large enough for a 100 KB body to stay in memory.
async function startNginx(upPort) {
  const port = await freePort();
  const conf = path.join(tmp, 'nginx.conf');
  fs.writeFileSync(conf, `worker_processes 1;
daemon off;
master_process on;
pid ${tmp}/nginx.pid;
error_log ${tmp}/nginx-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path ${tmp}/nginx-body;
  proxy_temp_path ${tmp}/nginx-proxy;
  client_max_body_size 100m;
  client_body_buffer_size 256k;
  upstream up { server 127.0.0.1:${upPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`);
  const n = await start(NGINX, ['-c', conf, '-e', `${tmp}/nginx-error.log`], null, path.join(tmp, 'nginx.log'));
  await sleep(300);
  const worker = Number(spawnSync('pgrep', ['-P', String(n.p.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
  return { p: n.p, port, worker };
}

function rssAnonKB(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(s.match(/RssAnon:\s+(\d+)/)[1]);
}

function wrk(url, bodyFile, { bypass = false } = {}) {
  const r = spawnSync('wrk', ['-t2', '-c32', `-d${SECONDS}s`, '--latency', '-s', path.join(here, 'post.lua'), url],
    { env: { ...process.env, BODY_FILE: bodyFile, BYPASS: bypass ? '1' : '0', DELAY_MS: '0' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const rps = Number((r.stdout.match(/Requests\/sec:\s+([\d.]+)/) || [0, NaN])[1]);
  const m = r.stdout.match(/\s50%\s+([\d.]+)(us|ms|s)/);
  const p50 = m ? Number(m[1]) / (m[2] === 'us' ? 1000 : m[2] === 's' ? 0.001 : 1) : NaN;
  const errors = (r.stdout.match(/(Non-2xx.*|Socket errors.*)/g) || []).join('; ');
  const requests = Number((r.stdout.match(/(\d+) requests in/) || [0, NaN])[1]);
  return { rps, p50, errors, requests };
}

function wrk1(url, bodyFile) { // one connection, one request at a time: latency
  const r = spawnSync('wrk', ['-t1', '-c1', `-d${SECONDS}s`, '--latency', '-s', path.join(here, 'post.lua'), url],
    { env: { ...process.env, BODY_FILE: bodyFile, BYPASS: '0', DELAY_MS: '0' }, encoding: 'utf8' });
  const m = r.stdout.match(/\s50%\s+([\d.]+)(us|ms|s)/);
  return m ? Number(m[1]) / (m[2] === 'us' ? 1000 : m[2] === 's' ? 0.001 : 1) : NaN;
}

// Opens n keep-alive connections (100 at a time), each left idle after one answered bypass
// request; a connection the relay refuses or closes is not counted. Returns {close, opened}.
async function openIdle(port, n) {
  const socks = [];
  for (let i = 0; i < n; i += 100)
    socks.push(...await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('data', (d) => resolve(/^HTTP\/1\.1 200/.test(d.toString('latin1')) ? s : (s.destroy(), null)));
      s.on('error', () => resolve(null));
      s.on('close', () => resolve(null));
      s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-headroom-bypass: true\r\nContent-Length: 2\r\n\r\n{}');
    }))));
  const open = socks.filter(Boolean);
  return { close: () => { for (const s of open) s.destroy(); }, opened: open.length };
}

// Opens n streams (100 at a time), each counted once its first event arrives (a 200 with
// text/event-stream), or as refused (any other status: a 503 past the relay's limit) or
// failed (the connection cut unanswered); gives up on a batch after 30 s so a relay that
// stalls near its limits ends the reading instead of hanging it (the batch's unanswered
// clients are counted as stalled). Returns {close, opened, refused, failed, stalled, ms}.
async function openStreams(port, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: n + 10 });
  const reqs = [];
  let opened = 0, refused = 0, failed = 0, stalled = 0;
  const t0 = Date.now();
  for (let i = 0; i < n; i += 100) {
    let answered = 0;
    const size = Math.min(100, n - i);
    const batch = Array.from({ length: size }, () => new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' } }, (res) => res.once('data', () => {
        if (res.statusCode === 200 && /event-stream/.test(res.headers['content-type'] || '')) opened++;
        else refused++;
        answered++;
        resolve();
      }));
      req.on('error', () => { failed++; answered++; resolve(); });
      req.end('{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}');
      reqs.push(req);
    }));
    const late = await Promise.race([Promise.all(batch).then(() => false), sleep(30000).then(() => true)]);
    if (late) { stalled = size - answered; break; }
  }
  return { close: () => { for (const r of reqs) r.destroy(); agent.destroy(); }, opened, refused, failed, stalled, ms: Date.now() - t0 };
}

const up = await start('node', [path.join(here, 'upstream.mjs')], /port=(\d+)/, path.join(tmp, 'upstream.log'));
const upUrl = `http://127.0.0.1:${up.port}`;
const ng = await startNginx(up.port);
const hr = {};
for (const model of MODELS) {
  const h = await start(BIN, ['proxy', '--port', '0', '--openai-api-url', upUrl, ...(model === 'threads' ? [] : ['--server-model', model]),
    '--limit-concurrency', '20000', '--max-connections-per-address', '0'], /listening.*port=(\d+)/, path.join(tmp, `hr-${model}.log`));
  hr[model] = { ...h, url: `http://127.0.0.1:${h.port}` };
}
const floors = {};
for (const [name, bin, extra] of FLOORS) floors[name] = await start(bin, [String(up.port), ...extra], /port=(\d+)/, path.join(tmp, `${name}.log`));
await sleep(500);
const result = { date: new Date().toISOString(), machine: `${os.cpus().length} cores, ${os.cpus()[0].model}`, seconds: SECONDS, rounds: ROUNDS,
  load_before: os.loadavg().map((x) => +x.toFixed(2)) };
const small = plainBody(2048), tool2k = tokenHeavyBody(2048), tool100k = tokenHeavyBody(100 * 1024);

// [name, url, body file, wrk options, pid of the process serving it (its CPU per request)]
const arms = [
  ['direct', upUrl, small, {}, up.p.pid],
  ['nginx', `http://127.0.0.1:${ng.port}`, small, {}, ng.worker],
];
for (const [name, f] of Object.entries(floors)) arms.push([name, `http://127.0.0.1:${f.port}`, small, {}, f.p.pid]);
for (const model of MODELS) {
  const pid = hr[model].p.pid;
  arms.push([`headroom-${model} bypass`, hr[model].url, small, { bypass: true }, pid]);
  arms.push([`headroom-${model} 2KB`, hr[model].url, small, {}, pid]);
  arms.push([`headroom-${model} tool 2KB`, hr[model].url, tool2k, {}, pid]);
  arms.push([`headroom-${model} tool 100KB`, hr[model].url, tool100k, {}, pid]);
}
// One wrk run with the CPU (user + system) the serving process spent per request: steadier
// than req/s on a machine other work shares.
function measured(url, file, o, pid) {
  const c0 = cpuSeconds(pid);
  const r = wrk(url, file, o);
  return { ...r, cpu_us: +((cpuSeconds(pid) - c0) * 1e6 / r.requests).toFixed(1) };
}
if (!MEMORY_ONLY) {
  for (const [, url, file, o] of arms) wrk(url, file, o); // warm-up pass, not recorded
  const runs = Object.fromEntries(arms.map(([k]) => [k, []]));
  for (let round = 0; round < ROUNDS; round++)
    for (const [k, url, file, o, pid] of arms) runs[k].push(measured(url, file, o, pid));
  result.throughput_32 = {};
  for (const [k] of arms) {
    const best = runs[k].reduce((a, b) => (b.rps > a.rps ? b : a));
    const cpu = runs[k].map((x) => x.cpu_us).sort((a, b) => a - b);
    result.throughput_32[k] = { rps: best.rps, all_rps: runs[k].map((x) => x.rps), p50_ms: best.p50, errors: best.errors,
      cpu_us_per_req_median: cpu[cpu.length >> 1], all_cpu_us: runs[k].map((x) => x.cpu_us) };
  }
  const ngRps = result.throughput_32.nginx.rps;
  for (const [k] of arms) result.throughput_32[k].vs_nginx = +(result.throughput_32[k].rps / ngRps).toFixed(3);
  result.load_after_throughput = os.loadavg().map((x) => +x.toFixed(2));

  // added p50 at 2 KB, one request at a time; arms interleaved, best of the rounds
  const lat = { direct: [], nginx: [], ...Object.fromEntries(Object.keys(floors).map((k) => [k, []])), ...Object.fromEntries(MODELS.map((m) => [`headroom-${m}`, []])) };
  for (let round = 0; round < 2; round++) {
    lat.direct.push(wrk1(upUrl, small));
    lat.nginx.push(wrk1(`http://127.0.0.1:${ng.port}`, small));
    for (const [name, f] of Object.entries(floors)) lat[name].push(wrk1(`http://127.0.0.1:${f.port}`, small));
    for (const model of MODELS) lat[`headroom-${model}`].push(wrk1(hr[model].url, small));
  }
  result.p50_ms_1conn = Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, Math.min(...v)]));
  result.added_p50_ms = Object.fromEntries(Object.entries(result.p50_ms_1conn).filter(([k]) => k !== 'direct')
    .map(([k, v]) => [k, +(v - result.p50_ms_1conn.direct).toFixed(3)]));
}

// memory: per idle keep-alive connection and per open stream
await sleep(3000);
result.memory = {};
const targets = { nginx: ng.worker, ...Object.fromEntries(Object.entries(floors).map(([k, f]) => [k, f.p.pid])), ...Object.fromEntries(MODELS.map((m) => [`headroom-${m}`, hr[m].p.pid])) };
const ports = { nginx: ng.port, ...Object.fromEntries(Object.entries(floors).map(([k, f]) => [k, f.port])), ...Object.fromEntries(MODELS.map((m) => [`headroom-${m}`, hr[m].port])) };
// Each count in --conns (e.g. 1000,10000): N idle keep-alive connections, then N open
// streams, each reading taken 1.5 s after the last one opened.
for (const n of MEM_COUNTS) {
  for (const [k, pid] of Object.entries(targets)) {
    if (MEM_TARGETS && !MEM_TARGETS.split(',').includes(k)) continue;
    const idle0 = rssAnonKB(pid);
    const idle = await openIdle(ports[k], n);
    await sleep(1500);
    const idleHeld = rssAnonKB(pid);
    idle.close();
    await sleep(3000);
    const mid = rssAnonKB(pid);
    let streamsHeld = mid, opened = 0, outcome = null;
    const ns = Math.min(n, MAX_STREAMS);
    if (!bufferingOnly(k)) { // buffering whole, an endless stream is never answered
      const streams = await openStreams(ports[k], ns);
      opened = streams.opened;
      outcome = { refused: streams.refused, failed: streams.failed, stalled: streams.stalled, ms: streams.ms };
      await sleep(1500);
      streamsHeld = rssAnonKB(pid);
      streams.close();
      await sleep(4000);
    }
    const end = rssAnonKB(pid);
    (result.memory[k] ||= {})[n] = { rss_anon_idle_kb: idle0, idle_opened: idle.opened,
      per_idle_connection_kb: idle.opened ? +((idleHeld - idle0) / idle.opened).toFixed(1) : null,
      open_streams: opened, streams_outcome: outcome, per_open_stream_kb: bufferingOnly(k) || !opened ? null : +((streamsHeld - mid) / opened).toFixed(1), rss_anon_after_load_kb: end, back_within_kb: end - idle0 };
  }
}

for (const h of Object.values(hr)) h.p.kill('SIGTERM');
ng.p.kill('SIGTERM');
for (const f of Object.values(floors)) f.p.kill('SIGTERM');
up.p.kill('SIGTERM');
await sleep(500);
fs.rmSync(tmp, { recursive: true, force: true });

console.log(JSON.stringify(result, null, 2));
if (!MEMORY_ONLY) {
  console.log('\n| arm | req/s (best of rounds) | vs nginx | p50 at 32 clients | CPU µs per request (median) |\n|---|---:|---:|---:|---:|');
  for (const [k, v] of Object.entries(result.throughput_32)) console.log(`| ${k} | ${v.rps} | ${v.vs_nginx} | ${v.p50_ms} ms | ${v.cpu_us_per_req_median} |`);
  console.log(`\nadded p50 at 2 KB, one connection: ${Object.entries(result.added_p50_ms).map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
}
console.log('\n| process | clients | idle opened | per idle connection | streams open / refused / cut / stalled (s) | per open stream | RssAnon idle | after the load |\n|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [k, byN] of Object.entries(result.memory))
  for (const [n, v] of Object.entries(byN)) {
    const o = v.streams_outcome;
    const streams = o ? `${v.open_streams} / ${o.refused} / ${o.failed} / ${o.stalled} (${(o.ms / 1000).toFixed(1)} s)` : '–';
    console.log(`| ${k} | ${n} | ${v.idle_opened} | ${v.per_idle_connection_kb} KB | ${streams} | ${v.per_open_stream_kb ?? '–'} KB | ${v.rss_anon_idle_kb} KB | ${v.rss_anon_after_load_kb} KB (+${v.back_within_kb}) |`);
  }
console.log(`load average before ${result.load_before.join(' ')}, at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
