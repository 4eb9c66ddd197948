// memory.mjs: proxy memory as a user sees it (ps / top / the kernel's accounting), not a test.
// Two headroom processes from the same binary run side by side against one fake upstream:
//   compress  - default settings (token mode, SQLite CCR store in a temp data dir)
//   baseline  - the same proxy, every request sent with x-headroom-bypass: true
// Each round sends PER_ROUND chat requests carrying one ~1 MB tool output (DB rows, a test
// log, grep output, prose; all distinct, so every original is stored), CONCURRENCY at a time,
// to both proxies (interleaved), then waits IDLE_MS and reads /proc/<pid>/status.
// Prints one JSON line per reading and a markdown table.
//
//   node bench/e2e/memory.mjs --bin build/headroom [--rounds 5] [--per-round 200]
//        [--concurrency 4] [--idle-ms 2500] [--sessions 3]
// --sessions N: requests cycle over N x-headroom-session-id values (3: an agent or two;
// a large N gives every request its own session and exercises the all-sessions ceiling).
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
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startProxy(upUrl, dataDir) {
  const proc = spawn(BIN, ['proxy', '--host', '127.0.0.1', '--port', '0', '--openai-api-url', upUrl, '--anthropic-api-url', upUrl],
    { env: { ...process.env, HEADROOM_DATA_DIR: dataDir }, stdio: ['ignore', 'ignore', 'pipe'] });
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

async function round(proxy, r, bypass) {
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
      const res = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { ...base, 'x-headroom-session-id': session }, body: b });
      await res.arrayBuffer();
      if (res.status !== 200) failures++;
    }
  }));
  return { seconds: (Date.now() - t0) / 1000, inMB: inBytes / 1e6, failures };
}

const up = await startFakeUpstream();
const dirs = [fs.mkdtempSync(path.join(os.tmpdir(), 'hr-mem-c-')), fs.mkdtempSync(path.join(os.tmpdir(), 'hr-mem-b-'))];
const comp = await startProxy(up.url, dirs[0]);
const base = await startProxy(up.url, dirs[1]);
const rows = [];
// glibc's view (in use vs free-but-held) from the proxy's loopback-only /debug/memory
async function heap(p) {
  const m = await (await fetch(`${p.url}/debug/memory`)).json();
  return { heapInUseKB: Math.round(m.heap_in_use / 1024), heapFreeKB: Math.round(m.heap_free / 1024) };
}
const read = async (label, round, extra = {}) => {
  for (const [name, p] of [['compress', comp], ['baseline', base]]) {
    const row = { proxy: name, when: label, round, ...status(p.proc.pid), ...(await heap(p)), ...(extra[name] || {}) };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
};
try {
  await sleep(IDLE_MS);
  await read('idle after start', 0);
  for (let r = 1; r <= ROUNDS; r++) {
    const c = await round(comp, r, false);
    up.reset();
    const b = await round(base, r, true);
    up.reset();
    await sleep(IDLE_MS);
    await read(`after round ${r} (+${PER_ROUND} x 1 MB), ${IDLE_MS} ms idle`, r, { compress: c, baseline: b });
  }
  const stats = await (await fetch(`${comp.url}/stats`)).json();
  const ccr = await (await fetch(`${comp.url}/v1/retrieve/stats`)).json();
  console.log(JSON.stringify({ compress_tokens: stats.tokens, ccr }));
} finally {
  comp.proc.kill('SIGTERM');
  base.proc.kill('SIGTERM');
  await up.close();
  await sleep(300);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}

console.log('\n| when | compress RssAnon | baseline RssAnon | compress VmRSS | baseline VmRSS | compress VmHWM | baseline VmHWM | compress heap in use / free | round s (c / b) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (let i = 0; i < rows.length; i += 2) {
  const [c, b] = [rows[i], rows[i + 1]];
  const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
  const secs = c.seconds !== undefined ? `${c.seconds.toFixed(1)} / ${b.seconds.toFixed(1)}` : '-';
  console.log(`| ${c.when} | ${mb(c.RssAnon)} | ${mb(b.RssAnon)} | ${mb(c.VmRSS)} | ${mb(b.VmRSS)} | ${mb(c.VmHWM)} | ${mb(b.VmHWM)} | ${mb(c.heapInUseKB)} / ${mb(c.heapFreeKB)} | ${secs} |`);
}
