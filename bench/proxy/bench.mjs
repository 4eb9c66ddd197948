// bench.mjs: proxy vs direct, side by side in one run, against the same upstream
// (bench/proxy/upstream.mjs, its own process). Load from wrk (Debian package).
//   - added latency p50/p99 for 2 KB and 1 MB non-streaming POST /v1/chat/completions
//     (wrk -t1 -c1: one request at a time over keep-alive); direct and proxy alternate,
//     two rounds each, the better round of each is reported;
//   - throughput at 32 concurrent clients (wrk -t2 -c32), 2 KB requests;
//   - RSS of the proxy (VmRSS, RssAnon from /proc) at idle after start, with 200 open
//     streams, after they closed, and idle after all the load.
// Usage: node bench/proxy/bench.mjs [--bin PATH] [--seconds N]   (see bench/proxy/run.sh)
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lib from './lib.mjs';

const { sleep, start, rss, cpuSeconds } = lib;
const bodyOfSize = (bytes) => lib.bodyOfSize(bytes, tmp);
const wrk = (url, bodyFile, opts = {}) => lib.wrk(url, bodyFile, { seconds: SECONDS, ...opts });

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const arg = (name, def) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : def; };
const BIN = arg('--bin', process.env.HEADROOM_BIN || path.join(root, 'build', 'headroom'));
const SECONDS = Number(arg('--seconds', '5'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-bench-'));

// A wrk run plus the CPU each of the three processes spent per request (microseconds).
function wrkWithCpu(url, bodyFile, opts) {
  const u0 = cpuSeconds(up.p.pid), p0 = cpuSeconds(proxy.p.pid);
  const r = wrk(url, bodyFile, opts);
  const perReq = (sec) => +((sec * 1e6) / r.requests).toFixed(1);
  r.cpu_us_per_request = { wrk: perReq(r.wrkCpu), upstream: perReq(cpuSeconds(up.p.pid) - u0), proxy: perReq(cpuSeconds(proxy.p.pid) - p0) };
  return r;
}

async function openStreams(port, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: n + 10 });
  const reqs = [];
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' } }, (res) => {
      res.once('data', () => resolve());
    });
    req.on('error', reject);
    req.end('{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}');
    reqs.push(req);
  })));
  return () => { for (const r of reqs) r.destroy(); agent.destroy(); };
}

// Opens n keep-alive connections, each after one answered GET /livez, and leaves them idle.
async function openIdleConnections(port, n) {
  const net = await import('node:net');
  const socks = [];
  for (let i = 0; i < n; i += 100) {
    socks.push(...await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('data', () => resolve(s));
      s.on('error', reject);
      s.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
    }))));
  }
  return () => { for (const s of socks) s.destroy(); };
}

const up = await start('node', [path.join(here, 'upstream.mjs')], /port=(\d+)/, path.join(tmp, 'upstream.log'));
const upstreamUrl = `http://127.0.0.1:${up.port}`;
// Default settings, so the one log line per request is written (to a file) as in real use.
const proxy = await start(BIN, ['proxy', '--port', '0', '--openai-api-url', upstreamUrl], /listening.*port=(\d+)/, path.join(tmp, 'proxy.log'));
const proxyUrl = `http://127.0.0.1:${proxy.port}`;
await sleep(300);
const result = { date: new Date().toISOString(), machine: `${os.cpus().length} cores, ${os.cpus()[0].model}`, seconds: SECONDS };
result.rss_idle_start = rss(proxy.p.pid);

