// provider_gemini.test.mjs: the Gemini API through the real binary with Google's own client
// (@google/genai 1.0.0, httpOptions.baseUrl at the proxy) against a fake of Google's
// endpoint that records what arrives: functionResponse parts compressed, every other byte
// as the client sent it, the API key header passed on, usage read from usageMetadata,
// streams (streamGenerateContent?alt=sse) relayed event by event, and errors in Google's
// shape (google.rpc.Status) whether the proxy or the upstream made them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GoogleGenAI } from '@google/genai';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { geminiResponse, geminiFunctionCall, geminiStreamEvents, googleError, GEMINI_USAGE } from './lib/fake_google.mjs';
import { startProxy, requestLogLines, waitForLogs } from './lib/proxy.mjs';
import * as fx from './lib/e2e_fixtures.mjs';

let up, proxy, dataDir;
before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-gemini-'));
  up = await startFakeUpstream();
  proxy = await startProxy({ args: ['--gemini-api-url', up.url], env: { HEADROOM_DATA_DIR: dataDir } });
  await captureBypassBody();
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  await up?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const MODEL = 'gemini-2.0-flash';
const GEN = `/v1beta/models/${MODEL}:generateContent`;
const STREAM = `/v1beta/models/${MODEL}:streamGenerateContent`;
const ROWS = fx.dbRows(200, 11).text;
const LOG = fx.pytestLog(500, 12).text;

// The SDK writes the body itself: what it sends for params() is captured once through the
// proxy with x-headroom-bypass (forwarded byte for byte), and compared with what arrives.
let bypassBody = null;
async function captureBypassBody() {
  // capture the exact bytes the SDK produces for params(), forwarded untouched (bypass)
  up.reset();
  up.script(GEN, { json: geminiResponse() });
  const ai = new GoogleGenAI({ apiKey: 'AIza-test-key', httpOptions: { baseUrl: proxy.url, headers: { 'x-headroom-bypass': 'true' } } });
  await ai.models.generateContent(params());
  bypassBody = up.requests[0].body.toString('utf8');
  up.reset();
}

function client() {
  return new GoogleGenAI({ apiKey: 'AIza-test-key', httpOptions: { baseUrl: proxy.url } });
}

// A conversation with a function call and its answer, plus text everywhere else that must
// stay as sent (system instruction, user text, the model's own text, the call's args).
function params() {
  return {
    model: MODEL,
    contents: [
      { role: 'user', parts: [{ text: 'Which orders failed, and why? ' + 'context '.repeat(100) }] },
      { role: 'model', parts: [{ text: 'Let me look. '.repeat(60) }, { functionCall: { name: 'query_db', args: { sql: 'SELECT * FROM orders ' + 'x'.repeat(700) } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'query_db', response: { output: ROWS, rows: 200 } } },
                              { functionResponse: { name: 'run_tests', response: { result: LOG } } }] },
    ],
    config: { systemInstruction: 'You are a careful analyst. '.repeat(40), temperature: 0 },
  };
}

test('generateContent: functionResponse outputs compressed, everything else byte-identical, usage read', async () => {
  up.reset();
  up.script(GEN, { json: geminiResponse('Three orders failed.') });
  const res = await client().models.generateContent(params());
  assert.equal(res.text, 'Three orders failed.');
  assert.deepEqual(res.usageMetadata, GEMINI_USAGE, 'usage relayed as the upstream sent it');
  assert.equal(up.requests.length, 1);
  const got = up.requests[0];
  assert.equal(got.path, GEN);
  assert.equal(got.headers['x-goog-api-key'], 'AIza-test-key', 'the API key passes through');
  const sent = Buffer.from(bypassBody);
  const { replaced } = fx.assertOnlyToolOutputsChanged(sent, got.body, [ROWS, LOG]);
  assert.equal(replaced, 2, 'both function outputs were compressed');
  const fwd = JSON.parse(got.body);
  const outputs = fwd.contents[2].parts.map((p) => Object.values(p.functionResponse.response)[0]);
  assert.ok(outputs[0].length < ROWS.length / 2 && outputs[1].length < LOG.length / 2, 'both got much smaller');
  assert.equal(fwd.contents[2].parts[0].functionResponse.response.rows, 200, 'non-string members untouched');
  assert.ok(fx.markersIn(outputs.join('\n')).length >= 1, 'a retrieve marker points at the originals');
  const text = await waitForLogs(proxy, (t) => requestLogLines(t).some((l) => l.route === 'generate_content'));
  const line = requestLogLines(text).find((l) => l.route === 'generate_content');
  assert.equal(line.provider, 'gemini');
  assert.equal(line.model, MODEL, 'the model, named by the path');
  assert.equal(Number(line.status), 200);
});

