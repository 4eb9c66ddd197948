// hostile_http.test.mjs: the proxy against hostile clients at the HTTP layer (issue 9, part A),
// with raw sockets, never a friendly client: each attack gets its expected answer (status
// and, where the proxy answers, a JSON error body in the provider's shape) within a bound
// on time (about a second, never the idle timeout), and nothing reaches an upstream it must
// not reach. Slow-client attacks run against short configured deadlines so the file stays
// well under a minute. docs/benchmarks.md ("Reliability") lists what each attack measured.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import { raw, slowly } from './lib/raw_http.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assertOpenAIError(j, code) {
  assert.ok(j && j.error, `a JSON error body, got ${JSON.stringify(j)}`);
  assert.equal(typeof j.error.message, 'string');
  assert.ok(j.error.message.length > 10, `a message that says something: ${j.error.message}`);
  if (code) assert.equal(j.error.code, code);
}

function assertAnthropicError(j, type) {
  assert.equal(j.type, 'error');
  assert.equal(j.error.type, type);
  assert.ok(j.error.message.length > 10);
}

const rssKb = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

let up, bait, baitHits, proxy;
const H = 'Host: proxy\r\n';
// A cut at the 1 s header or body deadline arrives by 1.1 s on a quiet machine (the watchdog
// ticks every 100 ms); on a loaded 2-core CI machine timers run up to ~0.8 s late. LATE keeps
// the claim (the deadline, not the 300 s idle timeout nor a deadline restarted per byte: the
// dribbling clients here would run 5-12 s) without failing on a busy machine.
const LATE = 2600;
const FAST = ['--max-body-bytes', '1000', '--client-header-timeout', '1', '--client-body-timeout', '1',
  '--retry-attempts', '1', '--connect-timeout', '1'];

before(async () => {
  up = await startFakeUpstream();
  // a server the client would like the proxy to reach instead of the configured upstream
  baitHits = 0;
  bait = net.createServer((s) => { baitHits++; s.destroy(); });
  await new Promise((r) => bait.listen(0, '127.0.0.1', r));
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: FAST });
});

after(async () => {
  assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  await new Promise((r) => bait.close(r));
  await up.close();
});

// The slots of cut connections are free again within 500 ms (their threads close them a
// moment after the client saw its 408). Returns how many tries were refused meanwhile.
async function servedAgain(port) {
  let ok, refused = 0;
  for (let i = 0; i < 10 && (!ok || ok.status !== 200); i++) {
    if (ok) {
      refused++;
      await sleep(50);
    }
    ok = await raw(port, get('/livez'));
  }
  assert.equal(ok.status, 200, ok.text);
  return refused;
}

const get = (target, extra = '') => `GET ${target} HTTP/1.1\r\n${H}${extra}Connection: close\r\n\r\n`;

test('a target with user info cannot choose the upstream host: 400, nothing connects anywhere', async () => {
  up.reset();
  const port = bait.address().port;
  for (const target of [`@127.0.0.1:${port}/v1/models`, `@localhost:${port}/v1/chat/completions`,
    `:x@127.0.0.1:${port}/v1/models`, `127.0.0.1:${port}`]) {
    const r = await raw(proxy.port, get(target));
    assert.equal(r.status, 400, `${target}: ${r.text}`);
    assertOpenAIError(r.json, 'bad_request');
    assert.ok(r.ms < 1000, `${target} answered in ${r.ms} ms`);
  }
  // an '@' inside an origin-form path is a path byte: it goes to the configured upstream
  const r = await raw(proxy.port, get(`/@127.0.0.1:${port}/v1/models`));
  assert.equal(r.status, 404, r.text); // the fake upstream has no such path
  assert.equal(up.requests.length, 1);
  assert.equal(up.requests[0].url, `/@127.0.0.1:${port}/v1/models`);
  assert.equal(baitHits, 0, 'the bait server never saw a connection');
});

test('absolute-form and authority-form targets: 400 with a reason, not a 502 with none', async () => {
  up.reset();
  let r = await raw(proxy.port, get(`http://127.0.0.1:${bait.address().port}/v1/models`));
  assert.equal(r.status, 400);
  assertOpenAIError(r.json, 'bad_request');
  assert.match(r.json.error.message, /origin-form/);
  r = await raw(proxy.port, `CONNECT 127.0.0.1:${bait.address().port} HTTP/1.1\r\n${H}\r\n`);
  assert.ok(r.status === 400 || r.why === 'closed', r.text);
  assert.equal(up.requests.length, 0);
  assert.equal(baitHits, 0);
});

