// codex_routes.test.mjs: Codex's HTTP routes with the real openai client against the fake
// upstream: the aliases /backend-api/codex/... and /v1/codex/... reach OpenAI's
// /v1/responses (tool outputs compressed as on /v1/responses, streams relayed), and a
// request carrying chatgpt-account-id goes to the ChatGPT backend (--chatgpt-backend-url)
// on any of the Responses paths, with errors in OpenAI's shape.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeUpstream, responsesObject, responsesEvents } from './lib/fake_upstream.mjs';
import { startProxy, requestLogLines } from './lib/proxy.mjs';
import { pytestLog } from './lib/e2e_fixtures.mjs';

let up, proxy;
const LOG = pytestLog(600).text;

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--chatgpt-backend-url', `${up.url}/backend-api/codex`] });
});

after(async () => {
  await proxy.stop();
  await up.close();
});

function input() {
  return [
    { role: 'user', content: 'why did the tests fail?' },
    { type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{"cmd":["pytest"]}' },
    { type: 'function_call_output', call_id: 'call_1', output: LOG },
  ];
}

function lastBody() { return JSON.parse(up.requests.at(-1).body.toString()); }

test('aliases without an account id reach OpenAI /v1/responses, compressed', async () => {
  for (const prefix of ['/backend-api/codex', '/v1/codex']) {
    up.reset();
    const client = new OpenAI({ apiKey: 'sk-codex', baseURL: `${proxy.url}${prefix}`, maxRetries: 0 });
    const r = await client.responses.create({ model: 'gpt-5-codex', input: input() });
    assert.equal(r.output_text, 'Hi.');
    assert.equal(up.requests.length, 1);
    assert.equal(up.requests[0].path, '/v1/responses', prefix);
    assert.equal(up.requests[0].headers.authorization, 'Bearer sk-codex');
    const out = lastBody().input[2].output;
    assert.ok(out.length < LOG.length / 2, `${prefix}: ${LOG.length} -> ${out.length}`);
  }
  const lines = requestLogLines(proxy.logs());
  assert.ok(lines.some((l) => l.route === 'codex_responses'));
});

test('chatgpt-account-id: /v1/responses and the aliases go to the ChatGPT backend, streams relayed', async () => {
  for (const prefix of ['/v1', '/backend-api/codex', '/v1/codex']) {
    up.reset();
    up.script('/backend-api/codex/responses', { sse: responsesEvents('gpt-5-codex') });
    const client = new OpenAI({ apiKey: 'chatgpt-access-token', baseURL: `${proxy.url}${prefix}`, maxRetries: 0,
      defaultHeaders: { 'chatgpt-account-id': 'acct-42', originator: 'codex_cli_rs' } });
    const stream = await client.responses.create({ model: 'gpt-5-codex', input: input(), stream: true });
    const types = [];
    for await (const e of stream) types.push(e.type);
    assert.deepEqual(types, ['response.created', 'response.output_text.delta', 'response.completed']);
    assert.equal(up.requests.length, 1);
    assert.equal(up.requests[0].path, '/backend-api/codex/responses', prefix);
    assert.equal(up.requests[0].headers['chatgpt-account-id'], 'acct-42');
    assert.equal(up.requests[0].headers.originator, 'codex_cli_rs');
    assert.ok(lastBody().input[2].output.length < LOG.length / 2, `compressed via ${prefix}`);
  }
});

test('other paths under an alias pass through; an upstream error keeps its status and shape', async () => {
  up.reset();
  up.script('/v1/models', { json: { object: 'list', data: [{ id: 'gpt-5-codex', object: 'model', created: 1, owned_by: 'fake' }] } });
  const client = new OpenAI({ apiKey: 'sk-codex', baseURL: `${proxy.url}/backend-api/codex`, maxRetries: 0 });
  const models = await client.models.list();
  assert.equal(models.data[0].id, 'gpt-5-codex');
  assert.equal(up.requests[0].path, '/v1/models');

  up.reset();
  up.script('/backend-api/codex/responses', { status: 401, json: { error: { message: 'token expired', type: 'invalid_request_error', code: 'token_expired' } } });
  const chatgpt = new OpenAI({ apiKey: 'expired', baseURL: `${proxy.url}/backend-api/codex`, maxRetries: 0, defaultHeaders: { 'chatgpt-account-id': 'acct-42' } });
  await assert.rejects(chatgpt.responses.create({ model: 'gpt-5-codex', input: 'hi' }), (e) => {
    assert.equal(e.status, 401);
    assert.equal(e.code, 'token_expired');
    return true;
  });
});

test('the account id header is what decides: without it /v1/responses stays on OpenAI', async () => {
  up.reset();
  const client = new OpenAI({ apiKey: 'sk-codex', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
  const r = await client.responses.create({ model: 'gpt-5-codex', input: 'hi' });
  assert.deepEqual(r.output, responsesObject('gpt-5-codex').output);
  assert.equal(up.requests[0].path, '/v1/responses');
});
