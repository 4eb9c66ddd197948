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
  const { replaced } = assertOnlyToolOutputsChanged(rec.body.toString().replace(JSON.stringify(text), JSON.stringify(rows.text)), rec.body, [rows.text]);
  assert.equal(replaced, 1);
  assert.deepEqual(got.messages[2].content[0].toolResult.content[1], { json: { rows: 300 } });
  assert.deepEqual(got.messages[1], input.messages[1]);
  assert.deepEqual(got.toolConfig, input.toolConfig);
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
  // everything but that one document arrives as the SDK wrote it
  const { replaced } = assertOnlyToolOutputsChanged(rec.body.toString().replace(JSON.stringify(parts[0].json), JSON.stringify(doc)), rec.body, [doc]);
  assert.equal(replaced, 1);
  assert.ok(Number(client.lastHeaders['x-headroom-tokens-saved']) > 0);
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
