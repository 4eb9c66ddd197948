// bedrock.test.mjs: Amazon Bedrock through the proxy with the official
// @aws-sdk/client-bedrock-runtime (InvokeModel, InvokeModelWithResponseStream, Converse,
// ConverseStream) against a fake Bedrock that checks every signature with AWS's own signer
// (lib/fake_bedrock.mjs). With credentials the proxy compresses tool outputs and re-signs;
// every byte outside the tool outputs arrives as the client sent it; streams come back
// frame for frame; usage is read from them; errors take Bedrock's shape. Without
// credentials requests pass through byte for byte and the answer says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockRuntimeClient, InvokeModelCommand, InvokeModelWithResponseStreamCommand, ConverseCommand,
  ConverseStreamCommand, CountTokensCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  startFakeBedrock, invokeStreamFrames, converseResponse, converseStreamEvents, converseStreamFrames,
} from './lib/fake_bedrock.mjs';
import { anthropicMessage, anthropicEvents } from './lib/fake_upstream.mjs';
import { startProxy, requestLogLines, waitForLogs, runCleanups } from './lib/proxy.mjs';
import { withoutRetrieveTool } from './lib/retrieve_tool.mjs';
import { dbRows, pytestLog, markersIn, assertOnlyToolOutputsChanged, assertNeedles } from './lib/e2e_fixtures.mjs';

const CREDS = { accessKeyId: 'AKIAHEADROOMFAKE01', secretAccessKey: 'fake/secret+key/for-tests', sessionToken: 'IQoJb3JpZ2luX2VjEFAKE//token==' };
const MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const REGION = 'us-west-2';
// The proxy must never read the tester's own AWS files.
const NO_AWS_FILES = { AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config', AWS_PROFILE: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' };
const cleanups = [];
let br, proxy, client;

/** A client whose answers' headers are kept (the SDK does not return them). The client's
 *  default handler speaks HTTP/2 (for the bidirectional stream operation); an http://
 *  endpoint such as the proxy needs the HTTP/1.1 handler (docs/configuration.md). */
function bedrockClient(endpoint, credentials = CREDS) {
  const c = new BedrockRuntimeClient({ region: REGION, endpoint, credentials, maxAttempts: 1, requestHandler: new NodeHttpHandler() });
  c.lastHeaders = null;
  c.middlewareStack.add((next) => async (args) => {
    const out = await next(args);
    c.lastHeaders = out.response.headers;
    return out;
  }, { step: 'deserialize', name: 'keepHeaders' });
  return c;
}

before(async () => {
  br = await startFakeBedrock({ credentials: CREDS });
  cleanups.push(() => br.close());
  proxy = await startProxy({
    args: ['--bedrock-api-url', br.url, '--bedrock-region', REGION],
    env: { ...NO_AWS_FILES, AWS_ACCESS_KEY_ID: CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey, AWS_SESSION_TOKEN: CREDS.sessionToken },
  });
  cleanups.push(async () => assert.equal(await proxy.stop(), 0));
  client = bedrockClient(proxy.url);
});

after(() => runCleanups(cleanups));

