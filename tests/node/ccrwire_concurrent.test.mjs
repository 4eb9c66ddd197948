// ccrwire_concurrent.test.mjs: many headroom_retrieve resolutions at once, buffered and
// streamed, from two tenants, each with its own original. The upstream here is a small model
// stand-in: when the request holds a marker and no tool answer yet, it calls
// headroom_retrieve for that hash; when it holds the tool answer, it replies with the answer's
// first line and length. Every client must get back exactly its own original's first line
// and length (no cross-talk between concurrent rounds), and the proxy must exit cleanly.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startProxy } from './lib/proxy.mjs';

const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

function original(k) {
  const lines = [];
  for (let i = 0; i < 300; i++) lines.push(`[req ${k} job ${i}] step build: compiled module_${i % 19}.o in ${(i * 7 + k) % 97} ms`);
  return lines.join('\n');
}

const chunk = (delta, finish, usage) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'gpt-4o',
  choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
const USAGE = { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 };

function modelReply(body) {
  const last = body.messages.at(-1);
  if (last.role === 'tool' && last.tool_call_id === 'call_r') {
    const text = `${last.content.split('\n')[0]} | ${last.content.length}`;
    return { text };
  }
  const hash = /hash=([0-9a-f]{24})\]/.exec(JSON.stringify(body.messages))?.[1];
  return { call: JSON.stringify({ hash }) };
}

async function startModel() {
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8'));
      const r = modelReply(body);
      const toolCall = { id: 'call_r', type: 'function', function: { name: 'headroom_retrieve', arguments: r.call } };
      // answer a little later, so rounds of different requests overlap
      setTimeout(() => {
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end((r.call ? chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, ...toolCall }] }, null) + chunk({}, 'tool_calls')
            : chunk({ role: 'assistant', content: r.text }, null) + chunk({}, 'stop')) + chunk(null, null, USAGE) + 'data: [DONE]\n\n');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 0, model: 'gpt-4o', usage: USAGE,
          choices: [{ index: 0, finish_reason: r.call ? 'tool_calls' : 'stop',
            message: r.call ? { role: 'assistant', content: null, tool_calls: [toolCall] } : { role: 'assistant', content: r.text } }] }));
      }, 5 + (body.messages.length % 7));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

async function ask(proxy, k, stream) {
  const text = original(k);
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer sk-tenant-${k % 2}` },
    body: JSON.stringify({ model: 'gpt-4o', stream, messages: [
      { role: 'user', content: `request ${k}` },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'run', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: text },
    ] }),
  });
  assert.equal(res.status, 200);
  const raw = await res.text();
  let content = '';
  let usage = null;
  if (stream) {
    for (const line of raw.split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const c = JSON.parse(line.slice(6));
      content += c.choices[0]?.delta?.content ?? '';
      if (c.usage) usage = c.usage;
    }
  } else {
    const j = JSON.parse(raw);
    content = j.choices[0].message.content;
    usage = j.usage;
  }
  assert.ok(!raw.includes('headroom_retrieve'), `request ${k}: the tool never reaches the client`);
  assert.equal(content, `${text.split('\n')[0]} | ${text.length}`, `request ${k} got its own original back`);
  assert.deepEqual(usage, { prompt_tokens: 20, completion_tokens: 2, total_tokens: 22 }, `request ${k}: both rounds counted`);
}

test('24 concurrent resolutions (buffered and streamed, two tenants) each get their own original', async () => {
  const model = await startModel();
  cleanups.push(() => model.close());
  const proxy = await startProxy({ openaiUrl: model.url, args: ['--ccr-backend', 'memory'] });
  cleanups.push(() => proxy.stop());
  await Promise.all(Array.from({ length: 24 }, (_, k) => ask(proxy, k, k % 2 === 0)));
  assert.equal(await proxy.stop(), 0);
  assert.doesNotMatch(proxy.logs(), /Sanitizer|runtime error:/);
  assert.equal(proxy.logs().split('\n').filter((l) => l.includes('headroom_retrieve answered')).length, 24);
});
