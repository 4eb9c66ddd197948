// memory.mjs: proxy memory as a user sees it (ps / top / the kernel's accounting), not a test.
// Three headroom processes from the same binary run side by side against one fake upstream:
//   compress                      default settings (token mode, SQLite CCR store in a temp dir)
//   compress, MALLOC_ARENA_MAX=2  the same with glibc capped at 2 malloc arenas
//   baseline (bypass)             the same proxy, every request sent with x-headroom-bypass
// Each round sends PER_ROUND chat requests carrying one ~1 MB tool output (DB rows, a test
// log, grep output, prose; all distinct, so every original is stored), CONCURRENCY at a time,
// to each proxy in turn, then waits IDLE_MS and reads /proc/<pid>/status and /debug/memory.
// Prints one JSON line per reading and a markdown table.
//
//   node bench/e2e/memory.mjs --bin build/headroom [--rounds 5] [--per-round 200]
//        [--concurrency 4] [--idle-ms 2500] [--sessions 3]
// --burst N (default 64): after the rounds, N requests at once to each proxy, then idle: the
// peak (VmHWM) a burst costs and whether it is given back.
// --sessions N: requests cycle over N x-headroom-session-id values (3: an agent or two;
// a large N gives every request its own session and exercises the all-sessions ceiling).
// --arms allocators: instead of the three arms above, the same compressing proxy under four
// allocators side by side (glibc with our arena cap, glibc's default arena count, jemalloc
// and mimalloc through LD_PRELOAD from Debian's libjemalloc2 / libmimalloc2.0), with each
// arm's p50 request latency (bench/e2e/allocators.sh).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { startFakeUpstream } = await import(path.join(here, '../../tests/node/lib/fake_upstream.mjs'));
const fx = await import(path.join(here, '../../tests/node/lib/e2e_fixtures.mjs'));

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const BIN = path.resolve(opt('bin', 'build/headroom'));
const ROUNDS = Number(opt('rounds', 5));
const PER_ROUND = Number(opt('per-round', 200));
const CONCURRENCY = Number(opt('concurrency', 4));
const IDLE_MS = Number(opt('idle-ms', 2500));
const SESSIONS = Number(opt('sessions', 3));
const BURST = Number(opt('burst', 64));
const ARM_SET = opt('arms', 'default');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startProxy(upUrl, dataDir, extraEnv = {}) {
  const proc = spawn(BIN, ['proxy', '--host', '127.0.0.1', '--port', '0', '--openai-api-url', upUrl, '--anthropic-api-url', upUrl],
    { env: { ...process.env, HEADROOM_DATA_DIR: dataDir, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => { if (err.length < 65536) err += d; });
  for (const end = Date.now() + 15000; ;) {
    const m = err.match(/listening.*?port[=":]+(\d+)/);
    if (m) return { proc, url: `http://127.0.0.1:${m[1]}` };
    if (proc.exitCode !== null || Date.now() > end) throw new Error(`proxy did not start: ${err}`);
    await sleep(20);
  }
}

function status(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return { RssAnon: kb('RssAnon'), RssFile: kb('RssFile'), VmRSS: kb('VmRSS'), VmHWM: kb('VmHWM'), Threads: Number(s.match(/^Threads:\s+(\d+)/m)[1]) };
}

// ~1 MB tool outputs of four kinds; the seed makes every one distinct.
function toolOutput(i) {
  switch (i % 4) {
    case 0: return fx.dbRows(6800, i + 1).text;
    case 1: return fx.pytestLog(11500, i + 1).text;
    case 2: return fx.grepOutput(260, 50, i + 1).text;
    default: return fx.longProse(1000, i + 1).text;
  }
}

function body(i, round) {
  return JSON.stringify({
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'You are an SRE agent.' },
      { role: 'user', content: `round ${round}: why did transaction 480031 fail?` },
      { role: 'assistant', content: null, tool_calls: [{ id: `c${i}`, type: 'function', function: { name: 'run', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: `c${i}`, content: `${round}/${i}\n${toolOutput(round * 100000 + i)}` },
    ],
  });
}

async function round(proxy, r, bypass, latencies = []) {
  let next = 0, inBytes = 0, failures = 0;
  const base = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-mem' };
  if (bypass) base['x-headroom-bypass'] = 'true';
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < PER_ROUND) {
      const i = next++;
      const b = body(i, r);
      inBytes += b.length;
      const session = `bench-${((r - 1) * PER_ROUND + i) % SESSIONS}`;
      const t = performance.now();
      const res = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { ...base, 'x-headroom-session-id': session }, body: b });
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      if (res.status !== 200) failures++;
    }
  }));
  return { seconds: (Date.now() - t0) / 1000, inMB: inBytes / 1e6, failures };
}

