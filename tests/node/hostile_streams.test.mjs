// hostile_streams.test.mjs: a streamed answer is relayed as it comes, but a stream whose
// request was offered headroom_retrieve also keeps its turn (to replay it if the model calls
// the tool). A hostile or merely verbose upstream fills that up to --max-answer-bytes per
// stream; N concurrent streams must not multiply it: the kept bytes are on the process
// in-flight budget, and past it a turn stops being tracked while its bytes keep flowing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startFakeUpstream, anthropicEvents } from './lib/fake_upstream.mjs';
import { startProxy, sanitizerBuild } from './lib/proxy.mjs';
import * as fx from './lib/e2e_fixtures.mjs';

const ASAN = sanitizerBuild();
const BUDGET_MB = 128;
const STREAMS = 12;
const STREAM_MB = ASAN ? 24 : 40;
const OVERHEAD_MB = ASAN ? 160 : 48;
let up, proxy;

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--max-inflight-body-mb', String(BUDGET_MB)],
    env: ASAN ? { ASAN_OPTIONS: 'quarantine_size_mb=8:allocator_release_to_os_interval_ms=100:detect_leaks=1' } : {} });
});
after(async () => {
  assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  await up.close();
});

const rssKb = () => Number(fs.readFileSync(`/proc/${proxy.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

test(`${STREAMS} concurrent ${STREAM_MB} MB streams offered headroom_retrieve stay within the ${BUDGET_MB} MB budget, every byte relayed`, async (t) => {
  const log = fx.pytestLog(500, 9).text; // compressed: its marker makes the proxy offer the tool
  const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 128, stream: true, messages: [
    { role: 'user', content: 'which tests failed?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'pytest', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: log }] }] });
  const piece = 'x'.repeat(256 * 1024);
  const events = anthropicEvents('claude-sonnet-4-5', Array.from({ length: STREAM_MB * 4 }, () => piece));
  up.reset();
  for (let i = 0; i < STREAMS; i++) up.script('/v1/messages', { sse: events });
  const rss0 = rssKb();
  const t0 = Date.now();
  let peak = rss0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKb()); }, 20);
  const got = await Promise.all(Array.from({ length: STREAMS }, async () => {
    const r = await fetch(`${proxy.url}/v1/messages`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' }, body });
    let n = 0;
    // a client reading a little slower than the upstream writes: the streams overlap
    for await (const chunk of r.body) {
      n += chunk.length;
      await new Promise((res) => setTimeout(res, 1));
    }
    return { status: r.status, n };
  }));
  clearInterval(sampler);
  assert.ok(up.requests.every((q) => q.body.includes('headroom_retrieve')), 'the tool was offered on every stream');
  for (const g of got) {
    assert.equal(g.status, 200);
    assert.ok(g.n >= STREAM_MB * 1024 * 1024, `the whole stream reached the client (${g.n} bytes)`);
  }
  const grewMb = (peak - rss0) / 1024;
  t.diagnostic(`peak RSS ${(peak / 1024).toFixed(1)} MB (+${grewMb.toFixed(1)}), ${Date.now() - t0} ms to the last byte`);
  assert.ok(grewMb < BUDGET_MB + OVERHEAD_MB, `peak grew ${grewMb.toFixed(0)} MB (${STREAMS} x ${STREAM_MB} MB kept would be ${STREAMS * STREAM_MB})`);
});