const small = bodyOfSize(2048), large = bodyOfSize(1 << 20);
result.latency = {};
for (const [label, file] of [['2KB', small], ['1MB', large]]) {
  wrk(upstreamUrl, file, { seconds: 1 }); wrk(proxyUrl, file, { seconds: 1 }); // warm up
  const runs = { direct: [], proxy: [], bypass: [] };
  for (let round = 0; round < 2; round++) {
    runs.direct.push(wrk(upstreamUrl, file));
    runs.proxy.push(wrk(proxyUrl, file));
    runs.bypass.push(wrk(proxyUrl, file, { bypass: true }));
  }
  const best = (xs) => xs.reduce((a, b) => (b.p50 < a.p50 ? b : a));
  const d = best(runs.direct), p = best(runs.proxy), b = best(runs.bypass);
  result.latency[label] = {
    direct: d, proxy: p, bypass: b,
    added_p50_ms: +(p.p50 - d.p50).toFixed(3), added_p99_ms: +(p.p99 - d.p99).toFixed(3),
    bypass_added_p50_ms: +(b.p50 - d.p50).toFixed(3), bypass_added_p99_ms: +(b.p99 - d.p99).toFixed(3),
  };
}
// throughput: direct and proxy alternate twice; the better run of each is kept
const tput = { direct: [], proxy: [], bypass: [] };
for (let round = 0; round < 2; round++) {
  tput.direct.push(wrkWithCpu(upstreamUrl, small, { threads: 2, conns: 32 }));
  tput.proxy.push(wrkWithCpu(proxyUrl, small, { threads: 2, conns: 32 }));
  tput.bypass.push(wrkWithCpu(proxyUrl, small, { threads: 2, conns: 32, bypass: true }));
}
const top = (xs) => Math.max(...xs.map((x) => x.rps));
const topRun = (xs) => xs.reduce((a, b) => (b.rps > a.rps ? b : a));
result.throughput_32 = {
  direct_rps: top(tput.direct), proxy_rps: top(tput.proxy), bypass_rps: top(tput.bypass),
  cpu_us_per_request: { direct: topRun(tput.direct).cpu_us_per_request, proxy: topRun(tput.proxy).cpu_us_per_request, bypass: topRun(tput.bypass).cpu_us_per_request },
  load_average: os.loadavg().map((x) => +x.toFixed(2)),
  errors: [...tput.direct, ...tput.proxy, ...tput.bypass].map((x) => x.errors).filter(Boolean).join('; '),
};
result.throughput_32.ratio = +(result.throughput_32.proxy_rps / result.throughput_32.direct_rps).toFixed(3);
result.throughput_32.bypass_ratio = +(result.throughput_32.bypass_rps / result.throughput_32.direct_rps).toFixed(3);
// the same with a 20 ms upstream service time (a fast provider): latency-bound, not CPU-bound
const slowD = wrk(upstreamUrl, small, { threads: 2, conns: 32, delayMs: 20 });
const slowP = wrk(proxyUrl, small, { threads: 2, conns: 32, delayMs: 20 });
result.throughput_32_upstream_20ms = { direct_rps: slowD.rps, proxy_rps: slowP.rps, ratio: +(slowP.rps / slowD.rps).toFixed(3),
  direct_p50: slowD.p50, proxy_p50: slowP.p50, direct_p99: slowD.p99, proxy_p99: slowP.p99 };

const close = await openStreams(proxy.port, 200);
await sleep(300);
result.rss_200_streams = rss(proxy.p.pid);
close();
await sleep(3000); // idle maintenance runs after a full quiet second, on a 1 s tick
result.rss_after_streams = rss(proxy.p.pid);
const idle = await openIdleConnections(proxy.port, 1000);
await sleep(300);
result.rss_1000_idle_connections = rss(proxy.p.pid);
idle();
await sleep(3000);
const stats = await (await fetch(`${proxyUrl}/stats`)).json();
result.proxy_overhead_ms = stats.latency_ms.proxy_overhead;
result.rss_idle_end = rss(proxy.p.pid);

proxy.p.kill('SIGTERM');
up.p.kill('SIGTERM');
fs.rmSync(tmp, { recursive: true, force: true });

const f = (x) => (Number.isFinite(x) ? x.toFixed(3) : String(x));
console.log(JSON.stringify(result, null, 2));
console.log(`\n| size | path | p50 | p99 | added p50 | added p99 |\n|---|---|---:|---:|---:|---:|`);
for (const [k, v] of Object.entries(result.latency)) {
  console.log(`| ${k} | direct | ${f(v.direct.p50)} ms | ${f(v.direct.p99)} ms | | |`);
  console.log(`| ${k} | proxy | ${f(v.proxy.p50)} ms | ${f(v.proxy.p99)} ms | ${f(v.added_p50_ms)} ms | ${f(v.added_p99_ms)} ms |`);
  console.log(`| ${k} | proxy, bypass | ${f(v.bypass.p50)} ms | ${f(v.bypass.p99)} ms | ${f(v.bypass_added_p50_ms)} ms | ${f(v.bypass_added_p99_ms)} ms |`);
}
const t = result.throughput_32;
console.log(`\nthroughput, 32 clients, 2 KB: direct ${t.direct_rps} req/s, proxy ${t.proxy_rps} req/s (${(t.ratio * 100).toFixed(1)}%), proxy bypass ${t.bypass_rps} req/s (${(t.bypass_ratio * 100).toFixed(1)}%)`);
const t2 = result.throughput_32_upstream_20ms;
for (const [k, v] of Object.entries(t.cpu_us_per_request))
  console.log(`CPU per request (us), ${k}: wrk ${v.wrk}, upstream ${v.upstream}, proxy ${v.proxy}`);
console.log(`load average after the throughput runs: ${t.load_average.join(' ')}`);
console.log(`throughput, 32 clients, 2 KB, upstream answering in 20 ms: direct ${t2.direct_rps} req/s, proxy ${t2.proxy_rps} req/s (${(t2.ratio * 100).toFixed(1)}%)`);
for (const k of ['rss_idle_start', 'rss_200_streams', 'rss_after_streams', 'rss_1000_idle_connections', 'rss_idle_end'])
  console.log(`${k}: VmRSS ${result[k].VmRSS_MB} MB, RssAnon ${result[k].RssAnon_MB} MB, threads ${result[k].Threads}`);