const up = await startFakeUpstream();
// The arms, all from the same binary, measured after the same work: the default proxy, the
// same with glibc limited to 2 malloc arenas (what a one-line mallopt at start-up would do),
// and the baseline (every request bypassed: no compression, no store, no replay cache).
const LIBDIR = '/usr/lib/x86_64-linux-gnu';
const ARMS = ARM_SET === 'allocators' ? [
  { name: 'glibc, arena cap 4 (ours)', env: {}, bypass: false },
  // glibc's own default is 8 arenas per core: 16 on this machine
  { name: 'glibc default arenas (16)', env: { MALLOC_ARENA_MAX: String(8 * os.cpus().length) }, bypass: false },
  { name: 'jemalloc (LD_PRELOAD)', env: { LD_PRELOAD: `${LIBDIR}/libjemalloc.so.2` }, bypass: false },
  { name: 'mimalloc (LD_PRELOAD)', env: { LD_PRELOAD: `${LIBDIR}/libmimalloc.so.2` }, bypass: false },
] : [
  { name: 'compress', env: {}, bypass: false },
  { name: 'compress, MALLOC_ARENA_MAX=2', env: { MALLOC_ARENA_MAX: '2' }, bypass: false },
  { name: 'baseline (bypass)', env: {}, bypass: true },
];
for (const arm of ARMS) {
  arm.lat = [];
  if (arm.env.LD_PRELOAD && !fs.existsSync(arm.env.LD_PRELOAD))
    throw new Error(`${arm.env.LD_PRELOAD} is missing: apt-get install libjemalloc2 libmimalloc2.0`);
}
for (const arm of ARMS) {
  arm.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-mem-'));
  arm.proxy = await startProxy(up.url, arm.dir, arm.env);
}
const rows = [];
// glibc's view (in use vs free-but-held) from the proxy's loopback-only /debug/memory
async function heap(p) {
  const m = await (await fetch(`${p.url}/debug/memory`)).json();
  return { heapInUseKB: Math.round(m.heap_in_use / 1024), heapFreeKB: Math.round(m.heap_free / 1024) };
}
const read = async (label, round, work = new Map()) => {
  const row = { when: label, round, arms: {} };
  for (const arm of ARMS) row.arms[arm.name] = { ...status(arm.proxy.proc.pid), ...(await heap(arm.proxy)), ...(work.get(arm) || {}) };
  rows.push(row);
  console.log(JSON.stringify(row));
};
async function burst(arm) {
  const t0 = Date.now();
  const codes = await Promise.all(Array.from({ length: BURST }, async (_, i) => {
    const headers = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-mem', 'x-headroom-session-id': `burst-${i}` };
    if (arm.bypass) headers['x-headroom-bypass'] = 'true';
    const res = await fetch(`${arm.proxy.url}/v1/chat/completions`, { method: 'POST', headers, body: body(i, 1000 + ROUNDS) });
    await res.arrayBuffer();
    return res.status;
  }));
  return { seconds: (Date.now() - t0) / 1000, failures: codes.filter((c) => c !== 200).length };
}
try {
  await sleep(IDLE_MS);
  await read('idle after start', 0);
  for (let r = 1; r <= ROUNDS; r++) {
    const work = new Map();
    for (const arm of ARMS) { // interleaved: every arm does round r before any does r + 1
      work.set(arm, await round(arm.proxy, r, arm.bypass, arm.lat));
      up.reset();
    }
    await sleep(IDLE_MS);
    await read(`after round ${r} (${r * PER_ROUND} x 1 MB so far)`, r, work);
  }
  if (BURST > 0) {
    const work = new Map();
    for (const arm of ARMS) {
      work.set(arm, await burst(arm));
      up.reset();
    }
    await sleep(IDLE_MS);
    await read(`after a burst of ${BURST} at once`, ROUNDS + 1, work);
  }
  const stats = await (await fetch(`${ARMS[0].proxy.url}/stats`)).json();
  const ccr = await (await fetch(`${ARMS[0].proxy.url}/v1/retrieve/stats`)).json();
  console.log(JSON.stringify({ compress_tokens: stats.tokens, ccr }));
} finally {
  for (const arm of ARMS) arm.proxy.proc.kill('SIGTERM');
  await up.close();
  await sleep(300);
  for (const arm of ARMS) fs.rmSync(arm.dir, { recursive: true, force: true });
}

const mb = (kb) => (kb / 1024).toFixed(1);
console.log(`\nRssAnon MB (VmHWM peak MB) [glibc heap in use / held free MB], each reading after ${IDLE_MS} ms idle`);
console.log(`| when | ${ARMS.map((a) => a.name).join(' | ')} | round seconds |`);
console.log(`|---|${ARMS.map(() => '---').join('|')}|---|`);
for (const row of rows) {
  const cells = ARMS.map((a) => { const x = row.arms[a.name]; return `${mb(x.RssAnon)} (${mb(x.VmHWM)}) [${mb(x.heapInUseKB)} / ${mb(x.heapFreeKB)}]`; });
  const secs = ARMS.map((a) => row.arms[a.name].seconds).every((v) => v !== undefined) ? ARMS.map((a) => row.arms[a.name].seconds.toFixed(1)).join(' / ') : '-';
  console.log(`| ${row.when} | ${cells.join(' | ')} | ${secs} |`);
}

const p50 = (v) => { const a = [...v].sort((x, y) => x - y); return a.length ? a[Math.floor(a.length / 2)] : NaN; };
console.log(`| p50 request latency, ms (${ARMS[0].lat.length} requests each) | ${ARMS.map((a) => p50(a.lat).toFixed(1)).join(' | ')} | |`);
