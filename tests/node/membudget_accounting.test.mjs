// membudget_accounting.test.mjs: /debug/memory explains at least 95 % of RssAnon by owner
// on a loaded proxy: 32 requests with ~1 MB tool outputs held by a slow upstream, 64 idle
// keep-alive connections and a warm session cache, sampled mid-load and again after it.
// The owners must be the ones the load creates (request buffers while requests are held,
// one stack per connection thread), and the mapping kinds must add up to RssAnon as the
// kernel reports it. Under ASan the sanitizer's allocator replaces malloc (mallinfo2 sees
// none of it), so there only the owners' presence is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy, sanitizerBuild } from './lib/proxy.mjs';
import { startFakeUpstream, openaiChatCompletion } from './lib/fake_upstream.mjs';
import { rawPost, memOf, sleep } from './lib/hostile.mjs';
import { dbRows } from './lib/e2e_fixtures.mjs';

const ASAN = sanitizerBuild();
const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-test' };

function body(i) {
  return Buffer.from(JSON.stringify({
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: `why is transaction ${480000 + i} missing?` },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'db', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: dbRows(4000, 300 + i).text },
    ],
  }));
}

// /debug/memory retries internally until status and smaps agree; on a machine this loaded
// memory can keep moving through all its tries ("settled": false): then ask again
async function memoryReport(url) {
  let r;
  for (let i = 0; i < 10; i++) {
    r = await (await fetch(`${url}/debug/memory`)).json();
    if (r.accounting.settled) break;
    await sleep(100);
  }
  return r;
}

function check(acc, status, label) {
  const o = acc.owners;
  const sum = Object.entries(o).filter(([k]) => k !== 'threads').reduce((s, [, v]) => s + v, 0);
  assert.ok(Math.abs(sum - acc.explained) <= Math.max(0.01 * acc.rss_anon, 64 * 1024) || sum > acc.explained,
    `${label}: owners add up to explained (${sum} vs ${acc.explained})`);
  // the kinds of mapping add up to what the kernel reports: the proxy reads status and
  // smaps a moment apart, and this test reads status again later, while bodies arrive
  assert.ok(Math.abs(acc.mappings.anon_total - acc.rss_anon) <= Math.max(0.1 * acc.rss_anon, 4 * 1024 * 1024),
    `${label}: smaps anon ${acc.mappings.anon_total} vs RssAnon ${acc.rss_anon}`);
  // the proxy's reading lies between what /proc said just before and just after the report
  // (memory moves by tens of MB within a report on a loaded machine: 58.8 vs 38.6 MB was seen)
  const lo = Math.min(status.before.anon, status.after.anon), hi = Math.max(status.before.anon, status.after.anon);
  const slack = Math.max(0.25 * hi, 8 * 1024 * 1024);
  assert.ok(acc.rss_anon >= lo - slack && acc.rss_anon <= hi + slack,
    `${label}: the proxy's RssAnon ${acc.rss_anon} vs /proc read from outside ${status.before.anon}..${status.after.anon}`);
  if (!ASAN)
    assert.ok(acc.explained_ratio >= 0.95, `${label}: explained ${acc.explained_ratio} of RssAnon: ${JSON.stringify(acc)}`);
}

test('/debug/memory explains >= 95 % of RssAnon by owner under load and after', async (t) => {
  const up = await startFakeUpstream();
  up.script('/v1/chat/completions', { delayMs: 5000, json: openaiChatCompletion('gpt-4o', 'ok'), repeat: true });
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url });
  const idle = [];
  try {
    for (let i = 0; i < 64; i++) idle.push(net.connect(proxy.port, '127.0.0.1'));
    const pending = Array.from({ length: 32 }, (_, i) =>
      rawPost(proxy.port, '/v1/chat/completions', { headers: { ...HEADERS, 'x-headroom-session-id': `s${i % 4}` }, body: body(i) }));
    // bodies in, compressed, held by the upstream (polled: on a loaded machine they take a while)
    let during;
    for (const end = Date.now() + 4000; ;) {
      during = await (await fetch(`${proxy.url}/debug/memory`)).json();
      if (during.accounting.owners.request_buffers > 8 * 1024 * 1024 || Date.now() > end) break;
      await sleep(200);
    }
    // then once more when every body is in (the upstream holds them 5 s): a steady moment
    await sleep(700);
    const statusBefore = memOf(proxy.proc.pid);
    during = await memoryReport(proxy.url);
    const statusDuring = { before: statusBefore, after: memOf(proxy.proc.pid) };
    const acc = during.accounting;
    assert.ok(acc.owners.request_buffers > 8 * 1024 * 1024, `request buffers held: ${acc.owners.request_buffers}: ${JSON.stringify(acc)}`);
    assert.ok(acc.owners.thread_stacks > 0 && acc.mappings.stack_count >= 32, `stacks: ${acc.mappings.stack_count}`);
    assert.ok(acc.rss_file.libraries > 0);
    check(acc, statusDuring, 'under load');
    t.diagnostic(`under load: RssAnon ${acc.rss_anon}, explained ${acc.explained_ratio}, owners ${JSON.stringify(acc.owners)}`);
    const results = await Promise.all(pending);
    assert.ok(results.every((r) => r.status === 200), 'every request answered');
    await sleep(300);
    const statusBefore2 = memOf(proxy.proc.pid);
    const after = await memoryReport(proxy.url);
    assert.equal(after.accounting.owners.request_buffers, 0, 'nothing held once answered');
    check(after.accounting, { before: statusBefore2, after: memOf(proxy.proc.pid) }, 'after load');
    t.diagnostic(`after: RssAnon ${after.accounting.rss_anon}, explained ${after.accounting.explained_ratio}`);
  } finally {
    for (const s of idle) s.destroy();
    await proxy.stop();
    await up.close();
  }
});
