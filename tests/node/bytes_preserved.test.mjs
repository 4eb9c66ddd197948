// bytes_preserved.test.mjs: with compression on, every byte of a request body outside the
// tool outputs the proxy compressed reaches the upstream unchanged, whatever the client's
// formatting: indented, CRLF line ends with tab indents, '\/' escapes, and \uXXXX escapes
// (non-ASCII, surrogate pairs, '<>&'), for all three API shapes. Compact bodies are covered
// by e2e_scenarios; formatted bodies were only ever sent with compression bypassed, so an
// edit that also swallowed the whitespace after a compressed string went unnoticed.
//
// The check is independent of the C code: the test writes each body itself and knows the
// byte span of every tool-output literal in it. In the forwarded body (with the injected
// headroom_retrieve tool removed by lib/retrieve_tool.mjs, which also checks where it sits)
// the bytes before, between and after those spans must be identical, and each span must have
// become one JSON string literal holding a marker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import { withoutRetrieveTool } from './lib/retrieve_tool.mjs';
import * as fx from './lib/e2e_fixtures.mjs';

const KEY = 'sk-bytes-preserved';
let up, proxy;
before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url });
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0, 'proxy exits 0 (no sanitizer report)');
  await up?.close();
});

// ---- writing bodies in each client's style -----------------------------------------------

/** A JSON string literal for s, escaped the way the format's client would write it. */
function literal(s, format) {
  let out = JSON.stringify(s);
  if (format === 'escaped') out = out.replace(/\//g, '\\/'); // PHP / Java style
  if (format === 'unicode') { // every non-ASCII UTF-16 unit, and '<>&' (HTML-safe encoders)
    out = out.replace(/[\u007f-\uffff<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  return out;
}

const STRING_LIT = /"(?:[^"\\]|\\.)*"/g;

/** The body text for obj in the format: layout first, then every literal re-escaped. */
function write(obj, format) {
  const indent = { compact: 0, indented: 2, crlf: '\t', escaped: 0, unicode: 0 }[format];
  let text = JSON.stringify(obj, null, indent).replace(STRING_LIT, (l) => literal(JSON.parse(l), format));
  if (format === 'crlf') text = text.replace(/\n/g, '\r\n') + '\r\n';
  if (format === 'indented') text += '\n';
  return text;
}

// Tool outputs with '/', non-ASCII (2-, 3- and 4-byte UTF-8) and '<>&', so every format
// writes their literals differently.
const EXTRA = '\nnote: café ✓ 日本 😀 <ok> & done — see https://ci.example/runs/7';
const OUT_A = fx.pytestLog(500, 61).text + EXTRA;
const OUT_B = fx.dbRows(150, 62).text;
const SYSTEM = 'You are a coding agent. Paths look like /srv/app; be brief — über-careful <always>.';

function chatBody() {
  return {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Which tests failed, and which rows errored? ✓' },
      { role: 'assistant', content: null, tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'run_tests', arguments: '{"path":"tests/"}' } },
        { id: 'call_b', type: 'function', function: { name: 'query_db', arguments: '{"q":"select *"}' } }] },
      { role: 'tool', tool_call_id: 'call_a', content: OUT_A },
      { role: 'tool', tool_call_id: 'call_b', content: OUT_B },
    ],
    tools: [{ type: 'function', function: { name: 'run_tests', description: 'runs /usr/bin/pytest', parameters: { type: 'object', properties: {} } } }],
    temperature: 0.5,
  };
}

function messagesBody() {
  return {
    model: 'claude-sonnet-4-5',
    max_tokens: 64,
    system: SYSTEM,
    messages: [
      { role: 'user', content: 'Which tests failed, and which rows errored? ✓' },
      { role: 'assistant', content: [
        { type: 'tool_use', id: 'tu_a', name: 'run_tests', input: { path: 'tests/' } },
        { type: 'tool_use', id: 'tu_b', name: 'query_db', input: { q: 'select *' } }] },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: 'tu_a', content: OUT_A },
        { type: 'tool_result', tool_use_id: 'tu_b', content: OUT_B }] },
    ],
    tools: [{ name: 'run_tests', description: 'runs /usr/bin/pytest', input_schema: { type: 'object', properties: {} } }],
  };
}

function responsesBody() {
  return {
    model: 'gpt-4o',
    instructions: SYSTEM,
    input: [
      { role: 'user', content: 'Which tests failed, and which rows errored? ✓' },
      { type: 'function_call', call_id: 'fc_a', name: 'run_tests', arguments: '{"path":"tests/"}' },
      { type: 'function_call', call_id: 'fc_b', name: 'query_db', arguments: '{"q":"select *"}' },
      { type: 'function_call_output', call_id: 'fc_a', output: OUT_A },
      { type: 'function_call_output', call_id: 'fc_b', output: OUT_B },
    ],
    tools: [{ type: 'function', name: 'run_tests', description: 'runs /usr/bin/pytest', parameters: { type: 'object', properties: {} } }],
  };
}

