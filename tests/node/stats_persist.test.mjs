// stats_persist.test.mjs: the savings counters that survive restarts (issue 16). A proxy
// with its own data dir and a user price file serves a scripted mix; /stats must then show
// the tokens saved that the answers' x-headroom-tokens-saved headers reported, priced at
// the user's input price (computed here by hand), prompt-cache reads apart from input,
// a time breakdown that adds up, and the same totals after a clean restart and after
// kill -9 (once a flush period has passed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { spawnSync } from 'node:child_process';
import { startProxy, HEADROOM_BIN } from './lib/proxy.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let up, dataDir, priceFile;
const INPUT_PRICE = 2.0; // USD per million tokens, in the user's price file below

function rows(n, seed) {
  const out = [];
  for (let i = 0; i < n; i++)
    out.push({ id: seed * 1000 + i, status: i === 7 ? 'error: disk full' : 'ok', region: ['eu', 'us', 'ap'][i % 3], latency_ms: (i * 37) % 500 });
  return JSON.stringify(out, null, 2);
}

function chatBody(model, seed) {
  return {
    model,
    messages: [
      { role: 'user', content: 'which job failed?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'jobs', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: rows(120, seed) },
    ],
  };
}

function usageReply(model, prompt, cached) {
  return {
    json: {
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'job 7' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: prompt, completion_tokens: 5, total_tokens: prompt + 5, prompt_tokens_details: { cached_tokens: cached } },
    },
  };
}

async function send(proxy, model, seed) {
  const r = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-stats-test' },
    body: JSON.stringify(chatBody(model, seed)),
  });
  assert.equal(r.status, 200);
  await r.json();
  return Number(r.headers.get('x-headroom-tokens-saved'));
}

async function stats(proxy) {
  const r = await fetch(`${proxy.url}/stats`);
  assert.equal(r.status, 200);
  return r.json();
}

