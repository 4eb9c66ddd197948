// crusher2_stats.test.mjs: savings per compressor on /stats and /metrics, through the real
// binary and the openai SDK. One chat request carries four tool outputs that route to four
// compressors (a JSON array, a build log, grep output, a diff); the proxy counts with exact
// o200k ranks (exported from js-tiktoken into its data dir), and the test recounts every
// original and forwarded tool output with js-tiktoken itself: /stats' per-compressor
// tokens before/after must equal those independent counts, /metrics must say the same, and
// every built-in compressor has its series (0 when unused).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { Tiktoken } from 'js-tiktoken/lite';
import { startFakeUpstream, openaiChatCompletion } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import { exportRanks, loadRanks } from './tiktoken_export.mjs';

const enc = new Tiktoken(loadRanks('o200k_base'));
const count = (s) => enc.encode(s).length;
let up, proxy, dataDir;

// Independent generators (not the C scenarios), each with one needle.
function rows(n) {
  const out = [];
  for (let i = 0; i < n; i++)
    out.push({ id: 40000 + i, host: `web-${i % 12}`, state: i === 77 ? 'failed: disk full' : 'ok', load: (i * 37) % 100, note: `nightly batch ${i % 5}` });
  return JSON.stringify(out);
}
function buildLog(n) {
  const lines = [];
  for (let i = 0; i < n; i++) {
    if (i === 140) lines.push('src/net/conn.c:212:9: error: use of undeclared identifier \'sock_fd\'');
    else lines.push(`[${String(i).padStart(3, '0')}/${n}] Building C object CMakeFiles/app.dir/src/mod_${i % 40}/unit_${i}.c.o`);
  }
  return lines.join('\n') + '\n';
}
function grep(n) {
  const lines = [];
  for (let i = 0; i < n; i++)
    lines.push(`lib/part_${i % 30}/file_${i}.py:${10 + i}:    value = compute_total(items, discount=${i % 7})`);
  lines[90] = 'lib/billing/invoice.py:44:    raise InvoiceError("total mismatch")';
  return lines.join('\n') + '\n';
}
function diff(files) {
  const out = [];
  for (let f = 0; f < files; f++) {
    out.push(`diff --git a/src/f${f}.c b/src/f${f}.c`, `index 1111111..2222222 100644`, `--- a/src/f${f}.c`, `+++ b/src/f${f}.c`);
    out.push(`@@ -10,20 +10,21 @@ int f${f}(void)`);
    for (let k = 0; k < 9; k++) out.push(`     int v${k} = compute(${k}, ${f});`);
    out.push(`-    return old_${f}();`, `+    return new_${f}(ctx);`, `+    /* keep ${f} */`);
    for (let k = 0; k < 9; k++) out.push(`     log_value(v${k});`);
  }
  return out.join('\n') + '\n';
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-crusher2-'));
  exportRanks(dataDir, ['o200k_base']);
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dataDir } });
});

after(async () => {
  assert.equal(await proxy.stop(), 0);
  await up.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    const hit = line.match(/^(headroom_\w+?)(\{[^}]*\})? (-?\d+)$/);
    if (hit) m.set(`${hit[1]}${hit[2] ?? ''}`, Number(hit[3]));
  }
  return m;
}

// The compressors docs/compressors.md's table (checked against the compressor table by
// unit.compress_table) says /metrics lists before their first use.
function listedCompressors() {
  const doc = fs.readFileSync(new URL('../../docs/compressors.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## The compressor table'));
  const names = [];
  for (const line of section.split('\n').slice(1)) {
    if (line.startsWith('## ')) break;
    const row = line.match(/^\| `(\w+)` \|.*\| (yes|no) \|$/);
    if (row && row[2] === 'yes') names.push(row[1]);
  }
  return names;
}

