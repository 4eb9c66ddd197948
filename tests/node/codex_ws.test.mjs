// codex_ws.test.mjs: the Responses API over WebSocket (what Codex speaks), with the `ws`
// npm client against a fake WebSocket upstream (lib/fake_ws_upstream.mjs) that records the
// exact bytes of every message: tool outputs in response.create compressed, every other
// message byte-identical both ways, ping/pong, large fragmented messages, the close
// handshake both ways, bad handshakes refused, an upstream refusal handed back, oversize
// frames closed with 1009, and the ChatGPT-backend routing of the Codex aliases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { startProxy, requestLogLines } from './lib/proxy.mjs';
import { startFakeWsUpstream, responsesWsEvents } from './lib/fake_ws_upstream.mjs';
import { dbRows, pytestLog, markersIn } from './lib/e2e_fixtures.mjs';

function wsUrl(proxy, path = '/v1/responses') { return proxy.url.replace('http://', 'ws://') + path; }

/** Opens a ws client; collects every message as a Buffer and the close code. */
function connect(url, opts = {}) {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
  const got = { messages: [], pongs: [], close: null, ws, unexpected: null };
  ws.on('message', (d, isBinary) => got.messages.push({ data: Buffer.from(d), isBinary }));
  ws.on('pong', (d) => got.pongs.push(Buffer.from(d)));
  ws.on('close', (code, reason) => { got.close = { code, reason: reason.toString() }; });
  ws.on('unexpected-response', (req, res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => { got.unexpected = { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }; });
  });
  ws.on('error', () => {});
  got.opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('close', () => reject(new Error('closed before open'))); });
  got.opened.catch(() => {});
  return got;
}

async function until(cond, ms = 8000, what = 'condition') {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function createEvent(outputs, extra = {}) {
  return {
    type: 'response.create', model: 'gpt-5-codex', instructions: 'You are Codex.',
    input: [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'why did the tests fail?' }] },
      ...outputs.flatMap((o, i) => [
        { type: 'function_call', call_id: `call_${i}`, name: 'shell', arguments: '{"cmd":["pytest"]}' },
        { type: 'function_call_output', call_id: `call_${i}`, output: o },
      ]),
    ],
    tools: [], store: false, stream: true, ...extra,
  };
}

async function setup(args = []) {
  const up = await startFakeWsUpstream();
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--chatgpt-backend-url', `${up.url}/backend-api/codex`, ...args] });
  return { up, proxy, async done() {
    const code = await proxy.stop();
    await up.close();
    assert.equal(code, 0, `the proxy exits cleanly (sanitizer builds: no leak report)\n${proxy.logs().slice(-3000)}`);
  } };
}

