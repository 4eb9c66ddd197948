// proxy_tls.test.mjs: a TLS upstream that offers HTTP/2 (Node http2, self-signed CA given to
// the proxy with --upstream-ca-file): requests and SSE streams go over HTTP/2, the session
// is reused (also by 200 back-to-back requests on fresh client connections), and without
// the CA the certificate is refused (502 saying why).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import OpenAI from 'openai';
import { openaiChatCompletion, openaiChatChunks, sseBytes } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import { assertOpenAIErrorShape } from './lib/provider_errors.mjs';

let dir, server, port, sessions = 0;
const seen = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-tls-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]);
  assert.equal(r.status, 0, r.stderr?.toString());
  server = http2.createSecureServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')), allowHTTP1: true });
  server.on('session', () => { sessions++; });
  server.on('request', (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      seen.push({ httpVersion: req.httpVersion, path: req.url, auth: req.headers.authorization, body });
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const e of openaiChatChunks('gpt-4o-mini', ['over', ' h2'])) res.write(sseBytes(e));
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining-tokens': '5' });
        res.end(JSON.stringify(openaiChatCompletion('gpt-4o-mini', 'over h2')));
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  port = server.address().port;
});

after(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('HTTP/2 over TLS: JSON and SSE relayed, one session reused', async () => {
  const proxy = await startProxy({ openaiUrl: `https://127.0.0.1:${port}/v1`, args: ['--upstream-ca-file', path.join(dir, 'cert.pem')] });
  try {
    const client = new OpenAI({ apiKey: 'sk-tls', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
    const before = sessions;
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal(data.choices[0].message.content, 'over h2');
    assert.equal(response.headers.get('x-ratelimit-remaining-tokens'), '5');
    const s = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const c of s) text += c.choices[0]?.delta?.content || '';
    assert.equal(text, 'over h2');
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'again' }] });
    const mine = seen.slice(-3);
    assert.ok(mine.every((q) => q.httpVersion === '2.0'), JSON.stringify(mine.map((q) => q.httpVersion)));
    assert.ok(mine.every((q) => q.auth === 'Bearer sk-tls' && q.path === '/v1/chat/completions'));
    assert.equal(mine[1].body.stream_options.include_usage, true);
    assert.equal(sessions - before, 1, 'the TLS/HTTP2 session is reused');
  } finally {
    assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  }
});

// One request on a connection of its own (no keep-alive agent): the next request arrives on
// another client connection, served by another proxy thread.
function freshConnectionRequest(url, stream) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/chat/completions`, { method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-tls', connection: 'close' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'hi' }] }));
  });
}

// The proxy returns the upstream handle pair (and the HTTP/2 session its multi keeps) to the
// pool when the upstream transfer ends, before the client's last byte goes out: a request
// sent the moment the previous answer is complete, on a fresh client connection, finds the
// pair in the pool. Two busy processes load both cores meanwhile, so the proxy's threads are
// preempted where a late return would show (before the fix: 2 sessions for the 200).
test('200 back-to-back requests on fresh client connections share one HTTP/2 session', async () => {
  const proxy = await startProxy({ openaiUrl: `https://127.0.0.1:${port}/v1`, args: ['--upstream-ca-file', path.join(dir, 'cert.pem')] });
  const burners = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  try {
    const before = sessions;
    for (let i = 0; i < 200; i++) {
      const stream = i % 2 === 1; // a streamed answer, then a buffered one, alternately
      const r = await freshConnectionRequest(proxy.url, stream);
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, stream ? /data: \[DONE\]/ : /over h2/);
    }
    assert.equal(sessions - before, 1, `${sessions - before} upstream sessions for 200 sequential requests`);
  } finally {
    for (const b of burners) b.kill('SIGKILL');
    assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  }
});

test('an untrusted upstream certificate is refused with a 502 that says so', async () => {
  const proxy = await startProxy({ openaiUrl: `https://127.0.0.1:${port}`, args: ['--retry-base-ms', '10'] });
  try {
    const r = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-1' },
      body: '{"model":"m","messages":[]}',
    });
    assert.equal(r.status, 502);
    const j = await r.json();
    assert.match(assertOpenAIErrorShape(j).message, /certificate/i);
  } finally {
    assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  }
});
