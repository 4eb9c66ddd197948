// proxyperf_memory.test.mjs: after a burst of requests the proxy's anonymous memory returns
// to its pre-burst size once it goes idle (idle maintenance closes the burst's extra
// upstream handles and trims the heap; malloc arenas are capped at start). RssAnon is measured
// from outside, in /proc/<pid>/status of the real binary; growth from one burst to the next
// is judged on malloc's bytes in use (mallinfo2, through /debug/memory), which RSS noise
// cannot hide or fake.
// Skipped under AddressSanitizer: its allocator and shadow memory own RSS there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { startProxy, sanitizerBuild } from './lib/proxy.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssAnon(pid) {
  const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

function post(url, agent, body) {
  return new Promise((resolve, reject) => {
    const r = http.request(`${url}/v1/chat/completions`, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    r.on('error', reject);
    r.end(body);
  });
}

// `total` requests over `clients` keep-alive connections, then the connections are closed
// (their threads exit, as after a real burst).
async function burst(url, total, clients, body) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const statuses = await Promise.all(Array.from({ length: total }, () => post(url, agent, body)));
  agent.destroy();
  return statuses;
}

// Polls until the upstream sees at most `want` open connections; returns the last count.
async function upstreamSettlesTo(up, want, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (up.openConnections() > want && Date.now() < deadline) await sleep(100);
  return up.openConnections();
}

// The idle trim runs once the proxy has been quiet for a second; poll instead of sleeping
// a fixed time, and report the last value if it never gets there.
async function settlesTo(pid, limit, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let v = rssAnon(pid);
  while (v > limit && Date.now() < deadline) {
    await sleep(200);
    v = rssAnon(pid);
  }
  return v;
}

// malloc's bytes in use, read through the proxy's own report once two reads 300 ms apart
// agree within 16 KB (the housekeeping tick may still be closing pooled handles).
async function heapInUseSettled(url) {
  const read = async () => {
    const r = await fetch(`${url}/debug/memory`);
    assert.equal(r.status, 200);
    return (await r.json()).heap_in_use;
  };
  let prev = await read();
  for (let i = 0; i < 30; i++) {
    await sleep(300);
    const v = await read();
    if (Math.abs(v - prev) <= 16 * 1024) return Math.max(v, prev);
    prev = v;
  }
  return prev;
}

const MB = 1024 * 1024;
// 64 clients (the upstream pool's bound): each burst connection leaves a curl handle pair
// (~32 KB) and its upstream connection in the pool until idle maintenance closes all but
// the 4 most recent (IDLE_POOL_KEEP in src/proxy/proxy.c). The closes are checked where
// they are certain, at the upstream: it must see the burst's connections go.
const CLIENTS = 64;
const POOL_KEEP = 4;
// What may stay after a burst: glibc keeps exited threads' stacks cached (~20 KB each, one
// per peak connection) and some arena fragments. Measured on 2 cores (2026-12-03,
// bench/proxy/burst_memory.mjs): 1.7-2.3 MB stays at 64 clients; with the pool never shrunk
// 3.25-3.53 MB. RSS alone cannot tell those apart on a loaded machine (at 16 clients they
// were 0.8 and 1.1 MB), hence the connection count; 3 MB catches a real leak, and a burst
// raises RssAnon by ~6.5 MB, well above it.
const ALLOWED = 3 * MB;

test('RssAnon rises in a 500-request burst of 64 clients and returns near its pre-burst value, and does not grow', { skip: sanitizerBuild() && 'ASan build: the sanitizer owns the heap' }, async (t) => {
  const up = await startFakeUpstream();
  let proxy;
  try {
    proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url });
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello '.repeat(300) }] });
    // One-time set-up (curl, the pipeline, log and metric state) belongs to the baseline.
    for (let i = 0; i < 20; i++) assert.equal(await post(proxy.url, undefined, body), 200);
    await sleep(2500);
    const pid = proxy.proc.pid;
    const before = rssAnon(pid);
    let firstInUse = 0;
    for (let round = 1; round <= 2; round++) {
      // the peak is sampled during the burst: on a loaded machine the housekeeping tick
      // may already have trimmed by the time the last answer is read
      let peak = rssAnon(pid);
      const sampler = setInterval(() => { peak = Math.max(peak, rssAnon(pid)); }, 50);
      const statuses = await burst(proxy.url, 500, CLIENTS, body).finally(() => clearInterval(sampler));
      peak = Math.max(peak, rssAnon(pid));
      assert.ok(statuses.every((s) => s === 200), `round ${round}: every request answered 200`);
      const upstreamOpen = up.openConnections();
      assert.ok(upstreamOpen > CLIENTS / 2, `round ${round}: the burst held many upstream connections (${upstreamOpen})`);
      // otherwise the limit below proves nothing: the burst must have used more than it allows
      assert.ok(peak > before + ALLOWED, `round ${round}: the burst raised RssAnon past the allowance (${before} -> ${peak} B)`);
      const left = await upstreamSettlesTo(up, POOL_KEEP, 20000);
      assert.ok(left <= POOL_KEEP, `round ${round}: idle maintenance closed the burst's upstream handles (${upstreamOpen} -> ${left} open)`);
      const after = await settlesTo(pid, before + ALLOWED, 20000);
      t.diagnostic(`round ${round}: RssAnon before ${before} B, peak ${peak} B, after idle ${after} B`);
      assert.ok(after <= before + ALLOWED,
        `round ${round}: RssAnon ${after} B after idle vs ${before} B before the burst (peak ${peak} B): more than ${ALLOWED / MB} MB kept`);
      // Growth between bursts is judged on malloc's bytes in use (/debug/memory heap_in_use),
      // not on RssAnon: what glibc keeps of exited threads' stacks and arena tops moves RssAnon
      // by ~0.7 MB from one settle to the next under load (CI saw 3.71 -> 4.42 MB with nothing
      // leaked), while a leak of even 1 KB per request adds 0.5 MB of bytes in use per burst.
      const inUse = await heapInUseSettled(proxy.url);
      t.diagnostic(`round ${round}: heap in use ${inUse} B`);
      if (round === 1) firstInUse = inUse;
      else assert.ok(inUse <= firstInUse + 256 * 1024, `a second burst grew malloc's bytes in use: ${firstInUse} -> ${inUse} B`);
    }
    assert.ok(up.requests.length >= 1020, 'every request reached the upstream');
  } finally {
    await up.close();
    if (proxy) assert.equal(await proxy.stop(), 0, 'clean exit');
  }
});
