// attack.mjs: issue 9's memory attacks against one or more headroom binaries, side by
// side, printing the "Reliability" memory table of docs/benchmarks.md (markdown).
//
//   node bench/hostile/attack.mjs [--bin build/headroom] [--baseline-bin OLD/headroom]
//        [--body-mb 50] [--budget-mb 512] [--answer-mb 3072] [--tool-mb 400]
//
// For each binary, each attack runs on a fresh proxy (default settings plus
// --max-inflight-body-mb for the new one) after a warm-up at the attack's concurrency:
//   bombs   64 concurrent zstd bombs (200 MB of zeros each, ~6 KB on the wire)
//   bombs0  the same with --max-decode-ratio 0 (the budget alone bounds them; new only)
//   bodies  32 concurrent bodies of --body-mb MB
//   answer  one non-streaming answer of --answer-mb MB from the upstream
//   tool    a streamed headroom_retrieve call with --tool-mb MB of arguments
// and reports the statuses, the time until the last client had its answer, the peak RSS
// (VmHWM after clear_refs) and RssAnon before / after going idle. The raw-socket client
// and the bombs are tests/node/lib/hostile.mjs, the same as the CI test uses.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxy } from '../../tests/node/lib/proxy.mjs';
import { zstdBomb, rawPost, memOf, resetPeak, sampler, anonSettlesTo, sleep } from '../../tests/node/lib/hostile.mjs';
import { startFakeUpstream } from '../../tests/node/lib/fake_upstream.mjs';
import * as fx from '../../tests/node/lib/e2e_fixtures.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MB = 1024 * 1024;
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const BIN = path.resolve(opt('bin', path.join(here, '../../build/headroom')));
const BASELINE = opt('baseline-bin', null);
const BODY_MB = Number(opt('body-mb', 50));
const BUDGET_MB = Number(opt('budget-mb', 512));
const ANSWER_MB = Number(opt('answer-mb', 3072));
const TOOL_MB = Number(opt('tool-mb', 400));
const JSON_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };
const small = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));

function sink(routes = {}) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const r = routes[req.url.split('?')[0]];
      if (r && req.headers['x-bench-attack']) return r(req, res); // not the warm-up
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((c) => { server.closeAllConnections(); server.close(c); }) })));
}

/** An upstream answering /v1/chat/completions with `mb` MB of JSON, without a length. */
function hugeAnswer(mb) {
  const piece = Buffer.alloc(MB, ' ');
  return (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"id":"c","object":"chat.completion","pad":"');
    let i = 0;
    const more = () => {
      while (i < mb && res.write(piece)) i++;
      if (i < mb) res.once('drain', () => { i++; more(); }); else res.end('"}');
    };
    res.on('close', () => { i = mb; });
    more();
  };
}

function tally(results) {
  const c = {};
  for (const r of results) c[r.status] = (c[r.status] || 0) + 1;
  return Object.entries(c).map(([k, v]) => `${v}× ${k}`).join(', ');
}

async function withProxy(bin, up, args, concurrency, run, env = {}) {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args, env, timeoutMs: 30000, bin });
  try {
    await Promise.all(Array.from({ length: concurrency }, () => rawPost(proxy.port, '/v1/chat/completions', { headers: JSON_HEADERS, body: small })));
    await sleep(2500);
    const pid = proxy.proc.pid;
    const before = memOf(pid).anon;
    resetPeak(pid);
    const s = sampler(pid);
    const t0 = Date.now();
    const results = await run(proxy);
    const ms = Date.now() - t0;
    const peak = Math.max(s.stop(), memOf(pid).hwm);
    const after = await anonSettlesTo(pid, before + MB, 15000);
    return { statuses: tally(results), ms, peak, before, after };
  } finally {
    await proxy.stop('SIGTERM', 5000);
  }
}

