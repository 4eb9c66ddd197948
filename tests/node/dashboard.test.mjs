// dashboard.test.mjs: /dashboard in a real browser (issue 16). A proxy serves a scripted
// mix (OpenAI and Anthropic, buffered and streamed, prompt-cache reads and writes, an
// unpriced model); headless Chromium (the Debian package) then loads /dashboard, runs its
// script against the live /stats, and the numbers it rendered are compared with /stats.
// A phone-sized screenshot is written to <build>/artifacts/dashboard.png.
// Without Chromium the test skips with a message, except under CI=true, where a missing
// dependency fails (scripts/setup.sh --test installs it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeUpstream, anthropicMessage, anthropicEvents } from './lib/fake_upstream.mjs';
import { startProxy, SOURCE_DIR } from './lib/proxy.mjs';

const CHROMIUM = '/usr/bin/chromium';
const BUILD_DIR = process.env.HEADROOM_BUILD_DIR || path.join(SOURCE_DIR, 'build');
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true')
  throw new Error(`${CHROMIUM} is missing: scripts/setup.sh --test installs the chromium package`);
const skip = haveChromium ? false : `${CHROMIUM} not installed (apt-get install chromium, or scripts/setup.sh --test)`;

let up, proxy, dataDir;

function chromium(args) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-chromium-'));
  try {
    const r = spawnSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
      ...args], { encoding: 'utf8', timeout: 60000, maxBuffer: 16 << 20 });
    assert.equal(r.status, 0, `chromium failed: ${r.stderr}`);
    return r.stdout;
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

function toolRows(n, seed) {
  return JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: seed * 100 + i, ok: i !== 3, host: `h${i % 4}`, ms: (i * 13) % 90 })), null, 2);
}