test('/stats and /metrics report savings per compressor, equal to independent o200k counts', async () => {
  const before0 = parseMetrics(await (await fetch(`${proxy.url}/metrics`)).text());
  const listed = listedCompressors();
  assert.ok(listed.length >= 10 && listed.includes('kompress'), `listed: ${listed}`);
  for (const name of listed) {
    assert.equal(before0.get(`headroom_compressor_spans_total{compressor="${name}"}`), 0, `${name} series present before any request`);
    assert.equal(before0.get(`headroom_compressor_tokens_total{compressor="${name}",kind="saved"}`), 0);
  }

  up.script('/v1/chat/completions', { json: openaiChatCompletion() });
  const tools = { db: rows(150), build: buildLog(300), search_code: grep(150), patch: diff(6) };
  const messages = [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'why does host 40077 fail, and what broke the build?' }];
  for (const [name, text] of Object.entries(tools)) {
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `call_${name}`, type: 'function', function: { name, arguments: '{}' } }] });
    messages.push({ role: 'tool', tool_call_id: `call_${name}`, content: text });
  }
  const client = new OpenAI({ apiKey: 'sk-test-crusher2', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  await client.chat.completions.create({ model: 'gpt-4o-mini', messages });

  const sent = JSON.parse(up.requests.at(-1).body.toString());
  const forwarded = Object.fromEntries(sent.messages.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id.slice(5), m.content]));
  assert.match(forwarded.db, /failed: disk full/);
  assert.match(forwarded.build, /undeclared identifier 'sock_fd'/);
  assert.match(forwarded.search_code, /InvoiceError/);
  assert.match(forwarded.patch, /\+    return new_5\(ctx\);/);

  // The compressor each output routes to (JSON array, build log, grep output, diff).
  const expected = { smart_crusher: ['db'], logs: ['build'], search: ['search_code'], diff: ['patch'] };
  // /stats is read after the request's completion is counted: poll briefly.
  let stats;
  for (let i = 0; i < 100; i++) {
    stats = await (await fetch(`${proxy.url}/stats`)).json();
    if (stats.compression?.requests >= 1) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const per = stats.compression.compressors;
  const metrics = parseMetrics(await (await fetch(`${proxy.url}/metrics`)).text());
  let sumSaved = 0;
  for (const [name, outputs] of Object.entries(expected)) {
    const c = per[name];
    assert.ok(c, `/stats has ${name}: ${JSON.stringify(per)}`);
    const wantBefore = outputs.reduce((a, k) => a + count(tools[k]), 0);
    const wantAfter = outputs.reduce((a, k) => a + count(forwarded[k]), 0);
    assert.ok(wantAfter < wantBefore, `${name} shrank its output`);
    assert.equal(c.spans, outputs.length, `${name} spans`);
    assert.equal(c.tokens_before, wantBefore, `${name} tokens_before = js-tiktoken count of the original`);
    assert.equal(c.tokens_after, wantAfter, `${name} tokens_after = js-tiktoken count of what was forwarded`);
    assert.equal(c.tokens_saved, wantBefore - wantAfter);
    sumSaved += c.tokens_saved;
    assert.equal(metrics.get(`headroom_compressor_spans_total{compressor="${name}"}`), c.spans);
    assert.equal(metrics.get(`headroom_compressor_tokens_total{compressor="${name}",kind="before"}`), c.tokens_before);
    assert.equal(metrics.get(`headroom_compressor_tokens_total{compressor="${name}",kind="after"}`), c.tokens_after);
    assert.equal(metrics.get(`headroom_compressor_tokens_total{compressor="${name}",kind="saved"}`), c.tokens_saved);
  }
  // Nothing else was compressed: the per-compressor savings add up to the pipeline's total.
  assert.equal(stats.compression.tokens_saved, sumSaved);
  assert.equal(metrics.get('headroom_compressor_spans_total{compressor="text"}'), 0);
  // The pipeline's outcome and fail-open counters mirror /stats.
  const comp = stats.compression;
  assert.equal(metrics.get('headroom_compression_spans_total{outcome="seen"}'), comp.spans_seen);
  assert.equal(metrics.get('headroom_compression_spans_total{outcome="compressed"}'), comp.spans_compressed);
  assert.equal(metrics.get('headroom_compression_spans_total{outcome="replayed"}'), comp.spans_replayed);
  assert.equal(metrics.get('headroom_compression_failed_open_total'), comp.failed_open);
  assert.equal(metrics.get('headroom_compression_deadline_exceeded_total'), comp.deadline_exceeded);
  assert.equal(metrics.get('headroom_ccr_store_failures_total'), comp.store_failures);
  assert.ok(comp.spans_compressed >= Object.keys(expected).length);
});
