// e2e_tokens.test.mjs: the savings a user is told are the savings they get. With the o200k
// rank file in the data dir (exported from js-tiktoken, never committed), the proxy's
// x-headroom-tokens-before/-after for a gpt-4o request equal js-tiktoken's counts of the tool
// outputs sent and forwarded; for a Claude model they equal the documented estimator
// (ceil(code points / 3.5) per tool output). Outputs under 512 bytes are not compressible
// content and are not counted. Also: gzip-encoded bodies are compressed like plain ones and
// forwarded decoded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { getEncoding } from 'js-tiktoken';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { startProxy } from './lib/proxy.mjs';
import { exportRanks } from './tiktoken_export.mjs';
import * as fx from './lib/e2e_fixtures.mjs';

let up, proxy, dataDir;
const OUTS = [fx.pytestLog().text, fx.dbRows().text, fx.grepOutput().text, fx.unifiedDiff().text];
const SMALL = 'exit code 0';

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-e2e-tok-'));
  exportRanks(dataDir, ['o200k_base']);
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: { HEADROOM_DATA_DIR: dataDir } });
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0);
  await up?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const headersOf = (r) => ['before', 'after', 'saved'].map((k) => Number(r.headers.get(`x-headroom-tokens-${k}`)));

test('gpt-4o: header counts equal js-tiktoken o200k counts of the tool outputs', async () => {
  up.reset();
  const enc = getEncoding('o200k_base');
  const messages = [{ role: 'user', content: 'which tests failed and where is reconcileInvoices called?' },
    ...OUTS.map((o, i) => ({ role: 'tool', tool_call_id: `c${i}`, content: o })),
    { role: 'tool', tool_call_id: 'small', content: SMALL }];
  const r = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-tok' },
    body: JSON.stringify({ model: 'gpt-4o', messages }),
  });
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  const fwd = JSON.parse(up.requests[0].body).messages.slice(1).map((m) => m.content);
  assert.equal(fwd.at(-1), SMALL, 'a small output is left alone');
  const count = (texts) => texts.reduce((n, t) => n + enc.encode(t).length, 0);
  const [before, afterT, saved] = headersOf(r);
  assert.equal(before, count(OUTS), 'tokens-before = o200k count of the original tool outputs');
  assert.equal(afterT, count(fwd.slice(0, OUTS.length)), 'tokens-after = o200k count of what was forwarded');
  assert.equal(saved, before - afterT);
  assert.equal(r.headers.get('x-headroom-token-counter'), 'o200k_base', 'the header names the exact counter');
  assert.ok(afterT < before / 3, `${before} -> ${afterT}`);
});

test('claude: header counts equal the documented estimator; gzip body compressed and forwarded decoded', async () => {
  up.reset();
  const est = (s) => Math.ceil([...s].length / 3.5);
  const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [
    { role: 'user', content: 'which tests failed?' },
    { role: 'assistant', content: OUTS.map((_, i) => ({ type: 'tool_use', id: `t${i}`, name: 'run', input: {} })) },
    { role: 'user', content: OUTS.map((o, i) => ({ type: 'tool_result', tool_use_id: `t${i}`, content: o })) }] });
  const send = (b, extra = {}) => fetch(`${proxy.url}/v1/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-tok', 'anthropic-version': '2023-06-01', ...extra }, body: b,
  });
  const plain = await send(body);
  await plain.arrayBuffer();
  const fwd = JSON.parse(up.requests[0].body).messages[2].content.map((b) => b.content);
  const [before, afterT] = headersOf(plain);
  assert.equal(before, OUTS.reduce((n, o) => n + est(o), 0), 'tokens-before = estimator over the tool outputs');
  assert.equal(afterT, fwd.reduce((n, o) => n + est(o), 0), 'tokens-after = estimator over the forwarded outputs');
  assert.equal(plain.headers.get('x-headroom-token-counter'), 'estimate', 'the header says the counts are estimates');

  const gz = await send(zlib.gzipSync(body), { 'content-encoding': 'gzip' });
  assert.equal(gz.status, 200);
  await gz.arrayBuffer();
  const rec = up.requests[1];
  assert.equal(rec.headers['content-encoding'], undefined, 'forwarded decoded');
  assert.equal(Buffer.compare(rec.body, up.requests[0].body), 0, 'the gzip body is compressed to the same bytes as the plain one');
  assert.deepEqual(headersOf(gz), headersOf(plain));
});
