// stream_memory.mjs: what an open stream costs on the threads model, and where it sits.
// Each headroom binary given (--bin, and --baseline for a build to compare in the same run)
// relays N endless streams from the same upstream (bench/proxy/upstream.mjs); RssAnon is
// read before and after, with /debug/memory's split by mapping (thread stacks, heap arenas,
// other anonymous mappings), and again --after-ms after the streams closed. Rounds are
// interleaved (each binary once per round); each round restarts the proxies so both start
// from the same state. Usage:
//   node bench/proxy/stream_memory.mjs [--bin PATH] [--baseline PATH] [--streams N] [--rounds N]
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, start } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const arg = (name, def) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : def; };
const BINS = [['new', arg('--bin', path.join(root, 'build', 'headroom'))]];
if (arg('--baseline', '')) BINS.unshift(['baseline', arg('--baseline', '')]);
const N = Number(arg('--streams', '1000'));
const ROUNDS = Number(arg('--rounds', '2'));
const AFTER_MS = Number(arg('--after-ms', '15000')); // when RssAnon after the load is read
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-stream-mem-'));

function getJson(port, p) {
  return new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path: p }, (res) => {
    let b = '';
    res.on('data', (d) => { b += d; });
    res.on('end', () => { try { resolve(JSON.parse(b)); } catch (e) { reject(e); } });
  }).on('error', reject));
}

const pidOf = {};
async function reading(port) {
  const m = await getJson(port, '/debug/memory');
  if (!m.accounting) { // /debug/memory could not split the mappings: RssAnon from /proc
    const kb = Number(fs.readFileSync(`/proc/${pidOf[port]}/status`, 'utf8').match(/RssAnon:\s+(\d+)/)[1]);
    return { rss_anon: kb * 1024, stacks: NaN, heap: NaN, mmaps: NaN, threads: NaN };
  }
  const a = m.accounting;
  return { rss_anon: m.rss_anon, stacks: a.mappings.thread_stacks, heap: a.mappings.heap_arenas, mmaps: a.mappings.anon_mmaps, threads: m.threads };
}

// n streams, 100 at a time, each resolved at its first event
async function openStreams(port, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: n + 10 });
  const reqs = [];
  let opened = 0;
  for (let i = 0; i < n; i += 100)
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' } }, (res) => res.once('data', () => {
        if (res.statusCode === 200) opened++;
        resolve();
      }));
      req.on('error', () => resolve());
      req.end('{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}');
      reqs.push(req);
    })));
  return { opened, close: () => { for (const r of reqs) r.destroy(); agent.destroy(); } };
}

const children = new Set(); // killed on any exit, a failed reading included
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
const up = await start('node', [path.join(here, 'upstream.mjs')], /port=(\d+)/, path.join(tmp, 'upstream.log'));
children.add(up.p);
const rows = Object.fromEntries(BINS.map(([k]) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [k, bin] of BINS) {
    const h = await start(bin, ['proxy', '--port', '0', '--openai-api-url', `http://127.0.0.1:${up.port}`, '--max-connections-per-address', '0'],
      /listening.*port=(\d+)/, path.join(tmp, `hr-${k}.log`));
    pidOf[h.port] = h.p.pid;
    children.add(h.p);
    await sleep(500);
    // a few streams first, so the pool, arenas and glibc's stack cache are past their start
    (await openStreams(h.port, 20)).close();
    await sleep(1500);
    const before = await reading(h.port);
    const s = await openStreams(h.port, N);
    await sleep(1500);
    const held = await reading(h.port);
    s.close();
    const per = (f) => +((held[f] - before[f]) / 1024 / s.opened).toFixed(1);
    await sleep(AFTER_MS); // the streams' threads exit; the housekeeping tick trims the heap
    const after = await reading(h.port);
    rows[k].push({ opened: s.opened, per_stream_kb: per('rss_anon'), stacks_kb: per('stacks'), heap_kb: per('heap'), mmaps_kb: per('mmaps'),
      after_kb: Math.round((after.rss_anon - before.rss_anon) / 1024) });
    h.p.kill('SIGTERM');
    await sleep(1000);
  }
}
up.p.kill('SIGTERM');
fs.rmSync(tmp, { recursive: true, force: true });
console.log(JSON.stringify({ date: new Date().toISOString(), machine: `${os.cpus().length} cores`, streams: N, rows }, null, 2));
console.log('\n| build | round | streams | RssAnon per stream | thread stacks | heap arenas | other anon mmaps | RssAnon after the load, vs before |\n|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [k, rs] of Object.entries(rows))
  rs.forEach((r, i) => console.log(`| ${k} | ${i + 1} | ${r.opened} | ${r.per_stream_kb} KB | ${r.stacks_kb} KB | ${r.heap_kb} KB | ${r.mmaps_kb} KB | ${r.after_kb >= 0 ? '+' : ''}${r.after_kb} KB |`));