function anthropicBody(toolOutput) {
  return {
    anthropic_version: 'bedrock-2023-05-31', max_tokens: 256, system: 'You are terse.',
    messages: [
      { role: 'user', content: 'why is transaction 480031 missing from the report?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'query_db', input: { table: 'tx' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: toolOutput }] },
    ],
  };
}

function lastRequest() {
  const rec = br.requests.at(-1);
  assert.ok(rec, 'the fake Bedrock got a request');
  assert.deepEqual(rec.signature.ok, true, `signature verified by AWS's signer: ${rec.signature.reason}`);
  return rec;
}

test('InvokeModel: tool_result compressed, everything else byte-identical, re-signed with the proxy credentials', async () => {
  br.reset();
  const rows = dbRows();
  const sent = JSON.stringify(anthropicBody(rows.text));
  const answer = anthropicMessage(MODEL, 'It was rejected by a deadlock.');
  br.script(`/model/${encodeURIComponent(MODEL)}/invoke`, { json: answer });
  const out = await client.send(new InvokeModelCommand({ modelId: MODEL, contentType: 'application/json', accept: 'application/json', body: sent }));
  assert.deepEqual(JSON.parse(Buffer.from(out.body).toString()), answer);
  const rec = lastRequest();
  assert.equal(rec.path, `/model/${encodeURIComponent(MODEL)}/invoke`);
  assert.equal(rec.signature.region, REGION);
  assert.equal(rec.signature.service, 'bedrock');
  assert.equal(rec.headers.host, new URL(br.url).host, 'signed for the upstream, not the proxy');
  const got = rec.body.toString();
  assert.ok(got.length < sent.length / 2, `compressed: ${sent.length} -> ${got.length} bytes`);
  const { replaced, injected } = assertOnlyToolOutputsChanged(sent, got, [rows.text]);
  assert.equal(replaced, 1);
  assert.equal(injected, true, 'headroom_retrieve offered (Anthropic format) on a non-streaming invoke');
  assert.equal(markersIn(JSON.parse(got).messages[2].content[0].content).length, 1);
  assert.equal(client.lastHeaders['x-headroom-bedrock'], 'signed');
  assert.ok(Number(client.lastHeaders['x-headroom-tokens-saved']) > 0);
  const line = requestLogLines(await waitForLogs(proxy, (t) => / route=bedrock_invoke /.test(t)))
    .find((l) => l.route === 'bedrock_invoke');
  assert.equal(line.provider, 'bedrock');
  assert.equal(line.model, MODEL);
  assert.equal(line.input_tokens, '31');
  assert.equal(line.output_tokens, '9');
});

test('InvokeModel: a headroom_retrieve call is answered by the proxy; each round is signed again', async () => {
  br.reset();
  const rows = dbRows(250, 7);
  const sent = JSON.stringify(anthropicBody(rows.text));
  const final = anthropicMessage(MODEL, 'Row 480031 was rejected.');
  const path = `/model/${encodeURIComponent(MODEL)}/invoke`;
  br.script(path, {
    reply: (rec) => {
      const [m] = markersIn(JSON.parse(rec.body).messages[2].content[0].content);
      return { json: { ...anthropicMessage(MODEL, ''), stop_reason: 'tool_use',
        content: [{ type: 'tool_use', id: 'toolu_r', name: 'headroom_retrieve', input: { hash: m.hash } }] } };
    },
  }, { json: final });
  const out = await client.send(new InvokeModelCommand({ modelId: MODEL, body: sent }));
  const got = JSON.parse(Buffer.from(out.body).toString());
  // the client sees only the final answer, its usage the sum of both rounds (as on /v1/messages)
  assert.deepEqual(got, { ...final, usage: { input_tokens: 62, output_tokens: 18 } });
  assert.equal(br.requests.length, 2);
  for (const rec of br.requests) assert.equal(rec.signature.ok, true, `round signed: ${rec.signature.reason}`);
  const second = JSON.parse(br.requests[1].body);
  const result = second.messages.at(-1).content[0];
  assert.equal(result.type, 'tool_result');
  assert.equal(result.tool_use_id, 'toolu_r');
  assert.ok(result.content.includes('"id": 480031') || result.content.includes('"id":480031'), 'the original came back');
  assert.ok(br.requests[1].headers['x-amz-date'] >= br.requests[0].headers['x-amz-date']);
});

test('InvokeModelWithResponseStream: headroom_retrieve is not offered (its calls could not be answered in the stream)', async () => {
  br.reset();
  const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: MODEL, body: JSON.stringify(anthropicBody(dbRows().text)) }));
  for await (const ev of out.body) assert.ok(ev.chunk);
  assert.ok(!lastRequest().body.toString().includes('headroom_retrieve'));
});