test('response.create: tool outputs compressed, everything else the same, events relayed byte for byte', async () => {
  const { up, proxy, done } = await setup();
  try {
    const log = pytestLog(600).text;
    const rows = dbRows(200).text;
    const ev = createEvent([log, rows]);
    const c = connect(wsUrl(proxy), { headers: { authorization: 'Bearer sk-test-ws', 'openai-beta': 'responses_websockets=2026-02-06' } });
    await c.opened;
    c.ws.send(JSON.stringify(ev));
    await until(() => c.messages.length === 3, 8000, 'three events');
    // what the upstream got: the same event with shorter tool outputs and nothing else changed
    const conn = up.connections[0];
    assert.equal(conn.url, '/v1/responses');
    assert.equal(conn.headers.authorization, 'Bearer sk-test-ws');
    assert.equal(conn.headers['openai-beta'], 'responses_websockets=2026-02-06');
    const sent = JSON.parse(conn.messages[0].data.toString());
    assert.equal(conn.messages[0].isBinary, false);
    const outs = sent.input.filter((i) => i.type === 'function_call_output');
    assert.equal(outs.length, 2);
    assert.ok(outs[0].output.length < log.length * 0.5, `log ${log.length} -> ${outs[0].output.length}`);
    assert.ok(outs[1].output.length < rows.length * 0.5, `rows ${rows.length} -> ${outs[1].output.length}`);
    assert.ok(markersIn(outs[0].output).length + markersIn(outs[1].output).length >= 1, 'CCR markers present');
    const strip = (e) => ({ ...e, tools: e.tools.filter((t) => t.name !== 'headroom_retrieve'),
      input: e.input.map((i) => (i.type === 'function_call_output' ? { ...i, output: '' } : i)) });
    assert.deepEqual(strip(sent), strip(ev));
    assert.deepEqual(sent.tools.map((t) => t.name), ['headroom_retrieve'], 'the retrieve tool is offered with the markers');
    // what the client got: the upstream's events, exactly
    assert.deepEqual(c.messages.map((m) => m.data.toString()), responsesWsEvents('gpt-5-codex'));
    c.ws.close(1000, 'bye');
    await until(() => c.close && conn.close, 5000, 'close both ways');
    assert.equal(conn.close.code, 1000);
    assert.equal(conn.close.reason, 'bye');
    assert.equal(c.close.code, 1000);
    await until(() => requestLogLines(proxy.logs()).some((l) => l.route === 'responses_ws'), 5000, 'log line');
    const line = requestLogLines(proxy.logs()).find((l) => l.route === 'responses_ws');
    assert.equal(line.status, '101');
    assert.ok(!proxy.logs().includes('sk-test-ws'), 'credentials never logged');
  } finally { await done(); }
});

test('other messages and small or non-create events pass byte-identical; binary too', async () => {
  const { up, proxy, done } = await setup();
  try {
    const c = connect(wsUrl(proxy));
    await c.opened;
    up.onMessage = (ws, data, isBinary) => ws.send(data, { binary: isBinary }); // echo
    const small = JSON.stringify(createEvent(['short output']));
    const other = '{"type":"session.update","x":  1 ,"y":"\\u00e9"}';
    const notJson = 'not json at all {';
    const bin = crypto.randomBytes(70000);
    c.ws.send(small);
    c.ws.send(other);
    c.ws.send(notJson);
    c.ws.send(bin);
    await until(() => c.messages.length === 4, 8000, 'four echoes');
    const conn = up.connections[0];
    assert.deepEqual(conn.messages[0].data, Buffer.from(small));
    assert.deepEqual(conn.messages[1].data, Buffer.from(other));
    assert.deepEqual(conn.messages[2].data, Buffer.from(notJson));
    assert.equal(conn.messages[3].isBinary, true);
    assert.deepEqual(conn.messages[3].data, bin);
    assert.deepEqual(c.messages.map((m) => m.data), [Buffer.from(small), Buffer.from(other), Buffer.from(notJson), bin]);
    c.ws.terminate();
    await until(() => conn.close, 5000, 'upstream closed after the client vanished');
    assert.equal(conn.close.code, 1001);
  } finally { await done(); }
});

test('ping/pong: a client ping reaches the upstream and its pong comes back', async () => {
  const { up, proxy, done } = await setup();
  try {
    const c = connect(wsUrl(proxy));
    await c.opened;
    c.ws.ping(Buffer.from('are-you-there'));
    await until(() => c.pongs.length === 1, 5000, 'pong');
    assert.deepEqual(up.connections[0].pings, [Buffer.from('are-you-there')]);
    assert.deepEqual(c.pongs[0], Buffer.from('are-you-there'));
    c.ws.close();
    await until(() => c.close, 5000, 'close');
  } finally { await done(); }
});

