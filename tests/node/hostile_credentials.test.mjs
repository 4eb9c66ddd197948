// hostile_credentials.test.mjs: the keys of the newer provider shapes never reach the log,
// whatever the proxy logs (debug level, --log-messages) and however the request ends
// (forwarded, refused as bad JSON, upstream error, upstream unreachable): Gemini's
// x-goog-api-key and ?key=, Azure's api-key, Vertex's bearer token. (Bedrock's SigV4
// material: hostile_bedrock.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startFakeUpstream, openaiChatCompletion } from './lib/fake_upstream.mjs';
import { googleError } from './lib/fake_google.mjs';
import { startProxy } from './lib/proxy.mjs';

const KEYS = { goog: 'AIzaHOSTILEgoogHeaderKey01', query: 'AIzaHOSTILEqueryKey02', azure: 'azHOSTILEapiKey03', vertex: 'ya29.HOSTILEvertexToken04' };
const GEM = '/v1beta/models/gemini-2.0-flash:generateContent';
const VERTEX = '/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent';
const AZURE = '/openai/deployments/d1/chat/completions?api-version=2024-10-21';
const GEMINI_BODY = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
let up, proxy, deadPort;

before(async () => {
  up = await startFakeUpstream();
  // a port nothing listens on: the unreachable upstream
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  deadPort = s.address().port;
  await new Promise((r) => s.close(r));
  proxy = await startProxy({ args: ['--gemini-api-url', up.url, '--vertex-api-url', up.url, '--azure-api-url', up.url,
    '--log-level', 'debug', '--log-messages', '--retry-attempts', '1'] });
});
after(async () => {
  assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  await up.close();
});

const post = (p, headers, body) => fetch(`${proxy.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

test('Gemini, Vertex and Azure keys are never logged: forwarded, bad JSON, upstream 401, upstream unreachable', async () => {
  up.reset();
  up.script(GEM, { json: { candidates: [] } }, { status: 401, json: googleError(401, 'UNAUTHENTICATED', 'bad key') });
  up.script(VERTEX, { json: { candidates: [] } });
  up.script('/openai/deployments/d1/chat/completions', { json: openaiChatCompletion() });
  const statuses = [];
  for (let i = 0; i < 2; i++) {
    statuses.push((await post(`${GEM}?key=${KEYS.query}`, { 'x-goog-api-key': KEYS.goog }, GEMINI_BODY)).status);
  }
  statuses.push((await post(`${GEM}?key=${KEYS.query}`, { 'x-goog-api-key': KEYS.goog }, '{not json')).status);
  statuses.push((await post(VERTEX, { authorization: `Bearer ${KEYS.vertex}` }, GEMINI_BODY)).status);
  statuses.push((await post(AZURE, { 'api-key': KEYS.azure }, JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }))).status);
  assert.deepEqual(statuses, [200, 401, 400, 200, 200]);
  const got = up.requests.map((r) => r.headers['x-goog-api-key'] || r.headers['api-key'] || r.headers.authorization);
  assert.deepEqual(got, [KEYS.goog, KEYS.goog, `Bearer ${KEYS.vertex}`, KEYS.azure], 'the keys did reach the upstream');
  // the same requests to an upstream that is not there (x-headroom-base-url is off: the
  // unreachable case comes from a proxy whose upstream is a dead port)
  const dead = await startProxy({ args: ['--gemini-api-url', `http://127.0.0.1:${deadPort}`, '--azure-api-url', `http://127.0.0.1:${deadPort}`,
    '--log-level', 'debug', '--log-messages', '--retry-attempts', '1', '--connect-timeout', '1'] });
  try {
    const a = await fetch(`${dead.url}${GEM}?key=${KEYS.query}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': KEYS.goog }, body: GEMINI_BODY });
    const b = await fetch(`${dead.url}${AZURE}`, { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': KEYS.azure }, body: '{"messages":[]}' });
    assert.deepEqual([a.status, b.status], [502, 502]);
    const bodies = (await a.text()) + (await b.text());
    for (const k of Object.values(KEYS)) assert.ok(!bodies.includes(k), `an error answer shows ${k}`);
  } finally {
    assert.equal(await dead.stop(), 0);
  }
  const logs = proxy.logs() + dead.logs();
  assert.match(logs, /request id=/);
  for (const [what, k] of Object.entries(KEYS)) assert.ok(!logs.includes(k), `the log shows the ${what} key`);
});
