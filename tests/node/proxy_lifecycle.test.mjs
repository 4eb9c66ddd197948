// proxy_lifecycle.test.mjs: client disconnect cancels the upstream transfer within a second,
// graceful shutdown finishes in-flight work (readyz 503 meanwhile, exit 0), 200 concurrent
// streams, 1,000 idle keep-alive connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startFakeUpstream, anthropicEvents, openaiChatChunks, sseBytes } from './lib/fake_upstream.mjs';
import { startProxy, requestLogLines } from './lib/proxy.mjs';

let up;
before(async () => { up = await startFakeUpstream(); });
after(async () => { await up.close(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('client disconnect mid-stream aborts the upstream transfer within 1 s', async () => {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url });
  try {
    up.reset();
    const slow = { sse: Array.from({ length: 100 }, () => anthropicEvents()[3]), intervalMs: 200 };
    up.script('/v1/messages', slow);
    const ac = new AbortController();
    const r = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      body: '{"model":"m","stream":true,"messages":[]}', signal: ac.signal,
    });
    const reader = r.body.getReader();
    await reader.read();
    const abortedAt = Date.now();
    ac.abort();
    const rec = up.requests[0];
    while (!rec.closed && Date.now() - abortedAt < 3000) await sleep(20);
    assert.ok(rec.closed, 'upstream connection closed');
    assert.ok(rec.closedAt - abortedAt < 1000, `closed ${rec.closedAt - abortedAt} ms after the client left`);
  } finally {
    assert.equal(await proxy.stop(), 0, "clean exit (no sanitizer report)");
  }
});

test('client disconnect while waiting for a non-streaming answer aborts upstream too', async () => {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url });
  try {
    up.reset();
    up.script('/v1/chat/completions', { hang: true });
    const ac = new AbortController();
    const p = fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-1' },
      body: '{"model":"m","messages":[]}', signal: ac.signal,
    }).catch(() => null);
    await up.waitForRequests(1);
    const abortedAt = Date.now();
    ac.abort();
    await p;
    const rec = up.requests[0];
    while (!rec.closed && Date.now() - abortedAt < 3000) await sleep(20);
    assert.ok(rec.closed && rec.closedAt - abortedAt < 1000, 'upstream closed within 1 s');
  } finally {
    assert.equal(await proxy.stop(), 0, "clean exit (no sanitizer report)");
  }
});

test('graceful shutdown: in-flight stream completes, readyz 503 while draining, exit 0', async () => {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--graceful-shutdown-timeout', '10'] });
  up.reset();
  const events = openaiChatChunks('m', ['a', 'b', 'c', 'd', 'e', 'f']);
  up.script('/v1/chat/completions', { sse: events, intervalMs: 150 });
  // a keep-alive connection opened before shutdown, to ask /readyz while draining
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path) => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: proxy.port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
  assert.equal(await get('/readyz'), 200);
  const r = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-1' },
    body: '{"model":"m","stream":true,"messages":[]}',
  });
  const textP = r.text();
  await sleep(200);
  proxy.proc.kill('SIGTERM');
  await sleep(100);
  assert.equal(await get('/readyz'), 503);
  // no new connections are accepted
  await assert.rejects(new Promise((resolve, reject) => {
    const s = net.connect(proxy.port, '127.0.0.1', () => { s.destroy(); resolve(); });
    s.on('error', reject);
  }));
  const text = await textP;
  assert.equal(text, events.map(sseBytes).join(''));
  assert.equal(await proxy.exited, 0);
  agent.destroy();
  assert.match(proxy.logs(), /shutting down/);
});

test('holds 200 concurrent streams', async () => {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url });
  try {
    up.reset();
    const events = anthropicEvents('m', ['1', '2', '3', '4']);
    up.script('/v1/messages', { sse: events, intervalMs: 100, repeat: true });
    const expected = events.map(sseBytes).join('');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 400 });
    const one = () => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/v1/messages', agent,
        headers: { 'content-type': 'application/json', 'x-api-key': 'k' } }, (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { s += d; });
        res.on('end', () => resolve([res.statusCode, s]));
      });
      req.on('error', reject);
      req.end('{"model":"m","stream":true,"messages":[]}');
    });
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 200 }, one));
    const elapsed = Date.now() - t0;
    for (const [status, body] of results) {
      assert.equal(status, 200);
      assert.equal(body, expected);
    }
    // they overlapped: one stream takes ~1 s (10 events, 100 ms apart); 200 in sequence ~200 s
    assert.ok(elapsed < 10000, `200 streams took ${elapsed} ms`);
    let lines = [];
    for (let i = 0; i < 100 && lines.length < 200; i++) { // log lines follow the last byte
      lines = requestLogLines(proxy.logs()).filter((l) => l.route === 'messages');
      if (lines.length < 200) await sleep(20);
    }
    assert.equal(lines.length, 200);
    assert.ok(lines.every((l) => l.status === '200' && l.stream === 'true' && l.input_tokens === '31'));
    agent.destroy();
  } finally {
    assert.equal(await proxy.stop(), 0, "clean exit (no sanitizer report)");
  }
});

test('holds 1,000 idle keep-alive connections and still answers', async () => {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url });
  const sockets = [];
  try {
    const open = () => new Promise((resolve, reject) => {
      const s = net.connect(proxy.port, '127.0.0.1');
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n\r\n') && buf.includes('"alive"')) resolve(s);
      });
      s.on('error', reject);
      s.write('GET /livez HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    });
    for (let i = 0; i < 1000; i += 100)
      sockets.push(...await Promise.all(Array.from({ length: 100 }, open)));
    assert.equal(sockets.length, 1000);
    const h = await (await fetch(`${proxy.url}/health`)).json();
    assert.equal(h.status, 'ok');
    const m = await (await fetch(`${proxy.url}/metrics`)).text();
    const active = Number(m.match(/headroom_active_connections (\d+)/)[1]);
    assert.ok(active >= 1000, `active connections ${active}`);
    // the idle connections are still usable
    const again = await new Promise((resolve) => {
      sockets[500].once('data', (d) => resolve(d.toString()));
      sockets[500].write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    assert.match(again, /^HTTP\/1\.1 200/);
  } finally {
    for (const s of sockets) s.destroy();
    assert.equal(await proxy.stop(), 0, "clean exit (no sanitizer report)");
  }
});
