// base_url_ssrf.test.mjs: the per-request upstream (x-headroom-base-url) through the real
// binary. Honoured only for an origin on --allow-base-url; anything else is refused with a
// 403 in the provider's shape and nothing is sent anywhere — other hosts and ports, user-
// info tricks, other spellings of an allowed IP, names not on the list — and an allowed
// upstream's redirect is handed to the client, never followed by the proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeUpstream, openaiChatCompletion } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';

let def, allowed, other, proxy;
before(async () => {
  def = await startFakeUpstream();     // the configured upstream
  allowed = await startFakeUpstream(); // on the allowlist
  other = await startFakeUpstream();   // reachable, but never allowed
  proxy = await startProxy({ openaiUrl: def.url, anthropicUrl: def.url, args: ['--allow-base-url', `https://gw.example.invalid, ${allowed.url}`] });
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  for (const u of [def, allowed, other]) await u?.close();
});

const reset = () => { for (const u of [def, allowed, other]) u.reset(); };
const total = () => def.requests.length + allowed.requests.length + other.requests.length;

function chat(baseUrl, p = proxy) {
  return fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST', redirect: 'manual', // a redirect is the proxy's answer to show, not to follow
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', ...(baseUrl ? { 'x-headroom-base-url': baseUrl } : {}) },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
  });
}

test('an allowed origin gets the request (with the client SDK), the header itself is not forwarded', async () => {
  reset();
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${proxy.url}/v1`, defaultHeaders: { 'x-headroom-base-url': `${allowed.url}/v1` }, maxRetries: 0 });
  const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.choices[0].message.content, openaiChatCompletion().choices[0].message.content);
  assert.equal(allowed.requests.length, 1);
  assert.equal(def.requests.length, 0, 'not the configured upstream');
  assert.equal(allowed.requests[0].path, '/v1/chat/completions');
  assert.equal(allowed.requests[0].headers['x-headroom-base-url'], undefined);
  // without the header: the configured upstream, as always
  reset();
  assert.equal((await chat(null)).status, 200);
  assert.equal(def.requests.length, 1);
});

test('SSRF: everything not on the list is refused with a 403 and nothing leaves the proxy', async () => {
  const port = new URL(allowed.url).port;
  const otherPort = new URL(other.url).port;
  const refused = [
    other.url,                                        // another port on the same host
    `http://localhost:${port}`,                       // a name not on the list, same address
    `http://127.1:${port}`, `http://2130706433:${port}`, `http://0x7f.0.0.1:${port}`,
    `http://0177.0.0.1:${port}`, `http://[::ffff:127.0.0.1]:${port}`,
    `http://127.0.0.1:${port}@127.0.0.1:${otherPort}`, // user info: the host is the last one
    `http://127.0.0.1:${otherPort}#@127.0.0.1:${port}`,
    `http://127.0.0.1:${otherPort}\\@127.0.0.1:${port}`,
    `https://127.0.0.1:${port}`,                      // scheme differs
    'https://gw.example.invalid.evil.test', 'https://evil.gw.example.invalid',
    'http://gw.example.invalid', 'file:///etc/passwd', 'gopher://127.0.0.1:70/',
    `http://127.0.0.1:${port}/v1?x=1`, `http://127.0.0.1:${port}/%2e%2e/`,
  ];
  for (const b of refused) {
    reset();
    const r = await chat(b);
    assert.equal(r.status, 403, `refused: ${b}`);
    const j = await r.json();
    assert.equal(j.error.code, 'base_url_not_allowed', b);
    assert.ok(j.error.message.length > 20);
    assert.equal(total(), 0, `nothing sent for ${b}`);
  }
});

test('an allowed upstream\'s redirect goes back to the client, never followed', async () => {
  reset();
  allowed.script('/v1/chat/completions', { status: 307, headers: { location: `${other.url}/v1/chat/completions` }, body: '' });
  const r = await chat(allowed.url);
  assert.equal(r.status, 307);
  assert.equal(r.headers.get('location'), `${other.url}/v1/chat/completions`);
  assert.equal(other.requests.length, 0, 'the proxy did not follow it');
});

test('with no --allow-base-url nothing is allowed, not even the configured upstream', async () => {
  const bare = await startProxy({ openaiUrl: def.url, anthropicUrl: def.url });
  try {
    reset();
    for (const b of [def.url, allowed.url]) {
      const r = await chat(b, bare);
      assert.equal(r.status, 403);
      assert.match((await r.json()).error.message, /not enabled/);
    }
    assert.equal(total(), 0);
  } finally {
    assert.equal(await bare.stop(), 0);
  }
});

test('a bad --allow-base-url entry stops the proxy at start with a clear message', async () => {
  await assert.rejects(startProxy({ openaiUrl: def.url, args: ['--allow-base-url', 'https://user@evil.test'], timeoutMs: 3000 }),
    /--allow-base-url: 'https:\/\/user@evil.test' is not an origin/);
});
