// ccrwire_store.test.mjs: the model's way back when the CCR store cannot keep or give back
// an original. Nothing may be omitted without a way back: a store that refuses the put
// (memory backend full) or is gone (Redis stopped) makes the proxy forward the original
// unchanged and offer no headroom_retrieve; a store that dies after the original was kept
// turns the model's call into an error text inside the tool result, and the client still
// gets the model's final answer. Store settings come from the proxy's flags (step 1).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { startFakeUpstream, openaiChatCompletion } from './lib/fake_upstream.mjs';
import { startProxy, runCleanups } from './lib/proxy.mjs';
import { havePrograms, needs } from './lib/deps.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cleanups = [];
after(() => runCleanups(cleanups));

function ciLog(tag) {
  const lines = [];
  for (let i = 0; i < 400; i++)
    lines.push(i === 200 ? `[${tag} ${i}] ERROR disk quota exceeded on /var/cache`
      : `[${tag} ${i}] step build: compiled module_${i % 23}.o in ${(i * 7) % 97} ms, cache hit ratio 0.${(i * 13) % 100}`);
  return lines.join('\n');
}
const hashOf = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 24);

const chatBody = (log) => JSON.stringify({
  model: 'gpt-4o',
  messages: [
    { role: 'user', content: 'why did CI fail?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'run_ci', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: log },
  ],
});
const post = (proxy, body) => fetch(`${proxy.url}/v1/chat/completions`, {
  method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-ccrwire-store' },
});
const forwardedTool = (up, i = 0) => JSON.parse(up.requests[i].body.toString('utf8')).messages.at(-1).content;
const offered = (up, i = 0) => (JSON.parse(up.requests[i].body.toString('utf8')).tools || []).map((t) => t.function.name);

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

test('memory backend full: the original is forwarded whole, no tool offered, the failure counted', async () => {
  const up = await startFakeUpstream();
  cleanups.push(() => up.close());
  const proxy = await startProxy({ openaiUrl: up.url, args: ['--ccr-backend=memory', '--ccr-max-bytes=4096', '--log-level', 'info'] });
  cleanups.push(async () => assert.equal(await proxy.stop(), 0, 'the proxy exits 0 (no sanitizer report)'));
  const log = ciLog('full');
  assert.ok(log.length > 4096);
  const res = await post(proxy, chatBody(log));
  assert.equal(res.status, 200);
  assert.equal(forwardedTool(up), log, 'nothing omitted: the original bytes went upstream');
  assert.deepEqual(offered(up), [], 'no marker, so no headroom_retrieve');
  const stats = await (await fetch(`${proxy.url}/v1/retrieve/stats`)).json();
  assert.equal(stats.backend, 'memory');
  assert.ok(stats.put_failures >= 1, `put_failures ${stats.put_failures}`);
  // Control: with room in the store the same request is compressed (so the check above can fail).
  const roomy = await startProxy({ openaiUrl: up.url, args: ['--ccr-backend', 'memory'] });
  cleanups.push(async () => assert.equal(await roomy.stop(), 0, 'the proxy exits 0 (no sanitizer report)'));
  up.reset();
  assert.equal((await post(roomy, chatBody(log))).status, 200);
  assert.ok(forwardedTool(up).includes(`hash=${hashOf(log)}]`), 'compressed when the store has room');
  assert.deepEqual(offered(up), ['headroom_retrieve']);
  for (const p of [proxy, roomy]) {
    assert.equal(await p.stop(), 0);
    assert.doesNotMatch(p.logs(), /Sanitizer|runtime error:/);
  }
});

const haveRedis = havePrograms('redis-server', 'redis-cli');

test('Redis stopped: originals forwarded; a call for an original kept before gets an error text, the client an answer',
  { skip: needs(haveRedis, 'redis-server') }, async () => {
    const port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    cleanups.push(async () => { if (redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL'); });
    for (let i = 0; spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() !== 'PONG'; i++) {
      if (i > 200) throw new Error('redis did not start');
      await sleep(20);
    }
    const up = await startFakeUpstream();
    cleanups.push(() => up.close());
    const proxy = await startProxy({ openaiUrl: up.url, args: ['--ccr-backend', 'redis', '--redis-url', `redis://127.0.0.1:${port}/0`] });
    cleanups.push(async () => assert.equal(await proxy.stop(), 0, 'the proxy exits 0 (no sanitizer report)'));

    // Redis up: compressed, and the model's call is answered with the exact original from Redis.
    const kept = ciLog('kept');
    const call = (hash) => {
      const r = openaiChatCompletion('gpt-4o');
      r.choices = [{ index: 0, finish_reason: 'tool_calls', logprobs: null, message: { role: 'assistant', content: null, refusal: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'headroom_retrieve', arguments: JSON.stringify({ hash }) } }] } }];
      return r;
    };
    up.script('/v1/chat/completions', { json: call(hashOf(kept)) }, { json: openaiChatCompletion('gpt-4o', 'quota') });
    let res = await (await post(proxy, chatBody(kept))).json();
    assert.equal(res.choices[0].message.content, 'quota');
    const compressed = forwardedTool(up, 0);
    assert.ok(compressed.includes(`hash=${hashOf(kept)}]`));
    assert.equal(forwardedTool(up, 1), kept, 'the tool result is the original, read from Redis');

    redis.kill('SIGTERM');
    await new Promise((r) => redis.once('exit', r));

    // Redis gone: a new tool output goes upstream whole, without the tool.
    up.reset();
    const fresh = ciLog('fresh');
    assert.equal((await post(proxy, chatBody(fresh))).status, 200);
    assert.equal(forwardedTool(up), fresh, 'nothing omitted while the store is down');
    assert.deepEqual(offered(up), []);

    // History with the earlier marker: the tool is offered, the call answered with an error text.
    up.reset();
    up.script('/v1/chat/completions', { json: call(hashOf(kept)) }, { json: openaiChatCompletion('gpt-4o', 'I will work from the summary.') });
    res = await (await post(proxy, chatBody(compressed))).json();
    assert.equal(res.choices[0].message.content, 'I will work from the summary.');
    assert.deepEqual(offered(up), ['headroom_retrieve']);
    const result = forwardedTool(up, 1);
    assert.match(result, /could not be read right now/);
    assert.ok(!result.includes('quota'), 'no original content');
    assert.equal(await proxy.stop(), 0);
    assert.doesNotMatch(proxy.logs(), /Sanitizer|runtime error:/);
  });