test('a gzip body: the client signed the gzip bytes, the proxy checks those, then compresses and signs the decoded body', async () => {
  br.reset();
  const rows = dbRows();
  const sent = JSON.stringify(anthropicBody(rows.text));
  const c = bedrockClient(proxy.url);
  // before signing (build step), as a client that compresses its uploads would
  c.middlewareStack.add((next) => (args) => {
    args.request.body = zlib.gzipSync(Buffer.from(args.request.body));
    args.request.headers['content-encoding'] = 'gzip';
    args.request.headers['content-length'] = String(args.request.body.length);
    return next(args);
  }, { step: 'build', name: 'gzip', priority: 'low' });
  await c.send(new InvokeModelCommand({ modelId: MODEL, body: sent }));
  const rec = lastRequest();
  assert.equal(rec.headers['content-encoding'], undefined, 'forwarded decoded');
  assertOnlyToolOutputsChanged(sent, rec.body, [rows.text]);
  assert.ok(rec.body.length < sent.length / 2);
});

test('InvokeModel: a small request is re-signed and forwarded byte for byte', async () => {
  br.reset();
  const sent = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  await client.send(new InvokeModelCommand({ modelId: MODEL, body: sent }));
  assert.equal(lastRequest().body.toString(), sent);
  assert.equal(br.requests[0].headers['x-amz-security-token'], CREDS.sessionToken);
});

test('InvokeModelWithResponseStream: frames relayed unchanged, usage read from the chunk events', async () => {
  br.reset();
  const log = pytestLog();
  const sent = JSON.stringify(anthropicBody(log.text));
  const events = anthropicEvents(MODEL, ['Dead', 'lock', '.']);
  const frames = invokeStreamFrames(events);
  br.script(`/model/${encodeURIComponent(MODEL)}/invoke-with-response-stream`, { frames, intervalMs: 5 });
  const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: MODEL, contentType: 'application/json', body: sent }));
  const got = [];
  for await (const ev of out.body) got.push(JSON.parse(Buffer.from(ev.chunk.bytes).toString()));
  assert.equal(got.length, events.length);
  got.forEach((g, i) => {
    delete g['amazon-bedrock-invocationMetrics'];
    assert.deepEqual(g, events[i].data);
  });
  const rec = lastRequest();
  assert.ok(rec.body.length < sent.length, 'compressed');
  assertOnlyToolOutputsChanged(sent, rec.body, [log.text]);
  const line = requestLogLines(await waitForLogs(proxy, (t) => / route=bedrock_invoke .*stream=true/.test(t)))
    .find((l) => l.route === 'bedrock_invoke' && l.stream === 'true');
  assert.equal(line.stream, 'true');
  assert.equal(line.input_tokens, '31');
  assert.equal(line.output_tokens, '9');
});