test('dot-segments, encoded separators, bad percent-encoding and invalid UTF-8: 400 at once', async () => {
  up.reset();
  const bad = ['/v1/../admin', '/v1/./models', '/v1/%2e%2e/x', '/v1/.%2E/x', '/v1%2fmodels',
    '/v1/models%5c..', '/v1/models%zz', '/v1/models%4', '/v1/models%00x', '/v1/retrieve/abc?query=%ff%fe',
    '/v1/models?q=%C3', '//evil.example/v1/models', '/v1/mod\x7fels'];
  for (const target of bad) {
    const r = await raw(proxy.port, get(target));
    assert.equal(r.status, 400, `${JSON.stringify(target)}: ${r.text}`);
    assertOpenAIError(r.json, 'bad_request');
    // the reason is plain JSON text: no raw bytes of the target are echoed
    assert.doesNotMatch(r.text, /[\x80-\xff]/);
  }
  assert.equal(up.requests.length, 0, 'none of them was forwarded');
  // valid percent-encoded UTF-8 and reserved characters pass through unchanged
  const ok = await raw(proxy.port, get('/v1/models?q=caf%C3%A9&x=a:b@c/d'));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(up.requests[0].url, '/v1/models?q=caf%C3%A9&x=a:b@c/d');
});

test('the error shape follows the provider of the path (Anthropic route)', async () => {
  const r = await raw(proxy.port, `POST /v1/messages/../x HTTP/1.1\r\n${H}x-api-key: k\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
  assert.equal(r.status, 400);
  assertAnthropicError(r.json, 'invalid_request_error');
});

test('framing: CR, NUL and control bytes in values, CL+TE, differing CLs, no Host: 400 at once', async () => {
  up.reset();
  const post = (headers, body = '') => `POST /v1/models HTTP/1.1\r\n${headers}Connection: close\r\n\r\n${body}`;
  const cases = [
    [`${H}X-A: a\rb\r\n`, /bare CR/],
    [`${H}X-A: a\x01b\r\n`, /control byte/],
    [`${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n`, /Transfer-Encoding and Content-Length/, '0\r\n\r\n'],
    [`${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n`, /Transfer-Encoding and Content-Length/, '0\r\n\r\n'],
    [`${H}Content-Length: 2\r\nContent-Length: 3\r\n`, /different values/, 'abc'],
    ['', /Host/],
    [`${H}Host: other\r\n`, /more than one Host/],
    [`${H}Bad Name: x\r\n`, /token/],
  ];
  for (const [headers, reason, body] of cases) {
    const r = await raw(proxy.port, post(headers, body));
    assert.equal(r.status, 400, `${JSON.stringify(headers)}: ${r.text}`);
    assertOpenAIError(r.json, 'bad_request');
    assert.match(r.json.error.message, reason);
    assert.ok(r.ms < 1000, `answered in ${r.ms} ms`);
  }
  assert.equal(up.requests.length, 0, 'none was forwarded');
  // two equal Content-Lengths are one length (RFC 9112 6.3): accepted
  const same = await raw(proxy.port, post(`${H}Content-Length: 2\r\nContent-Length: 2\r\n`, '{}'));
  assert.equal(same.status, 200, same.text);
});

test('a NUL in a header value: the server library cuts the value there, nothing after it is forwarded', async () => {
  up.reset();
  const r = await raw(proxy.port, Buffer.from(get('/v1/models', 'X-A: a\0b\r\n'), 'latin1'));
  assert.ok(r.status === 200 || r.status === 400, r.text);
  for (const q of up.requests) assert.ok(!/\0|b/.test(q.headers['x-a']), JSON.stringify(q.headers['x-a']));
});

test('unknown Transfer-Encoding: 501 at once; invalid Content-Length: 400 at once', async () => {
  up.reset();
  for (const te of ['gzip', 'gzip, chunked', 'chunked, chunked', 'identity']) {
    const r = await raw(proxy.port, `POST /v1/chat/completions HTTP/1.1\r\n${H}Transfer-Encoding: ${te}\r\nConnection: close\r\n\r\nabc`);
    assert.equal(r.status, 501, `${te}: ${r.text}`);
    assertOpenAIError(r.json, 'not_implemented');
    assert.ok(r.ms < 1000, `answered in ${r.ms} ms`);
  }
  // libmicrohttpd answers this one itself (HTML body, before any handler): a 400, at once
  const r = await raw(proxy.port, `POST /v1/models HTTP/1.1\r\n${H}Content-Length: abc\r\nConnection: close\r\n\r\n`);
  assert.equal(r.status, 400, r.text);
  assert.ok(r.ms < 1000);
  assert.equal(up.requests.length, 0);
});

test('chunked body over --max-body-bytes: 413 right after it; past twice the limit: cut at once, memory flat', async () => {
  up.reset();
  const head = `POST /v1/chat/completions HTTP/1.1\r\n${H}Authorization: Bearer sk-x\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const r = await raw(proxy.port, [head, `708\r\n${'x'.repeat(1800)}\r\n`, '0\r\n\r\n']);
  assert.equal(r.status, 413, r.text);
  assertOpenAIError(r.json, 'request_too_large');
  assert.ok(r.ms < 1000, `answered in ${r.ms} ms`);
  // 10 MiB: the proxy stops reading past twice the limit instead of draining it all
  const before = rssKb(proxy.proc.pid);
  const pieces = [head];
  for (let i = 0; i < 160; i++) pieces.push(`10000\r\n${'x'.repeat(0x10000)}\r\n`);
  pieces.push('0\r\n\r\n');
  const cut = await raw(proxy.port, pieces);
  assert.ok(cut.why !== 'timeout', 'closed');
  assert.ok(cut.ms < LATE, `closed after ${cut.ms} ms`);
  const grew = rssKb(proxy.proc.pid) - before;
  assert.ok(grew < 4096, `RSS grew ${grew} KB for a 10 MiB refused body`);
  assert.equal(up.requests.length, 0);
});

test('a chunked body that never ends is cut at the body deadline (408), not the idle timeout', async () => {
  const pieces = [`POST /v1/chat/completions HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`];
  for (let i = 0; i < 40; i++) pieces.push('1\r\nx\r\n', 100);
  const r = await raw(proxy.port, pieces);
  assert.equal(r.status, 408, r.text);
  assertOpenAIError(r.json, 'request_timeout');
  assert.ok(r.ms >= 900 && r.ms < LATE, `cut after ${r.ms} ms (deadline 1 s)`);
});

test('slow head: a byte every 300 ms is cut at the header deadline (408) however many bytes arrive', async () => {
  const r = await raw(proxy.port, slowly(get('/v1/models'), 300));
  assert.equal(r.status, 408, r.text);
  assertOpenAIError(r.json, 'request_timeout');
  assert.ok(r.ms >= 900 && r.ms < LATE, `cut after ${r.ms} ms (deadline 1 s)`);
});

test('a binary request line without an end: cut at the header deadline, not the idle timeout', async () => {
  const hello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...Array(40).fill(0xab)]);
  const r = await raw(proxy.port, [hello]);
  assert.ok(r.why === 'closed' || r.why.startsWith('error'), `closed: ${r.why}`);
  assert.ok(r.ms < LATE, `closed after ${r.ms} ms`);
  assert.ok(r.status === 408 || r.status === 400 || r.text === '', r.text);
});

test('a keep-alive connection may idle past the header deadline, but its next head may not dribble', async () => {
  const s = net.connect(proxy.port, '127.0.0.1');
  let text = '';
  s.on('data', (d) => { text += d.toString('latin1'); });
  await new Promise((r) => s.on('connect', r));
  s.write(`GET /livez HTTP/1.1\r\n${H}\r\n`);
  await sleep(1600); // idle longer than the 1 s header deadline: still open
  assert.match(text, /^HTTP\/1\.1 200/);
  text = '';
  s.write(`GET /livez HTTP/1.1\r\n${H}\r\n`);
  await sleep(200);
  assert.match(text, /^HTTP\/1\.1 200/, 'the idle connection still serves');
  text = '';
  const t0 = Date.now();
  const closed = new Promise((r) => s.on('close', r));
  for (const ch of `GET /livez HTTP/1.1\r\n${H}\r\n`) {
    if (s.destroyed) break;
    s.write(ch);
    await sleep(250);
    if (text) break;
  }
  await closed;
  const took = Date.now() - t0;
  assert.match(text, /^HTTP\/1\.1 408/, text);
  assert.ok(took < LATE, `cut after ${took} ms`);
});

test('chunk extension of 100 KB: answered at once (by the server library), nothing forwarded', async () => {
  up.reset();
  const r = await raw(proxy.port, `POST /v1/models HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n1;${'a'.repeat(100000)}\r\nx\r\n0\r\n\r\n`);
  assert.ok(r.status >= 400, r.text.slice(0, 200));
  assert.ok(r.ms < 1000, `answered in ${r.ms} ms`);
  assert.equal(up.requests.length, 0);
});

test('oversized heads: 414 / 431 at once (by the server library), nothing forwarded', async () => {
  up.reset();
  const cases = [
    [`GET /v1/models?x=${'a'.repeat(40000)} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, 414],
    [`GET /v1/models HTTP/1.1\r\n${H}X-A: ${'a'.repeat(40000)}\r\nConnection: close\r\n\r\n`, 431],
    [`GET /v1/models HTTP/1.1\r\n${H}${Array.from({ length: 3000 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`, 431],
  ];
  for (const [req, status] of cases) {
    const r = await raw(proxy.port, req);
    assert.equal(r.status, status, r.text.slice(0, 100));
    assert.ok(r.ms < 1000, `answered in ${r.ms} ms`);
  }
  assert.equal(up.requests.length, 0);
});

test('garbage request lines are closed at once', async () => {
  for (const line of ['GARBAGE\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n']) {
    const r = await raw(proxy.port, line);
    assert.ok(r.why !== 'timeout', `${JSON.stringify(line)} was held`);
    assert.ok(r.ms < 1000, `${JSON.stringify(line)} closed after ${r.ms} ms`);
    assert.ok(r.status === 0 || r.status >= 400, r.text);
  }
});

test('slow clients cannot lock everyone out: per-address limit answers 429 at once, others are served', async () => {
  const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url,
    args: ['--max-connections-per-address', '8', '--client-header-timeout', '1'] });
  try {
    // ten slow heads from one address with a limit of eight (the readiness probe's keep-alive
    // connection may hold one more slot): the first are held until the deadline, the rest
    // are refused at once
    const slow = [];
    for (let i = 0; i < 10; i++) {
      slow.push(raw(p.port, slowly('GET /v1/models HTTP/1.1\r\n', 300)));
      await sleep(10);
    }
    await sleep(150);
    // a client from another address is served at once meanwhile
    const other = await raw(p.port, get('/livez'), 4000, { from: '127.0.0.2' });
    assert.equal(other.status, 200, other.text);
    assert.ok(other.ms < 500, `served in ${other.ms} ms`);
    const t0 = Date.now();
    const refused = await raw(p.port, get('/livez'));
    assert.equal(refused.status, 429, refused.text);
    assertOpenAIError(refused.json, 'too_many_connections');
    assert.match(refused.text, /Retry-After: 1/);
    assert.ok(Date.now() - t0 < 500, `refused in ${Date.now() - t0} ms`);
    const answers = await Promise.all(slow);
    const held = answers.filter((r) => r.status === 408), turned = answers.filter((r) => r.status === 429);
    assert.equal(held.length + turned.length, 10, answers.map((r) => r.status).join(','));
    assert.ok(held.length >= 7 && turned.length >= 2, `held ${held.length}, refused ${turned.length}`);
    for (const r of held) assert.ok(r.ms >= 900 && r.ms < LATE, `slow client held ${r.ms} ms`);
    for (const r of turned) assert.ok(r.ms < 500, `refusal took ${r.ms} ms`);
    const retried = await servedAgain(p.port);
    const m = await (await fetch(`${p.url}/metrics`)).text();
    assert.equal(Number(m.match(/headroom_connections_refused_total (\d+)/)[1]), turned.length + 1 + retried);
    assert.equal(Number(m.match(/headroom_client_deadline_cuts_total (\d+)/)[1]), held.length);
    await sleep(200);
    assert.match(p.logs(), /hostile or slow clients cut_at_deadline=\d+ refused_over_limits=[1-9]/);
    // head-phase cuts with the client's bytes still unread (the proxy late, not the client)
    // are reported beside them; not asserted 0: a slow client's byte may land just before a cut
    assert.match(p.logs(), /hostile or slow clients cut_at_deadline=\d+ refused_over_limits=\d+ cut_with_head_unread=\d+/);
  } finally {
    assert.equal(await p.stop(), 0);
  }
});

// Full means four connections: on threads --limit-concurrency caps them; on events it caps
// requests in workers only (a connection costs one descriptor and no thread), so the
// connections are capped by the open-file limit: 772 descriptors leave 4 past the proxy's
// reserve of 768 (proxy.c connection_limits).
const FULL_AT_FOUR = process.env.HEADROOM_SERVER_MODEL === 'events'
  ? { prefix: ['prlimit', '--nofile=772:772', '--'] } : {};

test('a full proxy answers 503 at once instead of resetting, and serves again after the deadline', async () => {
  const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, ...FULL_AT_FOUR,
    args: ['--limit-concurrency', '4', '--client-header-timeout', '1'] });
  try {
    const slow = [];
    for (let i = 0; i < 4; i++) slow.push(raw(p.port, slowly('GET /v1/models HTTP/1.1\r\n', 300)));
    await sleep(200);
    const busy = await raw(p.port, get('/livez'));
    assert.equal(busy.status, 503, busy.text);
    assertOpenAIError(busy.json, 'server_busy');
    assert.match(busy.text, /Retry-After: 1/);
    assert.ok(busy.ms < 500, `refused in ${busy.ms} ms`);
    await Promise.all(slow);
    await servedAgain(p.port);
  } finally {
    assert.equal(await p.stop(), 0);
  }
});

test('a slow request does not delay shutdown past its deadline', async () => {
  const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url,
    args: ['--client-body-timeout', '1', '--graceful-shutdown-timeout', '5'] });
  const pieces = [`POST /v1/chat/completions HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`];
  for (let i = 0; i < 100; i++) pieces.push('1\r\nx\r\n', 100);
  const slow = raw(p.port, pieces, 8000);
  await sleep(200);
  const t0 = Date.now();
  assert.equal(await p.stop(), 0);
  assert.ok(Date.now() - t0 < 2500, `stopped after ${Date.now() - t0} ms`);
  await slow;
});

test('credentials in an upstream URL never show: start-up line, /health, error answers', async () => {
  const dead = net.createServer();
  await new Promise((r) => dead.listen(0, '127.0.0.1', r));
  const deadPort = dead.address().port;
  await new Promise((r) => dead.close(r));
  const p = await startProxy({ openaiUrl: `http://alice:s3cr3t-pw@127.0.0.1:${deadPort}`,
    anthropicUrl: `http://bob:an0ther-pw@127.0.0.1:${up.port}`, args: ['--retry-attempts', '1', '--connect-timeout', '1'] });
  try {
    const health = await (await fetch(`${p.url}/health`)).text();
    assert.doesNotMatch(health, /s3cr3t|an0ther|alice|bob/);
    assert.match(health, /http:\/\/\*\*\*@127\.0\.0\.1/);
    const r = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x' }, body: '{"model":"m","messages":[]}' });
    assert.equal(r.status, 502);
    assert.doesNotMatch(await r.text(), /s3cr3t|alice/);
    // the credentials still reach the upstream (as Basic auth): they are masked, not dropped
    up.reset();
    const a = await fetch(`${p.url}/v1/messages`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: '{"model":"m","messages":[]}' });
    assert.equal(a.status, 200);
    assert.ok(up.requests.length >= 1);
  } finally {
    assert.equal(await p.stop(), 0);
  }
  assert.match(p.logs(), /listening/);
  assert.doesNotMatch(p.logs(), /s3cr3t|an0ther|alice|bob/);
});

test('an upstream answer with 200 headers: the first 127 are forwarded and the rest are logged, not lost silently', async () => {
  const many = net.createServer((s) => {
    s.once('data', () => {
      let h = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n';
      for (let i = 0; i < 200; i++) h += `x-many-${i}: v${i}\r\n`;
      s.end(`${h}\r\n{}`);
    });
  });
  await new Promise((r) => many.listen(0, '127.0.0.1', r));
  const p = await startProxy({ openaiUrl: `http://127.0.0.1:${many.address().port}`, anthropicUrl: up.url });
  try {
    const r = await raw(p.port, get('/v1/models', 'Authorization: Bearer sk-x\r\n'));
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const forwarded = (r.text.match(/x-many-\d+/g) || []).length;
    assert.ok(forwarded >= 120 && forwarded < 200, `forwarded ${forwarded}`);
    await sleep(50);
    assert.match(p.logs(), new RegExp(`upstream response headers dropped.*dropped=${200 - forwarded}`));
  } finally {
    assert.equal(await p.stop(), 0);
    await new Promise((r) => many.close(r));
  }
});
