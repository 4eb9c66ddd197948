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
    let held = 0; // the most streams the upstream saw open at once
    const sampler = setInterval(() => { held = Math.max(held, up.openConnections()); }, 20);
    const results = await Promise.all(Array.from({ length: 200 }, one)).finally(() => clearInterval(sampler));
    const elapsed = Date.now() - t0;
    for (const [status, body] of results) {
      assert.equal(status, 200);
      assert.equal(body, expected);
    }
    // they overlapped: one stream takes ~1 s (10 events, 100 ms apart), so the upstream saw
    // most of them open at once; the time bound only rules out running them in sequence (~200 s)
    // and leaves room for a loaded CI machine (13.7 s seen under load 31)
    assert.ok(held >= 150, `at most ${held} streams were open at once`);
    assert.ok(elapsed < 60000, `200 streams took ${elapsed} ms`);
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

test('graceful shutdown gives up on a stream longer than the timeout, still exits 0', async () => {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--graceful-shutdown-timeout', '1'] });
  up.reset();
  up.script('/v1/messages', { sse: Array.from({ length: 50 }, () => anthropicEvents()[3]), intervalMs: 200 });
  const r = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
    body: '{"model":"m","stream":true,"messages":[]}',
  });
  const bodyP = r.text().then(() => 'complete', () => 'cut');
  await sleep(200);
  const t0 = Date.now();
  proxy.proc.kill('SIGTERM');
  assert.equal(await proxy.exited, 0);
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 4000, `exited after ${took} ms`);
  assert.equal(await bodyP, 'cut', 'the client sees a truncated stream, not a clean end');
  assert.match(proxy.logs(), /graceful shutdown timed out/);
});

test('a fast upstream and a slow reader: the stream is never buffered whole', async () => {
  // 40 MB of SSE as fast as the upstream can write; the client reads nothing for 1.5 s.
  const fast = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = `data: ${'x'.repeat(65000)}\n\n`;
      let sent = 0;
      const pump = () => {
        while (sent < 40e6) {
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        res.end();
      };
      pump();
    });
  });
  await new Promise((r) => fast.listen(0, '127.0.0.1', r));
  const proxy = await startProxy({ openaiUrl: `http://127.0.0.1:${fast.address().port}` });
  try {
    const before = await (await fetch(`${proxy.url}/debug/memory`)).json();
    const total = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-1' } }, (res) => {
        res.pause();
        setTimeout(async () => {
          try {
            const during = await (await fetch(`${proxy.url}/debug/memory`)).json();
            const grew = during.rss_anon - before.rss_anon;
            assert.ok(grew < 8e6, `proxy RssAnon grew ${grew} bytes while the client was not reading`);
          } catch (e) { reject(e); return; }
          let n = 0;
          res.on('data', (d) => { n += d.length; });
          res.on('end', () => resolve(n));
          res.resume();
        }, 1500);
      });
      req.on('error', reject);
      req.end('{"model":"m","stream":true,"messages":[]}');
    });
    assert.ok(total >= 40e6, `client got ${total} bytes`);
  } finally {
    assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
    await new Promise((r) => fast.close(r));
  }
});

test('--log-format json: one JSON object per request line, no credentials', async () => {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--log-format', 'json'] });
  try {
    up.reset();
    const r = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-very-secret' },
      body: '{"model":"gpt-4o-mini","messages":[]}',
    });
    const id = r.headers.get('x-headroom-request-id');
    await r.text();
    let line;
    for (let i = 0; i < 50 && !line; i++) {
      line = proxy.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((o) => o.msg === 'request' && o.id === id);
      if (!line) await sleep(20);
    }
    assert.ok(line, 'a request line with the response header id');
    assert.equal(line.route, 'chat_completions');
    assert.equal(line.provider, 'openai');
    assert.equal(line.model, 'gpt-4o-mini');
    assert.equal(line.status, '200');
    assert.ok(Number(line.latency_ms) >= 0);
    assert.ok(!proxy.logs().includes('sk-very-secret'));
  } finally {
    assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  }
});