const SHAPES = [
  ['/v1/chat/completions', chatBody, { authorization: `Bearer ${KEY}` }],
  ['/v1/messages', messagesBody, { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' }],
  ['/v1/responses', responsesBody, { authorization: `Bearer ${KEY}` }],
];
const FORMATS = ['indented', 'crlf', 'escaped', 'unicode'];

// ---- the check ---------------------------------------------------------------------------

/** Byte spans [start, end) of each tool-output literal in the written body, in order. */
function toolSpans(text, format) {
  const bytes = Buffer.from(text);
  const spans = [];
  for (const out of [OUT_A, OUT_B]) {
    const lit = Buffer.from(literal(out, format));
    const at = bytes.indexOf(lit);
    assert.ok(at >= 0 && bytes.indexOf(lit, at + 1) < 0, 'each tool output is written exactly once');
    spans.push([at, at + lit.length]);
  }
  return spans.sort((x, y) => x[0] - y[0]);
}

/** End (exclusive) of the JSON string literal starting at buf[i] ('"'). */
function literalEnd(buf, i) {
  assert.equal(buf[i], 0x22, 'a string literal where the tool output was');
  for (let j = i + 1; j < buf.length; j++) {
    if (buf[j] === 0x5c) j++;
    else if (buf[j] === 0x22) return j + 1;
  }
  assert.fail('unterminated string literal');
}

/**
 * Asserts got equals sent except that each span of sent became one JSON string literal with
 * a marker. Returns the replacement texts.
 */
function assertOnlySpansReplaced(sent, got, spans, what) {
  const replaced = [];
  let i = 0;
  let j = 0;
  const same = (n, where) => {
    const a = sent.subarray(i, i + n);
    const b = got.subarray(j, j + n);
    if (!a.equals(b)) {
      let k = 0;
      while (k < n && a[k] === b[k]) k++;
      assert.fail(`${what}: ${where}: bytes differ at sent[${i + k}] / forwarded[${j + k}]: ` +
        `${JSON.stringify(sent.subarray(i + k, i + k + 40).toString())} vs ${JSON.stringify(got.subarray(j + k, j + k + 40).toString())}`);
    }
    i += n;
    j += n;
  };
  for (const [start, end] of spans) {
    same(start - i, `before the tool output at ${start}`);
    const litEnd = literalEnd(got, j);
    const text = JSON.parse(got.subarray(j, litEnd).toString());
    assert.equal(fx.markersIn(text).length >= 1, true, `${what}: the tool output at ${start} was compressed with a marker`);
    replaced.push(text);
    i = end;
    j = litEnd;
  }
  same(sent.length - i, 'after the last tool output');
  assert.equal(j, got.length, `${what}: nothing appended`);
  return replaced;
}

// ---- the tests ---------------------------------------------------------------------------

for (const [route, make, auth] of SHAPES) {
  for (const format of FORMATS) {
    test(`${route}, ${format} body: only the compressed tool outputs change, byte for byte`, async () => {
      up.reset();
      const text = write(make(), format);
      const sent = Buffer.from(text);
      const spans = toolSpans(text, format);
      const r = await fetch(`${proxy.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: sent });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      assert.equal(up.requests.length, 1);
      const forwarded = up.requests[0].body;
      const { body, injected } = withoutRetrieveTool(forwarded);
      assert.ok(injected, 'the headroom_retrieve tool was offered (the body holds markers)');
      const replaced = assertOnlySpansReplaced(sent, body, spans, `${route} ${format}`);
      assert.equal(replaced.length, 2);
      assert.ok(Number(r.headers.get('x-headroom-tokens-saved')) > 0, 'the answer reports tokens saved');
      // the forwarded body is still JSON and says the same, tool outputs aside
      const want = make();
      const got = JSON.parse(forwarded);
      assert.equal(got.model, want.model);
      assert.equal(JSON.stringify(got).includes(SYSTEM.slice(0, 40)), true);
    });
  }
}

test('the injected tool is one well-formed headroom_retrieve definition in each shape', async () => {
  for (const [route, make, auth] of SHAPES) {
    up.reset();
    const r = await fetch(`${proxy.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: write(make(), 'indented') });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const tools = JSON.parse(up.requests[0].body).tools;
    assert.equal(tools.length, 2, `${route}: the client's tool, then ours`);
    assert.deepEqual(tools[0], make().tools[0], `${route}: the client's tool unchanged`);
    const name = tools[1].function?.name ?? tools[1].name;
    assert.equal(name, 'headroom_retrieve', route);
  }
});