test('Converse: toolResult text compressed, toolUse and the rest unchanged; usage read', async () => {
  br.reset();
  const rows = dbRows(300, 9);
  const input = {
    modelId: MODEL,
    system: [{ text: 'You are terse.' }],
    messages: [
      { role: 'user', content: [{ text: 'why is transaction 480031 missing from the report?' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'tu_1', name: 'query_db', input: { table: 'tx' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tu_1', content: [{ text: rows.text }, { json: { rows: 300 } }], status: 'success' } }] },
    ],
    toolConfig: { tools: [{ toolSpec: { name: 'query_db', description: 'SQL', inputSchema: { json: { type: 'object' } } } }] },
    inferenceConfig: { maxTokens: 128 },
  };
  const answer = converseResponse('Deadlock.');
  br.script(`/model/${encodeURIComponent(MODEL)}/converse`, { json: answer });
  const out = await client.send(new ConverseCommand(input));
  assert.deepEqual(out.output, answer.output);
  assert.deepEqual(out.usage, answer.usage);
  const rec = lastRequest();
  const got = JSON.parse(rec.body);
  const text = got.messages[2].content[0].toolResult.content[0].text;
  assert.ok(text.length < rows.text.length / 2, 'the toolResult text was compressed');
  assert.equal(markersIn(text).length, 1);
  // what the SDK sent is what the proxy received, with the one text replaced
  const sentBack = withoutRetrieveTool(rec.body).body.toString().replace(JSON.stringify(text), JSON.stringify(rows.text));
  const { replaced } = assertOnlyToolOutputsChanged(sentBack, rec.body, [rows.text]);
  assert.equal(replaced, 1);
  assert.deepEqual(got.messages[2].content[0].toolResult.content[1], { json: { rows: 300 } });
  assert.deepEqual(got.messages[1], input.messages[1]);
  // the client's tools stay; headroom_retrieve is offered after them, in Converse's format
  assert.deepEqual(got.toolConfig.tools[0], input.toolConfig.tools[0]);
  assert.equal(got.toolConfig.tools.length, 2);
  assert.equal(got.toolConfig.tools[1].toolSpec.name, 'headroom_retrieve');
  assert.deepEqual(got.toolConfig.tools[1].toolSpec.inputSchema.json.required, ['hash']);
  const line = requestLogLines(await waitForLogs(proxy, (t) => / route=bedrock_converse /.test(t)))
    .find((l) => l.route === 'bedrock_converse');
  assert.equal(line.input_tokens, '57');
  assert.equal(line.output_tokens, '11');
});

test('Converse: a toolResult json part is compressed as JSON into a string json document; small ones and the rest unchanged', async () => {
  br.reset();
  const rows = dbRows(300, 5);
  const doc = { table: 'tx', rows: JSON.parse(rows.text) };
  const input = {
    modelId: MODEL,
    messages: [
      { role: 'user', content: [{ text: rows.query }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'tu_j', name: 'query_db', input: { table: 'tx' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tu_j', content: [{ json: doc }, { json: { rows: 300 } }], status: 'success' } }] },
    ],
    inferenceConfig: { maxTokens: 128 },
  };
  br.script(`/model/${encodeURIComponent(MODEL)}/converse`, { json: converseResponse('Deadlock.') });
  const out = await client.send(new ConverseCommand(input));
  assert.equal(out.output.message.content[0].text, 'Deadlock.');
  const rec = lastRequest(); // the fake verified the proxy's new signature
  assert.equal(client.lastHeaders['x-headroom-bedrock'], 'signed');
  const got = JSON.parse(rec.body);
  const parts = got.messages[2].content[0].toolResult.content;
  assert.equal(typeof parts[0].json, 'string', 'the document became a JSON string (a json part may hold any document)');
  const sentSize = JSON.stringify(doc).length;
  assert.ok(parts[0].json.length < sentSize / 2, `compressed: ${sentSize} -> ${parts[0].json.length}`);
  assert.equal(markersIn(parts[0].json).length, 1);
  assertNeedles(parts[0].json, rows.needles, 'converse json part');
  assert.deepEqual(parts[1], { json: { rows: 300 } }, 'a small document is left as sent');
  // no toolConfig was sent: one holding only headroom_retrieve is added
  assert.deepEqual(got.toolConfig.tools.map((t) => t.toolSpec.name), ['headroom_retrieve']);
  // everything but that one document arrives as the SDK wrote it
  const sentBack = withoutRetrieveTool(rec.body).body.toString().replace(JSON.stringify(parts[0].json), JSON.stringify(doc));
  const { replaced } = assertOnlyToolOutputsChanged(sentBack, rec.body, [doc]);
  assert.equal(replaced, 1);
  assert.ok(Number(client.lastHeaders['x-headroom-tokens-saved']) > 0);
});

test('Converse: a headroom_retrieve call is answered by the proxy; each round is signed again; toolConfig kept', async () => {
  br.reset();
  const rows = dbRows(250, 11);
  const toolConfig = { tools: [{ toolSpec: { name: 'query_db', description: 'SQL', inputSchema: { json: { type: 'object' } } } }],
    toolChoice: { auto: {} } };
  const input = {
    modelId: MODEL,
    messages: [
      { role: 'user', content: [{ text: 'why is transaction 480031 missing from the report?' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'tu_1', name: 'query_db', input: { table: 'tx' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tu_1', content: [{ text: rows.text }] } }] },
    ],
    toolConfig,
    inferenceConfig: { maxTokens: 128 },
  };
  const path = `/model/${encodeURIComponent(MODEL)}/converse`;
  const call = { role: 'assistant', content: [{ text: 'Looking closer.' },
    { toolUse: { toolUseId: 'tooluse_r1', name: 'headroom_retrieve', input: { hash: null, query: '480031' } } }] };
  const final = converseResponse('Row 480031 was rejected by a deadlock.');
  br.script(path, {
    reply: (rec) => {
      const [m] = markersIn(JSON.parse(rec.body).messages[2].content[0].toolResult.content[0].text);
      call.content[1].toolUse.input.hash = m.hash;
      return { json: { output: { message: call }, stopReason: 'tool_use',
        usage: { inputTokens: 40, outputTokens: 6, totalTokens: 46 }, metrics: { latencyMs: 7 } } };
    },
  }, { json: final });
  const out = await client.send(new ConverseCommand(input));
  // the client sees only the final answer, its usage the sum of both rounds
  assert.deepEqual(out.output, final.output);
  assert.equal(out.stopReason, 'end_turn');
  assert.deepEqual(out.usage, { inputTokens: 97, outputTokens: 17, totalTokens: 114 });
  assert.equal(br.requests.length, 2);
  for (const rec of br.requests) assert.equal(rec.signature.ok, true, `round signed: ${rec.signature.reason}`);
  const [first, second] = br.requests.map((r) => JSON.parse(r.body));
  for (const body of [first, second]) {
    assert.deepEqual(body.toolConfig.toolChoice, { auto: {} }, 'the client\'s toolChoice kept');
    assert.deepEqual(body.toolConfig.tools.map((t) => t.toolSpec.name), ['query_db', 'headroom_retrieve']);
  }
  // the follow-up: the first round's body, then the model's message as it came and the result
  assert.equal(second.messages.length, 5);
  assert.deepEqual(second.messages.slice(0, 3), first.messages);
  // byte for byte, the follow-up is the first body with two messages spliced in before the
  // messages' closing bracket (the prefix stays the same for the provider's prompt cache)
  const [a, b] = br.requests.map((r) => r.body.toString());
  const msgs = JSON.stringify(first.messages);
  const cut = a.indexOf(msgs) + msgs.length - 1;
  assert.ok(cut > 0, 'the messages found in the first body as sent');
  assert.equal(b.slice(0, cut), a.slice(0, cut));
  assert.equal(b.slice(b.length - (a.length - cut)), a.slice(cut));
  assert.deepEqual(second.messages[3], call);
  assert.equal(second.messages[4].role, 'user');
  const result = second.messages[4].content[0].toolResult;
  assert.equal(result.toolUseId, 'tooluse_r1');
  assert.ok(result.content[0].text.includes('480031'), 'the original rows matching the query came back');
  const line = requestLogLines(await waitForLogs(proxy, (t) => / route=bedrock_converse .*input_tokens=97 /.test(t)))
    .find((l) => l.route === 'bedrock_converse' && l.input_tokens === '97');
  assert.equal(line.output_tokens, '17', 'the request line counts both rounds');
});

test('ConverseStream: headroom_retrieve is not offered (its calls could not be answered in the stream)', async () => {
  br.reset();
  const rows = dbRows(250, 12);
  const out = await client.send(new ConverseStreamCommand({ modelId: MODEL, messages: [
    { role: 'user', content: [{ text: 'why?' }] },
    { role: 'assistant', content: [{ toolUse: { toolUseId: 'tu_1', name: 'query_db', input: {} } }] },
    { role: 'user', content: [{ toolResult: { toolUseId: 'tu_1', content: [{ text: rows.text }] } }] },
  ], toolConfig: { tools: [{ toolSpec: { name: 'query_db', inputSchema: { json: { type: 'object' } } } }] } }));
  for await (const ev of out.stream) assert.ok(ev);
  const got = lastRequest().body.toString();
  assert.equal(markersIn(JSON.parse(got).messages[2].content[0].toolResult.content[0].text).length, 1, 'compressed');
  assert.ok(!got.includes('headroom_retrieve'));
});

test('ConverseStream: events relayed, usage from the metadata event', async () => {
  br.reset();
  const events = converseStreamEvents(['a', 'b', 'c']);
  br.script(`/model/${encodeURIComponent(MODEL)}/converse-stream`, { frames: converseStreamFrames(events), intervalMs: 5 });
  const out = await client.send(new ConverseStreamCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
  const got = [];
  for await (const ev of out.stream) got.push(ev);
  assert.deepEqual(got.map((e) => Object.keys(e)[0]), events.map(([t]) => t));
  assert.deepEqual(got.filter((e) => e.contentBlockDelta).map((e) => e.contentBlockDelta.delta.text), ['a', 'b', 'c']);
  lastRequest();
  const line = requestLogLines(await waitForLogs(proxy, (t) => / route=bedrock_converse .*stream=true/.test(t)))
    .find((l) => l.route === 'bedrock_converse' && l.stream === 'true');
  assert.equal(line.input_tokens, '57');
  assert.equal(line.output_tokens, '11');
});

test('a stream the upstream breaks ends in an exception event the SDK throws', async () => {
  br.reset();
  br.script(`/model/${encodeURIComponent(MODEL)}/invoke-with-response-stream`, { frames: invokeStreamFrames(), resetAfter: 2 });
  const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: MODEL, body: '{"messages":[]}' }));
  let n = 0;
  await assert.rejects(async () => { for await (const ev of out.body) if (ev.chunk) n++; },
    (e) => e.name === 'InternalServerException' && /upstream stream broke/.test(e.message));
  assert.equal(n, 2);
});

test('errors: Bedrock\'s own pass through; the proxy\'s own take Bedrock\'s shape', async () => {
  br.reset();
  br.script(`/model/${encodeURIComponent(MODEL)}/invoke`, { status: 429, errorType: 'ThrottlingException', message: 'Too many requests, please wait.' });
  await assert.rejects(client.send(new InvokeModelCommand({ modelId: MODEL, body: '{"messages":[]}' })),
    (e) => e.name === 'ThrottlingException' && e.message === 'Too many requests, please wait.' && e.$metadata.httpStatusCode === 429);
  // not JSON: the proxy answers, with {"message"} and x-amzn-errortype
  const n = br.requests.length;
  client.lastHeaders = null;
  await assert.rejects(client.send(new InvokeModelCommand({ modelId: MODEL, body: '{"messages": [' })),
    (e) => e.name === 'ValidationException' && /not valid JSON/.test(e.message) && e.$metadata.httpStatusCode === 400);
  assert.equal(br.requests.length, n, 'nothing forwarded');
  assert.equal(client.lastHeaders, null, 'no answer headers kept for an error');
});

test('a client that does not hold the proxy\'s credentials is refused, never signed for', async () => {
  br.reset();
  for (const creds of [{ ...CREDS, secretAccessKey: 'wrong-secret' }, { accessKeyId: 'AKIAOTHERKEY', secretAccessKey: CREDS.secretAccessKey }]) {
    const other = bedrockClient(proxy.url, creds);
    await assert.rejects(other.send(new InvokeModelCommand({ modelId: MODEL, body: '{"messages":[]}' })),
      (e) => e.name === 'AccessDeniedException' && e.$metadata.httpStatusCode === 403 && /credentials/.test(e.message));
  }
  // unsigned
  const r = await fetch(`${proxy.url}/model/${encodeURIComponent(MODEL)}/invoke`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 403);
  assert.equal(r.headers.get('x-amzn-errortype'), 'AccessDeniedException');
  assert.match((await r.json()).message, /no AWS SigV4 Authorization/);
  assert.equal(br.requests.length, 0);
});

test('x-headroom-bypass: forwarded byte for byte with the client\'s own signature', async () => {
  br.reset();
  const sent = JSON.stringify(anthropicBody(dbRows().text));
  const c = bedrockClient(proxy.url);
  // added after signing (the deserialize step wraps the signed request): x-headroom-*
  // headers never go upstream, so a client that signed one could not be verified there
  c.middlewareStack.add((next) => (args) => { args.request.headers['x-headroom-bypass'] = 'true'; return next(args); },
    { step: 'deserialize', name: 'bypass' });
  await c.send(new InvokeModelCommand({ modelId: MODEL, body: sent }));
  const rec = lastRequest();
  assert.equal(rec.body.toString(), sent);
  assert.equal(rec.headers.host, new URL(proxy.url).host, 'the client\'s Host, which its signature covers');
  assert.equal(c.lastHeaders['x-headroom-bedrock'], 'passthrough; reason=bypass');
});

test('without credentials: byte-for-byte passthrough, the client\'s signature intact, the reason in a header', async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-bedrock-'));
  const bare = await startProxy({
    args: ['--bedrock-api-url', br.url],
    env: { ...NO_AWS_FILES, HOME: home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '' },
  });
  t.after(async () => { await bare.stop(); fs.rmSync(home, { recursive: true }); });
  assert.match(bare.logs(), /bedrock .*credentials=none .*mode=passthrough/);
  const health = await (await fetch(`${bare.url}/health`)).json();
  assert.deepEqual(health.bedrock, { mode: 'passthrough', region: 'us-east-1' });
  assert.equal(health.upstreams.bedrock, br.url);
  br.reset();
  const c = bedrockClient(bare.url);
  const sent = JSON.stringify(anthropicBody(dbRows().text));
  await c.send(new InvokeModelCommand({ modelId: MODEL, body: sent }));
  const rec = lastRequest(); // the fake verified the client's own signature
  assert.equal(rec.body.toString(), sent);
  assert.equal(c.lastHeaders['x-headroom-bedrock'], 'passthrough; reason=no-credentials');
  const events = [];
  const out = await c.send(new ConverseStreamCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
  for await (const ev of out.stream) events.push(ev);
  assert.equal(events.length, converseStreamEvents().length);
});

test('credentials from a profile file (--bedrock-profile), as the AWS CLI reads them', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-bedrock-'));
  const file = path.join(dir, 'credentials');
  fs.writeFileSync(file, `[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n\n[bedrock-test]\naws_access_key_id = ${CREDS.accessKeyId}\naws_secret_access_key = ${CREDS.secretAccessKey}\naws_session_token = ${CREDS.sessionToken}\n`);
  const p = await startProxy({
    args: ['--bedrock-api-url', br.url, '--bedrock-region', REGION, '--bedrock-profile', 'bedrock-test'],
    env: { ...NO_AWS_FILES, AWS_SHARED_CREDENTIALS_FILE: file, AWS_ACCESS_KEY_ID: 'AKIAENVWRONG', AWS_SECRET_ACCESS_KEY: 'x' },
  });
  t.after(async () => { await p.stop(); fs.rmSync(dir, { recursive: true }); });
  assert.match(p.logs(), /credentials="?profile bedrock-test/);
  const health = await (await fetch(`${p.url}/health`)).json();
  assert.deepEqual(health.bedrock, { mode: 'signed', region: REGION });
  assert.doesNotMatch(JSON.stringify(health), /AKIA|secret/i);
  assert.doesNotMatch(p.logs(), new RegExp(CREDS.secretAccessKey.replace(/[/+]/g, '.')), 'the secret is never logged');
  br.reset();
  const c = bedrockClient(p.url);
  await c.send(new InvokeModelCommand({ modelId: MODEL, body: JSON.stringify(anthropicBody(dbRows().text)) }));
  assert.ok(lastRequest().body.length < 8000);
  assert.equal(c.lastHeaders['x-headroom-bedrock'], 'signed');
});

test('other /model/ operations (CountTokens) are signed and forwarded unchanged, never compressed', async () => {
  br.reset();
  const body = anthropicBody(dbRows().text);
  br.script(`/model/${encodeURIComponent(MODEL)}/count-tokens`, { json: { inputTokens: 4242 } });
  const out = await client.send(new CountTokensCommand({ modelId: MODEL, input: { invokeModel: { body: JSON.stringify(body) } } }));
  assert.equal(out.inputTokens, 4242);
  const rec = lastRequest();
  assert.equal(rec.path, `/model/${encodeURIComponent(MODEL)}/count-tokens`);
  assert.ok(rec.body.length > 10000, 'not compressed');
  assert.equal(client.lastHeaders['x-headroom-bedrock'], 'signed');
});