test('streamGenerateContent (alt=sse): relayed event by event, body compressed the same way', async () => {
  up.reset();
  up.script(STREAM, { sse: geminiStreamEvents(['Thr', 'ee ', 'failed.']), intervalMs: 20 });
  const pieces = [];
  let last;
  for await (const chunk of await client().models.generateContentStream(params())) {
    pieces.push(chunk.text);
    last = chunk;
  }
  assert.deepEqual(pieces, ['Thr', 'ee ', 'failed.']);
  assert.deepEqual(last.usageMetadata, GEMINI_USAGE);
  const got = up.requests[0];
  assert.equal(got.path, STREAM);
  assert.match(got.url, /[?&]alt=sse/);
  const { replaced } = fx.assertOnlyToolOutputsChanged(Buffer.from(bypassBody), got.body, [ROWS, LOG]);
  assert.equal(replaced, 2);
  const streamed = (l) => l.route === 'generate_content' && l.stream === 'true';
  const text = await waitForLogs(proxy, (t) => requestLogLines(t).some(streamed));
  const line = requestLogLines(text).find(streamed);
  assert.equal(line.provider, 'gemini');
  assert.equal(line.stream, 'true');
  assert.equal(Number(line.output_tokens), GEMINI_USAGE.candidatesTokenCount, 'usage read from the last event');
});