async function post(pathname, body, headers = {}) {
  const r = await fetch(`${proxy.url}${pathname}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-dash', ...headers },
    body: JSON.stringify(body),
  });
  await r.text();
  assert.equal(r.status, 200);
}

before(async () => {
  if (skip) return;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-dash-'));
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dataDir } });
  const withCache = (m, read, write) => { m.usage = { ...m.usage, cache_read_input_tokens: read, cache_creation_input_tokens: write }; return m; };
  up.script('/v1/messages',
    { json: withCache(anthropicMessage('claude-sonnet-4-5'), 0, 3000) },
    { json: withCache(anthropicMessage('claude-sonnet-4-5'), 3000, 0) },
    { sse: anthropicEvents('claude-sonnet-4-5') });
  const messages = (seed) => [
    { role: 'user', content: 'which host failed?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'hosts', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: toolRows(100, seed) }] },
  ];
  await post('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 16, messages: messages(1) }, { 'x-headroom-session-id': 'sess-a' });
  await post('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 16, messages: messages(1) }, { 'x-headroom-session-id': 'sess-a' });
  await post('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 16, stream: true, messages: messages(2) });
  // the model asks for an original back once: the proxy answers that round itself
  const logged = toolRows(100, 4);
  const hash = crypto.createHash('sha256').update(logged).digest('hex').slice(0, 24);
  const retrieveCall = anthropicMessage('claude-sonnet-4-5');
  retrieveCall.stop_reason = 'tool_use';
  retrieveCall.content = [{ type: 'tool_use', id: 'toolu_r', name: 'headroom_retrieve', input: { hash } }];
  up.script('/v1/messages', { json: retrieveCall }, { json: anthropicMessage('claude-sonnet-4-5') });
  const before = up.requests.length;
  await post('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [
    { role: 'user', content: 'which host failed?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'hosts', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: logged }] }] });
  assert.equal(up.requests.length - before, 2, 'two upstream rounds: the retrieve call, then the answer');
  await post('/v1/chat/completions', {
    model: 'house-model-7', messages: [{ role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'hosts', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: toolRows(100, 3) }],
  }, { authorization: 'Bearer sk-openai-dash' });
});

after(async () => {
  if (skip) return;
  assert.equal(await proxy.stop(), 0);
  await up.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('the rendered dashboard shows the numbers /stats has', { skip }, async () => {
  const dom = chromium(['--virtual-time-budget=5000', '--dump-dom', `${proxy.url}/dashboard`]);
  const s = await (await fetch(`${proxy.url}/stats`)).json();
  const shown = {};
  for (const m of dom.matchAll(/data-stat="([a-z_]+)">([^<]*)</g)) shown[m[1]] = m[2];
  assert.match(dom, /data-loaded="1"/, 'the page script ran and rendered /stats');
  const t = s.persistent.totals;
  const num = (k) => Number(shown[k].replace(/[$,%]/g, ''));
  assert.equal(t.requests, 5);
  assert.equal(t.retrievals, 1);
  assert.ok(t.tokens_saved > 0, 'the scripted tool outputs were compressed');
  assert.equal(num('requests'), t.requests);
  assert.equal(num('tokens_saved'), t.tokens_saved);
  assert.equal(num('unpriced_tokens_saved'), t.unpriced_tokens_saved);
  assert.ok(t.unpriced_tokens_saved > 0, 'house-model-7 has no price');
  assert.equal(num('savings_usd'), Number(t.savings_usd.toFixed(4)));
  assert.ok(t.savings_usd > 0, 'claude-sonnet-4-5 is priced');
  assert.equal(num('cache_read_tokens'), 3000);
  assert.equal(num('cache_write_tokens'), 3000);
  assert.equal(t.cache_read_tokens, 3000);
  assert.equal(num('cache_hit_rate'), Number((100 * t.cache_hit_rate).toFixed(1)));
  assert.equal(num('retrievals'), t.retrievals);
  assert.equal(num('failed_open'), t.failed_open);
  assert.match(dom, /<td>claude-sonnet-4-5<\/td><td>4<\/td>/, 'by-model table row');
  // buffered, streamed and two-round answers: the time breakdown still adds up
  const tb = s.time_breakdown_ms;
  assert.equal(tb.requests, 5);
  assert.ok(Math.abs(tb.total - (tb.upstream + tb.client_send + tb.proxy_overhead)) < 0.01 * tb.requests);
  assert.equal(shown.t_total, (tb.total / tb.requests).toFixed(2));
  assert.match(dom, /<td>house-model-7<\/td><td>1<\/td><td>[\d,]+<\/td><td>unpriced<\/td>/);
  const sess = s.prefix_cache.sessions.sessions.find((x) => x.session === 'sess-a');
  assert.equal(sess.turns, 2);
  // turn 1 wrote 3000 cache tokens, turn 2 read them: the page shows that session's rate
  assert.equal(sess.cache_read_tokens, 3000);
  assert.equal(sess.cache_write_tokens, 3000);
  assert.match(dom, new RegExp(`<td>sess-a</td><td>2</td><td>${(100 * sess.hit_rate).toFixed(1)}%</td><td>0</td>`));
  const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
  assert.match(metrics, /^headroom_retrievals_total 1$/m);
  assert.match(metrics, /^headroom_tokens_total\{kind="cache_read"\} 3000$/m);
});

test('it fits a phone screen: screenshot artifact', { skip }, async () => {
  const dir = path.join(BUILD_DIR, 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  const png = path.join(dir, 'dashboard.png');
  fs.rmSync(png, { force: true });
  chromium(['--virtual-time-budget=5000', '--window-size=390,1600', '--hide-scrollbars', `--screenshot=${png}`, `${proxy.url}/dashboard`]);
  const bytes = fs.readFileSync(png);
  assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
  assert.equal(bytes.readUInt32BE(16), 390, 'rendered at phone width');
  // no horizontal overflow at that width: the page's own width is the viewport's
  const dom = chromium(['--virtual-time-budget=3000', '--window-size=390,844', '--dump-dom',
    `${proxy.url}/dashboard`]);
  assert.match(dom, /name="viewport" content="width=device-width/);
});