const attacks = {
  bombs: { concurrency: 64, label: '64 concurrent zstd bombs (200 MB each)', run: (p) => {
    const bomb = zstdBomb(200 * MB);
    return Promise.all(Array.from({ length: 64 }, () => rawPost(p.port, '/v1/chat/completions', { headers: { ...JSON_HEADERS, 'content-encoding': 'zstd' }, body: bomb, timeoutMs: 300000 })));
  } },
  bombs0: { concurrency: 64, newOnly: ['--max-decode-ratio', '0'], label: '… with --max-decode-ratio 0 (budget alone)', run: (p) => attacks.bombs.run(p) },
  bodies: { concurrency: 32, label: `32 concurrent ${BODY_MB} MB bodies`, run: (p) => {
    const head = Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"');
    const tail = Buffer.from('"}]}');
    const body = Buffer.concat([head, Buffer.alloc(BODY_MB * MB - head.length - tail.length, 'x'), tail]);
    return Promise.all(Array.from({ length: 32 }, () => rawPost(p.port, '/v1/chat/completions', { headers: JSON_HEADERS, body, timeoutMs: 300000 })));
  } },
  answer: { concurrency: 1, upstream: { '/v1/chat/completions': hugeAnswer(ANSWER_MB) }, label: `one ${ANSWER_MB} MB non-streaming answer`, run: async (p) =>
    [await rawPost(p.port, '/v1/chat/completions', { headers: { ...JSON_HEADERS, 'x-bench-attack': '1' }, body: small, timeoutMs: 600000 })] },
  tool: { concurrency: 1, fake: true, label: `streamed headroom_retrieve call, ${TOOL_MB} MB of arguments`, run: async (p, up) => {
    const log = fx.pytestLog(500, 9);
    const params = { model: 'gpt-4o', messages: [{ role: 'user', content: 'q' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'pytest', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: log.text }] };
    await rawPost(p.port, '/v1/chat/completions', { headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(params)) });
    const base = { id: 'chatcmpl-h', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };
    const piece = 'a'.repeat(MB);
    const sse = [{ data: { ...base, choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [{ index: 0, id: 'call_h', type: 'function', function: { name: 'headroom_retrieve', arguments: '' } }] }, finish_reason: null }] } }];
    for (let i = 0; i < TOOL_MB; i++) sse.push({ data: { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, finish_reason: null }] } });
    sse.push({ data: { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] } }, { data: '[DONE]' });
    up.script('/v1/chat/completions', { sse });
    const r = await rawPost(p.port, '/v1/chat/completions', { headers: JSON_HEADERS, body: Buffer.from(JSON.stringify({ ...params, stream: true })), timeoutMs: 600000 });
    const shown = /"name":"headroom_retrieve"/.test(r.body) ? ' + tool shown to client' : '';
    r.status = `${r.status}${/"error"/.test(r.body) ? ' + error event' : ''}${shown}`;
    return [r];
  } },
};

const fmtMB = (b) => `${(b / MB).toFixed(1)} MB`;
const bins = [['new', BIN, ['--max-inflight-body-mb', String(BUDGET_MB)]]];
if (BASELINE) bins.push(['baseline', path.resolve(BASELINE), []]);
const only = opt('only', null);
console.log(`| attack | binary | answers | time to last answer | peak RSS | RssAnon before → idle after |`);
console.log(`|---|---|---|---|---|---|`);
for (const [name, a] of Object.entries(attacks)) {
  if (only && !only.split(',').includes(name)) continue;
  for (const [label, bin, args] of bins) {
    if (a.newOnly && label !== 'new') continue;
    const up = a.fake ? await startFakeUpstream() : await sink(a.upstream);
    try {
      const r = await withProxy(bin, up, [...args, ...(a.newOnly || [])], a.concurrency, (p) => a.run(p, up),
        a.fake ? { HEADROOM_DATA_DIR: `/tmp/hr-bench-hostile-${process.pid}-${label}` } : {});
      console.log(`| ${a.label} | ${label} | ${r.statuses} | ${r.ms} ms | ${fmtMB(r.peak)} | ${fmtMB(r.before)} → ${fmtMB(r.after)} |`);
    } catch (e) {
      console.log(`| ${a.label} | ${label} | failed: ${String(e.message).split('\n')[0]} | | | |`);
    } finally {
      await up.close();
    }
  }
}