// A request is recorded when its exchange completes, which can be a moment after the client
// has read the last byte (seen under ASan on a loaded machine): wait until /stats counts
// `n` requests (or 5 s), then return it.
async function statsCounting(proxy, n) {
  let s;
  for (const end = Date.now() + 5000; ;) {
    s = await stats(proxy);
    if (s.persistent.totals.requests >= n || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const start = () => startProxy({
  openaiUrl: up.url, anthropicUrl: up.url,
  env: { HEADROOM_DATA_DIR: dataDir, HEADROOM_PRICING_FILE: priceFile, HEADROOM_STATS_FLUSH_S: '1' },
});

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-stats-'));
  priceFile = path.join(dataDir, 'prices.tsv');
  fs.writeFileSync(priceFile, `# test prices\ntest-model\t${INPUT_PRICE}\t8\t0.2\t2.5\tthis test\t2026-12-03\n`);
  up = await startFakeUpstream();
});

after(async () => {
  await up.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

let savedPriced = 0, savedUnpriced = 0;

test('priced savings, cache tokens and a time breakdown that adds up', async () => {
  const proxy = await start();
  try {
    up.script('/v1/chat/completions', usageReply('test-model', 1000, 600), usageReply('test-model', 1000, 600),
      usageReply('no-such-model', 500, 0));
    savedPriced += await send(proxy, 'test-model', 1);
    savedPriced += await send(proxy, 'test-model', 2);
    savedUnpriced += await send(proxy, 'no-such-model', 3);
    assert.ok(savedPriced > 0 && savedUnpriced > 0, 'the tool outputs were compressed');
    const s = await statsCounting(proxy, 3);
    const t = s.persistent.totals;
    assert.equal(t.requests, 3);
    assert.equal(t.tokens_saved, savedPriced + savedUnpriced);
    assert.equal(t.unpriced_tokens_saved, savedUnpriced);
    // OpenAI counts cached tokens inside prompt_tokens: 2 x 600 read, 2 x 400 + 500 full price
    assert.equal(t.cache_read_tokens, 1200);
    assert.equal(t.input_tokens, 400 * 2 + 500);
    assert.equal(s.tokens.cache_read, 1200);
    const model = s.persistent.by_model.find((m) => m.name === 'test-model');
    assert.ok(Math.abs(model.savings_usd - savedPriced * INPUT_PRICE / 1e6) < 1e-6, `${model.savings_usd}`);
    // cache reads at 0.2 instead of 2.0 per million
    assert.ok(Math.abs(model.cache_savings_usd - 1200 * (2.0 - 0.2) / 1e6) < 1e-9);
    const unknown = s.persistent.by_model.find((m) => m.name === 'no-such-model');
    assert.equal(unknown.savings_usd, 'unpriced');
    assert.equal(unknown.cache_savings_usd, 'unpriced');
    assert.ok(Math.abs(s.cost.compression_savings_usd - savedPriced * INPUT_PRICE / 1e6) < 1e-6);
    const tb = s.time_breakdown_ms;
    assert.equal(tb.requests, 3);
    assert.ok(tb.upstream > 0 && tb.total > 0);
    assert.ok(Math.abs(tb.total - (tb.upstream + tb.client_send + tb.proxy_overhead)) < 0.01 * tb.requests,
      `total ${tb.total} = upstream ${tb.upstream} + send ${tb.client_send} + overhead ${tb.proxy_overhead}`);
    // the original proxy's fields, beside ours
    assert.equal(s.tokens.savings_percent > 0, true);
    assert.equal(typeof s.requests.rate_limited, 'number');
    assert.deepEqual(s.requests.by_model, { 'test-model': 2, 'no-such-model': 1 });
    assert.deepEqual(s.requests.by_provider, { openai: 3 });
    assert.equal(s.persistent_savings.lifetime.tokens_saved, savedPriced + savedUnpriced);
    assert.equal(s.savings_history.at(-1)[1], savedPriced + savedUnpriced);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test('the counters survive a clean restart', async () => {
  const proxy = await start();
  try {
    const s = await stats(proxy);
    assert.equal(s.tokens.saved, 0, 'a new process: its in-memory counters start at 0');
    assert.equal(s.persistent.enabled, true);
    for (const f of fs.readdirSync(dataDir).filter((n) => n.startsWith('stats.sqlite3')))
      assert.equal(fs.statSync(path.join(dataDir, f)).mode & 0o777, 0o600, `${f} is private`);
    assert.equal(s.persistent.totals.requests, 3);
    assert.equal(s.persistent.totals.tokens_saved, savedPriced + savedUnpriced);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test('the counters survive kill -9 once a flush period has passed', async () => {
  let proxy = await start();
  up.script('/v1/chat/completions', usageReply('test-model', 100, 0), usageReply('test-model', 100, 0));
  const more = (await send(proxy, 'test-model', 4)) + (await send(proxy, 'test-model', 5));
  await sleep(2500); // > one flush period (1 s) plus the once-a-second loop
  proxy.proc.kill('SIGKILL');
  await proxy.exited;
  proxy = await start();
  try {
    const t = (await stats(proxy)).persistent.totals;
    assert.equal(t.requests, 5);
    assert.equal(t.tokens_saved, savedPriced + savedUnpriced + more);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test('headroom stats: the same totals from the running proxy and from the data dir', async () => {
  const env = { ...process.env, HEADROOM_PRICING_FILE: priceFile };
  const proxy = await start();
  let live;
  try {
    live = (await stats(proxy)).persistent.totals;
    const table = spawnSync(HEADROOM_BIN, ['stats', '--url', proxy.url], { encoding: 'utf8', env });
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`requests\\s+${live.requests}\\n`));
    assert.match(table.stdout, new RegExp(`tokens saved\\s+${live.tokens_saved} `));
    assert.match(table.stdout, /no-such-model\s+1\s+\d+\s+0\s+unpriced/);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
  const r = spawnSync(HEADROOM_BIN, ['stats', '--data-dir', dataDir, '--json'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const fromFile = JSON.parse(r.stdout).persistent.totals;
  assert.deepEqual(fromFile, live);
  const empty = path.join(dataDir, 'empty');
  const none = spawnSync(HEADROOM_BIN, ['stats', '--data-dir', empty], { encoding: 'utf8' });
  assert.equal(none.status, 3);
  assert.match(none.stderr, /there is no .*stats\.sqlite3/);
  assert.equal(fs.existsSync(empty), false, 'reading stats creates nothing');
  const bad = spawnSync(HEADROOM_BIN, ['stats', '--url', 'http://127.0.0.1:9'], { encoding: 'utf8' });
  assert.equal(bad.status, 3);
  assert.match(bad.stderr, /no answer from/);
});