test('large fragmented messages both ways: a 3 MB create in 64 KB fragments is compressed; a fragmented upstream message arrives whole', async () => {
  const { up, proxy, done } = await setup();
  try {
    const big = pytestLog(30000).text;
    assert.ok(big.length > 2_000_000, `fixture is ${big.length} bytes`);
    const text = JSON.stringify(createEvent([big]));
    const c = connect(wsUrl(proxy));
    await c.opened;
    const reply = 'Z'.repeat(300000);
    up.onMessage = (ws) => {
      // three fragments of one text message
      ws.send(reply.slice(0, 100000), { fin: false });
      ws.send(reply.slice(100000, 200000), { fin: false });
      ws.send(reply.slice(200000), { fin: true });
    };
    for (let i = 0; i < text.length; i += 65536)
      c.ws.send(text.slice(i, i + 65536), { fin: i + 65536 >= text.length });
    await until(() => c.messages.length === 1, 20000, 'reply');
    const sent = JSON.parse(up.connections[0].messages[0].data.toString());
    const out = sent.input.find((i) => i.type === 'function_call_output').output;
    assert.ok(out.length < big.length / 4, `${big.length} -> ${out.length}`);
    assert.equal(c.messages[0].data.toString(), reply);
    c.ws.close(4000, 'app close');
    await until(() => up.connections[0].close, 5000, 'upstream close');
    assert.equal(up.connections[0].close.code, 4000);
  } finally { await done(); }
});

test('the upstream closing: its close code reaches the client, and a vanished upstream becomes 1011', async () => {
  const { up, proxy, done } = await setup();
  try {
    const c = connect(wsUrl(proxy));
    await c.opened;
    await up.until(() => up.connections.length === 1);
    up.connections[0].ws.close(4321, 'upstream says bye');
    await until(() => c.close, 5000, 'client close');
    assert.equal(c.close.code, 4321);
    assert.equal(c.close.reason, 'upstream says bye');

    const d = connect(wsUrl(proxy));
    await d.opened;
    await up.until(() => up.connections.length === 2);
    up.connections[1].ws.terminate();
    await until(() => d.close, 5000, 'client close after reset');
    assert.equal(d.close.code, 1011);
  } finally { await done(); }
});

test('oversize frames are refused with 1009 before they are buffered', async () => {
  const { up, proxy, done } = await setup(['--max-body-bytes', '100000']);
  try {
    const c = connect(wsUrl(proxy), { maxPayload: 0 });
    await c.opened;
    c.ws.send(Buffer.alloc(200000, 0x61), { binary: false });
    await until(() => c.close, 5000, 'close');
    assert.equal(c.close.code, 1009);
    await up.until(() => up.connections[0].close, 5000, 'upstream close');
    assert.equal(up.connections[0].close.code, 1001);
    assert.equal(up.connections[0].messages.length, 0);
    // fragments that add up past the limit: 1009 as well
    const d = connect(wsUrl(proxy));
    await d.opened;
    for (let i = 0; i < 3; i++) d.ws.send('b'.repeat(40000), { fin: i === 2 });
    await until(() => d.close, 5000, 'close of fragmented');
    assert.equal(d.close.code, 1009);
  } finally { await done(); }
});

/** Sends a raw upgrade request and returns the status line and body. */
function rawUpgrade(port, path, headers) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.on('data', (d) => { buf += d.toString('latin1'); });
    s.on('end', () => resolve(buf));
    s.on('close', () => resolve(buf));
    s.on('error', reject);
    const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close', '', ''];
    s.write(lines.join('\r\n'));
    setTimeout(() => s.destroy(), 3000);
  });
}