test('errors: the proxy answers in Google\'s shape, the upstream\'s pass through', async () => {
  up.reset();
  // a body that is not JSON: the proxy's own 400
  const r = await fetch(`${proxy.url}${GEN}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k' }, body: '{"contents": [' });
  assert.equal(r.status, 400);
  const j = await r.json();
  assert.equal(j.error.code, 400);
  assert.equal(j.error.status, 'INVALID_ARGUMENT');
  assert.match(j.error.message, /JSON/);
  assert.equal(up.requests.length, 0, 'nothing went upstream');
  // the upstream's error reaches the SDK as Google wrote it
  up.script(GEN, { status: 429, json: googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for gemini.') });
  await assert.rejects(client().models.generateContent(params()), (e) => {
    assert.match(e.message, /got status: 429/);
    const body = JSON.parse(e.message.slice(e.message.indexOf('{')));
    assert.deepEqual(body, googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for gemini.'));
    return true;
  });
  // an unreachable upstream: 502 in Google's shape, read by the SDK
  const dead = await startProxy({ args: ['--gemini-api-url', 'http://127.0.0.1:9', '--retry-attempts', '1'] });
  try {
    const ai = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: dead.url } });
    await assert.rejects(ai.models.generateContent({ model: MODEL, contents: 'hi' }), (e) => {
      const body = JSON.parse(e.message.slice(e.message.indexOf('{')));
      assert.equal(body.error.code, 502);
      assert.equal(body.error.status, 'INTERNAL');
      assert.match(body.error.message, /could not be reached/);
      return true;
    });
  } finally {
    assert.equal(await dead.stop(), 0);
  }
});

test('a stream the upstream breaks ends with a Google error event, not a silent cut', async () => {
  up.reset();
  up.script(STREAM, { sse: geminiStreamEvents(['a', 'b', 'c', 'd']), intervalMs: 50, resetAfter: 2 });
  const r = await fetch(`${proxy.url}${STREAM}?alt=sse`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k' }, body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }) });
  assert.equal(r.status, 200);
  const text = await r.text();
  const events = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)));
  assert.equal(events.length, 3, 'two relayed chunks, then the error');
  assert.equal(events[0].candidates[0].content.parts[0].text, 'a');
  assert.equal(events[2].error.status, 'UNAVAILABLE');
  assert.match(events[2].error.message, /broke/);
});

test('headroom_retrieve: offered as a functionDeclaration, the model\'s call answered by the proxy', async () => {
  up.reset();
  up.script(GEN, { json: geminiResponse('first') });
  await client().models.generateContent(params());
  const fwd = JSON.parse(up.requests[0].body);
  const decl = fwd.tools.at(-1).functionDeclarations[0];
  assert.equal(decl.name, 'headroom_retrieve', 'the tool is offered in Gemini\'s own format');
  assert.deepEqual(decl.parameters.required, ['hash']);
  const log = fwd.contents[2].parts[1].functionResponse.response.result;
  const { hash } = fx.markersIn(log)[0];
  up.reset();
  up.script(GEN,
    { json: geminiFunctionCall('headroom_retrieve', { hash, query: 'FAILED' }, { promptTokenCount: 1000, candidatesTokenCount: 10, totalTokenCount: 1010 }) },
    { json: geminiResponse('Tests 211 and 498 failed.', { promptTokenCount: 1300, candidatesTokenCount: 12, totalTokenCount: 1312 }) });
  const res = await client().models.generateContent(params());
  assert.equal(res.text, 'Tests 211 and 498 failed.', 'the client sees only the final answer');
  assert.equal(up.requests.length, 2, 'the proxy continued upstream itself');
  assert.equal(up.requests[1].path, GEN);
  assert.equal(up.requests[1].headers['x-goog-api-key'], 'AIza-test-key');
  const next = JSON.parse(up.requests[1].body);
  assert.equal(next.contents.length, 5);
  assert.equal(next.contents[3].role, 'model');
  assert.equal(next.contents[3].parts[0].functionCall.name, 'headroom_retrieve');
  const answer = next.contents[4].parts[0].functionResponse;
  assert.equal(answer.name, 'headroom_retrieve');
  assert.ok(answer.response.output.includes(' FAILED'), 'the retrieved lines went back to the model');
  assert.ok(!answer.response.output.includes(' PASSED '), 'only the lines the query asked for');
  assert.deepEqual(res.usageMetadata, { promptTokenCount: 2300, candidatesTokenCount: 22, totalTokenCount: 2322 }, 'usage summed over both rounds');
  // the follow-up keeps the first round's request as its prefix (prompt caches)
  const first = up.requests[0].body.toString('latin1');
  const cut = first.indexOf('],"systemInstruction"'); // the end of contents
  assert.ok(cut > 0);
  assert.ok(up.requests[1].body.toString('latin1').startsWith(first.slice(0, cut)), 'same bytes up to the appended turns');
});

test('stream: a headroom_retrieve call is answered inside one coherent stream', async () => {
  up.reset();
  up.script(STREAM, { sse: geminiStreamEvents(['ok']) });
  for await (const _ of await client().models.generateContentStream(params())) { /* drain */ }
  const fwd = JSON.parse(up.requests[0].body);
  assert.equal(fwd.tools.at(-1).functionDeclarations[0].name, 'headroom_retrieve', 'offered on streams too');
  const { hash } = fx.markersIn(fwd.contents[2].parts[1].functionResponse.response.result)[0];
  up.reset();
  const call = { candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'headroom_retrieve', args: { hash, query: 'FAILED' } } }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 10, totalTokenCount: 1010 } };
  up.script(STREAM,
    { sse: [...geminiStreamEvents(['Let me check. '], { promptTokenCount: 1000, candidatesTokenCount: 4, totalTokenCount: 1004 }), { data: call }], intervalMs: 10 },
    { sse: geminiStreamEvents(['Tests 211 ', 'and 498 failed.'], { promptTokenCount: 1300, candidatesTokenCount: 12, totalTokenCount: 1312 }), intervalMs: 10 });
  const texts = [];
  let last;
  for await (const chunk of await client().models.generateContentStream(params())) {
    assert.ok(!JSON.stringify(chunk).includes('headroom_retrieve'), 'the client never sees the tool call');
    if (chunk.text) texts.push(chunk.text);
    last = chunk;
  }
  assert.deepEqual(texts, ['Let me check. ', 'Tests 211 ', 'and 498 failed.'], 'one stream: the first round\'s text, then the answer');
  assert.equal(up.requests.length, 2, 'the proxy continued upstream itself');
  assert.match(up.requests[1].url, /:streamGenerateContent\?alt=sse$/);
  const next = JSON.parse(up.requests[1].body);
  assert.deepEqual(next.contents[3].parts.map((p) => Object.keys(p)[0]), ['text', 'functionCall'], 'the model turn replayed as it streamed');
  assert.ok(next.contents[4].parts[0].functionResponse.response.output.includes(' FAILED'));
  assert.deepEqual(last.usageMetadata, { promptTokenCount: 2300, candidatesTokenCount: 22, totalTokenCount: 2322 }, 'usage over both rounds');
});

test('functionResponse: an object member is compressed as JSON into a string member; the original comes back through headroom_retrieve', async () => {
  const rows = fx.dbRows(250, 13);
  const result = { table: 'orders', rows: JSON.parse(rows.text) };
  const jsonParams = () => ({
    model: MODEL,
    contents: [
      { role: 'user', parts: [{ text: rows.query }] },
      { role: 'model', parts: [{ functionCall: { name: 'query_db', args: { sql: 'SELECT *' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'query_db', response: { result, count: 250, meta: { db: 'main' } } } }] },
    ],
  });
  // the SDK's own bytes, forwarded untouched with x-headroom-bypass, then the same call compressed
  up.reset();
  up.script(GEN, { json: geminiResponse('done') }, { json: geminiResponse('done') });
  const bypass = new GoogleGenAI({ apiKey: 'AIza-test-key', httpOptions: { baseUrl: proxy.url, headers: { 'x-headroom-bypass': 'true' } } });
  await bypass.models.generateContent(jsonParams());
  await client().models.generateContent(jsonParams());
  const sent = up.requests[0].body.toString('utf8');
  const got = up.requests[1].body.toString('utf8');
  const resp = JSON.parse(got).contents[2].parts[0].functionResponse.response;
  assert.equal(typeof resp.result, 'string', 'the object became a string member: response is still a Struct');
  const sentSize = JSON.stringify(result).length;
  assert.ok(resp.result.length < sentSize / 2, `compressed: ${sentSize} -> ${resp.result.length}`);
  fx.assertNeedles(resp.result, rows.needles, 'functionResponse.response.result');
  assert.equal(resp.count, 250, 'numbers untouched');
  assert.deepEqual(resp.meta, { db: 'main' }, 'a small object is left as sent');
  const { replaced, injected } = fx.assertOnlyToolOutputsChanged(sent, got, [result]);
  assert.equal(injected, true, 'headroom_retrieve offered for the marker');
  assert.equal(replaced, 1);
  const [{ hash }] = fx.markersIn(resp.result);
  // the model asks for the original: the proxy answers with the object's JSON as it was sent
  up.reset();
  up.script(GEN, { json: geminiFunctionCall('headroom_retrieve', { hash }) }, { json: geminiResponse('Row 480031 is there.') });
  const res = await client().models.generateContent(jsonParams());
  assert.equal(res.text, 'Row 480031 is there.');
  const answer = JSON.parse(up.requests[1].body).contents[4].parts[0].functionResponse.response.output;
  assert.deepEqual(JSON.parse(answer), result, 'the whole original document');
});
