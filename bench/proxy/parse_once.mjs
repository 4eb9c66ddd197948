// parse_once.mjs: what parsing the request once saves (issue 13, "the request, parsed
// once"): the proxy's added p50 and its CPU per request, this build against a baseline
// build, side by side in one run against the same upstream (bench/proxy/upstream.mjs).
// Direct, baseline and this build alternate, --rounds rounds each (3); the best p50 and the
// median CPU per request of each are kept (the machine is shared). Requests are the default
// path of POST /v1/chat/completions (JSON check, compression, the headroom_retrieve tool
// offered on the compressed body), non-streaming, one at a time over keep-alive (wrk -t1 -c1).
// Usage: node bench/proxy/parse_once.mjs --bin build/headroom --baseline-bin OLD/headroom
//        [--seconds N] [--rounds N] [--sizes "2 KB,64 KB,1 MB"]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, start, cpuSeconds, bodyOfSize, wrk } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : def; };
const BIN = arg('--bin', 'build/headroom');
const BASE = arg('--baseline-bin');
const SECONDS = Number(arg('--seconds', '4'));
const ROUNDS = Number(arg('--rounds', '3'));
if (!BASE) throw new Error('--baseline-bin is required');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-parse-once-'));

const up = await start('node', [path.join(here, 'upstream.mjs')], /port=(\d+)/, path.join(tmp, 'upstream.log'));
const upstreamUrl = `http://127.0.0.1:${up.port}`;
async function proxy(bin, name) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  process.env.HEADROOM_DATA_DIR = dir; // each proxy its own CCR store
  return start(bin, ['proxy', '--port', '0', '--openai-api-url', upstreamUrl], /listening.*port=(\d+)/, path.join(tmp, `${name}.log`));
}
const arms = { baseline: await proxy(BASE, 'baseline'), this: await proxy(BIN, 'this') };
await sleep(300);

// One wrk run on an arm, with the proxy's CPU per request (microseconds).
function measure(arm, file) {
  const p = arms[arm];
  const url = p ? `http://127.0.0.1:${p.port}` : upstreamUrl;
  const c0 = p ? cpuSeconds(p.p.pid) : 0;
  const r = wrk(url, file, { seconds: SECONDS });
  r.proxy_cpu_us = p ? +(((cpuSeconds(p.p.pid) - c0) * 1e6) / r.requests).toFixed(1) : 0;
  return r;
}

const results = {};
const SIZES = { '2 KB': 2048, '64 KB': 64 << 10, '1 MB': 1 << 20 };
const only = arg('--sizes'); // e.g. "2 KB,1 MB"
for (const [label, bytes] of Object.entries(SIZES).filter(([k]) => !only || only.split(',').includes(k))) {
  const file = bodyOfSize(bytes, tmp);
  for (const arm of ['direct', 'baseline', 'this']) measure(arm, file); // warm up (first sight)
  const runs = { direct: [], baseline: [], this: [] };
  for (let round = 0; round < ROUNDS; round++)
    for (const arm of Object.keys(runs)) runs[arm].push(measure(arm, file));
  const best = (xs) => xs.reduce((a, b) => (b.p50 < a.p50 ? b : a));
  const cpu = (xs) => xs.map((x) => x.proxy_cpu_us).sort((a, b) => a - b)[xs.length >> 1]; // median
  results[label] = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, { p50: best(v).p50, cpu_us: cpu(v), errors: v.map((x) => x.errors).filter(Boolean).join('; ') }]));
}

for (const p of [up, ...Object.values(arms)]) p.p.kill('SIGTERM');
fs.rmSync(tmp, { recursive: true, force: true });
const f = (x) => x.toFixed(3);
console.log(`date ${new Date().toISOString()}, ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| size | build | p50 | added p50 | proxy CPU per request (median) |');
console.log('|---|---|---:|---:|---:|');
for (const [label, r] of Object.entries(results)) {
  console.log(`| ${label} | direct | ${f(r.direct.p50)} ms | | |`);
  for (const arm of ['baseline', 'this'])
    console.log(`| ${label} | ${arm} | ${f(r[arm].p50)} ms | ${f(r[arm].p50 - r.direct.p50)} ms | ${r[arm].cpu_us} µs |`);
  const errs = ['direct', 'baseline', 'this'].map((a) => r[a].errors).filter(Boolean);
  if (errs.length) console.log(`errors at ${label}: ${errs.join('; ')}`);
}
