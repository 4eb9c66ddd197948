// drift.mjs: does an idle proxy's RssAnon drift upward over many identical rounds? One
// proxy, 12 rounds of 200 chat requests (4 at a time) each carrying a ~1 MB pytest log, one
// session; after each round 2 s idle, then RssAnon, threads and glibc's heap (in use / freed
// but held) from /debug/memory. Run it with and without MALLOC_ARENA_MAX=2 in the
// environment (the proxy inherits it) to compare; not a test.
//   [MALLOC_ARENA_MAX=2] node bench/e2e/drift.mjs --bin build/headroom [--bypass] [--rounds 12]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { startFakeUpstream } = await import(path.join(here, '../../tests/node/lib/fake_upstream.mjs'));
const fx = await import(path.join(here, '../../tests/node/lib/e2e_fixtures.mjs'));
const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
process.env.HEADROOM_BIN = path.resolve(opt('bin', 'build/headroom'));
const { startProxy } = await import(path.join(here, '../../tests/node/lib/proxy.mjs'));
const BYPASS = argv.includes('--bypass');
const ROUNDS = Number(opt('rounds', 12));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-drift-'));
const up = await startFakeUpstream();
const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dir } });
const status = () => {
  const s = fs.readFileSync(`/proc/${p.proc.pid}/status`, 'utf8');
  return Object.fromEntries(['RssAnon', 'Threads'].map((k) => [k, Number(s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'))[1])]));
};
const logs = Array.from({ length: 8 }, (_, i) => fx.pytestLog(11500, i).text);
try {
  for (let r = 0; r < ROUNDS; r++) {
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < 200) {
        const i = next++;
        const headers = { 'content-type': 'application/json', authorization: 'Bearer sk-drift' };
        if (BYPASS) headers['x-headroom-bypass'] = 'true';
        const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: `q ${r}/${i}` },
          { role: 'tool', tool_call_id: 'a', content: `${logs[i % 8]}${r}/${i}` }] });
        const res = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers, body });
        await res.arrayBuffer();
      }
    }));
    up.reset();
    await new Promise((res) => setTimeout(res, 2000));
    const m = await (await fetch(`${p.url}/debug/memory`)).json();
    const st = status();
    console.log(JSON.stringify({ mode: BYPASS ? 'bypass' : 'compress', arenaMax: process.env.MALLOC_ARENA_MAX || 'default', round: r,
      RssAnonKB: st.RssAnon, threads: st.Threads, heapInUseMB: +(m.heap_in_use / 1048576).toFixed(1), heapFreeMB: +(m.heap_free / 1048576).toFixed(1) }));
  }
} finally {
  await p.stop();
  await up.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