test('bad handshakes are refused in the provider error shape, and none reaches the upstream', async () => {
  const { up, proxy, done } = await setup();
  try {
    const key = crypto.randomBytes(16).toString('base64');
    const badVersion = await rawUpgrade(proxy.port, '/v1/responses', { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '8' });
    assert.match(badVersion, /^HTTP\/1\.1 426/);
    assert.match(badVersion, /Sec-WebSocket-Version: 13/i);
    assert.match(badVersion, /"error":\{/);
    const badKey = await rawUpgrade(proxy.port, '/v1/responses', { Upgrade: 'websocket', 'Sec-WebSocket-Key': 'short', 'Sec-WebSocket-Version': '13' });
    assert.match(badKey, /^HTTP\/1\.1 400/);
    assert.match(badKey, /bad_websocket_handshake/);
    const wrongPath = await rawUpgrade(proxy.port, '/v1/chat/completions', { Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' });
    assert.match(wrongPath, /^HTTP\/1\.1 404/);
    assert.equal(up.upgrades.length, 0);
  } finally { await done(); }
});

test('an upstream refusal (401) is handed to the client as it came', async () => {
  const { up, proxy, done } = await setup();
  try {
    up.refuse = { status: 401, json: { error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } } };
    const c = connect(wsUrl(proxy), { headers: { authorization: 'Bearer nope' } });
    await until(() => c.unexpected, 5000, 'refusal');
    assert.equal(c.unexpected.status, 401);
    assert.deepEqual(JSON.parse(c.unexpected.body), up.refuse.json);
  } finally { await done(); }
});

test('Codex aliases over WebSocket; chatgpt-account-id goes to the ChatGPT backend', async () => {
  const { up, proxy, done } = await setup();
  try {
    const cases = [
      ['/backend-api/codex/responses', {}, '/v1/responses'],
      ['/v1/codex/responses', {}, '/v1/responses'],
      ['/backend-api/codex/responses', { 'chatgpt-account-id': 'acct-123' }, '/backend-api/codex/responses'],
      ['/v1/responses?x=1', { 'chatgpt-account-id': 'acct-123' }, '/backend-api/codex/responses?x=1'],
    ];
    for (const [i, [path, headers, want]] of cases.entries()) {
      const c = connect(wsUrl(proxy, path), { headers });
      await c.opened;
      c.ws.send(JSON.stringify(createEvent([pytestLog(600).text])));
      await until(() => c.messages.length === 3, 8000, `events via ${path}`);
      assert.equal(up.connections[i].url, want, path);
      if (headers['chatgpt-account-id']) assert.equal(up.connections[i].headers['chatgpt-account-id'], 'acct-123');
      const sent = JSON.parse(up.connections[i].messages[0].data.toString());
      assert.ok(sent.input[2].output.length < pytestLog(600).text.length / 2, `compressed via ${path}`);
      c.ws.close();
      await until(() => c.close, 5000, 'close');
    }
  } finally { await done(); }
});

test('TLS upstream: the handshake and frames go through curl_easy_send/recv; without the CA it is refused (502)', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { spawnSync } = await import('node:child_process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-wss-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]);
  assert.equal(r.status, 0, r.stderr?.toString());
  const up = await startFakeWsUpstream({ tls: { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) } });
  const proxy = await startProxy({ openaiUrl: up.url, args: ['--upstream-ca-file', path.join(dir, 'cert.pem')] });
  const bare = await startProxy({ openaiUrl: up.url });
  try {
    up.onMessage = (ws, data, isBinary) => ws.send(data, { binary: isBinary });
    const c = connect(wsUrl(proxy));
    await c.opened;
    const big = crypto.randomBytes(1 << 20);
    c.ws.send(big);
    c.ws.send('{"type":"hello"}');
    await until(() => c.messages.length === 2, 10000, 'echoes over TLS');
    assert.deepEqual(c.messages[0].data, big);
    assert.equal(c.messages[1].data.toString(), '{"type":"hello"}');
    c.ws.close(1000);
    await until(() => c.close, 5000, 'close');
    assert.equal(c.close.code, 1000);

    const d = connect(wsUrl(bare));
    await until(() => d.unexpected, 10000, 'refusal without the CA');
    assert.equal(d.unexpected.status, 502);
    const err = JSON.parse(d.unexpected.body).error;
    assert.equal(err.code, 'upstream_unreachable');
    assert.match(err.message, /certificate|SSL/i);
  } finally {
    await proxy.stop();
    await bare.stop();
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('headroom_retrieve over WebSocket: offered with the markers, the model\'s call answered upstream, the client sees one response', async () => {
  const { up, proxy, done } = await setup();
  try {
    const log = pytestLog(600).text;
    const reasoning = { type: 'reasoning', id: 'rs_1', summary: [] };
    const message = { type: 'message', id: 'msg_9', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Test 2 failed.', annotations: [] }] };
    const resp = (id, status, output, usage) => ({ id, object: 'response', created_at: 1, status, model: 'gpt-5-codex', output, usage });
    let hash = null;
    up.onMessage = (ws, data) => {
      const ev = JSON.parse(data.toString());
      assert.equal(ev.type, 'response.create');
      const send = (e) => ws.send(JSON.stringify(e));
      if (ev.input.at(-1).type !== 'function_call_output' || ev.input.at(-1).call_id !== 'call_r') {
        // round 1: the model asks for the original behind the marker
        hash = markersIn(ev.input.find((i) => i.type === 'function_call_output').output)[0].hash;
        const call = { type: 'function_call', id: 'fc_1', call_id: 'call_r', name: 'headroom_retrieve', arguments: JSON.stringify({ hash }), status: 'completed' };
        send({ type: 'response.created', sequence_number: 0, response: resp('resp_1', 'in_progress', [], null) });
        send({ type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: reasoning });
        send({ type: 'response.output_item.done', sequence_number: 2, output_index: 0, item: reasoning });
        send({ type: 'response.output_item.added', sequence_number: 3, output_index: 1, item: { ...call, arguments: '', status: 'in_progress' } });
        send({ type: 'response.function_call_arguments.delta', sequence_number: 4, output_index: 1, item_id: 'fc_1', delta: call.arguments });
        send({ type: 'response.output_item.done', sequence_number: 5, output_index: 1, item: call });
        send({ type: 'response.completed', sequence_number: 6, response: resp('resp_1', 'completed', [reasoning, call], { input_tokens: 100, output_tokens: 20, total_tokens: 120 }) });
      } else {
        send({ type: 'response.created', sequence_number: 0, response: resp('resp_2', 'in_progress', [], null) });
        send({ type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { ...message, status: 'in_progress', content: [] } });
        send({ type: 'response.output_text.delta', sequence_number: 2, output_index: 0, item_id: 'msg_9', content_index: 0, delta: 'Test 2 failed.' });
        send({ type: 'response.output_item.done', sequence_number: 3, output_index: 0, item: message });
        send({ type: 'response.completed', sequence_number: 4, response: resp('resp_2', 'completed', [message], { input_tokens: 150, output_tokens: 10, total_tokens: 160 }) });
      }
    };
    const c = connect(wsUrl(proxy), { headers: { authorization: 'Bearer sk-ret' } });
    await c.opened;
    c.ws.send(JSON.stringify(createEvent([log])));
    await until(() => c.messages.some((m) => JSON.parse(m.data).type === 'response.completed'), 10000, 'final response.completed');
    const conn = up.connections[0];
    assert.equal(conn.messages.length, 2, 'the first create and our follow-up');
    const first = JSON.parse(conn.messages[0].data);
    assert.ok(first.tools.some((t) => t.name === 'headroom_retrieve'), 'tool offered upstream');
    const followup = JSON.parse(conn.messages[1].data);
    assert.equal(followup.type, 'response.create');
    assert.deepEqual(followup.input.at(-1), { type: 'function_call_output', call_id: 'call_r', output: log });
    const events = c.messages.map((m) => JSON.parse(m.data));
    assert.ok(!c.messages.some((m) => m.data.toString().includes('headroom_retrieve')), 'the client never sees the tool');
    const final = events.at(-1);
    assert.equal(final.type, 'response.completed');
    assert.equal(final.response.id, 'resp_1');
    assert.deepEqual(final.response.output.map((o) => o.type), ['reasoning', 'message']);
    assert.deepEqual(final.response.usage, { input_tokens: 250, output_tokens: 30, total_tokens: 280 });
    const seq = events.map((e) => e.sequence_number);
    assert.deepEqual(seq, [...seq].sort((a, b) => a - b), 'sequence numbers keep increasing');
    assert.equal(events.filter((e) => e.type === 'response.created').length, 1);
    // a second turn on the same socket: passes through the same way
    up.onMessage = null;
    c.ws.send(JSON.stringify(createEvent(['small'])));
    await until(() => c.messages.length === events.length + 3, 8000, 'second turn');
    assert.deepEqual(c.messages.slice(-3).map((m) => m.data.toString()), responsesWsEvents('gpt-5-codex'));
    c.ws.close();
    await until(() => c.close, 5000, 'close');
    // usage counted once per turn: both retrieve rounds (250 / 30, as the client saw it), then 120 / 4
    await until(() => requestLogLines(proxy.logs()).some((l) => l.route === 'responses_ws'), 5000, 'log line');
    const line = requestLogLines(proxy.logs()).find((l) => l.route === 'responses_ws');
    assert.equal(line.input_tokens, '370');
    assert.equal(line.output_tokens, '34');
  } finally { await done(); }
});

test('usage: each turn\'s response.completed is read, whole or fragmented, and the session counts their sum in the log and /stats', async () => {
  const { up, proxy, done } = await setup();
  try {
    const before = await (await fetch(`${proxy.url}/stats`)).json();
    const cached = { type: 'response.completed', response: { id: 'resp_3', object: 'response', status: 'completed', model: 'gpt-5-codex', output: [],
      usage: { input_tokens: 300, input_tokens_details: { cached_tokens: 100 }, output_tokens: 7, total_tokens: 307 } } };
    let turn = 0;
    up.onMessage = (ws) => {
      turn++;
      const events = responsesWsEvents('gpt-5-codex'); // usage 120 in, 4 out
      if (turn < 3) { for (const e of events) ws.send(e); return; }
      // the third turn: its response.completed in three fragments, a ping between them
      const text = JSON.stringify(cached);
      ws.send(events[0]);
      ws.send(text.slice(0, 40), { fin: false });
      ws.ping('p');
      ws.send(text.slice(40, 90), { fin: false });
      ws.send(text.slice(90), { fin: true });
    };
    const c = connect(wsUrl(proxy), { headers: { authorization: 'Bearer sk-usage' } });
    await c.opened;
    for (let i = 0; i < 3; i++) {
      c.ws.send(JSON.stringify(createEvent(['small'])));
      await until(() => c.messages.length === [3, 6, 8][i], 8000, `turn ${i + 1}`);
    }
    assert.deepEqual(JSON.parse(c.messages.at(-1).data), cached, 'the fragmented event arrives whole and unchanged');
    c.ws.close(1000);
    await until(() => requestLogLines(proxy.logs()).some((l) => l.route === 'responses_ws'), 5000, 'log line');
    const line = requestLogLines(proxy.logs()).find((l) => l.route === 'responses_ws');
    // 120 + 120 + (300 - 100 cached, kept apart as OpenAI's cached_tokens are over HTTP)
    assert.equal(line.input_tokens, '440');
    assert.equal(line.output_tokens, '15');
    const after = await (await fetch(`${proxy.url}/stats`)).json();
    assert.equal(after.tokens.input - before.tokens.input, 440);
    assert.equal(after.tokens.output - before.tokens.output, 15);
    assert.equal(after.tokens.cache_read - before.tokens.cache_read, 100);
  } finally { await done(); }
});

test('SIGTERM: open WebSockets are closed with 1001 at once, both ways, and the proxy exits', async () => {
  const { up, proxy, done } = await setup();
  try {
    const c = connect(wsUrl(proxy));
    await c.opened;
    await up.until(() => up.connections.length === 1);
    const t0 = Date.now();
    const code = await proxy.stop('SIGTERM');
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 5000, `exit took ${Date.now() - t0} ms`);
    await until(() => c.close && up.connections[0].close, 5000, 'closes');
    assert.equal(c.close.code, 1001);
    assert.equal(up.connections[0].close.code, 1001);
  } finally { await done(); }
});

test('x-headroom-bypass: a response.create with big tool outputs goes byte for byte, no tool offered', async () => {
  const { up, proxy, done } = await setup();
  try {
    const text = JSON.stringify(createEvent([pytestLog(600).text]));
    const c = connect(wsUrl(proxy), { headers: { 'x-headroom-bypass': 'true' } });
    await c.opened;
    c.ws.send(text);
    await until(() => c.messages.length === 3, 8000, 'events');
    assert.deepEqual(up.connections[0].messages[0].data, Buffer.from(text));
    assert.equal(up.connections[0].headers['x-headroom-bypass'], undefined, 'x-headroom-* not forwarded');
    c.ws.close();
    await until(() => c.close, 5000, 'close');
  } finally { await done(); }
});

// --ws-idle-timeout: a session with no frame either way is closed with 1001 on both sides;
// traffic in either direction (pings from the client, messages from the upstream) keeps it.
async function metric(proxy, name) {
  const text = await (await fetch(`${proxy.url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : null;
}

test('idle timeout: a silent session is closed with 1001 both ways at the timeout, logged and counted', async () => {
  const { up, proxy, done } = await setup(['--ws-idle-timeout', '1.5']);
  try {
    assert.equal(await metric(proxy, 'headroom_websocket_idle_closes_total'), 0);
    const t0 = Date.now(); // before the session starts: the close cannot come sooner than 1.5 s after
    const c = connect(wsUrl(proxy));
    await c.opened;
    await up.until(() => up.connections.length === 1);
    await until(() => c.close && up.connections[0].close, 10000, 'idle close both ways');
    const took = Date.now() - t0;
    assert.ok(took >= 1500, `closed after ${took} ms, before the 1.5 s timeout`);
    assert.deepEqual(c.close, { code: 1001, reason: 'idle timeout' });
    assert.deepEqual(up.connections[0].close, { code: 1001, reason: 'idle timeout' });
    assert.equal(up.connections[0].error, null, 'the upstream saw a valid close');
    await until(() => proxy.logs().includes('websocket idle timeout'), 5000, 'log line');
    assert.equal(await metric(proxy, 'headroom_websocket_idle_closes_total'), 1);
  } finally { await done(); }
});

test('idle timeout: pings from the client or messages from the upstream keep a session open past it', async () => {
  const { up, proxy, done } = await setup(['--ws-idle-timeout', '1.5']);
  try {
    const c = connect(wsUrl(proxy));
    await c.opened;
    await up.until(() => up.connections.length === 1);
    const conn = up.connections[0];
    // 4 s of client pings every 250 ms (the upstream's pongs come back)
    for (let i = 0; i < 16; i++) {
      c.ws.ping(Buffer.from(`p${i}`));
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(c.close, null, 'pinged session still open');
    assert.equal(conn.pings.length, 16);
    // then 4 s of upstream messages only, one every 250 ms
    for (let i = 0; i < 16; i++) {
      conn.ws.send(`{"type":"keepalive","n":${i}}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await until(() => c.messages.length === 16, 5000, 'upstream messages');
    assert.equal(c.close, null, 'session with upstream traffic still open');
    assert.equal(conn.close, null);
    c.ws.close(1000, 'done');
    await until(() => c.close && conn.close, 5000, 'client close relayed');
    assert.equal(conn.close.code, 1000, 'the client\'s own close, not an idle one');
    assert.equal(await metric(proxy, 'headroom_websocket_idle_closes_total'), 0);
  } finally { await done(); }
});
